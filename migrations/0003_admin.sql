-- The admin plane (issue 7): settings, automod rules, moderation history, warnings, audit,
-- and the credentials of the API (sessions, API tokens, explicit grants, opt-outs).
-- Discord ids are bigint (snowflakes fit in 63 bits); secrets are stored only as SHA-256 hashes.

-- Per-guild settings. The fields the pipeline reads on every event are columns (validated by
-- CHECKs); module configurations that evolve with the product are jsonb, validated by the API.
-- `version` gives PATCH optimistic concurrency (If-Match).
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id            bigint      PRIMARY KEY,
    timezone            text        NOT NULL DEFAULT 'UTC',
    language            text        NOT NULL DEFAULT 'en',
    modules             jsonb       NOT NULL DEFAULT '{}',
    stats_exclusions    jsonb       NOT NULL DEFAULT '{"channels": [], "roles": []}',
    xp                  jsonb       NOT NULL DEFAULT '{}',
    level_rewards       jsonb       NOT NULL DEFAULT '[]',
    leaderboard_public  boolean     NOT NULL DEFAULT false,
    version             bigint      NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          bigint
);

CREATE TABLE IF NOT EXISTS automod_rules (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id         bigint      NOT NULL,
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    preset           text        CHECK (preset IN ('anti_spam', 'anti_caps', 'anti_links', 'anti_mention_spam')),
    enabled          boolean     NOT NULL DEFAULT true,
    -- {"kind": "regex" | "caps" | "links" | "mentions" | "spam", ...parameters}
    trigger          jsonb       NOT NULL,
    -- [{"kind": "delete" | "timeout" | "kick" | "ban" | "warn", ...parameters}]
    actions          jsonb       NOT NULL DEFAULT '[]',
    exempt_roles     bigint[]    NOT NULL DEFAULT '{}',
    exempt_channels  bigint[]    NOT NULL DEFAULT '{}',
    priority         integer     NOT NULL DEFAULT 0,
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       bigint,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       bigint,
    UNIQUE (guild_id, name)
);
-- The pipeline loads a guild's enabled rules.
CREATE INDEX IF NOT EXISTS automod_rules_enabled ON automod_rules (guild_id, priority) WHERE enabled;

-- Every action taken against a member, by automod (moderator_id NULL, rule_id set) or a person,
-- with its evidence and whether Discord accepted it.
CREATE TABLE IF NOT EXISTS moderation_logs (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id          bigint      NOT NULL,
    target_user_id    bigint      NOT NULL,
    action            text        NOT NULL CHECK (action IN ('delete_message', 'timeout', 'kick', 'ban', 'unban', 'remove_timeout', 'warn')),
    moderator_id      bigint,
    rule_id           bigint      REFERENCES automod_rules (id) ON DELETE SET NULL,
    reason            text,
    evidence          jsonb       NOT NULL DEFAULT '{}',
    channel_id        bigint,
    message_id        bigint,
    duration_seconds  integer     CHECK (duration_seconds > 0),
    status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          integer     NOT NULL DEFAULT 0,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
-- Listing (newest first, keyset-paginated on id) and the per-member and per-action filters.
CREATE INDEX IF NOT EXISTS moderation_logs_guild ON moderation_logs (guild_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS moderation_logs_target ON moderation_logs (guild_id, target_user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS moderation_logs_action ON moderation_logs (guild_id, action, created_at DESC);
-- The action executor's queue.
CREATE INDEX IF NOT EXISTS moderation_logs_pending ON moderation_logs (created_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS warnings (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id           bigint      NOT NULL,
    user_id            bigint      NOT NULL,
    moderator_id       bigint,
    reason             text        NOT NULL DEFAULT '',
    moderation_log_id  bigint      REFERENCES moderation_logs (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz,
    revoked_at         timestamptz,
    revoked_by         bigint
);
-- Escalation counts a member's active warnings.
CREATE INDEX IF NOT EXISTS warnings_member ON warnings (guild_id, user_id, created_at DESC) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS warnings_guild ON warnings (guild_id, created_at DESC, id DESC);

-- Who changed what, when, from where, with before/after. guild_id is NULL for changes outside
-- a guild (API tokens, grants). Append-only: the application never updates or deletes rows.
CREATE TABLE IF NOT EXISTS audit_logs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id        bigint,
    actor_user_id   bigint,
    actor_token_id  bigint,
    action          text        NOT NULL,
    target_type     text        NOT NULL,
    target_id       text,
    before          jsonb,
    after           jsonb,
    ip              inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_logs_guild ON audit_logs (guild_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_logs_actor ON audit_logs (actor_user_id, created_at DESC);

-- Tokens for scripts and BI tools, scoped to guilds. Only the SHA-256 of the secret is kept;
-- `prefix` (its first characters) lets a user recognise a token in a list.
CREATE TABLE IF NOT EXISTS api_tokens (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint      NOT NULL,
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix        text        NOT NULL,
    guild_ids     bigint[]    NOT NULL DEFAULT '{}',
    scopes        text[]      NOT NULL DEFAULT '{read}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_id) WHERE revoked_at IS NULL;

-- Server-side login sessions; the cookie holds the secret, the table its SHA-256. Rotated at
-- login (a new row), expiring, revocable one by one or all of a user's at once.
CREATE TABLE IF NOT EXISTS sessions (
    id_hash       bytea       PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id       bigint      NOT NULL,
    username      text,
    csrf_hash     bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    ip            inet,
    user_agent    text
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);

-- Explicit access to a guild for someone who is neither owner nor holds MANAGE_GUILD.
CREATE TABLE IF NOT EXISTS guild_grants (
    guild_id    bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    role        text        NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'viewer')),
    granted_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX IF NOT EXISTS guild_grants_user ON guild_grants (user_id);

-- Members who opted out of statistics (privacy, issue 7 §6).
CREATE TABLE IF NOT EXISTS stats_opt_outs (
    guild_id    bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);
