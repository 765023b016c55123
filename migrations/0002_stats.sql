-- Aggregates that outlive raw-event retention: per-member statistics per period and
-- periodic snapshots of the process metrics.

-- One row per (guild, period, period start, member), written by the dataflow's read side.
-- period_start is the first day of the period in the guild's timezone ('all' uses 1970-01-01).
CREATE TABLE IF NOT EXISTS member_stats (
    guild_id       bigint      NOT NULL,
    user_id        bigint      NOT NULL,
    period         text        NOT NULL CHECK (period IN ('day', 'week', 'month', 'all')),
    period_start   date        NOT NULL,
    messages       bigint      NOT NULL DEFAULT 0 CHECK (messages >= 0),
    reactions      bigint      NOT NULL DEFAULT 0 CHECK (reactions >= 0),
    voice_seconds  bigint      NOT NULL DEFAULT 0 CHECK (voice_seconds >= 0),
    score          bigint      NOT NULL DEFAULT 0,
    xp             bigint      NOT NULL DEFAULT 0 CHECK (xp >= 0),
    level          integer     NOT NULL DEFAULT 0 CHECK (level >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, period, period_start, user_id)
);
-- Leaderboards: a guild's top members of one period by a metric.
CREATE INDEX IF NOT EXISTS member_stats_score ON member_stats (guild_id, period, period_start, score DESC, user_id);
CREATE INDEX IF NOT EXISTS member_stats_xp ON member_stats (guild_id, period, period_start, xp DESC, user_id);
-- A member's history across periods (member stats page, erase).
CREATE INDEX IF NOT EXISTS member_stats_member ON member_stats (guild_id, user_id, period, period_start);

-- What /metrics showed at a time, for dashboards that outlive the process. `labels` holds the
-- Prometheus labels ('{}' when none) so one metric name keeps its series apart.
CREATE TABLE IF NOT EXISTS metrics_snapshots (
    taken_at  timestamptz      NOT NULL,
    node      text             NOT NULL,
    name      text             NOT NULL,
    labels    jsonb            NOT NULL DEFAULT '{}',
    value     double precision NOT NULL,
    PRIMARY KEY (name, node, labels, taken_at)
);
CREATE INDEX IF NOT EXISTS metrics_snapshots_taken ON metrics_snapshots (taken_at);
