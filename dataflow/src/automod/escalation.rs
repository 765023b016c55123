//! Escalation: warnings (from `warn` actions and manual warnings) accumulate per member;
//! after each new warning, every step "`warnings` within `within_seconds`" is checked over the
//! window ending at that warning, and the matching step with the most warnings wins (ties:
//! the most severe action, then configuration order). A member who keeps getting warned
//! keeps matching: the step fires again on each further warning in the window.

use super::action::{ActionKind, Evidence};
use super::config::EscalationStep;
use super::error::AutomodError;
use super::limits::{MAX_ESCALATION_STEPS, MAX_ESCALATION_WARNINGS, MAX_ESCALATION_WINDOW_SECONDS};
use super::validate::action_problem;
use std::collections::VecDeque;

/// Escalation steps ready to evaluate.
#[derive(Clone, Debug, Default)]
pub(crate) struct CompiledEscalation {
    /// Sorted by priority: most warnings first, then most severe action.
    steps: Vec<EscalationStep>,
    /// Largest `warnings`: warning histories keep at most this many entries.
    max_warnings: u32,
    /// Largest window, milliseconds.
    window_ms: i64,
}

impl CompiledEscalation {
    /// Validates and orders the steps.
    pub(crate) fn compile(steps: &[EscalationStep]) -> Result<CompiledEscalation, AutomodError> {
        if steps.len() > MAX_ESCALATION_STEPS {
            return Err(AutomodError::InvalidEscalation {
                step: MAX_ESCALATION_STEPS,
                reason: format!("at most {MAX_ESCALATION_STEPS} escalation steps are allowed"),
            });
        }
        for (step, s) in steps.iter().enumerate() {
            let invalid = |reason: String| AutomodError::InvalidEscalation { step, reason };
            if s.warnings == 0 || s.warnings > MAX_ESCALATION_WARNINGS {
                return Err(invalid(format!(
                    "warnings is {}, it must be between 1 and {MAX_ESCALATION_WARNINGS}",
                    s.warnings
                )));
            }
            if s.within_seconds == 0 {
                return Err(invalid(
                    "within_seconds must be at least 1 second".to_owned(),
                ));
            }
            if s.within_seconds > MAX_ESCALATION_WINDOW_SECONDS {
                return Err(invalid(format!(
                    "within_seconds is {}, at most {MAX_ESCALATION_WINDOW_SECONDS} (30 days)",
                    s.within_seconds
                )));
            }
            if matches!(s.action, ActionKind::Delete | ActionKind::Warn) {
                return Err(invalid(format!(
                    "the action must be timeout, kick or ban, not {}",
                    s.action.name()
                )));
            }
            if let Some(problem) = action_problem(&s.action) {
                return Err(invalid(problem));
            }
        }
        let mut ordered = steps.to_vec();
        ordered.sort_by(|a, b| {
            (b.warnings, b.action.severity()).cmp(&(a.warnings, a.action.severity()))
        });
        Ok(CompiledEscalation {
            max_warnings: ordered.iter().map(|s| s.warnings).max().unwrap_or(0),
            window_ms: ordered
                .iter()
                .map(|s| window_ms(s.within_seconds))
                .max()
                .unwrap_or(0),
            steps: ordered,
        })
    }

    /// Whether there is no step (warnings are then not even recorded).
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Largest window in milliseconds.
    pub(crate) fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Records a warning at `at` into a member's warning times (sorted, bounded by the largest
    /// step and window).
    pub(crate) fn record(&self, warnings: &mut VecDeque<i64>, at: i64) {
        if self.is_empty() {
            return;
        }
        let cutoff = at.saturating_sub(self.window_ms);
        while warnings.front().is_some_and(|t| *t <= cutoff) {
            warnings.pop_front();
        }
        let pos = warnings.partition_point(|t| *t <= at);
        warnings.insert(pos, at);
        while warnings.len() > self.max_warnings as usize {
            warnings.pop_front();
        }
    }

    /// The winning step for a warning at `at`, with the evidence to log.
    pub(crate) fn evaluate(
        &self,
        warnings: &VecDeque<i64>,
        at: i64,
        content: &str,
    ) -> Option<(ActionKind, Evidence)> {
        let upto = warnings.partition_point(|t| *t <= at);
        self.steps.iter().find_map(|step| {
            let cutoff = at.saturating_sub(window_ms(step.within_seconds));
            let from = warnings.partition_point(|t| *t <= cutoff);
            let count = upto.saturating_sub(from);
            (count >= step.warnings as usize).then(|| {
                (
                    step.action.clone(),
                    Evidence::new(
                        "escalation",
                        format!(
                            "{count} warnings within {} s (step: {} warnings -> {})",
                            step.within_seconds,
                            step.warnings,
                            step.action.name()
                        ),
                        None,
                        content,
                    ),
                )
            })
        })
    }
}

fn window_ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(warnings: u32, within_seconds: u64, action: ActionKind) -> EscalationStep {
        EscalationStep {
            warnings,
            within_seconds,
            action,
        }
    }

    #[test]
    fn highest_matching_step_wins() {
        let esc = CompiledEscalation::compile(&[
            step(3, 600, ActionKind::Timeout { seconds: 3600 }),
            step(5, 3600, ActionKind::Kick),
        ])
        .unwrap();
        let mut w = VecDeque::new();
        let mut fired = Vec::new();
        for i in 0..6 {
            let at = i * 60_000;
            esc.record(&mut w, at);
            fired.push(esc.evaluate(&w, at, "").map(|(a, _)| a));
        }
        assert_eq!(
            fired,
            vec![
                None,
                None,
                Some(ActionKind::Timeout { seconds: 3600 }),
                Some(ActionKind::Timeout { seconds: 3600 }),
                Some(ActionKind::Kick),
                Some(ActionKind::Kick),
            ]
        );
        assert!(w.len() <= 5);
    }

    #[test]
    fn windows_slide() {
        let esc = CompiledEscalation::compile(&[step(2, 10, ActionKind::Timeout { seconds: 60 })])
            .unwrap();
        let mut w = VecDeque::new();
        esc.record(&mut w, 0);
        esc.record(&mut w, 10_000);
        assert!(esc.evaluate(&w, 10_000, "").is_none());
        esc.record(&mut w, 19_999);
        let (_, ev) = esc.evaluate(&w, 19_999, "").unwrap();
        assert_eq!(
            ev.detail,
            "2 warnings within 10 s (step: 2 warnings -> timeout)"
        );
    }

    #[test]
    fn invalid_steps() {
        for bad in [
            step(0, 10, ActionKind::Kick),
            step(3, 0, ActionKind::Kick),
            step(3, 10, ActionKind::Warn),
            step(3, 10, ActionKind::Delete),
            step(3, 10, ActionKind::Timeout { seconds: 0 }),
            step(3, MAX_ESCALATION_WINDOW_SECONDS + 1, ActionKind::Ban),
        ] {
            assert!(
                matches!(
                    CompiledEscalation::compile(&[step(1, 1, ActionKind::Ban), bad.clone()]),
                    Err(AutomodError::InvalidEscalation { step: 1, .. })
                ),
                "{bad:?}"
            );
        }
    }
}
