//! `caps`: too large a share of uppercase letters.

use crate::automod::action::Evidence;
use crate::automod::error::AutomodError;
use crate::automod::text::count_case;

/// Compiled `caps` trigger.
#[derive(Clone, Debug)]
pub(crate) struct CapsTrigger {
    min_letters: u32,
    max_ratio_percent: u32,
}

impl CapsTrigger {
    /// Validates the ratio (0..=100).
    pub(crate) fn compile(
        rule: u64,
        min_letters: u32,
        max_ratio_percent: u32,
    ) -> Result<CapsTrigger, AutomodError> {
        if max_ratio_percent > 100 {
            return Err(AutomodError::RatioOutOfRange {
                rule,
                value: max_ratio_percent,
            });
        }
        Ok(CapsTrigger {
            min_letters,
            max_ratio_percent,
        })
    }

    /// Fires when the message has at least `min_letters` cased letters and
    /// `upper / letters > max_ratio_percent / 100` (exact integer comparison).
    pub(crate) fn check(&self, content: &str) -> Option<Evidence> {
        let (letters, upper) = count_case(content);
        if letters == 0 || letters < self.min_letters {
            return None;
        }
        let over = u64::from(upper) * 100 > u64::from(self.max_ratio_percent) * u64::from(letters);
        if !over {
            return None;
        }
        let percent = u64::from(upper) * 100 / u64::from(letters);
        Some(Evidence::new(
            "caps",
            format!(
                "{percent}% uppercase of {letters} letters (limit {}%)",
                self.max_ratio_percent
            ),
            None,
            content,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_strictly_greater() {
        let t = CapsTrigger::compile(1, 6, 50).unwrap();
        assert!(t.check("ABCdef").is_none()); // exactly 50%
        let ev = t.check("ABCDef").unwrap();
        assert_eq!(ev.detail, "66% uppercase of 6 letters (limit 50%)");
        assert!(t.check("ABCDE").is_none()); // 5 letters < 6
        assert!(t.check("").is_none());
    }

    #[test]
    fn ratio_above_100_is_rejected() {
        assert_eq!(
            CapsTrigger::compile(3, 6, 101).unwrap_err(),
            AutomodError::RatioOutOfRange {
                rule: 3,
                value: 101
            }
        );
        // 100% can never be exceeded: valid but inert.
        assert!(CapsTrigger::compile(3, 6, 100)
            .unwrap()
            .check("AAAAAAAA")
            .is_none());
    }
}
