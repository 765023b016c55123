//! A local Discord gateway v10 server for tests, `demo` and benches. The real twilight shard
//! connects to it through its configurable gateway URL.
//!
//! Protocol: HELLO, IDENTIFY -> READY (session_id, resume_gateway_url) + one GUILD_CREATE per
//! guild of the shard, then the dispatch stream; heartbeat -> ACK; RESUME -> replay of the
//! missed dispatches -> RESUMED; RECONNECT (op 7); INVALID_SESSION (op 9); close codes
//! 4000-4014 with Discord's meaning; `compress=zlib-stream` when the client asks for it.
//! Sessions outlive connections so they can be resumed. Faults are injected per live
//! connection through [`SimulatorHandle::inject`].
//!
//! The same port also serves Discord's HTTP side (see `http`): the OAuth2 authorization-code
//! flow with PKCE (`/oauth2/authorize`, `/oauth2/token`, `/oauth2/token/revoke`, also under
//! `/api` and `/api/v10`) and the REST routes under `/api/v10` that guildflow calls
//! (`users/@me`, `users/@me/guilds`, `gateway/bot`, message delete, member timeout/kick/ban,
//! member roles), with Discord's rate-limit headers and 429s. Accepted actions are logged for
//! tests ([`SimulatorHandle::rest_actions`]) and echoed as gateway dispatches.

mod compress;
mod connection;
mod directory;
mod feed;
mod http;
mod http_handle;
mod oauth;
mod ratelimit;
mod rest;
mod routes;
mod session;

pub use directory::{UserGuild, ALL_PERMISSIONS};
pub use feed::FeedConfig;
pub use oauth::{pkce_challenge, OAuthConfig};
pub use ratelimit::RateLimit;
pub use rest::{RestAction, RestConfig, RestStats};
pub use routes::RestRoute;

use crate::workload::World;
use connection::Control;
use session::Sessions;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Errors of the simulator's control surface.
#[derive(Debug, Error)]
pub enum SimulatorError {
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// No live connection for that shard.
    #[error("shard {0} has no live connection")]
    NotConnected(u32),
}

/// A fault to inject into a shard's live connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Produce `unsent` more dispatches into the session without sending them, then drop the
    /// TCP connection without a close frame. A RESUME must replay them.
    DropTcp {
        /// Dispatches logged but not sent.
        unsent: u32,
    },
    /// Stop answering heartbeats and stop sending anything (a zombie connection).
    Zombie,
    /// Send op 7 RECONNECT.
    Reconnect,
    /// Send op 9 INVALID_SESSION with `d` = `resumable` (false also ends the session).
    InvalidSession {
        /// The `d` of op 9.
        resumable: bool,
    },
    /// Close with this code (4000-4014 with Discord's semantics; 4007 and 4009 end the session).
    Close {
        /// Close code.
        code: u16,
    },
}

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Listen address (port 0 for any).
    pub listen: SocketAddr,
    /// Accepted token, without the `Bot ` prefix.
    pub token: String,
    /// Total shards clients must identify with.
    pub total_shards: u32,
    /// HELLO's heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Intent bits that are not enabled for the application (4014 when requested).
    pub disallowed_intents: u64,
    /// Guilds per shard above which IDENTIFY gets 4011 (sharding required).
    pub max_guilds_per_shard: usize,
    /// Dispatches kept per session for RESUME; older ones force a re-identify.
    pub replay_capacity: usize,
    /// The world and the offered dispatch stream; None serves no guilds and only pushed
    /// dispatches.
    pub feed: Option<FeedConfig>,
    /// REST rate limits.
    pub rest: RestConfig,
    /// The OAuth2 application and the simulated login.
    pub oauth: OAuthConfig,
}

impl SimulatorConfig {
    /// Defaults for tests: loopback, any port, token `test-token`, 1 s heartbeat.
    pub fn local(total_shards: u32) -> Self {
        SimulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "test-token".into(),
            total_shards,
            heartbeat_interval: Duration::from_secs(1),
            disallowed_intents: 0,
            max_guilds_per_shard: 2500,
            replay_capacity: 100_000,
            feed: None,
            rest: RestConfig::default(),
            oauth: OAuthConfig::default(),
        }
    }
}

/// Counters of what the simulator saw, per shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardCounters {
    /// Websocket connections accepted.
    pub connections: u64,
    /// Successful IDENTIFYs (READY sent).
    pub identifies: u64,
    /// Successful RESUMEs (RESUMED sent).
    pub resumes: u64,
    /// Connections refused at the resume URL.
    pub refused: u64,
    /// Dispatches sent (including replays).
    pub dispatches_sent: u64,
}

pub(crate) struct Shared {
    config: SimulatorConfig,
    url: String,
    world: Option<Arc<World>>,
    sessions: Sessions,
    feeds: feed::Feeds,
    controls: Mutex<HashMap<u32, mpsc::UnboundedSender<Control>>>,
    counters: Mutex<HashMap<u32, ShardCounters>>,
    refuse_resume: AtomicBool,
    next_session: AtomicU64,
    directory: directory::Directory,
    oauth: oauth::OAuthState,
    rest: rest::RestState,
}

impl Shared {
    fn count(&self, shard: u32, f: impl FnOnce(&mut ShardCounters)) {
        f(self
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(shard)
            .or_default());
    }
}

/// A running simulator. Dropping it does not stop it; call [`SimulatorHandle::shutdown`].
#[derive(Clone)]
pub struct SimulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl SimulatorHandle {
    /// Starts the simulator on the current tokio runtime.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| SimulatorError::Bind {
                    addr: config.listen.to_string(),
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimulatorError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        let mut config = config;
        if let Some(feed) = config.feed.as_mut() {
            feed.workload.total_shards = config.total_shards;
        }
        let world = config
            .feed
            .as_ref()
            .map(|f| Arc::new(World::generate(&f.workload)));
        let feeds = feed::Feeds::new(config.feed.clone(), world.clone(), config.total_shards);
        let shared = Arc::new(Shared {
            url: format!("ws://{addr}"),
            directory: directory::Directory::new(world.clone()),
            oauth: oauth::OAuthState::new(config.oauth.clone()),
            rest: rest::RestState::new(&config.rest),
            sessions: Sessions::new(config.replay_capacity),
            config,
            world,
            feeds,
            controls: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            refuse_resume: AtomicBool::new(false),
            next_session: AtomicU64::new(1),
        });
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), stop_rx));
        Ok(SimulatorHandle { shared, addr, stop })
    }

    /// The gateway URL to give clients (`ws://127.0.0.1:PORT`, no trailing slash).
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated world, when a feed is configured.
    pub fn world(&self) -> Option<Arc<World>> {
        self.shared.world.clone()
    }

    /// Injects a fault into `shard`'s live connection.
    pub fn inject(&self, shard: u32, fault: Fault) -> Result<(), SimulatorError> {
        let controls = self
            .shared
            .controls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        controls
            .get(&shard)
            .and_then(|tx| tx.send(Control::Fault(fault)).ok())
            .ok_or(SimulatorError::NotConnected(shard))
    }

    /// Queues a dispatch `t` with payload `d` (JSON) for `shard`'s stream.
    pub fn push_dispatch(&self, shard: u32, t: &'static str, d: String) {
        self.shared.feeds.push(shard, t, d);
    }

    /// While true, connections to the resume URL are refused and the sessions bound to it die
    /// (a dead gateway node): clients must fall back to a fresh IDENTIFY.
    pub fn refuse_resume_url(&self, refuse: bool) {
        if refuse {
            self.shared.sessions.clear();
        }
        self.shared.refuse_resume.store(refuse, Ordering::SeqCst);
    }

    /// Whether `shard` has a live, identified connection.
    pub fn is_connected(&self, shard: u32) -> bool {
        self.shared
            .controls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&shard)
            .is_some_and(|tx| !tx.is_closed())
    }

    /// Counters for `shard`.
    pub fn counters(&self, shard: u32) -> ShardCounters {
        self.shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&shard)
            .cloned()
            .unwrap_or_default()
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        let controls = self
            .shared
            .controls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for tx in controls.values() {
            let _ = tx.send(Control::Shutdown);
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        if http::is_http(&stream).await {
                            http::serve(stream, shared, stop).await;
                        } else {
                            connection::serve(stream, peer, shared).await;
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}
