//! Discord's OAuth2 authorization-code flow with PKCE S256 (RFC 6749 §4.1, RFC 7636), from
//! the server's side: the authorize redirect, then the code exchange and `/users/@me`.

use super::crypto;
use super::http::{send, HttpReply};
use super::{AuthConfig, AuthError};
use serde::Deserialize;

/// The Discord user a login proved.
#[derive(Debug)]
pub(crate) struct DiscordUser {
    pub id: u64,
    pub username: String,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    token_type: String,
}

#[derive(Deserialize)]
struct UserReply {
    id: String,
    #[serde(default)]
    username: String,
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

impl AuthConfig {
    /// Starts a login: the authorize URL to send the browser to, with a fresh single-use
    /// `state` and the S256 challenge of a verifier kept server-side.
    pub(crate) fn authorize_redirect(&self) -> Result<String, AuthError> {
        let (state, verifier) = self.store.begin_login(self.login_ttl)?;
        let challenge = crypto::pkce_challenge(&verifier);
        let query = form(&[
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scopes),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let sep = if self.authorize_url.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{query}", self.authorize_url))
    }

    /// Exchanges `code` (with the verifier its `state` was issued with) and reads who logged
    /// in. The Discord access token is used once here and never stored.
    pub(crate) async fn complete_login(
        &self,
        code: &str,
        verifier: &str,
    ) -> Result<DiscordUser, AuthError> {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("code_verifier", verifier),
        ]);
        let reply = send(
            "POST",
            &self.token_url,
            &[],
            Some(("application/x-www-form-urlencoded", body)),
            self.upstream_timeout,
        )
        .await?;
        // 4xx: the code is bad (replayed, expired, wrong verifier); anything else non-200 is
        // Discord's trouble, not the user's.
        if (400..500).contains(&reply.status) {
            return Err(AuthError::CodeRefused(summary(&reply)));
        }
        let tokens: TokenReply = json(&reply)?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Upstream(format!(
                "unexpected token type {}",
                tokens.token_type
            )));
        }
        let bearer = format!("Bearer {}", tokens.access_token);
        let reply = send(
            "GET",
            &format!("{}/users/@me", self.api_base),
            &[("authorization", &bearer)],
            None,
            self.upstream_timeout,
        )
        .await?;
        let user: UserReply = json(&reply)?;
        let id = user
            .id
            .parse()
            .map_err(|_| AuthError::Upstream(format!("/users/@me id {:?}", user.id)))?;
        Ok(DiscordUser {
            id,
            username: user.username,
        })
    }
}

fn summary(reply: &HttpReply) -> String {
    let body = String::from_utf8_lossy(&reply.body);
    let short: String = body.chars().take(200).collect();
    format!("{} {short}", reply.status)
}

fn json<T: for<'de> Deserialize<'de>>(reply: &HttpReply) -> Result<T, AuthError> {
    if reply.status != 200 {
        return Err(AuthError::Upstream(summary(reply)));
    }
    serde_json::from_slice(&reply.body)
        .map_err(|e| AuthError::Upstream(format!("{e}: {}", summary(reply))))
}
