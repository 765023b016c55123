-- The admin plane stored in PostgreSQL (`--postgres URL`): what guildflow-admin's
-- PostgresJournal needs beyond 0003. Ids of rules, warnings, moderation and audit entries are
-- assigned by guildflow (inserted with OVERRIDING SYSTEM VALUE), not by the identity columns.
-- Idempotent: every statement can run again.

-- A guild's warning escalation steps (our serde JSON: [{"warnings": 3, "within_seconds": 86400,
-- "action": {"type": "timeout", "seconds": 600}}, ...]). A row may exist only for them:
-- `version` 0 then means the settings themselves were never saved (defaults apply).
ALTER TABLE guild_settings
    ADD COLUMN IF NOT EXISTS automod_escalation jsonb NOT NULL DEFAULT '[]';
ALTER TABLE guild_settings DROP CONSTRAINT IF EXISTS guild_settings_version_check;
ALTER TABLE guild_settings
    ADD CONSTRAINT guild_settings_version_check CHECK (version >= 0);

-- A guild's rules are replaced as a whole in one transaction; two rules may swap names in it.
ALTER TABLE automod_rules DROP CONSTRAINT IF EXISTS automod_rules_guild_id_name_key;
ALTER TABLE automod_rules
    ADD CONSTRAINT automod_rules_guild_id_name_key UNIQUE (guild_id, name) DEFERRABLE INITIALLY DEFERRED;

-- Moderation log entries as the admin plane keeps them.
-- source: who decided the action (automod rule or escalation, or a moderator).
ALTER TABLE moderation_logs ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'manual';
ALTER TABLE moderation_logs DROP CONSTRAINT IF EXISTS moderation_logs_source_check;
ALTER TABLE moderation_logs
    ADD CONSTRAINT moderation_logs_source_check CHECK (source IN ('automod', 'manual'));
-- rule_name: the rule's name when it fired, or 'escalation'.
ALTER TABLE moderation_logs ADD COLUMN IF NOT EXISTS rule_name text;
-- fired_rule_id: the id of the rule that fired, kept when the rule is deleted (rule_id, the
-- foreign key, is then set to NULL by ON DELETE SET NULL).
ALTER TABLE moderation_logs ADD COLUMN IF NOT EXISTS fired_rule_id bigint;
-- evidence: NULL for manual actions ({"trigger", "detail", "matched", "content_excerpt"} else).
ALTER TABLE moderation_logs ALTER COLUMN evidence DROP NOT NULL;
ALTER TABLE moderation_logs ALTER COLUMN evidence DROP DEFAULT;
-- status keeps 0003's vocabulary and CHECK: pending, succeeded (the API's "done"), failed;
-- completed_at is set when an entry leaves pending.
ALTER TABLE moderation_logs DROP CONSTRAINT IF EXISTS moderation_logs_attempts_check;
ALTER TABLE moderation_logs
    ADD CONSTRAINT moderation_logs_attempts_check CHECK (attempts >= 0);
CREATE INDEX IF NOT EXISTS moderation_logs_source ON moderation_logs (guild_id, source, created_at DESC);
