//! [`test_rule`]: dry-run a rule on sample messages, for the API's rule tester.

use super::action::Evidence;
use super::compile::CompiledRule;
use super::config::AutomodRule;
use super::error::AutomodError;
use super::limits::{MAX_TEST_SAMPLES, MAX_TEST_SAMPLE_CHARS};
use super::state::AutomodState;
use super::text::parse_mentions;
use guildflow_model::{ChannelId, GuildId, MessageCreate, MessageId, UserId};

/// Evaluates `rule`'s trigger on `samples` (for `POST .../automod/rules/test`): one evidence
/// (or None) per sample. Stateless triggers see each sample alone; stateful ones
/// (`message_rate`, `duplicate_content`) see the samples as consecutive messages of one member,
/// 1 s apart. Mentions are read from the text (`<@id>`, `<@!id>`, `<@&id>`, `@everyone`,
/// `@here`). The trigger is validated as [`AutomodConfig::compile`](super::AutomodConfig::compile)
/// would; `enabled`, actions and exemptions are ignored. At most 100 samples of 4000
/// characters.
pub fn test_rule(
    rule: &AutomodRule,
    samples: &[String],
) -> Result<Vec<Option<Evidence>>, AutomodError> {
    if samples.len() > MAX_TEST_SAMPLES {
        return Err(AutomodError::InvalidTest {
            reason: format!(
                "{} samples, at most {MAX_TEST_SAMPLES} are allowed",
                samples.len()
            ),
        });
    }
    if let Some(i) = samples
        .iter()
        .position(|s| s.chars().count() > MAX_TEST_SAMPLE_CHARS)
    {
        return Err(AutomodError::InvalidTest {
            reason: format!("sample {i} is longer than {MAX_TEST_SAMPLE_CHARS} characters"),
        });
    }
    let compiled = CompiledRule::compile(rule)?;
    let mut state = AutomodState::new();
    let guild = GuildId(0);
    Ok(samples
        .iter()
        .enumerate()
        .map(|(i, sample)| {
            let (mention_users, mention_roles, mention_everyone) = parse_mentions(sample);
            let msg = MessageCreate {
                guild: Some(guild),
                channel: ChannelId(0),
                message: MessageId(i as u64 + 1),
                author: UserId(0),
                author_bot: false,
                webhook: false,
                author_roles: Box::new([]),
                content: sample.as_str().into(),
                mention_users,
                mention_roles,
                mention_everyone,
                attachments: 0,
                embeds: 0,
            };
            let at = i64::try_from(i).unwrap_or(i64::MAX).saturating_mul(1000);
            state.evaluate(&compiled, guild, &msg, at).map(|(ev, _)| ev)
        })
        .collect())
}
