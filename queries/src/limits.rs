//! The bounds every ad hoc query runs under. Defaults are sized for a 2-core box shared with
//! the shards and the API: one query may use a little CPU and memory, never all of it.

use std::time::Duration;

/// Limits of the ad hoc SQL service. Each is enforced independently; hitting one ends the
/// query with a stable error code (or truncates the result, see [`SqlLimits::error_on_truncation`]).
#[derive(Clone, Debug)]
pub struct SqlLimits {
    /// Largest accepted SQL text, in bytes (`sql_too_large` beyond).
    pub max_sql_bytes: usize,
    /// Parser recursion depth (nested expressions/subqueries); `too_complex` beyond.
    pub parser_recursion_limit: usize,
    /// Operators (arithmetic, comparison, AND/OR; UNION/INTERSECT/EXCEPT/JOIN count 10) in
    /// the text; `too_complex` beyond. Left-associative chains (`1 + 1 + ...`, `... UNION ALL ...`)
    /// are deep trees the parser builds without recursion but the planner walks recursively,
    /// so their length, not only their nesting, must be bounded.
    pub max_operators: usize,
    /// Stack of each query thread; with `max_operators` it keeps planning deep trees from
    /// overflowing (which would abort the process, not just the query).
    pub thread_stack_bytes: usize,
    /// Memory one query's operators may reserve (hash tables, sorts, aggregates); no spilling
    /// to disk, so `resources_exhausted` beyond.
    pub memory_bytes: usize,
    /// Wall-clock budget from parse to last batch; `timeout` beyond, and the query is cancelled.
    pub timeout: Duration,
    /// Rows returned at most.
    pub max_rows: usize,
    /// Result bytes (Arrow in-memory size of the returned slices) at most.
    pub max_result_bytes: usize,
    /// When a row or byte cap is hit: false (default) returns what was read so far with
    /// `truncated = true`; true fails with `rows_limit` / `result_too_large`.
    pub error_on_truncation: bool,
    /// DataFusion partitions per operator (parallelism inside one query).
    pub target_partitions: usize,
    /// Worker threads of the dedicated query runtime.
    pub worker_threads: usize,
    /// Queries executing at once; others wait (within their timeout) for a slot.
    pub max_concurrent: usize,
    /// Rows the `voice_sessions` derivation may load (voice-relevant events of one guild).
    pub max_voice_events: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            max_sql_bytes: 64 * 1024,
            parser_recursion_limit: 50,
            max_operators: 256,
            thread_stack_bytes: 16 * 1024 * 1024,
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_rows: 10_000,
            max_result_bytes: 16 * 1024 * 1024,
            error_on_truncation: false,
            target_partitions: 2,
            worker_threads: 2,
            max_concurrent: 2,
            max_voice_events: 5_000_000,
        }
    }
}
