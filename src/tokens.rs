//! `guildflow token create|list|revoke`: the API tokens of a data directory
//! (`DATA/auth/tokens.json`, docs/SECURITY.md). Only `DATA/auth/` is touched, under its own
//! lock, so these run while a server holds the directory's event store; the server picks the
//! change up within about a second (a revoked token's websockets close).

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use guildflow_api::auth::store::now_ms;
use guildflow_api::auth::{NewToken, TokenFile, TokenInfo};
use std::path::{Path, PathBuf};

/// `guildflow token ...`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an API token scoped to guilds; prints its secret once (standard output).
    Create(CreateArgs),
    /// List tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token by its id: a running server refuses it within about a second.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Data directory (the server's --data).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Whose access the token carries (Discord user id).
    #[arg(long)]
    pub user: u64,
    /// A guild the token may touch (repeat for several); the user must also administer it.
    #[arg(long = "guild", required = true)]
    pub guilds: Vec<u64>,
    /// A label for listings (what the token is for).
    #[arg(long)]
    pub name: String,
    /// Days until the token stops working (default: never).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub expires_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Data directory (the server's --data).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Only this user's tokens.
    #[arg(long)]
    pub user: Option<u64>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Data directory (the server's --data).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// The token's id (from `guildflow token list`).
    pub id: String,
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.action {
        TokenAction::Create(args) => create(args),
        TokenAction::List(args) => list(&args),
        TokenAction::Revoke(args) => revoke(&args),
    }
}

fn data_dir(data: &Path) -> anyhow::Result<TokenFile> {
    if !data.is_dir() {
        bail!(
            "{} is not a directory: pass the server's --data (create it first for a new one)",
            data.display()
        );
    }
    Ok(TokenFile::new(data))
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    let file = data_dir(&args.data)?;
    let name = args.name.trim().to_owned();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    let mut guilds = args.guilds;
    guilds.sort_unstable();
    guilds.dedup();
    let expires_at = args
        .expires_days
        .map(|days| now_ms().saturating_add(i64::from(days) * 86_400_000));
    let (secret, info) = file
        .create(NewToken {
            user: args.user,
            guilds,
            name,
            expires_at,
        })
        .with_context(|| format!("cannot create a token in {}", file.path().display()))?;
    println!("{secret}");
    eprintln!(
        "created token {} ({:?}) for user {}, guilds {}, expires {}",
        info.id,
        info.name,
        info.user,
        join(&info.guilds),
        info.expires_at.map_or_else(|| "never".into(), format_ms),
    );
    eprintln!(
        "the secret above is shown only this once (only its SHA-256 is stored): send it as \
         `Authorization: Bearer <secret>`; revoke with `guildflow token revoke --data {} {}`",
        args.data.display(),
        info.id
    );
    Ok(())
}

fn list(args: &ListArgs) -> anyhow::Result<()> {
    let file = data_dir(&args.data)?;
    let tokens = file
        .list(args.user)
        .with_context(|| format!("cannot read {}", file.path().display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&tokens)?);
        return Ok(());
    }
    if tokens.is_empty() {
        eprintln!("no tokens in {}", file.path().display());
        return Ok(());
    }
    print!("{}", table(&tokens, now_ms()));
    Ok(())
}

fn revoke(args: &RevokeArgs) -> anyhow::Result<()> {
    let file = data_dir(&args.data)?;
    let revoked = file
        .revoke(&args.id)
        .with_context(|| format!("cannot revoke in {}", file.path().display()))?;
    if !revoked {
        let known = file
            .list(None)
            .with_context(|| format!("cannot read {}", file.path().display()))?;
        if known.iter().any(|t| t.id == args.id) {
            bail!("token {} was already revoked", args.id);
        }
        bail!("no token {} in {}", args.id, file.path().display());
    }
    eprintln!(
        "revoked token {}: a running server refuses it within about a second and closes its websockets",
        args.id
    );
    Ok(())
}

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// The listing as aligned columns.
fn table(tokens: &[TokenInfo], now: i64) -> String {
    let header = [
        "ID",
        "NAME",
        "USER",
        "GUILDS",
        "CREATED",
        "LAST USED",
        "EXPIRES",
        "STATE",
    ];
    let rows: Vec<[String; 8]> = tokens
        .iter()
        .map(|t| {
            let state = if t.revoked {
                "revoked"
            } else if t.is_active(now) {
                "active"
            } else {
                "expired"
            };
            [
                t.id.clone(),
                t.name.clone(),
                t.user.to_string(),
                join(&t.guilds),
                format_ms(t.created_at),
                t.last_used_at.map_or_else(|| "never".into(), format_ms),
                t.expires_at.map_or_else(|| "never".into(), format_ms),
                state.to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

/// Unix ms as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = guildflow_model::period::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The demo's data directory starts over at every run, its logins and tokens included.
pub fn clear_demo_auth(data: &Path) -> anyhow::Result<()> {
    let auth = data.join(guildflow_api::auth::store::AUTH_DIR);
    match std::fs::remove_dir_all(&auth) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot clear {}", auth.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_ms(1_767_225_599_999), "2025-12-31T23:59:59Z");
        assert_eq!(format_ms(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn the_table_lines_up() {
        let token = TokenInfo {
            id: "0123456789abcdef".into(),
            user: 7,
            guilds: vec![1, 2],
            name: "ci".into(),
            created_at: 0,
            last_used_at: None,
            expires_at: Some(1),
            revoked: false,
        };
        let text = table(&[token], 10);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID                NAME"), "{text}");
        assert!(
            lines[1].contains("1,2") && lines[1].ends_with("expired"),
            "{text}"
        );
    }
}
