//! Leaderboard metrics (SPEC §5).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A ranked metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Counted messages.
    Messages,
    /// Counted reactions.
    Reactions,
    /// Voice seconds.
    Voice,
    /// messages + reactions + 2 × floor(voice_seconds / 60).
    Score,
    /// Experience points.
    Xp,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 5] = [
        Metric::Messages,
        Metric::Reactions,
        Metric::Voice,
        Metric::Score,
        Metric::Xp,
    ];

    /// Name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::Messages => "messages",
            Metric::Reactions => "reactions",
            Metric::Voice => "voice",
            Metric::Score => "score",
            Metric::Xp => "xp",
        }
    }

    /// Position in [`Metric::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = crate::period::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| crate::period::UnknownName(s.to_owned()))
    }
}
