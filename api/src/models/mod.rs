//! Request parameters and response bodies: parsing and validating input, and the JSON shapes
//! of SPEC §5. No I/O and no state access here.

pub mod error;
pub mod guild;
pub mod health;
pub mod ids;
pub mod leaderboard;
pub mod member;
pub mod sql;
pub mod window;

/// `YYYY-MM-DD` of a local day given as the Unix ms of its local midnight (the dataflow keys
/// local buckets as wall-clock time read as UTC).
pub fn local_date(start_ms: i64) -> String {
    let (y, m, d) = guildflow_model::period::civil_from_days(start_ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::local_date(0), "1970-01-01");
        assert_eq!(super::local_date(1_767_225_600_000), "2026-01-01");
        assert_eq!(super::local_date(-1), "1969-12-31");
    }
}
