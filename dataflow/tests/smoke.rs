//! The dataflow end to end on a generated capture: every view fills, one and two workers agree.

#![allow(clippy::unwrap_used)]

use guildflow_dataflow::runtime::{Dataflow, DataflowConfig};
use guildflow_model::{Event, Metric, Period};
use guildflow_shards::capture::CaptureReader;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::workload::{write_capture, WorkloadConfig};

fn events(n: u64) -> Vec<Event> {
    let cfg = WorkloadConfig {
        guilds: 30,
        total_shards: 2,
        max_members_per_guild: 300,
        ..WorkloadConfig::default()
    };
    let mut capture = Vec::new();
    write_capture(&cfg, n, &mut capture).unwrap();
    let ingest = Ingest::default();
    let mut reader = CaptureReader::new(&capture[..]);
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        out.extend(ingest.capture_item(item));
    }
    out
}

fn run(workers: usize, events: &[Event]) -> Vec<(u64, Vec<(u64, i64)>)> {
    let mut dataflow = Dataflow::start(DataflowConfig {
        workers,
        ..DataflowConfig::default()
    })
    .unwrap();
    for chunk in events.chunks(500) {
        dataflow.push(chunk.to_vec());
    }
    let state = dataflow.finish().unwrap();
    let published = state.read();
    let mut boards = Vec::new();
    for guild in published.guilds() {
        let page = published.leaderboard(guild, Metric::Score, Period::All, 0, 1000);
        boards.push((
            guild,
            page.entries
                .iter()
                .map(|e| (e.user_id.get(), e.value))
                .collect(),
        ));
    }
    boards
}

#[test]
fn one_and_two_workers_agree() {
    let events = events(20_000);
    let one = run(1, &events);
    assert!(
        one.iter().any(|(_, entries)| !entries.is_empty()),
        "{one:?}"
    );
    let two = run(2, &events);
    assert_eq!(one, two);
}
