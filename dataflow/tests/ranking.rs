//! Tests for `guildflow_dataflow::ranking::RankedSet`: a property test against a naive model
//! (a `Vec` sorted by `(-value, user)` after every operation), edge cases, and an ignored
//! one-million-member scale test that prints ns/op and bytes/member:
//!
//! `cargo test --release -p guildflow-dataflow --test ranking -- --ignored --nocapture`

use guildflow_dataflow::ranking::RankedSet;
use guildflow_model::UserId;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The naive model.

#[derive(Default)]
struct Model {
    values: BTreeMap<u64, i64>,
}

impl Model {
    fn set(&mut self, user: u64, value: i64) {
        if value <= 0 {
            self.values.remove(&user);
        } else {
            self.values.insert(user, value);
        }
    }

    fn add(&mut self, user: u64, delta: i64) {
        let value = self.get(user).saturating_add(delta);
        self.set(user, value);
    }

    fn get(&self, user: u64) -> i64 {
        self.values.get(&user).copied().unwrap_or(0)
    }

    /// The leaderboard: value descending, then user ascending.
    fn sorted(&self) -> Vec<(UserId, i64)> {
        let mut v: Vec<(UserId, i64)> = self.values.iter().map(|(&u, &v)| (UserId(u), v)).collect();
        v.sort_by_key(|&(u, v)| (std::cmp::Reverse(v), u));
        v
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(u64, i64),
    Add(u64, i64),
    Remove(u64),
}

fn apply(set: &mut RankedSet, model: &mut Model, op: &Op) {
    match *op {
        Op::Set(u, v) => {
            set.set(UserId(u), v);
            model.set(u, v);
        }
        Op::Add(u, d) => {
            set.add(UserId(u), d);
            model.add(u, d);
        }
        Op::Remove(u) => {
            set.set(UserId(u), 0);
            model.set(u, 0);
        }
    }
}

/// Compares everything observable; `probe` are extra users (possibly absent) to query.
fn check(set: &RankedSet, model: &Model, probe: &[u64]) {
    assert_eq!(set.check_invariants(), Ok(()));
    let sorted = model.sorted();
    let n = sorted.len();
    assert_eq!(set.len(), n);
    assert_eq!(set.is_empty(), n == 0);
    assert_eq!(set.page(0, usize::MAX), sorted);
    for (i, &(u, v)) in sorted.iter().enumerate() {
        assert_eq!(set.get(u), v, "get {u}");
        assert_eq!(set.rank(u), Some(i + 1), "rank {u}");
    }
    for &u in probe {
        assert_eq!(set.get(UserId(u)), model.get(u), "get probe {u}");
        let expect = sorted
            .iter()
            .position(|&(x, _)| x == UserId(u))
            .map(|i| i + 1);
        assert_eq!(set.rank(UserId(u)), expect, "rank probe {u}");
    }
    for k in [0, 1, 2, 3, 10, n / 2, n.saturating_sub(1), n, n + 1] {
        assert_eq!(set.top(k), sorted[..k.min(n)].to_vec(), "top {k}");
    }
    let offsets = [
        0,
        1,
        2,
        5,
        n / 3,
        n / 2,
        n.saturating_sub(2),
        n.saturating_sub(1),
        n,
        n + 7,
    ];
    for offset in offsets {
        for limit in [0, 1, 2, 7, 33, n, usize::MAX] {
            let lo = offset.min(n);
            let hi = offset.saturating_add(limit).min(n);
            assert_eq!(
                set.page(offset, limit),
                sorted[lo..hi].to_vec(),
                "page {offset} {limit}"
            );
        }
    }
}

fn run(chunk_max: usize, ops: &[Op]) {
    let mut set = RankedSet::with_chunk_max(chunk_max);
    let mut model = Model::default();
    let mut touched: Vec<u64> = Vec::new();
    for op in ops {
        apply(&mut set, &mut model, op);
        let (Op::Set(u, _) | Op::Add(u, _) | Op::Remove(u)) = *op;
        touched.push(u);
        let probe_from = touched.len().saturating_sub(4);
        let mut probe = touched[probe_from..].to_vec();
        probe.extend([0, 1, u64::MAX, 123_456_789]);
        check(&set, &model, &probe);
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn user() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..48,
        1 => Just(u64::MAX),
        1 => Just(u64::MAX - 1),
        1 => any::<u64>(),
    ]
}

fn small_value() -> impl Strategy<Value = i64> {
    -3i64..6
}

fn large_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => any::<i64>(),
        2 => -1_000_000i64..1_000_000,
        1 => Just(i64::MAX),
        1 => Just(i64::MAX - 1),
        1 => Just(i64::MIN),
        1 => Just(1i64),
    ]
}

fn ops(
    value: BoxedStrategy<i64>,
    users: BoxedStrategy<u64>,
    len: usize,
) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (users.clone(), value.clone()).prop_map(|(u, v)| Op::Set(u, v)),
        4 => (users.clone(), value).prop_map(|(u, d)| Op::Add(u, d)),
        1 => users.prop_map(Op::Remove),
    ];
    proptest::collection::vec(op, 1..len)
}

fn chunk_max() -> impl Strategy<Value = usize> {
    prop_oneof![Just(4usize), Just(5), Just(8), Just(16), Just(512)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Small value range: lots of ties.
    #[test]
    fn matches_model_small_values(cm in chunk_max(), ops in ops(small_value().boxed(), user().boxed(), 300)) {
        run(cm, &ops);
    }

    /// Large value range, including the i64 extremes (saturating adds).
    #[test]
    fn matches_model_large_values(cm in chunk_max(), ops in ops(large_value().boxed(), user().boxed(), 300)) {
        run(cm, &ops);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Many distinct users so tiny chunks split, merge and rebalance a lot.
    #[test]
    fn matches_model_many_users(
        cm in prop_oneof![Just(4usize), Just(8), Just(16)],
        ops in ops(prop_oneof![small_value(), 0i64..40].boxed(), (0u64..400).boxed(), 1200),
    ) {
        run(cm, &ops);
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases.

#[test]
fn empty() {
    let set = RankedSet::new();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert_eq!(set.get(UserId(1)), 0);
    assert_eq!(set.rank(UserId(1)), None);
    assert!(set.top(10).is_empty());
    assert!(set.page(0, 10).is_empty());
    assert!(set.page(5, usize::MAX).is_empty());
    assert!(set.top(0).is_empty());
    assert_eq!(set.bytes_estimate(), 0);
    assert_eq!(set.check_invariants(), Ok(()));
    assert!(RankedSet::default().is_empty());
}

#[test]
fn zero_and_negative_do_not_list() {
    let mut set = RankedSet::new();
    set.set(UserId(1), 0);
    set.set(UserId(2), -5);
    set.add(UserId(3), -1);
    set.add(UserId(4), 0);
    assert!(set.is_empty());
    assert_eq!(set.get(UserId(2)), 0);
    assert_eq!(set.check_invariants(), Ok(()));
}

#[test]
fn remove_absent_is_a_no_op() {
    let mut set = RankedSet::new();
    set.set(UserId(1), 5);
    set.set(UserId(2), 0);
    set.set(UserId(3), -1);
    assert_eq!(set.len(), 1);
    assert_eq!(set.top(5), vec![(UserId(1), 5)]);
    set.set(UserId(1), 0);
    set.set(UserId(1), 0);
    assert!(set.is_empty());
    assert_eq!(set.check_invariants(), Ok(()));
}

#[test]
fn all_ties_order_by_user_id() {
    let mut set = RankedSet::with_chunk_max(8);
    // Insert in a scrambled order.
    let n = 1000u64;
    for i in 0..n {
        set.set(UserId((i * 7919) % n), 42);
    }
    assert_eq!(set.check_invariants(), Ok(()));
    assert_eq!(set.len(), n as usize);
    for u in 0..n {
        assert_eq!(set.rank(UserId(u)), Some(u as usize + 1));
    }
    let page = set.page(100, 5);
    assert_eq!(
        page,
        (100..105).map(|u| (UserId(u), 42)).collect::<Vec<_>>()
    );
    // Ties are by numeric id, not by insertion order or string form.
    let mut set = RankedSet::new();
    for u in [10u64, 9, 100, 2, u64::MAX, 0] {
        set.set(UserId(u), 1);
    }
    let users: Vec<u64> = set.top(10).into_iter().map(|(u, _)| u.0).collect();
    assert_eq!(users, vec![0, 2, 9, 10, 100, u64::MAX]);
}

#[test]
fn underflow_merges_and_rebalances_both_ways() {
    // chunk max 8 (merge below 2). All values tie, so order is by id.
    let mut set = RankedSet::with_chunk_max(8);
    let mut model = Model::default();
    let op = |set: &mut RankedSet, model: &mut Model, u: u64, v: i64| {
        set.set(UserId(u), v);
        model.set(u, v);
        check(set, model, &[u]);
    };
    // 100..109 splits into [100..104) and [104..109); 0..4 fill the first chunk to 8.
    for u in (100..109).chain(0..4) {
        op(&mut set, &mut model, u, 1);
    }
    // Drain the last chunk: it underflows next to a full left neighbour (rebalance leftwards).
    for u in 104..108 {
        op(&mut set, &mut model, u, 0);
    }
    // Drain the first chunk: it underflows next to its right neighbour.
    for u in 0..4 {
        op(&mut set, &mut model, u, 0);
    }
    // Refill and drain from the middle.
    for u in 200..240 {
        op(&mut set, &mut model, u, 1 + (u as i64 % 3));
    }
    for u in (200..240).rev() {
        op(&mut set, &mut model, u, 0);
    }
    for u in [100, 101, 102, 103, 108] {
        op(&mut set, &mut model, u, 0);
    }
    assert!(set.is_empty());
}

#[test]
fn negative_deltas() {
    let mut set = RankedSet::new();
    set.add(UserId(1), 10);
    set.add(UserId(2), 8);
    assert_eq!(set.rank(UserId(1)), Some(1));
    set.add(UserId(1), -3);
    assert_eq!(set.get(UserId(1)), 7);
    assert_eq!(set.rank(UserId(1)), Some(2));
    assert_eq!(set.rank(UserId(2)), Some(1));
    set.add(UserId(1), -7);
    assert_eq!(set.get(UserId(1)), 0);
    assert_eq!(set.rank(UserId(1)), None);
    set.add(UserId(2), -100);
    assert!(set.is_empty());
    assert_eq!(set.check_invariants(), Ok(()));
}

#[test]
fn large_values_saturate() {
    let mut set = RankedSet::new();
    set.set(UserId(1), i64::MAX);
    set.set(UserId(2), i64::MAX - 1);
    set.set(UserId(3), 1);
    assert_eq!(
        set.top(3),
        vec![
            (UserId(1), i64::MAX),
            (UserId(2), i64::MAX - 1),
            (UserId(3), 1)
        ]
    );
    set.add(UserId(1), i64::MAX);
    assert_eq!(set.get(UserId(1)), i64::MAX);
    set.add(UserId(2), 5);
    assert_eq!(set.get(UserId(2)), i64::MAX);
    // Tie at i64::MAX: by user id.
    assert_eq!(set.rank(UserId(1)), Some(1));
    assert_eq!(set.rank(UserId(2)), Some(2));
    set.add(UserId(1), i64::MIN);
    assert_eq!(set.get(UserId(1)), 0);
    set.set(UserId(2), i64::MIN);
    assert_eq!(set.get(UserId(2)), 0);
    set.add(UserId(3), i64::MIN);
    assert!(set.is_empty());
    assert_eq!(set.check_invariants(), Ok(()));
}

#[test]
fn grow_then_drain_with_default_chunks() {
    // Enough members for several 512-key chunks; then remove every other one and the rest.
    let mut set = RankedSet::new();
    let mut model = Model::default();
    let n = 5000u64;
    for i in 0..n {
        let u = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let v = (i % 97) as i64 + 1;
        set.set(UserId(u), v);
        model.set(u, v);
    }
    check(&set, &model, &[]);
    for i in (0..n).step_by(2) {
        let u = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        set.add(UserId(u), 3);
        model.add(u, 3);
    }
    check(&set, &model, &[]);
    for i in (0..n).step_by(3) {
        let u = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        set.set(UserId(u), 0);
        model.set(u, 0);
    }
    check(&set, &model, &[]);
    for i in 0..n {
        let u = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        set.set(UserId(u), 0);
    }
    assert!(set.is_empty());
    assert_eq!(set.check_invariants(), Ok(()));
    assert!(set.index_bytes_estimate() <= set.bytes_estimate());
    // Refilling after a drain works.
    set.set(UserId(9), 9);
    assert_eq!(set.top(2), vec![(UserId(9), 9)]);
    assert_eq!(set.check_invariants(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Scale.

/// SplitMix64: a tiny deterministic generator (no extra crates).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// A heavy-tailed (Pareto, alpha = 1.1) positive value: most are 1..10, a few are huge.
    fn heavy(&mut self) -> i64 {
        let u = ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        let v = u.powf(-1.0 / 1.1);
        (v as i64).clamp(1, 1 << 40)
    }
}

fn ns_per(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

#[test]
#[ignore = "scale benchmark; run with --release -- --ignored --nocapture"]
fn ranking_scale_1m() {
    const MEMBERS: usize = 1_000_000;
    const UPDATES: usize = 1_000_000;
    const RANKS: usize = 100_000;
    const PAGES: usize = 100_000;

    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    // Snowflake-like ids.
    let users: Vec<UserId> = (0..MEMBERS)
        .map(|_| UserId((1u64 << 55) | (rng.next() >> 10)))
        .collect();
    let values: Vec<i64> = (0..MEMBERS).map(|_| rng.heavy()).collect();

    // RANKING_CHUNK_MAX=n tunes the chunk size (default: the crate's CHUNK_MAX).
    let chunk_max = std::env::var("RANKING_CHUNK_MAX")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(guildflow_dataflow::ranking::CHUNK_MAX);
    let mut set = RankedSet::with_chunk_max(chunk_max);
    let start = Instant::now();
    for (&u, &v) in users.iter().zip(&values) {
        set.set(u, v);
    }
    let insert_ns = ns_per(start, MEMBERS);
    let distinct_values = {
        let mut v = values.clone();
        v.sort_unstable();
        v.dedup();
        v.len()
    };

    // Pre-generate the update stream so only the structure is timed:
    // 85 % small increments (+1..=5, the per-message case), 5 % large increments,
    // 4 % decrements, 4 % set to a fresh heavy-tailed value, 2 % removals.
    let mut stream: Vec<(u8, UserId, i64)> = Vec::with_capacity(UPDATES);
    for _ in 0..UPDATES {
        let u = users[rng.below(MEMBERS as u64) as usize];
        let r = rng.below(100);
        let op = match r {
            0..=84 => (0, u, 1 + rng.below(5) as i64),
            85..=89 => (0, u, rng.heavy() * 10),
            90..=93 => (0, u, -(1 + rng.below(3) as i64)),
            94..=97 => (1, u, rng.heavy()),
            _ => (1, u, 0),
        };
        stream.push(op);
    }
    let start = Instant::now();
    for &(kind, u, x) in &stream {
        if kind == 0 {
            set.add(u, x);
        } else {
            set.set(u, x);
        }
    }
    let update_ns = ns_per(start, UPDATES);

    // Same as above, but only +1 (the dominant leaderboard event).
    let incr: Vec<UserId> = (0..UPDATES)
        .map(|_| users[rng.below(MEMBERS as u64) as usize])
        .collect();
    let start = Instant::now();
    for &u in &incr {
        set.add(u, 1);
    }
    let incr_ns = ns_per(start, UPDATES);

    let queries: Vec<UserId> = (0..RANKS)
        .map(|_| users[rng.below(MEMBERS as u64) as usize])
        .collect();
    let start = Instant::now();
    let mut listed = 0usize;
    for &u in &queries {
        if let Some(r) = black_box(set.rank(u)) {
            listed += r.min(1);
        }
    }
    let rank_ns = ns_per(start, RANKS);

    // Baseline: the hash-map lookup alone (one random cache miss), for scale.
    let start = Instant::now();
    let mut sum = 0i64;
    for &u in &queries {
        sum = sum.wrapping_add(black_box(set.get(u)));
    }
    let get_ns = ns_per(start, RANKS);
    black_box(sum);

    let len = set.len();
    let offsets: Vec<usize> = (0..PAGES).map(|_| rng.below(len as u64) as usize).collect();
    let start = Instant::now();
    let mut got = 0usize;
    for &o in &offsets {
        got += black_box(set.page(o, 25)).len();
    }
    let page_ns = ns_per(start, PAGES);

    let start = Instant::now();
    let top = black_box(set.top(100));
    let top_ns = start.elapsed().as_nanos();

    // Sanity: ranks agree with pages at a few points; all invariants hold.
    for &u in queries.iter().take(1000) {
        if let Some(r) = set.rank(u) {
            assert_eq!(set.page(r - 1, 1), vec![(u, set.get(u))]);
        }
    }
    assert_eq!(set.check_invariants(), Ok(()));
    assert_eq!(top.len(), 100);
    assert!(got > 0 && listed > 0);

    let total = set.bytes_estimate();
    let index = set.index_bytes_estimate();
    println!(
        "ranking_scale_1m: {MEMBERS} members ({distinct_values} distinct values), now {len} listed, \
         chunk max {chunk_max}"
    );
    println!("  insert           {insert_ns:>8.1} ns/op");
    println!("  update (mixed)   {update_ns:>8.1} ns/op  ({UPDATES} ops)");
    println!("  update (+1)      {incr_ns:>8.1} ns/op  ({UPDATES} ops)");
    println!("  rank             {rank_ns:>8.1} ns/op  ({RANKS} queries)");
    println!("  get (baseline)   {get_ns:>8.1} ns/op  ({RANKS} queries)");
    println!("  page(offset, 25) {page_ns:>8.1} ns/op  ({PAGES} queries)");
    println!("  top(100)         {top_ns:>8} ns");
    println!(
        "  memory: {:.1} bytes/member total, {:.1} bytes/member ordered index (beyond the map), {:.1} MiB",
        total as f64 / len as f64,
        index as f64 / len as f64,
        total as f64 / (1024.0 * 1024.0)
    );
}
