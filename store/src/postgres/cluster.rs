//! A throwaway PostgreSQL cluster from the installed server binaries: what the tests and the
//! bench harness run the sink against, so neither needs a server set up beforehand.

use super::error::PostgresSinkError;
use super::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Set to a directory holding `initdb` and `pg_ctl` to use other binaries than the newest of
/// `/usr/lib/postgresql/*/bin`.
pub const BIN_ENV: &str = "GUILDFLOW_PG_BIN";

/// A PostgreSQL cluster in a temporary directory, reachable only through a unix socket in that
/// directory (no TCP port, so clusters of parallel tests never collide). Stopped and deleted
/// on drop.
///
/// PostgreSQL refuses to run as root; when we are root the directory is handed to the
/// `postgres` user and the binaries run through `runuser -u postgres`.
///
/// ```no_run
/// # async fn demo() -> Result<(), guildflow_store::postgres::PostgresSinkError> {
/// use guildflow_store::postgres::{LocalCluster, migrate_url};
/// let cluster = LocalCluster::start()?;
/// migrate_url(&cluster.url()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LocalCluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    settings: Vec<(String, String)>,
    running: bool,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl LocalCluster {
    /// Creates (initdb) and starts a cluster with the default settings.
    pub fn start() -> Result<LocalCluster> {
        LocalCluster::start_with(&[])
    }

    /// Creates and starts a cluster with extra server settings (`-c name=value`), e.g.
    /// `("fsync", "off")` for a bench that measures CPU rather than the disk.
    pub fn start_with(settings: &[(&str, &str)]) -> Result<LocalCluster> {
        let bin = bin_dir()?;
        let as_postgres = running_as_root();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let root = std::env::temp_dir().join(format!("guildflow-pg-{pid}-{n}"));
        // A leftover of a crashed earlier run with the same pid: ours to reuse.
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).map_err(|e| cluster_err(&root, e))?;
        let mut cluster = LocalCluster {
            root,
            bin,
            // Only names the socket file; any value works since the directory is ours.
            port: 20_000
                + u16::try_from((pid.wrapping_mul(31).wrapping_add(n)) % 40_000).unwrap_or(0),
            as_postgres,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            running: false,
        };
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.root)
                .output()
                .map_err(|e| PostgresSinkError::Cluster(format!("cannot run chown: {e}")))?;
            check("chown postgres", &chown)?;
        }
        let data = cluster.data_dir();
        let initdb = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| PostgresSinkError::Cluster(format!("cannot run initdb: {e}")))?;
        check("initdb", &initdb)?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Starts the server again after [`stop`](Self::stop).
    pub fn start_server(&mut self) -> Result<()> {
        if self.running {
            return Ok(());
        }
        let mut options = format!(
            "-k {} -p {} -c listen_addresses=''",
            self.root.display(),
            self.port
        );
        for (name, value) in &self.settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .map_err(|e| PostgresSinkError::Cluster(format!("cannot run pg_ctl: {e}")))?;
        if !out.status.success() {
            return Err(PostgresSinkError::Cluster(format!(
                "pg_ctl start failed: {}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_tail()
            )));
        }
        self.running = true;
        Ok(())
    }

    /// Stops the server (fast shutdown: connections are cut, nothing committed is lost).
    pub fn stop(&mut self) -> Result<()> {
        self.pg_ctl_stop("fast")
    }

    /// Whether the server runs.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Connection string of the `postgres` database as the `postgres` superuser.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// Connection string of database `db` as the `postgres` superuser.
    pub fn url_for(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.root.display(),
            self.port
        )
    }

    /// The directory holding the data directory, the socket and the server log.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The socket's port number.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The end of the server log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    fn pg_ctl_stop(&mut self, mode: &str) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-m", mode, "stop"])
            .output()
            .map_err(|e| PostgresSinkError::Cluster(format!("cannot run pg_ctl: {e}")))?;
        check("pg_ctl stop", &out)?;
        self.running = false;
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if let Err(error) = self.pg_ctl_stop("immediate") {
            tracing::warn!(%error, root = %self.root.display(), "cannot stop the local PostgreSQL cluster");
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// `$GUILDFLOW_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` with `initdb`.
pub fn bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            Ok(dir)
        } else {
            Err(PostgresSinkError::BinariesMissing(format!(
                "{BIN_ENV}={} has no initdb and pg_ctl",
                dir.display()
            )))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        PostgresSinkError::BinariesMissing(
            "no /usr/lib/postgresql/*/bin/initdb and pg_ctl".to_owned(),
        )
    })
}

fn running_as_root() -> bool {
    // /proc/self/status's "Uid:" line is real, effective, saved, fs uid.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn check(what: &str, out: &Output) -> Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        Err(PostgresSinkError::Cluster(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn cluster_err(path: &Path, e: std::io::Error) -> PostgresSinkError {
    PostgresSinkError::Cluster(format!("{}: {e}", path.display()))
}
