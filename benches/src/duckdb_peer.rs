//! DuckDB, from PyPI, as the query bench's peer: installed by the bench into a virtualenv
//! under `bench-results/.venv` (ignored by git) on first use, and run in a python subprocess
//! over the same Parquet files with the same SQL. When python or pip fails the peer is
//! reported unavailable with the reason; nothing is ever substituted for it.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const VENV: &str = "bench-results/.venv";

/// One query for the peer.
#[derive(Debug, Serialize)]
pub struct PeerQuery {
    pub name: String,
    pub sql: String,
}

/// The peer's timings of one query.
#[derive(Debug, Deserialize)]
pub struct PeerResult {
    pub ms: Vec<f64>,
    pub rows: usize,
}

#[derive(Debug, Deserialize)]
struct PeerOutput {
    version: String,
    results: Vec<PeerResult>,
}

/// The guild's rows become the view `events`, so the SQL text is the one guildflow runs;
/// `ts` is compared in UTC like DataFusion's. One warm-up, then `runs` timed runs, each
/// fetching the whole result.
const SCRIPT: &str = r#"
import json, sys, time
import duckdb
job = json.load(sys.stdin)
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
files = ", ".join("'" + f.replace("'", "''") + "'" for f in job["files"])
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet([{files}], hive_partitioning = false) WHERE guild_id = {int(job['guild'])}")
out = []
for q in job["queries"]:
    con.execute(q["sql"]).fetchall()
    ms = []
    rows = 0
    for _ in range(job["runs"]):
        t = time.perf_counter()
        rows = len(con.execute(q["sql"]).fetchall())
        ms.append((time.perf_counter() - t) * 1000.0)
    out.append({"ms": ms, "rows": rows})
print(json.dumps({"version": duckdb.__version__, "results": out}))
"#;

fn python() -> PathBuf {
    Path::new(VENV).join("bin").join("python")
}

/// The venv's python with duckdb importable, installing it first when needed.
fn ensure_duckdb() -> anyhow::Result<PathBuf> {
    let py = python();
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import duckdb"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready(&py) {
        return Ok(py);
    }
    if !py.exists() {
        let out = Command::new("python3")
            .args(["-m", "venv", VENV])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    println!("(installing duckdb from PyPI into {VENV})");
    let out = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "duckdb",
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pip install duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    anyhow::ensure!(ready(&py), "duckdb installed but not importable");
    Ok(py)
}

/// Runs `queries` on DuckDB over `files` restricted to `guild`; returns its version and one
/// result per query, in order.
pub fn run(
    files: &[PathBuf],
    guild: u64,
    queries: &[PeerQuery],
    runs: usize,
) -> anyhow::Result<(String, Vec<PeerResult>)> {
    let py = ensure_duckdb()?;
    let files: Vec<String> = files
        .iter()
        .map(|f| std::path::absolute(f).map(|p| p.display().to_string()))
        .collect::<Result<_, _>>()?;
    let job = serde_json::json!({
        "files": files,
        "guild": guild,
        "queries": queries,
        "runs": runs.max(1),
    });
    let mut child = Command::new(py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&serde_json::to_vec(&job)?)?;
    }
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "duckdb run failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let parsed: PeerOutput = serde_json::from_slice(&out.stdout)?;
    Ok((format!("duckdb {}", parsed.version), parsed.results))
}
