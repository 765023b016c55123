//! Discord ids in paths: canonical decimal strings of a non-zero u64.

use super::error::Problem;

/// Parses the id `raw` of a `what` ("guild", "user"): 1 to 20 ASCII digits, no sign, no
/// leading zero, non-zero and within u64. Anything else is a 400 `invalid_id`, so a typo never
/// reads as an unknown (404) id.
pub fn parse_id(what: &str, raw: &str) -> Result<u64, Problem> {
    let canonical = !raw.is_empty()
        && raw.len() <= 20
        && raw.bytes().all(|b| b.is_ascii_digit())
        && !raw.starts_with('0');
    match raw.parse::<u64>() {
        Ok(id) if canonical => Ok(id),
        _ => Err(Problem::bad_request(
            "invalid_id",
            format!(
                "{what} id must be a Discord id (a decimal number), not {:?}",
                truncate(raw)
            ),
        )),
    }
}

/// Echoing input back is useful, echoing a megabyte of it is not.
pub(crate) fn truncate(raw: &str) -> String {
    const MAX: usize = 64;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn accepts_canonical_ids() {
        assert_eq!(
            parse_id("guild", "80351110224678912"),
            Ok(80_351_110_224_678_912)
        );
        assert_eq!(parse_id("guild", "18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_everything_else() {
        for raw in [
            "",
            "0",
            "007",
            "+5",
            "-5",
            "1e5",
            "abc",
            "12 ",
            "18446744073709551616",
            "999999999999999999999",
        ] {
            let problem = parse_id("guild", raw).unwrap_err();
            assert_eq!(problem.status.as_u16(), 400, "{raw:?}");
            assert_eq!(problem.code, "invalid_id");
        }
    }
}
