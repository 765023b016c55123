//! `RankedIndex` and `RankedSet`: the order-statistics structures behind every leaderboard
//! (one per guild × metric × period).
//!
//! The read side uses [`RankedIndex`], the order alone: each member's value already lives in
//! its totals (`state::members::MemberTotals::board_value`), so the caller passes the old value
//! with every change instead of the index keeping a copy in a hash map per board (a member is
//! on up to 20 boards: that map was ≈ 36 bytes per entry and one more cache miss per update).
//! [`RankedSet`] adds the map for callers that do not know the values (tests, tools).
//!
//! # Order
//!
//! Members are listed by value **descending**, ties broken by user id **ascending**
//! (numeric). A member whose value is `0` (or below) is not listed at all: `set(u, 0)` removes
//! `u`, and `get` of an unlisted member is `0`.
//!
//! # Design
//!
//! Two structures, kept in step in a [`RankedSet`] (a [`RankedIndex`] is the second alone):
//!
//! * `values: HashMap<UserId, i64>` — the current (positive) value of every listed member, for
//!   `get` and for finding a member's old position when it changes.
//! * an ordered list of sort keys, stored as a B-tree-like *list of sorted chunks*:
//!   `chunks: Vec<Vec<Key>>`, every chunk non-empty and holding at most [`CHUNK_MAX`] keys,
//!   the concatenation of all chunks being the leaderboard in order. A `Key` is 16 bytes:
//!   `(u64::MAX - value, user)`, so the derived lexicographic order *is* the leaderboard order.
//!   Beside it:
//!   * `firsts: Vec<Key>` — the first key of every chunk (one contiguous array, so locating a
//!     key's chunk is a cache-friendly binary search that does not touch the chunks);
//!   * `sizes: Fenwick` — a Fenwick (binary indexed) tree over the chunk lengths, giving the
//!     number of entries before a chunk (for `rank`) and the chunk holding the `i`-th entry
//!     (for `page`) in `O(log C)`.
//!
//! A chunk that grows past [`CHUNK_MAX`] is split in half; a chunk that shrinks below
//! [`CHUNK_MIN`] (= `CHUNK_MAX / 4`) is merged with a neighbour, or, if the two together would
//! be too big, the pair is rebalanced into two halves. Either way every chunk touched by a
//! restructuring ends up near `CHUNK_MAX / 2`, far from both thresholds, so restructurings
//! are at least `Θ(CHUNK_MAX)` updates apart per chunk. Only a change in the *number* of
//! chunks rebuilds `firsts` and the Fenwick tree (`O(C)`, plus shifting the `C` chunk
//! headers); every other update does an `O(log C)` Fenwick point update. A value change that
//! keeps the key inside its chunk's range (the common small increment, when not crossing a
//! chunk boundary) is a single in-place rotate with no index update at all.
//!
//! In-chunk searches are 8-way rather than binary (7 independent probes per round, so their
//! cache misses overlap), because a chunk is several KiB that is usually cold.
//!
//! # Complexity
//!
//! With `n` listed members, `B = CHUNK_MAX` (512) and `C ≈ n / B` chunks:
//!
//! | operation | time |
//! |---|---|
//! | `get`, `len`, `is_empty` | `O(1)` (`get` expected, one hash lookup) |
//! | `set`, `add`: new value stays in the member's chunk | `O(log C + log B + B)`: one hash lookup, chunk search in `firsts`, in-chunk search, one rotate |
//! | `set`, `add`: general (insert, remove, move across chunks) | `O(log n + B)`, plus amortised `O(C / B)` for splits and merges |
//! | `rank` | `O(log n)`: one hash lookup, `O(log C)` chunk search, `O(log B)` in-chunk search, `O(log C)` Fenwick prefix |
//! | `page(offset, limit)`, `top(k)` | `O(log C + limit)`: Fenwick descent to the chunk holding `offset`, then a copy |
//! | `bytes_estimate` | `O(C)` |
//!
//! `B` is a constant, so updates are `O(log n)` with a constant of one `memmove` of at most
//! `16 · B` bytes (8 KiB), which is cheaper than the cache misses of a pointer-based tree.
//! The amortised restructuring term `O(C / B) = O(n / B²)` is a few word operations per update
//! at a million members. Nothing is `O(n)` except [`RankedSet::check_invariants`].
//!
//! # Memory
//!
//! Chunk allocations grow by half (not doubling), are capped at `CHUNK_MAX + 1` slots, and are
//! shrunk back when less than half full, so every chunk of more than 8 slots is at least half
//! full: at most 32 bytes per member in the ordered structure (≈ 21 bytes measured at a million
//! members), and a tiny leaderboard (most guilds are small) costs a few dozen bytes, not a
//! whole chunk. `firsts`, the chunk headers and the Fenwick tree add ≈ 48 bytes per *chunk*,
//! under 0.2 bytes per member. A `RankedSet` adds the `HashMap` entry: 16 bytes plus 1
//! control byte per bucket at 44–88 % load (≈ 36 bytes per member at a million).
//!
//! # Values
//!
//! Values are `i64`; `add` saturates at `i64::MAX` / `i64::MIN` instead of overflowing.

use foldhash::HashMap;
use guildflow_model::UserId;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::mem::size_of;

/// The largest number of keys one chunk holds; a chunk reaching `CHUNK_MAX + 1` is split.
pub const CHUNK_MAX: usize = 512;

/// Below this many keys a chunk is merged with (or rebalanced against) a neighbour (in general
/// a quarter of the split threshold, see [`RankedSet::with_chunk_max`]).
pub const CHUNK_MIN: usize = CHUNK_MAX / 4;

/// A sort key: `(u64::MAX - value, user)`. For positive values the derived order is value
/// descending, then user id ascending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    inv: u64,
    user: u64,
}

impl Key {
    /// The key of `user` at `value` (`value` must be positive).
    fn new(user: UserId, value: i64) -> Self {
        debug_assert!(value > 0);
        Key {
            inv: u64::MAX - value.unsigned_abs(),
            user: user.0,
        }
    }

    /// The leaderboard entry this key encodes.
    fn entry(self) -> (UserId, i64) {
        // inv = u64::MAX - value with 0 < value <= i64::MAX, so the difference fits.
        let value = i64::try_from(u64::MAX - self.inv).unwrap_or(i64::MAX);
        (UserId(self.user), value)
    }
}

/// Probes per round of [`lower_bound`]'s multi-way search.
const SEARCH_WAYS: usize = 8;

/// The index of the first key in sorted `keys` that is `>= key`.
///
/// A chunk is a few KiB that is usually not in cache, so a plain binary search pays one
/// dependent cache miss per halving. This searches `SEARCH_WAYS`-ways instead: each round
/// loads `SEARCH_WAYS - 1` independent probes (whose misses overlap) and keeps one of
/// `SEARCH_WAYS` sub-ranges, so a 512-key chunk takes 3 rounds instead of ~7 dependent
/// misses, then finishes with a binary search over at most `2 · SEARCH_WAYS` keys.
fn lower_bound(keys: &[Key], key: Key) -> usize {
    let mut lo = 0;
    let mut len = keys.len();
    while len >= 2 * SEARCH_WAYS {
        let q = len / SEARCH_WAYS;
        // Keys are sorted, so the probes below `key` are a prefix of the probes.
        let mut below = 0;
        for j in 1..SEARCH_WAYS {
            below += usize::from(keys[lo + j * q] < key);
        }
        let end = if below == SEARCH_WAYS - 1 {
            lo + len
        } else {
            lo + (below + 1) * q
        };
        if below > 0 {
            lo += below * q + 1;
        }
        len = end - lo;
    }
    lo + keys[lo..lo + len].partition_point(|k| *k < key)
}

/// The index of `key` in sorted `keys`, if present.
fn position(keys: &[Key], key: Key) -> Option<usize> {
    let i = lower_bound(keys, key);
    (keys.get(i) == Some(&key)).then_some(i)
}

/// The capacity to give a chunk of `len` keys that is expected to grow: 1.5 × `len` (at least
/// 4), never more than one split's worth (`max + 1`).
fn roomy(len: usize, max: usize) -> usize {
    (len + len / 2).clamp(4, max + 1).max(len)
}

/// Makes room for `need` keys in `chunk`, growing its allocation by half (not doubling) and
/// never past `max + 1` slots.
fn reserve(chunk: &mut Vec<Key>, need: usize, max: usize) {
    if chunk.capacity() < need {
        let target = roomy(chunk.capacity(), max).max(need);
        chunk.reserve_exact(target - chunk.len());
    }
}

/// Gives memory back when a chunk is less than half full (down to 80 % full), so every
/// chunk of more than 8 slots stays at least half full: ≤ 32 bytes per key.
fn trim(chunk: &mut Vec<Key>) {
    if chunk.capacity() > 8 && chunk.len() * 2 < chunk.capacity() {
        chunk.shrink_to(chunk.len() + chunk.len() / 4);
    }
}

/// A Fenwick (binary indexed) tree over chunk lengths, 0-based: `tree[i]` holds the sum of
/// lengths `[i & (i + 1), i]`.
#[derive(Clone, Debug, Default)]
struct Fenwick {
    tree: Vec<usize>,
}

impl Fenwick {
    /// Rebuilds the tree from the chunk lengths in `O(C)`.
    fn rebuild(&mut self, chunks: &[Vec<Key>]) {
        self.tree.clear();
        self.tree.extend(chunks.iter().map(Vec::len));
        let n = self.tree.len();
        for i in 0..n {
            let parent = i | (i + 1);
            if parent < n {
                let v = self.tree[i];
                self.tree[parent] += v;
            }
        }
    }

    /// Adds `delta` to the length of chunk `i`.
    fn add(&mut self, mut i: usize, delta: isize) {
        while let Some(slot) = self.tree.get_mut(i) {
            *slot = slot.wrapping_add_signed(delta);
            i |= i + 1;
        }
    }

    /// The total length of chunks `[0, i)`.
    fn prefix(&self, i: usize) -> usize {
        let mut i = i.min(self.tree.len());
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i - 1];
            i &= i - 1;
        }
        sum
    }

    /// The chunk holding the entry at position `offset` (which must be below the total), and
    /// the position within that chunk.
    fn find(&self, offset: usize) -> (usize, usize) {
        let n = self.tree.len();
        let mut pos = 0; // 1-based: number of whole chunks skipped
        let mut rem = offset;
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next - 1] <= rem {
                pos = next;
                rem -= self.tree[next - 1];
            }
            step >>= 1;
        }
        (pos, rem)
    }

    fn bytes(&self) -> usize {
        self.tree.capacity() * size_of::<usize>()
    }
}

/// The order of a leaderboard without its values: sorted `(value, user)` keys in chunks,
/// with rank and page queries. The caller knows each member's value (the read side holds it
/// in the member's totals), so no per-board map is kept; [`RankedSet`] adds one for callers
/// that do not. See the [module documentation](self) for the design and complexities.
#[derive(Clone, Debug)]
pub struct RankedIndex {
    /// Sorted, non-empty chunks of keys; their concatenation is the leaderboard.
    chunks: Vec<Vec<Key>>,
    /// `firsts[i] == chunks[i][0]`.
    firsts: Vec<Key>,
    /// Lengths of the chunks.
    sizes: Fenwick,
    /// Split threshold: the largest chunk length ([`CHUNK_MAX`] unless tuned).
    max: usize,
}

/// An order-statistics set of `(user, value)`: value descending, then user id ascending;
/// members with value `0` are not listed. A [`RankedIndex`] plus every listed member's value.
#[derive(Clone, Debug, Default)]
pub struct RankedSet {
    /// The value of every listed member (always positive).
    values: HashMap<UserId, i64>,
    /// The order.
    index: RankedIndex,
}

/// A leaderboard as a snapshot keeps it: its entries in rank order (the index is rebuilt).
#[derive(Serialize, Deserialize)]
struct RankedEntries {
    max: usize,
    entries: Vec<(UserId, i64)>,
}

impl Serialize for RankedIndex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RankedEntries {
            max: self.max,
            entries: self.page(0, self.len()),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RankedIndex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = RankedEntries::deserialize(deserializer)?;
        let mut index = RankedIndex::with_chunk_max(saved.max);
        // In rank order, each insertion appends to the last chunk.
        for (user, value) in saved.entries {
            index.insert(user, value);
        }
        Ok(index)
    }
}

impl Default for RankedIndex {
    fn default() -> Self {
        Self::with_chunk_max(CHUNK_MAX)
    }
}

impl RankedSet {
    /// An empty leaderboard.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty leaderboard whose chunks hold at most `max` keys (clamped to `4..=65536`)
    /// instead of [`CHUNK_MAX`]; for tuning, and for tests that want splits and merges with
    /// few members.
    pub fn with_chunk_max(max: usize) -> Self {
        RankedSet {
            values: HashMap::default(),
            index: RankedIndex::with_chunk_max(max),
        }
    }

    /// Sets `user`'s value; a value `<= 0` removes the member.
    pub fn set(&mut self, user: UserId, value: i64) {
        self.update(user, |_| value);
    }

    /// Adds `delta` (which may be negative) to `user`'s value, saturating at the `i64` range;
    /// a result `<= 0` removes the member.
    pub fn add(&mut self, user: UserId, delta: i64) {
        self.update(user, |old| old.saturating_add(delta));
    }

    /// Replaces `user`'s value `old` (0 when absent) by `f(old)`, with one hash lookup.
    fn update(&mut self, user: UserId, f: impl FnOnce(i64) -> i64) {
        let (old, new) = match self.values.entry(user) {
            Entry::Occupied(mut e) => {
                let old = *e.get();
                let new = f(old);
                if new == old {
                    return;
                }
                if new > 0 {
                    e.insert(new);
                } else {
                    e.remove();
                }
                (old, new)
            }
            Entry::Vacant(e) => {
                let new = f(0);
                if new <= 0 {
                    return;
                }
                e.insert(new);
                (0, new)
            }
        };
        self.index.replace(user, old, new);
    }

    /// `user`'s value, `0` when not listed.
    pub fn get(&self, user: UserId) -> i64 {
        self.values.get(&user).copied().unwrap_or(0)
    }

    /// `user`'s 1-based position, `None` when not listed.
    pub fn rank(&self, user: UserId) -> Option<usize> {
        self.index.rank_of(user, *self.values.get(&user)?)
    }

    /// The number of listed members.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no member is listed.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The entries at positions `[offset, offset + limit)` (0-based) in leaderboard order;
    /// fewer (or none) past the end. `O(log n + limit)`.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<(UserId, i64)> {
        self.index.page(offset, limit)
    }

    /// The first `k` entries in leaderboard order (all of them when fewer).
    pub fn top(&self, k: usize) -> Vec<(UserId, i64)> {
        self.index.page(0, k)
    }

    /// Approximate heap bytes held: the hash map's table, the chunks' allocations and the
    /// chunk index.
    pub fn bytes_estimate(&self) -> usize {
        self.map_bytes_estimate() + self.index.index_bytes_estimate()
    }

    /// Approximate heap bytes of the ordered index alone (chunks, chunk firsts, Fenwick tree),
    /// i.e. [`bytes_estimate`](Self::bytes_estimate) without the value hash map.
    pub fn index_bytes_estimate(&self) -> usize {
        self.index.index_bytes_estimate()
    }

    /// Approximate heap bytes of the value hash map.
    fn map_bytes_estimate(&self) -> usize {
        // hashbrown: one (key, value) slot plus one control byte per bucket, plus a group of
        // trailing control bytes; buckets ≈ capacity * 8 / 7.
        let cap = self.values.capacity();
        let buckets = if cap == 0 {
            0
        } else if cap < 8 {
            cap.next_power_of_two().max(4)
        } else {
            (cap * 8 / 7).next_power_of_two()
        };
        if buckets == 0 {
            0
        } else {
            buckets * (size_of::<(UserId, i64)>() + 1) + 16
        }
    }

    /// Checks every internal invariant; for tests and debugging. `O(n)`.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        self.index.check_invariants()?;
        for (user, value) in self.index.page(0, self.index.len()) {
            if self.values.get(&user) != Some(&value) {
                return Err(format!("key for {user} disagrees with the map"));
            }
        }
        if self.index.len() != self.values.len() {
            return Err("counts disagree".into());
        }
        Ok(())
    }
}

impl RankedIndex {
    /// An empty leaderboard.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty leaderboard whose chunks hold at most `max` keys (clamped to `4..=65536`)
    /// instead of [`CHUNK_MAX`].
    pub fn with_chunk_max(max: usize) -> Self {
        RankedIndex {
            chunks: Vec::new(),
            firsts: Vec::new(),
            sizes: Fenwick::default(),
            max: max.clamp(4, 1 << 16),
        }
    }

    /// Lists `user` at `value` (a value `<= 0` is not listed). `user` must not be listed.
    pub fn insert(&mut self, user: UserId, value: i64) {
        if value > 0 {
            self.insert_key(Key::new(user, value));
        }
    }

    /// Moves `user` from value `old` to `new`, either `<= 0` meaning "not listed": the caller
    /// tells the old value. A member not listed at `old` is listed at `new`: a board that moved
    /// to a new period dropped its members while their totals still hold the earlier period's
    /// values, so a late change of that period finds them unlisted. (The caller must never
    /// pass a wrong positive `old` of a member listed at another value: it would stay listed
    /// there too.)
    pub fn replace(&mut self, user: UserId, old: i64, new: i64) {
        match (old > 0, new > 0) {
            _ if old == new => {}
            (true, true) => self.move_key(Key::new(user, old), Key::new(user, new)),
            (true, false) => self.remove_key(Key::new(user, old)),
            (false, true) => self.insert_key(Key::new(user, new)),
            (false, false) => {}
        }
    }

    /// The 1-based position of `user` listed at `value`, `None` when not listed there.
    pub fn rank_of(&self, user: UserId, value: i64) -> Option<usize> {
        if value <= 0 {
            return None;
        }
        let key = Key::new(user, value);
        let ci = self.chunk_of(key);
        let pos = position(self.chunks.get(ci)?, key)?;
        Some(self.sizes.prefix(ci) + pos + 1)
    }

    /// The number of listed members.
    pub fn len(&self) -> usize {
        self.sizes.prefix(self.chunks.len())
    }

    /// Whether no member is listed.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The entries at positions `[offset, offset + limit)` (0-based) in leaderboard order;
    /// fewer (or none) past the end. `O(log n + limit)`.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<(UserId, i64)> {
        let len = self.len();
        if offset >= len || limit == 0 {
            return Vec::new();
        }
        let want = limit.min(len - offset);
        let mut out = Vec::with_capacity(want);
        let (ci, pos) = self.sizes.find(offset);
        let mut skip = pos;
        for chunk in self.chunks.iter().skip(ci) {
            let rest = chunk.get(skip..).unwrap_or(&[]);
            skip = 0;
            let take = (want - out.len()).min(rest.len());
            out.extend(rest[..take].iter().map(|k| k.entry()));
            if out.len() == want {
                break;
            }
        }
        out
    }

    /// The first `k` entries in leaderboard order (all of them when fewer).
    pub fn top(&self, k: usize) -> Vec<(UserId, i64)> {
        self.page(0, k)
    }

    /// Approximate heap bytes (chunks, chunk firsts, Fenwick tree).
    pub fn index_bytes_estimate(&self) -> usize {
        let keys: usize = self
            .chunks
            .iter()
            .map(|c| c.capacity() * size_of::<Key>())
            .sum();
        keys + self.chunks.capacity() * size_of::<Vec<Key>>()
            + self.firsts.capacity() * size_of::<Key>()
            + self.sizes.bytes()
    }

    /// The chunk that holds `key`, or would receive it: the last chunk whose first key is
    /// `<= key` (chunk 0 for keys before everything).
    fn chunk_of(&self, key: Key) -> usize {
        self.firsts.partition_point(|f| *f <= key).saturating_sub(1)
    }

    /// Inserts a key that is not present.
    fn insert_key(&mut self, key: Key) {
        if self.chunks.is_empty() {
            let mut chunk = Vec::with_capacity(4);
            chunk.push(key);
            self.chunks.push(chunk);
            self.firsts.push(key);
            self.sizes.rebuild(&self.chunks);
            return;
        }
        let ci = self.chunk_of(key);
        let chunk = &mut self.chunks[ci];
        let pos = lower_bound(chunk, key);
        reserve(chunk, chunk.len() + 1, self.max);
        chunk.insert(pos, key);
        if pos == 0 {
            self.firsts[ci] = key;
        }
        if chunk.len() > self.max {
            self.split(ci);
        } else {
            self.sizes.add(ci, 1);
        }
    }

    /// Removes a key that is present.
    fn remove_key(&mut self, key: Key) {
        let ci = self.chunk_of(key);
        let n_chunks = self.chunks.len();
        let Some(chunk) = self.chunks.get_mut(ci) else {
            return;
        };
        let Some(pos) = position(chunk, key) else {
            // Not listed (see `replace`): nothing to remove.
            debug_assert!(
                !self.chunks.iter().flatten().any(|k| k.user == key.user),
                "RankedIndex: user {} listed at another value than the caller's",
                key.user
            );
            return;
        };
        chunk.remove(pos);
        if chunk.is_empty() {
            self.chunks.remove(ci);
            self.firsts.remove(ci);
            self.sizes.rebuild(&self.chunks);
            return;
        }
        if pos == 0 {
            self.firsts[ci] = chunk[0];
        }
        if chunk.len() < self.max / 4 && n_chunks > 1 {
            self.underflow(ci);
        } else {
            trim(chunk);
            self.sizes.add(ci, -1);
        }
    }

    /// Replaces present key `old` by absent key `new` (same user, new value).
    fn move_key(&mut self, old: Key, new: Key) {
        let ci = self.chunk_of(old);
        let n_chunks = self.chunks.len();
        // Can `new` stay in chunk `ci`? It must sort after the previous chunk's last key and
        // before the next chunk's first key.
        let after_prev = ci == 0 || self.chunks[ci - 1].last().is_none_or(|last| *last < new);
        let before_next = ci + 1 >= n_chunks || new < self.firsts[ci + 1];
        if !(after_prev && before_next) {
            self.remove_key(old);
            self.insert_key(new);
            return;
        }
        let chunk = &mut self.chunks[ci];
        let Some(pos) = position(chunk, old) else {
            // Not listed at `old` (see `replace`): list it at `new`.
            debug_assert!(
                !self.chunks.iter().flatten().any(|k| k.user == old.user),
                "RankedIndex: user {} listed at another value than the caller's",
                old.user
            );
            self.insert_key(new);
            return;
        };
        chunk[pos] = new;
        if new < old {
            let to = chunk[..pos].partition_point(|k| *k < new);
            chunk[to..=pos].rotate_right(1);
        } else {
            let to = pos + chunk[pos + 1..].partition_point(|k| *k < new);
            chunk[pos..=to].rotate_left(1);
        }
        self.firsts[ci] = chunk[0];
    }

    /// Splits an over-full chunk `ci` in half.
    fn split(&mut self, ci: usize) {
        let chunk = &mut self.chunks[ci];
        let mid = chunk.len() / 2;
        let mut right = Vec::with_capacity(roomy(chunk.len() - mid, self.max));
        right.extend_from_slice(&chunk[mid..]);
        chunk.truncate(mid);
        chunk.shrink_to(roomy(mid, self.max));
        let first = right[0];
        self.chunks.insert(ci + 1, right);
        self.firsts.insert(ci + 1, first);
        self.sizes.rebuild(&self.chunks);
    }

    /// Fixes an under-full chunk `ci` (there is at least one other chunk): merges it with a
    /// neighbour, or rebalances the pair when merged they would be too big.
    fn underflow(&mut self, ci: usize) {
        let (left, right) = if ci + 1 < self.chunks.len() {
            (ci, ci + 1)
        } else {
            (ci - 1, ci)
        };
        let total = self.chunks[left].len() + self.chunks[right].len();
        if total <= self.max {
            let moved = self.chunks.remove(right);
            self.firsts.remove(right);
            let dest = &mut self.chunks[left];
            reserve(dest, total, self.max);
            dest.extend_from_slice(&moved);
            trim(dest);
            self.sizes.rebuild(&self.chunks);
        } else {
            // Redistribute evenly; the chunk count is unchanged.
            let half = total / 2;
            let (a, b) = self.chunks.split_at_mut(right);
            let (l, r) = (&mut a[left], &mut b[0]);
            let old_l = l.len();
            if old_l > half {
                // Move the tail of `l` to the front of `r`.
                let tail: Vec<Key> = l.drain(half..).collect();
                reserve(r, total - half, self.max);
                r.splice(0..0, tail);
            } else {
                // Move the head of `r` to the end of `l`.
                reserve(l, half, self.max);
                l.extend(r.drain(..half - old_l));
            }
            trim(l);
            trim(r);
            self.firsts[right] = r[0];
            let new_l = l.len();
            self.sizes.add(left, new_l as isize - old_l as isize);
            // `r` lost (or gained) what `l` gained (or lost), and the removal that triggered
            // this has not been counted yet: the chunk at `ci` lost one entry.
            self.sizes.add(right, old_l as isize - new_l as isize);
            self.sizes.add(ci, -1);
        }
    }

    /// Checks every internal invariant; for tests and debugging. `O(n)`.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.chunks.len() != self.firsts.len() || self.chunks.len() != self.sizes.tree.len() {
            return Err("index lengths disagree".into());
        }
        let mut total = 0;
        let mut prev: Option<Key> = None;
        for (i, chunk) in self.chunks.iter().enumerate() {
            if chunk.is_empty() || chunk.len() > self.max {
                return Err(format!("chunk {i} has length {}", chunk.len()));
            }
            if chunk.capacity() > self.max + 1
                || (chunk.capacity() > 8 && chunk.len() * 2 < chunk.capacity())
            {
                return Err(format!(
                    "chunk {i} has capacity {} for {} keys",
                    chunk.capacity(),
                    chunk.len()
                ));
            }
            if self.firsts[i] != chunk[0] {
                return Err(format!("firsts[{i}] is stale"));
            }
            if self.sizes.prefix(i) != total {
                return Err(format!("fenwick prefix({i}) is wrong"));
            }
            for k in chunk {
                if prev.is_some_and(|p| p >= *k) {
                    return Err(format!("chunk {i} out of order"));
                }
                prev = Some(*k);
            }
            total += chunk.len();
        }
        if self.sizes.prefix(self.chunks.len()) != total {
            return Err("counts disagree".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_bound_matches_partition_point() {
        for len in 0..300u64 {
            // Even keys with a run of duplicates-by-value (distinct users) in the middle.
            let keys: Vec<Key> = (0..len)
                .map(|i| Key {
                    inv: 2 * (i / 3),
                    user: i,
                })
                .collect();
            for inv in 0..=2 * len / 3 + 2 {
                for user in [0, len / 2, len + 1] {
                    let key = Key { inv, user };
                    let expect = keys.partition_point(|k| *k < key);
                    assert_eq!(lower_bound(&keys, key), expect, "len {len} key {key:?}");
                }
            }
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(position(&keys, *k), Some(i));
            }
            assert_eq!(position(&keys, Key { inv: 1, user: 0 }), None);
        }
    }

    #[test]
    fn fenwick_find_and_prefix() {
        let chunks: Vec<Vec<Key>> = (1..=37)
            .map(|n| vec![Key { inv: 0, user: 0 }; n % 7 + 1])
            .collect();
        let mut f = Fenwick::default();
        f.rebuild(&chunks);
        let mut offset = 0;
        for (ci, c) in chunks.iter().enumerate() {
            assert_eq!(f.prefix(ci), offset);
            for j in 0..c.len() {
                assert_eq!(f.find(offset + j), (ci, j));
            }
            offset += c.len();
        }
        assert_eq!(f.prefix(chunks.len()), offset);
    }
}
