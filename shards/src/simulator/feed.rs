//! What the simulator sends after GUILD_CREATE: per shard, dispatches pushed by tests first,
//! then the workload generator's stream, continuing across sessions.

use crate::workload::{DispatchGenerator, WorkloadConfig, World};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// The world and stream the simulator serves.
#[derive(Clone, Debug)]
pub struct FeedConfig {
    /// Workload (world and event mix); its `total_shards` is overridden by the simulator's.
    pub workload: WorkloadConfig,
    /// Offered dispatches per second over all shards; None for as fast as clients read.
    pub rate: Option<f64>,
    /// Stop generating after this many dispatches per shard (None: endless).
    pub limit_per_shard: Option<u64>,
}

struct ShardFeed {
    pushed: VecDeque<(&'static str, String)>,
    generator: Option<DispatchGenerator>,
    generated: u64,
}

/// Per-shard feeds.
pub struct Feeds {
    config: Option<FeedConfig>,
    world: Option<Arc<World>>,
    total_shards: u32,
    shards: Mutex<HashMap<u32, ShardFeed>>,
}

impl Feeds {
    pub fn new(config: Option<FeedConfig>, world: Option<Arc<World>>, total_shards: u32) -> Self {
        Feeds {
            config,
            world,
            total_shards,
            shards: Mutex::new(HashMap::new()),
        }
    }

    /// Offered rate per shard (None: unlimited).
    pub fn rate_per_shard(&self) -> Option<f64> {
        let rate = self.config.as_ref()?.rate?;
        Some(rate / f64::from(self.total_shards.max(1)))
    }

    pub fn push(&self, shard: u32, t: &'static str, d: String) {
        self.with(shard, |feed| feed.pushed.push_back((t, d)));
    }

    /// Whether `shard` has something to send now.
    pub fn has_pending(&self, shard: u32) -> bool {
        self.with(shard, |feed| !feed.pushed.is_empty())
    }

    /// Whether `shard` has a generated stream still running.
    pub fn generates(&self, shard: u32) -> bool {
        let limit = self.config.as_ref().and_then(|c| c.limit_per_shard);
        self.with(shard, |feed| {
            feed.generator.is_some() && limit.is_none_or(|l| feed.generated < l)
        })
    }

    /// Up to `max` dispatches for `shard`; `pushed_only` skips the generator.
    pub fn take(&self, shard: u32, max: usize, pushed_only: bool) -> Vec<(&'static str, String)> {
        let limit = self.config.as_ref().and_then(|c| c.limit_per_shard);
        self.with(shard, |feed| {
            let mut out = Vec::with_capacity(max.min(1024));
            while out.len() < max {
                if let Some(item) = feed.pushed.pop_front() {
                    out.push(item);
                    continue;
                }
                if pushed_only || limit.is_some_and(|l| feed.generated >= l) {
                    break;
                }
                match feed
                    .generator
                    .as_mut()
                    .and_then(DispatchGenerator::next_dispatch)
                {
                    Some(dispatch) => {
                        feed.generated += 1;
                        out.push((dispatch.t, dispatch.d));
                    }
                    None => break,
                }
            }
            out
        })
    }

    fn with<R>(&self, shard: u32, f: impl FnOnce(&mut ShardFeed) -> R) -> R {
        let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        let feed = shards.entry(shard).or_insert_with(|| ShardFeed {
            pushed: VecDeque::new(),
            generator: match (&self.config, &self.world) {
                (Some(config), Some(world)) => {
                    let mut workload = config.workload.clone();
                    workload.total_shards = self.total_shards;
                    Some(DispatchGenerator::new(
                        Arc::clone(world),
                        &workload,
                        Some(shard),
                    ))
                }
                _ => None,
            },
            generated: 0,
        });
        f(feed)
    }
}
