//! Admission per client address (IPv6 by /64) and per guild.
//!
//! - [`QueryLimiter`]: store queries (ad hoc SQL, windowed leaderboards), a token bucket and
//!   an in-flight cap per address and per guild. The query service bounds each query and how
//!   many run at once, but not who gets to queue them: without this, one client could keep
//!   every slot busy and every other admin waiting for their timeout.
//! - [`ClientLimiter`]: every `/api/` request, and websocket connection attempts, a token
//!   bucket per address. Live reads are cheap, but not free: one client looping on them (or on
//!   reconnecting) would take CPU from everyone else's, and from the websocket broadcasts.
//!   `/auth/*` (logins) has a budget of its own per address.
//!
//! With authentication on, signed-in users also have budgets of their own (requests, websocket
//! connection attempts, store queries), whatever address they come from: a user spreading
//! requests over many addresses is held as one.

use crate::context::{ApiConfig, RateLimit};
use crate::live::limiter::TokenBucket;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Why a query was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Whose budget ran out: `"address"` or `"guild"`.
    pub scope: &'static str,
    /// Whole seconds before trying again is worth it (≥ 1), for `Retry-After`.
    pub retry_after_secs: u64,
}

#[derive(Debug)]
struct Slot {
    bucket: TokenBucket,
    in_flight: u32,
}

#[derive(Debug)]
struct Limits {
    per_second: f64,
    burst: f64,
    in_flight: u32,
}

impl Limits {
    /// A bucket without an in-flight cap (requests are not tracked until they end).
    fn rate(limit: RateLimit) -> Self {
        Limits {
            per_second: limit.per_second,
            burst: limit.burst,
            in_flight: u32::MAX,
        }
    }
}

/// A full table is swept at most this often: a sweep walks every key, and clients refused for
/// want of room must not make each of their requests cost one.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// One scope's slots (addresses or guilds), bounded in number.
#[derive(Debug)]
struct Table<K> {
    limits: Limits,
    slots: HashMap<K, Slot>,
    last_sweep: Option<Instant>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new(limits: Limits) -> Self {
        Table {
            limits,
            slots: HashMap::new(),
            last_sweep: None,
        }
    }

    /// Whether `key` may start a query now; makes room for a new key if needed.
    fn check(&mut self, key: K, now: Instant, max_keys: usize) -> Result<(), Duration> {
        if !self.slots.contains_key(&key) && self.slots.len() >= max_keys {
            let due = self
                .last_sweep
                .is_none_or(|last| now.saturating_duration_since(last) >= SWEEP_INTERVAL);
            if due {
                self.last_sweep = Some(now);
                // Idle keys (nothing running, bucket refilled) carry no state worth keeping.
                self.slots.retain(|_, slot| {
                    slot.bucket.wait(now);
                    slot.in_flight > 0 || !slot.bucket.is_full()
                });
            }
            if self.slots.len() >= max_keys {
                return Err(SWEEP_INTERVAL);
            }
        }
        let limits = &self.limits;
        let slot = self.slots.entry(key).or_insert_with(|| Slot {
            bucket: TokenBucket::new(limits.per_second, limits.burst),
            in_flight: 0,
        });
        if slot.in_flight >= limits.in_flight {
            // A running query frees its place when it ends; a second is a fair guess.
            return Err(Duration::from_secs(1));
        }
        match slot.bucket.wait(now) {
            None => Ok(()),
            Some(wait) => Err(wait),
        }
    }

    fn start(&mut self, key: K) {
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.bucket.take();
            slot.in_flight += 1;
        }
    }

    /// Takes a token without counting anything in flight (a request, not a query).
    fn charge(&mut self, key: K) {
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.bucket.take();
        }
    }

    fn finish(&mut self, key: K) {
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.in_flight = slot.in_flight.saturating_sub(1);
        }
    }
}

#[derive(Debug)]
struct Tables {
    addresses: Table<IpAddr>,
    guilds: Table<u64>,
    users: Table<u64>,
}

/// The limiter of one API instance.
#[derive(Debug)]
pub(crate) struct QueryLimiter {
    tables: Mutex<Tables>,
    max_keys: usize,
}

/// A started query; dropping it (the query ended, or the client went away) frees its place.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<QueryLimiter>,
    address: IpAddr,
    guild: u64,
    user: Option<u64>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut tables = self.limiter.lock();
        tables.addresses.finish(self.address);
        tables.guilds.finish(self.guild);
        if let Some(user) = self.user {
            tables.users.finish(user);
        }
    }
}

impl QueryLimiter {
    /// A limiter with `config`'s `sql_*` limits.
    pub fn new(config: &ApiConfig) -> Self {
        QueryLimiter {
            tables: Mutex::new(Tables {
                addresses: Table::new(Limits {
                    per_second: config.sql_ip_per_second,
                    burst: config.sql_ip_burst,
                    in_flight: config.sql_ip_in_flight.max(1),
                }),
                guilds: Table::new(Limits {
                    per_second: config.sql_guild_per_second,
                    burst: config.sql_guild_burst,
                    in_flight: config.sql_guild_in_flight.max(1),
                }),
                users: Table::new(Limits {
                    per_second: config.sql_user_per_second,
                    burst: config.sql_user_burst,
                    in_flight: config.sql_user_in_flight.max(1),
                }),
            }),
            max_keys: config.sql_limiter_keys.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a query of `client` (None when the transport has no peer address: such
    /// requests share one budget), signed in as `user` if any, over `guild`, or says how long
    /// to wait. Every budget must allow it; none is charged otherwise.
    pub fn admit(
        self: &Arc<Self>,
        client: Option<IpAddr>,
        user: Option<u64>,
        guild: u64,
        now: Instant,
    ) -> Result<Permit, Refused> {
        let address = address_key(client);
        let mut tables = self.lock();
        tables
            .addresses
            .check(address, now, self.max_keys)
            .map_err(|wait| refused("address", wait))?;
        if let Some(user) = user {
            tables
                .users
                .check(user, now, self.max_keys)
                .map_err(|wait| refused("user", wait))?;
        }
        tables
            .guilds
            .check(guild, now, self.max_keys)
            .map_err(|wait| refused("guild", wait))?;
        tables.addresses.start(address);
        tables.guilds.start(guild);
        if let Some(user) = user {
            tables.users.start(user);
        }
        Ok(Permit {
            limiter: Arc::clone(self),
            address,
            guild,
            user,
        })
    }
}

/// Whose budget ran out, and for how long.
fn refused(scope: &'static str, wait: Duration) -> Refused {
    Refused {
        scope,
        retry_after_secs: wait.as_secs_f64().ceil().clamp(1.0, 3600.0) as u64,
    }
}

#[derive(Debug)]
struct ClientTables {
    requests: Option<Table<IpAddr>>,
    connects: Option<Table<IpAddr>>,
    logins: Option<Table<IpAddr>>,
    user_requests: Option<Table<u64>>,
    user_connects: Option<Table<u64>>,
}

/// What a request is, for its budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// An `/api/` request.
    Api,
    /// An `/api/` websocket upgrade (takes from the request budgets too).
    Connect,
    /// An `/auth/*` request (login).
    Login,
}

/// Request admission per client address for every `/api/` route: a token bucket for
/// requests and another for websocket connection attempts (an upgrade takes from both).
/// `/metrics` and `/health` are not its business: monitoring must see an overloaded server.
#[derive(Debug)]
pub(crate) struct ClientLimiter {
    tables: Mutex<ClientTables>,
    max_keys: usize,
}

impl ClientLimiter {
    /// A limiter with `config`'s `client_*` and `ws_connect_*` limits (None: unlimited).
    pub fn new(config: &ApiConfig) -> Self {
        ClientLimiter {
            tables: Mutex::new(ClientTables {
                requests: config.client_rate.map(|l| Table::new(Limits::rate(l))),
                connects: config.ws_connect_rate.map(|l| Table::new(Limits::rate(l))),
                logins: config.login_rate.map(|l| Table::new(Limits::rate(l))),
                user_requests: config.user_rate.map(|l| Table::new(Limits::rate(l))),
                user_connects: config
                    .ws_user_connect_rate
                    .map(|l| Table::new(Limits::rate(l))),
            }),
            max_keys: config.client_limiter_keys.max(1),
        }
    }

    /// Admits a request of `client` (None when the transport has no peer address: such
    /// requests share one budget), signed in as `user` if any, or says how long to wait.
    /// Every budget of the request must allow it; a refused request charges none.
    pub fn admit(
        &self,
        client: Option<IpAddr>,
        user: Option<u64>,
        kind: RequestKind,
        now: Instant,
    ) -> Result<(), Refused> {
        let address = address_key(client);
        let mut guard = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        let t = &mut *guard;
        let max = self.max_keys;
        if kind == RequestKind::Login {
            if let Some(logins) = t.logins.as_mut() {
                logins
                    .check(address, now, max)
                    .map_err(|wait| refused("logins", wait))?;
                logins.charge(address);
            }
            return Ok(());
        }
        let connect = kind == RequestKind::Connect;
        if let Some(table) = t.requests.as_mut() {
            table
                .check(address, now, max)
                .map_err(|wait| refused("address", wait))?;
        }
        if let (Some(table), Some(user)) = (t.user_requests.as_mut(), user) {
            table
                .check(user, now, max)
                .map_err(|wait| refused("user", wait))?;
        }
        if connect {
            if let Some(table) = t.connects.as_mut() {
                table
                    .check(address, now, max)
                    .map_err(|wait| refused("connections", wait))?;
            }
            if let (Some(table), Some(user)) = (t.user_connects.as_mut(), user) {
                table
                    .check(user, now, max)
                    .map_err(|wait| refused("user connections", wait))?;
            }
        }
        // Every check passed: charge them all.
        if let Some(table) = t.requests.as_mut() {
            table.charge(address);
        }
        if let (Some(table), Some(user)) = (t.user_requests.as_mut(), user) {
            table.charge(user);
        }
        if connect {
            if let Some(table) = t.connects.as_mut() {
                table.charge(address);
            }
            if let (Some(table), Some(user)) = (t.user_connects.as_mut(), user) {
                table.charge(user);
            }
        }
        Ok(())
    }
}

/// The budget key of a peer, or of requests without one.
fn address_key(client: Option<IpAddr>) -> IpAddr {
    client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), client_key)
}

/// The budget key of an address: IPv6 clients usually hold a whole /64, so they count per
/// /64 (an IPv4-mapped address counts as its IPv4 address).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(
                v6.to_bits() & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: f64, in_flight: u32, max_keys: usize) -> Arc<QueryLimiter> {
        Arc::new(QueryLimiter::new(&ApiConfig {
            sql_ip_per_second: 1.0,
            sql_ip_burst: burst,
            sql_guild_per_second: 1.0,
            sql_guild_burst: burst * 10.0,
            sql_ip_in_flight: in_flight,
            sql_guild_in_flight: in_flight * 10,
            sql_limiter_keys: max_keys,
            ..ApiConfig::default()
        }))
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn bucket_then_retry_after() {
        let limiter = limiter(2.0, 10, 100);
        let now = Instant::now();
        let a = limiter.admit(ip("10.0.0.1"), None, 1, now).unwrap();
        let b = limiter.admit(ip("10.0.0.1"), None, 1, now).unwrap();
        let refused = limiter.admit(ip("10.0.0.1"), None, 1, now).unwrap_err();
        assert_eq!(refused.scope, "address");
        assert_eq!(refused.retry_after_secs, 1);
        // Another client is not affected.
        assert!(limiter.admit(ip("10.0.0.2"), None, 1, now).is_ok());
        drop((a, b));
        assert!(limiter
            .admit(ip("10.0.0.1"), None, 1, now + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn in_flight_cap_frees_on_drop() {
        let limiter = limiter(100.0, 1, 100);
        let now = Instant::now();
        let running = limiter.admit(ip("10.0.0.1"), None, 1, now).unwrap();
        assert!(limiter.admit(ip("10.0.0.1"), None, 2, now).is_err());
        drop(running);
        assert!(limiter.admit(ip("10.0.0.1"), None, 2, now).is_ok());
    }

    #[test]
    fn a_refused_guild_does_not_charge_the_address() {
        let limiter = limiter(1.0, 10, 100);
        let now = Instant::now();
        // Guild 7's in-flight cap is 100 here; exhaust its bucket (burst 10) from others.
        let _held: Vec<_> = (0..10)
            .map(|i| {
                limiter
                    .admit(ip(&format!("10.0.1.{i}")), None, 7, now)
                    .unwrap()
            })
            .collect();
        let refused = limiter.admit(ip("10.0.0.9"), None, 7, now).unwrap_err();
        assert_eq!(refused.scope, "guild");
        assert!(limiter.admit(ip("10.0.0.9"), None, 8, now).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64_and_keys_are_bounded() {
        let limiter = limiter(1.0, 10, 2);
        let now = Instant::now();
        let _a = limiter.admit(ip("2001:db8::1"), None, 1, now).unwrap();
        assert!(limiter.admit(ip("2001:db8::2"), None, 1, now).is_err());
        // Two busy addresses fill the table: a third is refused until one is idle.
        let _b = limiter.admit(ip("10.0.0.1"), None, 1, now).unwrap();
        assert!(limiter.admit(ip("10.0.0.2"), None, 1, now).is_err());
        let later = now + Duration::from_secs(5);
        drop(_a);
        assert!(limiter.admit(ip("10.0.0.2"), None, 1, later).is_ok());
    }

    fn clients(rate: Option<RateLimit>, connects: Option<RateLimit>, keys: usize) -> ClientLimiter {
        ClientLimiter::new(&ApiConfig {
            client_rate: rate,
            ws_connect_rate: connects,
            client_limiter_keys: keys,
            ..ApiConfig::default()
        })
    }

    #[test]
    fn client_requests_per_address() {
        let two = Some(RateLimit {
            per_second: 1.0,
            burst: 2.0,
        });
        let limiter = clients(two, None, 100);
        let now = Instant::now();
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Connect, now)
            .is_ok());
        let refused = limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, now)
            .unwrap_err();
        assert_eq!((refused.scope, refused.retry_after_secs), ("address", 1));
        assert!(limiter
            .admit(ip("10.0.0.2"), None, RequestKind::Api, now)
            .is_ok());
        // IPv6 per /64; without a peer address every request shares one budget.
        assert!(limiter
            .admit(ip("2001:db8::1"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("2001:db8::ffff"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("2001:db8::2"), None, RequestKind::Api, now)
            .is_err());
        assert!(limiter
            .admit(ip("2001:db8:0:1::2"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter.admit(None, None, RequestKind::Api, now).is_ok());
        assert!(limiter.admit(None, None, RequestKind::Api, now).is_ok());
        assert!(limiter.admit(None, None, RequestKind::Api, now).is_err());
        let later = now + Duration::from_secs(1);
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, later)
            .is_ok());
    }

    #[test]
    fn connection_attempts_have_their_own_budget() {
        let many = Some(RateLimit {
            per_second: 100.0,
            burst: 100.0,
        });
        let one = Some(RateLimit {
            per_second: 0.5,
            burst: 1.0,
        });
        let limiter = clients(many, one, 100);
        let now = Instant::now();
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Connect, now)
            .is_ok());
        let refused = limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Connect, now)
            .unwrap_err();
        assert_eq!(
            (refused.scope, refused.retry_after_secs),
            ("connections", 2)
        );
        // Plain requests still pass.
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, now)
            .is_ok());
        // Unlimited when not configured.
        let open = clients(None, None, 1);
        assert!((0..1000).all(|_| open
            .admit(ip("10.0.0.1"), None, RequestKind::Connect, now)
            .is_ok()));
    }

    #[test]
    fn client_keys_are_bounded_and_idle_ones_evicted() {
        let limit = Some(RateLimit {
            per_second: 1.0,
            burst: 1.0,
        });
        let limiter = clients(limit, None, 2);
        let now = Instant::now();
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.2"), None, RequestKind::Api, now)
            .is_ok());
        // Full of busy buckets: a new address waits for one to go idle.
        assert!(limiter
            .admit(ip("10.0.0.3"), None, RequestKind::Api, now)
            .is_err());
        let later = now + Duration::from_secs(2);
        assert!(limiter
            .admit(ip("10.0.0.3"), None, RequestKind::Api, later)
            .is_ok());
        assert_eq!(
            limiter
                .tables
                .lock()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()
                .slots
                .len(),
            1
        );
    }

    #[test]
    fn a_user_is_one_budget_across_addresses() {
        let two = Some(RateLimit {
            per_second: 1.0,
            burst: 2.0,
        });
        let limiter = ClientLimiter::new(&ApiConfig {
            client_rate: None,
            user_rate: two,
            ws_user_connect_rate: Some(RateLimit {
                per_second: 1.0,
                burst: 1.0,
            }),
            ..ApiConfig::default()
        });
        let now = Instant::now();
        assert!(limiter
            .admit(ip("10.0.0.1"), Some(7), RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.2"), Some(7), RequestKind::Connect, now)
            .is_ok());
        let refused = limiter
            .admit(ip("10.0.0.3"), Some(7), RequestKind::Api, now)
            .unwrap_err();
        assert_eq!(refused.scope, "user");
        // Another user, and the anonymous, are not held.
        assert!(limiter
            .admit(ip("10.0.0.3"), Some(8), RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.3"), None, RequestKind::Api, now)
            .is_ok());
        let connects = ClientLimiter::new(&ApiConfig {
            client_rate: None,
            ws_connect_rate: None,
            ws_user_connect_rate: Some(RateLimit {
                per_second: 1.0,
                burst: 1.0,
            }),
            ..ApiConfig::default()
        });
        assert!(connects
            .admit(ip("10.0.0.1"), Some(7), RequestKind::Connect, now)
            .is_ok());
        let refused = connects
            .admit(ip("10.0.0.4"), Some(7), RequestKind::Connect, now)
            .unwrap_err();
        assert_eq!(refused.scope, "user connections");
        assert!(connects
            .admit(ip("10.0.0.4"), Some(7), RequestKind::Api, now)
            .is_ok());

        let queries = Arc::new(QueryLimiter::new(&ApiConfig {
            sql_user_burst: 1.0,
            sql_user_in_flight: 1,
            ..ApiConfig::default()
        }));
        let running = queries.admit(ip("10.0.0.1"), Some(7), 1, now).unwrap();
        let refused = queries.admit(ip("10.0.0.2"), Some(7), 2, now).unwrap_err();
        assert_eq!(refused.scope, "user");
        drop(running);
        assert!(queries.admit(ip("10.0.0.2"), Some(8), 2, now).is_ok());
    }

    #[test]
    fn logins_have_their_own_budget_per_address() {
        let limiter = ClientLimiter::new(&ApiConfig {
            client_rate: Some(RateLimit {
                per_second: 1.0,
                burst: 1.0,
            }),
            login_rate: Some(RateLimit {
                per_second: 1.0,
                burst: 2.0,
            }),
            ..ApiConfig::default()
        });
        let now = Instant::now();
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Login, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Login, now)
            .is_ok());
        let refused = limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Login, now)
            .unwrap_err();
        assert_eq!(refused.scope, "logins");
        // Logins did not spend the API budget, nor another address's logins.
        assert!(limiter
            .admit(ip("10.0.0.1"), None, RequestKind::Api, now)
            .is_ok());
        assert!(limiter
            .admit(ip("10.0.0.2"), None, RequestKind::Login, now)
            .is_ok());
    }
}
