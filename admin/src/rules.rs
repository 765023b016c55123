//! Automod rules of a guild: create, change, delete, escalation steps, presets, and the dry
//! run of a rule on sample messages. Every change is validated as a whole configuration
//! (the dataflow compiles it once), journaled, audited, and applied live.

use crate::error::AdminError;
use crate::journal::Change;
use crate::plane::{effective_automod, to_json, AdminPlane, AuditNote};
use guildflow_dataflow::automod::{
    test_rule, AutomodConfig, AutomodRule, EscalationStep, Evidence, PRESET_NAMES,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        code: "invalid_rule",
        message: message.into(),
    }
}

/// A preset, ready to be posted as a rule.
#[derive(Clone, Debug, Serialize)]
pub struct Preset {
    /// `anti-spam`, `anti-caps`, `anti-links`, `anti-mention-spam`.
    pub name: &'static str,
    /// The rule (id 0: the API assigns one when it is created).
    pub rule: AutomodRule,
}

/// Every preset.
pub fn presets() -> Vec<Preset> {
    PRESET_NAMES
        .iter()
        .filter_map(|name| AutomodConfig::preset(name).map(|rule| Preset { name, rule }))
        .collect()
}

/// `POST .../automod/rules/test`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// The rule (its id and actions are not needed).
    pub rule: Value,
    /// Sample messages.
    pub messages: Vec<Sample>,
}

/// One sample message.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Text.
    pub content: String,
}

/// The outcome for one sample.
#[derive(Clone, Debug, Serialize)]
pub struct SampleResult {
    /// Position in `messages`.
    pub index: usize,
    /// Whether the trigger fires.
    pub fired: bool,
    /// The rule's actions when it fires.
    pub actions: Vec<guildflow_dataflow::automod::ActionKind>,
    /// Why.
    pub evidence: Option<Evidence>,
}

/// Parses a rule body (without `id`, or with it when `id` is given) into a rule.
fn rule_from(mut body: Value, id: u64) -> Result<AutomodRule, AdminError> {
    let object = body
        .as_object_mut()
        .ok_or_else(|| invalid("the rule must be a JSON object"))?;
    object.insert("id".into(), Value::from(id));
    serde_json::from_value(body).map_err(|e| invalid(e.to_string()))
}

/// Dry-runs a rule on samples.
pub fn run_test(test: RuleTest) -> Result<Vec<SampleResult>, AdminError> {
    let mut body = test.rule;
    if let Some(object) = body.as_object_mut() {
        // Only the trigger matters to a dry run.
        object
            .entry("actions")
            .or_insert_with(|| serde_json::json!([{ "type": "delete" }]));
        object
            .entry("name")
            .or_insert_with(|| serde_json::json!("test"));
    }
    let rule = rule_from(body, 0)?;
    let samples: Vec<String> = test.messages.into_iter().map(|s| s.content).collect();
    let evidence = test_rule(&rule, &samples).map_err(|e| invalid(e.to_string()))?;
    Ok(evidence
        .into_iter()
        .enumerate()
        .map(|(index, evidence)| SampleResult {
            index,
            fired: evidence.is_some(),
            actions: if evidence.is_some() {
                rule.actions.clone()
            } else {
                Vec::new()
            },
            evidence,
        })
        .collect())
}

impl AdminPlane {
    /// A guild's automod rules and escalation steps.
    pub fn automod(&self, guild: u64) -> AutomodConfig {
        self.state()
            .guilds
            .get(&guild)
            .map(|g| g.automod.clone())
            .unwrap_or_default()
    }

    /// The one way automod configurations change: under a lock held from the read to the
    /// commit (concurrent edits never overwrite each other), `edit` changes a copy and says
    /// what to audit; the result is validated as a whole, journaled, audited and applied.
    fn edit_automod<T>(
        &self,
        guild: u64,
        edit: impl FnOnce(&mut AutomodConfig) -> Result<(AuditNote, T), AdminError>,
    ) -> Result<T, AdminError> {
        let _serial = self
            .inner
            .automod_writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = self.automod(guild);
        let (note, out) = edit(&mut next)?;
        next.validate().map_err(|e| invalid(e.to_string()))?;
        let mut names: Vec<&str> = next.rules.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!("two rules are named {:?}", w[0])));
        }
        let control = self.control()?;
        let mut state = self.state();
        self.commit(
            &mut state,
            Change::Automod {
                guild,
                config: next,
            },
        )?;
        self.audit(&mut state, note)?;
        control.configure_automod(guild, effective_automod(state.guild(guild)))?;
        Ok(out)
    }

    /// Adds a rule (body: a rule without `id`); returns it with its id.
    pub fn create_rule(
        &self,
        guild: u64,
        actor: Option<u64>,
        body: Value,
    ) -> Result<AutomodRule, AdminError> {
        // A preset carries id 0 ("not assigned yet"): it posts as it is.
        match body.get("id") {
            None => {}
            Some(id) if id.as_u64() == Some(0) => {}
            Some(_) => return Err(invalid("`id` is assigned by the server")),
        }
        self.edit_automod(guild, |config| {
            let id = self.state().id();
            let rule = rule_from(body, id)?;
            config.rules.push(rule.clone());
            let note = AuditNote::new(
                guild,
                actor,
                "automod.rule.create",
                format!("rule:{id}"),
                Value::Null,
                to_json(&rule),
            );
            Ok((note, rule))
        })
    }

    /// Changes the fields of rule `id` present in `patch` (a JSON object).
    pub fn update_rule(
        &self,
        guild: u64,
        actor: Option<u64>,
        id: u64,
        patch: Value,
    ) -> Result<AutomodRule, AdminError> {
        let Value::Object(patch) = patch else {
            return Err(invalid("the patch must be a JSON object"));
        };
        if patch.contains_key("id") {
            return Err(invalid("`id` cannot be changed"));
        }
        self.edit_automod(guild, |config| {
            let slot = config
                .rules
                .iter_mut()
                .find(|r| r.id == id)
                .ok_or(AdminError::NotFound { what: "rule" })?;
            let before = to_json(&*slot);
            let mut merged: Map<String, Value> = match before.clone() {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            merged.extend(patch);
            let rule = rule_from(Value::Object(merged), id)?;
            *slot = rule.clone();
            let note = AuditNote::new(
                guild,
                actor,
                "automod.rule.update",
                format!("rule:{id}"),
                before,
                to_json(&rule),
            );
            Ok((note, rule))
        })
    }

    /// Deletes rule `id`.
    pub fn delete_rule(&self, guild: u64, actor: Option<u64>, id: u64) -> Result<(), AdminError> {
        self.edit_automod(guild, |config| {
            let at = config
                .rules
                .iter()
                .position(|r| r.id == id)
                .ok_or(AdminError::NotFound { what: "rule" })?;
            let removed = config.rules.remove(at);
            let note = AuditNote::new(
                guild,
                actor,
                "automod.rule.delete",
                format!("rule:{id}"),
                to_json(&removed),
                Value::Null,
            );
            Ok((note, ()))
        })
    }

    /// Replaces the warning escalation steps; returns the configuration.
    pub fn set_escalation(
        &self,
        guild: u64,
        actor: Option<u64>,
        steps: Vec<EscalationStep>,
    ) -> Result<AutomodConfig, AdminError> {
        self.edit_automod(guild, |config| {
            let before = to_json(&config.escalation);
            config.escalation = steps;
            let note = AuditNote::new(
                guild,
                actor,
                "automod.escalation.update",
                "escalation".into(),
                before,
                to_json(&config.escalation),
            );
            Ok((note, ()))
        })?;
        Ok(self.automod(guild))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_rules() {
        let presets = presets();
        assert_eq!(presets.len(), PRESET_NAMES.len());
        for preset in presets {
            AutomodConfig {
                rules: vec![AutomodRule {
                    id: 1,
                    ..preset.rule
                }],
                escalation: Vec::new(),
            }
            .validate()
            .expect("preset validates");
        }
    }

    #[test]
    fn test_reports_per_sample() {
        let test: RuleTest = serde_json::from_value(serde_json::json!({
            "rule": {"name": "caps", "trigger": {"type": "caps", "max_ratio_percent": 70}},
            "messages": [{"content": "hello there friends"}, {"content": "THIS IS ALL CAPS SHOUTING"}]
        }))
        .expect("valid body");
        let results = run_test(test).expect("runs");
        assert!(!results[0].fired);
        assert!(results[1].fired, "{results:?}");
    }
}
