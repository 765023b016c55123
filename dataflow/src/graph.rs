//! The timely/differential graph of one worker.
//!
//! ```text
//! input (Input, time = event-time ms) ──exchange by guild──► "Engine" (unary_frontier: per-guild
//!   state machines, per-batch pre-aggregation, distinct active members) ──(GuildKey, time,
//!   amount)──► differential count_total ──► "Publish" sink
//!                                   └──(member day and channel deltas, time)──► read side
//! ```
//! Keys are exchanged by guild at every step, so all of a guild's state sits on one worker.
//! A member's counters go straight to the read side, which sums them
//! ([`ViewKey::summed_by_reader`]); the read side applies a time once every worker's frontier
//! has passed it, whichever path its changes took.

use crate::engine::{Engine, EngineConfig, Signal};
use crate::keys::ViewKey;
use crate::settings::GuildSettings;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::AsCollection;
use foldhash::HashMap;
use guildflow_model::Event;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::mpsc::Sender;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Input as _;
use timely::dataflow::operators::Probe;
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

/// What enters the dataflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// De-duplicated events of one time, all for the worker `route` (their guilds'
    /// [`route_of`] modulo the number of workers): one exchange and one stash entry per group
    /// instead of per event.
    Events {
        /// Exchange route: every event's guild's [`route_of`] modulo the workers in the
        /// cluster.
        route: u64,
        /// The events, in arrival order.
        events: Vec<Event>,
    },
    /// The feeder's watermark, sent to every worker (`route` picks the worker).
    Watermark {
        /// Largest event time fed.
        at: i64,
        /// Exchange route: the index of the worker it is for.
        route: u64,
    },
    /// New automod rules for a guild.
    Automod {
        /// Guild.
        guild: u64,
        /// Rules.
        config: crate::automod::AutomodConfig,
    },
    /// A manual warning (admin API), for warning escalation.
    Warning {
        /// Guild.
        guild: u64,
        /// Member warned.
        user: u64,
        /// Channel it was given in (0: none).
        channel: u64,
        /// Time of the warning, Unix ms.
        at: i64,
    },
    /// Asks the worker `route` for its part of a snapshot.
    Checkpoint {
        /// Exchange route: the index of the worker it is for.
        route: u64,
    },
    /// A guild's part of a snapshot, restored before any event.
    Restore(Box<crate::checkpoint::GuildPart>),
    /// New settings for a guild.
    Settings {
        /// Guild.
        guild: u64,
        /// Settings.
        settings: GuildSettings,
    },
}

impl Input {
    /// The exchange key: its guild's [`route_of`], or the worker it is for.
    fn route(&self) -> u64 {
        match self {
            Input::Settings { guild, .. }
            | Input::Automod { guild, .. }
            | Input::Warning { guild, .. } => route_of(*guild),
            Input::Watermark { route, .. }
            | Input::Checkpoint { route }
            | Input::Events { route, .. } => *route,
            Input::Restore(part) => route_of(part.guild),
        }
    }
}

/// The exchange key of a guild's inputs: the hash differential gives its [`GuildKey`]s, so a
/// guild's engine state and its arranged keys are on the same worker, and so are its changes
/// that bypass differential ([`ViewKey::summed_by_reader`]): all of a guild's views reach the
/// read side of one process. (Timely maps it to a worker by `%` or `& mask`, as it does
/// differential's key hash.)
pub fn route_of(guild: u64) -> u64 {
    use differential_dataflow::hashable::Hashable;
    GuildKey(ViewKey::Members { guild }).hashed()
}

/// How long a worker waits at most for the read side to apply its last output before producing
/// the next (it bounds the latency this adds under load).
const OUTPUT_HOLD_MAX: std::time::Duration = std::time::Duration::from_millis(10);
/// How often a waiting worker looks again.
const OUTPUT_HOLD_POLL: std::time::Duration = std::time::Duration::from_micros(200);

/// A view key whose hash is its guild's, so differential exchanges every key of a guild to
/// the same worker (its order is the key's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GuildKey(pub ViewKey);

impl Hash for GuildKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.guild().hash(state);
    }
}

/// A view key's new total and how much it changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// Key.
    pub key: ViewKey,
    /// New total (0: the key is gone). Not known for keys the read side sums itself
    /// ([`ViewKey::summed_by_reader`]): 0, and only `delta` counts.
    pub total: i64,
    /// New total minus the previous one.
    pub delta: i64,
}

/// What a worker reports to the read side.
#[derive(Debug)]
pub enum WorkerOutput {
    /// Changed totals at `time` (from differential), or the deltas of keys the read side
    /// sums itself (from the engine).
    Totals {
        /// Worker.
        worker: usize,
        /// Dataflow time.
        time: u64,
        /// The changes.
        totals: Vec<Change>,
    },
    /// The worker's frontier: every time below it is complete. None when the input closed.
    Frontier {
        /// Worker.
        worker: usize,
        /// Frontier.
        frontier: Option<u64>,
    },
    /// Level-ups and closed voice sessions.
    Signals(Vec<Signal>),
    /// The worker's part of a snapshot.
    Checkpoint(crate::checkpoint::WorkerPart),
}

/// Builds the graph on `worker`; returns its input and a probe of the output. `applied` is the
/// read side the output goes to (its progress paces the engine under load).
pub fn build(
    worker: &mut Worker,
    config: EngineConfig,
    output: Sender<WorkerOutput>,
    applied: crate::state::StatsState,
) -> (
    InputHandle<u64, CapacityContainerBuilder<Vec<Input>>>,
    ProbeHandle<u64>,
) {
    let index = worker.index();
    let mut input = InputHandle::new();
    let probe = ProbeHandle::new();
    let signals_out = output.clone();
    worker.dataflow::<u64, _, _>(|scope| {
        let events = scope.input_from(&mut input);
        let updates = events
            .unary_frontier::<CapacityContainerBuilder<Vec<(GuildKey, u64, i64)>>, _, _, _>(
                Exchange::new(|x: &Input| x.route()),
                "Engine",
                move |default_cap, info| {
                    let activator = scope.activator_for(info.address.clone());
                    // The last time this worker gave output at, and since when it has held
                    // back for the read side (see below).
                    let mut last_output: Option<u64> = None;
                    let mut holding_since: Option<std::time::Instant> = None;
                    let mut engine = Engine::new(config);
                    // Inputs wait here until the frontier passes their time, then run in time
                    // order: guild state sees events in event-time order whatever the arrival
                    // order across shards, workers and processes.
                    let mut stash: BTreeMap<u64, Vec<Input>> = BTreeMap::new();
                    // The largest watermark the feeders broadcast.
                    let mut watermark = i64::MIN;
                    // Retirements by due time, summed per key.
                    let mut retire: BTreeMap<u64, HashMap<ViewKey, i64>> = BTreeMap::new();
                    // Totals of restored keys, to give differential at the next output.
                    let mut restored: Vec<(ViewKey, i64)> = Vec::new();
                    let mut checkpoint_due = false;
                    // The events of the time being applied (kept for its capacity).
                    let mut events: Vec<Event> = Vec::new();
                    // Held at or below every stashed time and the frontier; all output goes out
                    // at its time, so one activation is one differential time.
                    let mut held = Some(default_cap);
                    move |(input, frontier), output| {
                        input.for_each(|cap, data| {
                            if let Some(&time) = cap.least() {
                                stash.entry(time).or_default().append(data);
                            }
                        });
                        let bound = frontier.frontier().first().copied();
                        let Some(cap) = held.as_mut() else { return };
                        // While the read side is still applying this worker's last output, the
                        // next one waits (at most OUTPUT_HOLD_MAX) and keeps stashing: under
                        // load the engine then takes larger batches, which pre-aggregate more
                        // and give the applier fewer changes, instead of a cheap worker
                        // flooding a busy applier with small ones. Idle or lightly loaded, the
                        // applier is done before the next batch and nothing waits.
                        if bound.is_some() && last_output.is_some_and(|t| applied.complete() <= t) {
                            let now = std::time::Instant::now();
                            let since = *holding_since.get_or_insert(now);
                            if now.duration_since(since) < OUTPUT_HOLD_MAX {
                                activator.activate_after(OUTPUT_HOLD_POLL);
                                return;
                            }
                        }
                        holding_since = None;
                        let ready: Vec<u64> = match bound {
                            Some(bound) => stash.range(..bound).map(|(t, _)| *t).collect(),
                            None => stash.keys().copied().collect(),
                        };
                        for time in ready {
                            let Some(items) = stash.remove(&time) else {
                                continue;
                            };
                            // A snapshot's parts go first: whatever else shares their time was
                            // sent after the snapshot was taken. (Only a restore's time holds
                            // any: other times are not reordered or copied.)
                            let mut items = items;
                            if items.iter().any(|item| matches!(item, Input::Restore(_))) {
                                items.sort_by_key(|item| !matches!(item, Input::Restore(_)));
                            }
                            for item in items {
                                match item {
                                    Input::Restore(part) => {
                                        let part = *part;
                                        engine.restore_guild(
                                            part.guild,
                                            part.state,
                                            part.watermark,
                                        );
                                        // Grouped by due time: one ordered-map lookup per
                                        // due time, not per key.
                                        let mut dues: Vec<(u64, ViewKey, i64)> = Vec::new();
                                        for k in part.keys {
                                            // The read side restores these totals itself (a
                                            // snapshot from before they left differential
                                            // also carries their retirements: dropped too).
                                            if k.key.summed_by_reader() {
                                                continue;
                                            }
                                            dues.extend(
                                                k.retire
                                                    .iter()
                                                    .map(|&(due, amount)| (due, k.key, amount)),
                                            );
                                            restored.push((k.key, k.total));
                                        }
                                        dues.sort_unstable_by_key(|(due, _, _)| *due);
                                        for group in dues.chunk_by(|a, b| a.0 == b.0) {
                                            let slot = retire.entry(group[0].0).or_default();
                                            for &(_, key, amount) in group {
                                                *slot.entry(key).or_insert(0) += amount;
                                            }
                                        }
                                    }
                                    Input::Checkpoint { .. } => checkpoint_due = true,
                                    Input::Settings { guild, settings } => {
                                        engine.configure(guild, settings)
                                    }
                                    Input::Automod { guild, config } => {
                                        engine.configure_automod(guild, &config)
                                    }
                                    Input::Warning {
                                        guild,
                                        user,
                                        channel,
                                        at,
                                    } => engine.add_warning(guild, user, channel, at),
                                    Input::Watermark { at, .. } => watermark = watermark.max(at),
                                    Input::Events {
                                        events: mut group, ..
                                    } => {
                                        if events.is_empty() {
                                            // Take the group's own allocation.
                                            std::mem::swap(&mut events, &mut group);
                                        } else {
                                            events.append(&mut group);
                                        }
                                    }
                                }
                            }
                            engine.apply_batch(&mut events);
                            events.clear();
                            if events.capacity() > 1 << 16 {
                                // A backlog's time: do not keep its memory.
                                events = Vec::new();
                            }
                            engine.observe_watermark(watermark);
                        }
                        if bound.is_none() {
                            // Input closed: open voice sessions count up to the watermark.
                            engine.advance_to(engine.watermark());
                        }
                        let time = *cap.time();
                        // Keys retire from differential's state once their bucket is older
                        // than the retention (the read side keeps what it needs, see
                        // `keys::ViewKey::expiry`). Retirements wait here, summed per key,
                        // rather than as future-timed updates in differential's batchers,
                        // which would rescan them at every frontier advance.
                        let due: Vec<u64> = match bound {
                            Some(bound) => retire.range(..bound).map(|(t, _)| *t).collect(),
                            // Input closed: nothing retires, the run is over.
                            None => Vec::new(),
                        };
                        if !engine.deltas().is_empty() || !due.is_empty() || !restored.is_empty() {
                            // The retirements due now, taken out before this activation's own
                            // are scheduled: everything goes out at one time, and a key that
                            // grew and retired in the same time would show count_total no
                            // change at all (a backlog spanning the retention, processed in one
                            // activation, lost its oldest counts that way). A key that grows
                            // now retires later instead, with its new expiry.
                            let mut due_now: HashMap<ViewKey, i64> = HashMap::default();
                            for at in due {
                                for (key, amount) in retire.remove(&at).into_iter().flatten() {
                                    *due_now.entry(key).or_insert(0) += amount;
                                }
                            }
                            last_output = Some(time);
                            let mut session = output.session(&*cap);
                            let mut schedule = |key: ViewKey, grown: i64| {
                                if let Some(expiry) = key.expiry(time) {
                                    let net = due_now.remove(&key).unwrap_or(0) - grown;
                                    if net != 0 {
                                        *retire
                                            .entry(expiry)
                                            .or_default()
                                            .entry(key)
                                            .or_insert(0) += net;
                                    }
                                }
                            };
                            // Restored totals carry their own pending retirements.
                            for (key, total) in restored.drain(..) {
                                if total != 0 {
                                    session.give((GuildKey(key), time, total));
                                    schedule(key, 0);
                                }
                            }
                            let mut summed: Vec<Change> = Vec::new();
                            for (key, amount) in engine.deltas().drain() {
                                if key.summed_by_reader() {
                                    summed.push(Change {
                                        key,
                                        total: 0,
                                        delta: amount,
                                    });
                                    continue;
                                }
                                session.give((GuildKey(key), time, amount));
                                schedule(key, amount);
                            }
                            if !summed.is_empty() {
                                // At this time like differential's output: the read side
                                // applies it once every worker's frontier has passed it.
                                let _ = signals_out.send(WorkerOutput::Totals {
                                    worker: index,
                                    time,
                                    totals: summed,
                                });
                            }
                            engine.deltas().trim();
                            for (key, amount) in due_now {
                                if amount != 0 {
                                    session.give((GuildKey(key), time, amount));
                                }
                            }
                        }
                        let signals = engine.take_signals();
                        if !signals.is_empty() {
                            let _ = signals_out.send(WorkerOutput::Signals(signals));
                        }
                        if std::mem::take(&mut checkpoint_due) {
                            // After this activation's output: the part holds exactly what
                            // differential was given.
                            let part = crate::checkpoint::worker_part(&engine, &retire);
                            let _ = signals_out.send(WorkerOutput::Checkpoint(part));
                        }
                        let next = match (bound, stash.keys().next()) {
                            (Some(b), Some(&s)) => Some(b.min(s)),
                            (Some(b), None) => Some(b),
                            (None, Some(&s)) => Some(s),
                            (None, None) => None,
                        };
                        match next {
                            Some(time) if time > *cap.time() => cap.downgrade(&time),
                            Some(_) => {}
                            None => held = None,
                        }
                    }
                },
            );
        updates
            .as_collection()
            .count_total_core::<i64>()
            .inner
            .probe_with(&probe)
            .sink(Pipeline, "Publish", move |(input, frontier)| {
                // count_total retracts a key's old total and asserts its new one: the new total
                // is the asserted one (0 if only retracted), the change is their difference.
                // It emits the two records of a key and time one after the other in one
                // activation, and the pipeline keeps their order, so a change is the run of
                // records with its key and time: compared with the last change, not looked up
                // in a map (two hash lookups per changed key were a tenth of the worker).
                let mut by_time: Vec<(u64, Vec<Change>)> = Vec::new();
                input.for_each(|_cap, data| {
                    for ((key, total), time, diff) in data.drain(..) {
                        let slot = match by_time.iter().rposition(|(t, _)| *t == time) {
                            Some(slot) => slot,
                            None => {
                                by_time.push((time, Vec::new()));
                                by_time.len() - 1
                            }
                        };
                        let changes = &mut by_time[slot].1;
                        let change = match changes.last_mut() {
                            Some(last) if last.key == key.0 => last,
                            _ => {
                                changes.push(Change {
                                    key: key.0,
                                    total: 0,
                                    delta: 0,
                                });
                                let end = changes.len() - 1;
                                &mut changes[end]
                            }
                        };
                        if diff > 0 {
                            change.total = total;
                        }
                        change.delta += total * diff;
                    }
                });
                by_time.sort_unstable_by_key(|(time, _)| *time);
                for (time, totals) in by_time {
                    let _ = output.send(WorkerOutput::Totals {
                        worker: index,
                        time,
                        totals,
                    });
                }
                let _ = output.send(WorkerOutput::Frontier {
                    worker: index,
                    frontier: frontier.frontier().first().copied(),
                });
            });
    });
    (input, probe)
}
