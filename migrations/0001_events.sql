-- Raw events, partitioned by UTC day, and the sink's stored position.
--
-- TimescaleDB when it can be loaded (a hypertable with one-day chunks and a 30-day retention
-- policy), native declarative partitioning by day otherwise: the sink creates the daily
-- partitions ahead (guildflow_ensure_partitions) and its retention job drops old ones
-- (guildflow_drop_partitions_before). `SET guildflow.partitioning = 'native'` before migrating
-- forces the native path on a server that has TimescaleDB.

DO $$
DECLARE
    use_timescale boolean := false;
BEGIN
    IF to_regclass('events') IS NOT NULL THEN
        RETURN;
    END IF;
    IF coalesce(current_setting('guildflow.partitioning', true), '') <> 'native'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        -- Available is not enough: the library must also be in shared_preload_libraries, and
        -- we may lack the privilege to create it. Either way we fall back, not fail.
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            use_timescale := true;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'timescaledb is available but cannot be created (%); using native partitioning', SQLERRM;
        END;
    END IF;

    IF use_timescale THEN
        CREATE TABLE events (
            ts          timestamptz NOT NULL,
            shard       integer     NOT NULL,
            lsn         bigint      NOT NULL,
            seq         bigint      NOT NULL,
            session     text,
            kind        text        NOT NULL,
            guild_id    bigint,
            channel_id  bigint,
            user_id     bigint,
            message_id  bigint,
            bot         boolean     NOT NULL DEFAULT false,
            frame       text        NOT NULL,
            PRIMARY KEY (ts, shard, lsn)
        );
        PERFORM create_hypertable('events', 'ts',
            chunk_time_interval => interval '1 day',
            create_default_indexes => false,
            if_not_exists => true);
        PERFORM add_retention_policy('events', interval '30 days', if_not_exists => true);
    ELSE
        CREATE TABLE events (
            ts          timestamptz NOT NULL,
            shard       integer     NOT NULL,
            lsn         bigint      NOT NULL,
            seq         bigint      NOT NULL,
            session     text,
            kind        text        NOT NULL,
            guild_id    bigint,
            channel_id  bigint,
            user_id     bigint,
            message_id  bigint,
            bot         boolean     NOT NULL DEFAULT false,
            frame       text        NOT NULL,
            PRIMARY KEY (ts, shard, lsn)
        ) PARTITION BY RANGE (ts);
    END IF;
END
$$;

COMMENT ON TABLE events IS
    'Every raw gateway event guildflow stored, one row per write-ahead log record that decoded to an event. Partitioned by UTC day.';
COMMENT ON COLUMN events.lsn IS 'Write-ahead log position of the frame (unique per data directory).';
COMMENT ON COLUMN events.frame IS 'The gateway frame exactly as received (text, not jsonb: byte-exact and cheaper to load; cast with frame::jsonb to query it).';

-- On a partitioned table or a hypertable these cascade to every partition/chunk.
CREATE INDEX IF NOT EXISTS events_guild_ts ON events (guild_id, ts);
CREATE INDEX IF NOT EXISTS events_kind_ts ON events (kind, ts);
CREATE INDEX IF NOT EXISTS events_user_ts ON events (user_id, ts);

CREATE OR REPLACE FUNCTION guildflow_events_native() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('events'))
$$;

-- Creates the missing daily partitions of [from_day, to_day] (both UTC days, inclusive) and
-- returns how many it created. A no-op under TimescaleDB, whose chunks appear by themselves.
CREATE OR REPLACE FUNCTION guildflow_ensure_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date := from_day;
    part text;
    created integer := 0;
BEGIN
    IF NOT guildflow_events_native() THEN
        RETURN 0;
    END IF;
    -- Two sinks creating the same day would otherwise race on the catalog.
    PERFORM pg_advisory_xact_lock(hashtext('guildflow_partitions'));
    WHILE d <= to_day LOOP
        part := 'events_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                part, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END
$$;

-- Drops the daily partitions whose whole day is before `cutoff` and returns how many. A no-op
-- under TimescaleDB, where the retention policy does this.
CREATE OR REPLACE FUNCTION guildflow_drop_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    dropped integer := 0;
BEGIN
    IF NOT guildflow_events_native() THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('guildflow_partitions'));
    FOR r IN
        SELECT c.oid::regclass AS part
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass('events')
          AND c.relname ~ '^events_p[0-9]{8}$'
          AND to_date(substr(c.relname, 9), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %s', r.part);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- Where each sink is in the write-ahead log: every record below next_lsn is in `events`.
-- Updated in the transaction that inserts the rows, so it never runs ahead of them.
-- last_event_at (event time of the newest stored row) shows the sink's freshness in SQL.
CREATE TABLE IF NOT EXISTS sink_progress (
    sink           text        PRIMARY KEY,
    next_lsn       bigint      NOT NULL CHECK (next_lsn >= 0),
    last_event_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
