//! The read side: the views as of a watermark, published for the API without blocking the
//! dataflow. Workers send totals per dataflow time; the applier buffers them and applies every
//! time below the minimum worker frontier at once, so readers only ever see whole times.

mod apply;
mod members;
mod queries;
mod subscribe;

pub use members::MemberTotals;
pub use queries::{
    ChannelCount, GuildStats, LeaderboardEntry, LeaderboardPage, MemberPeriodStats, MemberStats,
    SeriesPoint,
};
pub use subscribe::{LeaderboardChange, LevelUp, Listening, StateEvent};

use crate::checkpoint::WorkerPart;
use crate::graph::WorkerOutput;
use crate::keys::SeriesMetric;
use crate::ranking::RankedIndex;
use crate::settings::GuildSettings;
use foldhash::HashMap;
use guildflow_model::{Bucket, Metric, Period};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

/// A leaderboard of one guild × metric × period: the members of its latest period start.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Board {
    /// Local start of the period it ranks.
    pub start: i64,
    /// The ranking; each member's value is in its [`MemberTotals`] (`board_value`).
    pub set: RankedIndex,
}

/// The leaderboards of one guild, by metric and period: one hash lookup finds all of them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct GuildBoards {
    boards: [[Board; 4]; 5],
}

impl GuildBoards {
    /// The board of `metric` × `period`.
    pub(crate) fn get(&self, metric: Metric, period: Period) -> &Board {
        &self.boards[metric.index()][period_index(period)]
    }

    /// The board of `metric` × `period`, mutably.
    pub(crate) fn get_mut(&mut self, metric: Metric, period: Period) -> &mut Board {
        &mut self.boards[metric.index()][period_index(period)]
    }
}

const fn period_index(period: Period) -> usize {
    match period {
        Period::Day => 0,
        Period::Week => 1,
        Period::Month => 2,
        Period::All => 3,
    }
}

/// Everything readers see. A snapshot keeps all of it but the settings (the admin plane's).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Published {
    /// Largest event time whose effects are all applied.
    pub watermark: Option<i64>,
    /// Dataflow times applied.
    pub applied_times: u64,
    /// Boxed: a table of 200-byte slots at the hash map's load factor cost more than the
    /// boxes (≈ 180 bytes per member measured at 130k members).
    pub(crate) members: HashMap<(u64, u64), Box<MemberTotals>>,
    pub(crate) boards: HashMap<u64, GuildBoards>,
    pub(crate) channels: HashMap<(u64, Period), (i64, HashMap<u64, i64>)>,
    /// A member's messages per channel, sorted by channel (most members write in a few
    /// channels: a vector, not a map per member).
    pub(crate) member_channels: HashMap<(u64, u64), Vec<(u64, i64)>>,
    pub(crate) series: HashMap<(u64, SeriesMetric, Bucket), BTreeMap<i64, i64>>,
    pub(crate) member_counts: HashMap<u64, i64>,
    #[serde(skip)]
    pub(crate) settings: HashMap<u64, GuildSettings>,
    pub(crate) level_ups: u64,
    /// The latest automod actions (bounded), newest last.
    pub automod_actions: std::collections::VecDeque<crate::automod::AutomodAction>,
}

impl Published {
    /// Whether the guild has any published state (a member count or a leaderboard); O(1).
    pub fn has_guild(&self, guild: u64) -> bool {
        self.member_counts.contains_key(&guild) || self.boards.contains_key(&guild)
    }

    /// Whether the member has any counted activity in the guild.
    pub fn has_member(&self, guild: u64, user: u64) -> bool {
        self.members.contains_key(&(guild, user))
    }
}

/// Shared handle on the published state.
#[derive(Clone, Debug, Default)]
pub struct StatsState {
    inner: Arc<RwLock<Published>>,
    subscribers: subscribe::Subscribers,
    progress: Arc<ApplierProgress>,
}

/// What the feeder needs to know of the applier for snapshots.
#[derive(Debug, Default)]
pub(crate) struct ApplierProgress {
    /// Every dataflow time below this is applied (`u64::MAX`: every worker finished).
    complete: AtomicU64,
    /// Changes at times below this are not applied: they re-create a restored snapshot's
    /// totals, which the published state already holds.
    skip_below: AtomicU64,
    /// Workers' snapshot parts, as they arrive.
    parts: Mutex<Vec<WorkerPart>>,
}

impl StatsState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// A read guard on the published state (hold it briefly: the applier waits for it).
    pub fn read(&self) -> RwLockReadGuard<'_, Published> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The published watermark.
    pub fn watermark(&self) -> Option<i64> {
        self.read().watermark
    }

    /// Every dataflow time below the returned one is applied.
    pub(crate) fn complete(&self) -> u64 {
        self.progress.complete.load(Ordering::Acquire)
    }

    /// Takes the snapshot parts the workers sent so far.
    pub(crate) fn take_parts(&self) -> Vec<WorkerPart> {
        std::mem::take(
            &mut *self
                .progress
                .parts
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Replaces the published state with a snapshot's (keeping the settings), and ignores the
    /// changes of times below `skip_below`, which re-create it.
    pub(crate) fn restore(&self, mut restored: Published, skip_below: u64) {
        self.progress
            .skip_below
            .store(skip_below, Ordering::Release);
        let mut published = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        restored.settings = std::mem::take(&mut published.settings);
        *published = restored;
    }

    /// Records a guild's settings for reads (current period in its timezone).
    pub fn set_settings(&self, guild: u64, settings: GuildSettings) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .settings
            .insert(guild, settings);
    }

    /// Subscribes to the leaderboard changes of `guild` (bounded; a subscriber that does not
    /// keep up misses changes and should re-read the snapshot).
    pub fn subscribe(&self, guild: u64) -> std::sync::mpsc::Receiver<LeaderboardChange> {
        self.subscribers.subscribe(guild)
    }

    /// Registers `listener`, called on the applier thread for every leaderboard change and
    /// level-up of every guild, until the returned guard is dropped. It must not block (a
    /// `try_send` into a channel, say): the applier waits for it.
    pub fn listen(&self, listener: impl Fn(&StateEvent) + Send + Sync + 'static) -> Listening {
        self.subscribers.listen(Arc::new(listener))
    }

    /// Applies one time's changes directly, at `watermark` (the hand-written baseline of the
    /// bench harness feeds the read side this way, without the dataflow).
    pub fn apply_changes(&self, changes: Vec<crate::graph::Change>, watermark: i64) {
        let mut touched = Default::default();
        let mut published = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        apply::apply_time(&mut published, changes, &mut touched);
        published.watermark = Some(watermark);
    }

    /// Runs the applier until every worker's output channel closes. `workers` is the number of
    /// local workers; `max_at` reads the largest event time fed so far.
    pub fn run_applier(
        &self,
        outputs: std::sync::mpsc::Receiver<WorkerOutput>,
        workers: usize,
        max_at: impl Fn() -> i64,
    ) {
        apply::run(self, outputs, workers, max_at);
    }
}
