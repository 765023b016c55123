//! `guildflow token create|list|revoke` through the real binary, and against a running
//! `demo` on the same data directory: a token created by the CLI is accepted by the server
//! within about a second, and refused once the CLI revokes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn guildflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guildflow"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guildflow-tokens-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn token(data: &Path, args: &[&str]) -> Output {
    guildflow()
        .arg("token")
        .arg(args[0])
        .arg("--data")
        .arg(data)
        .args(&args[1..])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("guildflow token runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `token create`: (secret from standard output, id from standard error).
fn create(data: &Path, user: u64, guilds: &[u64], name: &str) -> (String, String) {
    let mut args = vec!["create".to_owned(), "--user".into(), user.to_string()];
    for g in guilds {
        args.extend(["--guild".to_owned(), g.to_string()]);
    }
    args.extend(["--name".to_owned(), name.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = token(data, &args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let secret = text(&out.stdout).trim().to_owned();
    assert!(
        secret.starts_with("gf_") && secret.len() == 46,
        "{secret:?}"
    );
    let id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("created token "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the id on standard error")
        .to_owned();
    (secret, id)
}

#[test]
fn create_list_revoke_through_the_cli() {
    let dir = temp_dir("cli");
    let (secret, id) = create(&dir, 123_456_789_012_345_678, &[5, 6], "ci bot");
    let (other, _) = create(&dir, 9, &[5], "other");

    let out = token(&dir, &["list"]);
    let listing = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(listing.starts_with("ID"), "{listing}");
    let line = listing
        .lines()
        .find(|l| l.starts_with(&id))
        .expect("the token is listed");
    for cell in ["ci bot", "123456789012345678", "5,6", "never", "active"] {
        assert!(line.contains(cell), "{cell} in {line}");
    }
    let out = token(&dir, &["list", "--user", "9", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["user"], "9");
    assert_eq!(json[0]["revoked"], false);
    // Never a secret: not in the listing, not in the files.
    let file = dir.join("auth/tokens.json");
    let stored = std::fs::read_to_string(&file).expect("tokens.json");
    for s in [&secret, &other] {
        assert!(!listing.contains(s.as_str()) && !stored.contains(s.as_str()));
        assert!(!stored.contains(s.trim_start_matches("gf_")));
    }
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let out = token(&dir, &["revoke", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = token(&dir, &["list"]);
    let line = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with(&id))
        .map(str::to_owned)
        .expect("still listed");
    assert!(line.ends_with("revoked"), "{line}");
    let again = token(&dir, &["revoke", &id]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already revoked"));
    let unknown = token(&dir, &["revoke", "0000000000000000"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no token"));
    // A torn file is a clear error, not an empty list.
    std::fs::write(&file, &stored.as_bytes()[..stored.len() / 2]).expect("tear");
    let torn = token(&dir, &["list"]);
    assert!(!torn.status.success());
    assert!(
        text(&torn.stderr).contains("corrupt"),
        "{}",
        text(&torn.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kills the server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /api/me` with a bearer token: (status, body).
fn me(addr: &str, secret: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET /api/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {secret}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// Polls `GET /api/me` until it answers `status`; how long it took.
fn until_status(addr: &str, secret: &str, status: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (got, answer) = me(addr, secret);
        if got == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still {got} after {within:?}, wanted {status}: {answer}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_running_server_follows_the_cli() {
    let dir = temp_dir("live");
    let data = dir.join("data");
    let mut child = guildflow()
        .args([
            "demo",
            "--shards",
            "1",
            "--guilds",
            "20",
            "--rate",
            "200",
            "--duration",
            "30",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let stderr = child.stderr.take().expect("stderr");
    let server = Server(child);
    // Its standard error is read to the end (a full pipe would stall it).
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let (mut addr, mut owner) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while addr.is_none() || owner.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the demo prints its address and owner token");
        if let Some(rest) = line.strip_prefix("API and dashboard at http://") {
            addr = Some(rest.trim_end_matches('/').to_owned());
        }
        // `API token of guild G's owner (user U): curl -H 'Authorization: Bearer T' ...`
        if let Some(rest) = line.strip_prefix("API token of guild ") {
            let guild: u64 = rest
                .split('\'')
                .next()
                .and_then(|g| g.parse().ok())
                .expect("guild");
            let user: u64 = rest
                .split("(user ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|u| u.parse().ok())
                .expect("user");
            let secret = rest
                .split("Bearer ")
                .nth(1)
                .and_then(|r| r.split('\'').next())
                .expect("token")
                .to_owned();
            owner = Some((guild, user, secret));
        }
    }
    let (addr, (guild, user, demo_secret)) = (addr.unwrap_or_default(), owner.unwrap_or_default());
    assert_eq!(me(&addr, &demo_secret).0, 200, "the demo's own token works");

    // The server holds the data directory's store; the CLI only needs `auth/`.
    let (secret, id) = create(&data, user, &[guild], "from the cli");
    let took = until_status(&addr, &secret, 200, Duration::from_millis(2500));
    eprintln!("the server accepted the new token after {took:?}");
    let (_, answer) = me(&addr, &secret);
    assert!(answer.contains("\"credential\":\"token\""), "{answer}");
    let listed = token(&data, &["list"]);
    assert!(text(&listed.stdout).contains(&id));

    let out = token(&data, &["revoke", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let took = until_status(&addr, &secret, 401, Duration::from_millis(2500));
    eprintln!("the server refused the revoked token after {took:?}");
    assert_eq!(me(&addr, &demo_secret).0, 200, "other tokens still work");
    let stored = std::fs::read_to_string(data.join("auth/tokens.json")).expect("tokens.json");
    assert!(!stored.contains(&secret) && !stored.contains(&demo_secret));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
