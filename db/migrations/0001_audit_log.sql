-- The tamper-evident audit log (CONTRACT §4): an append-only, hash-chained,
-- monthly-partitioned table. Retention drops whole old partitions.

CREATE TABLE audit_events (
    seq                 bigint      NOT NULL CHECK (seq > 0),
    occurred_at         timestamptz NOT NULL,
    operation           text        NOT NULL,
    request_id          text        NOT NULL,
    client_address      text,
    order_id            text,
    customer_request_id text,
    decision            text,
    reason              text,
    outcome             text        NOT NULL,
    -- json, not jsonb: the stored text is exactly the canonical text that was hashed.
    admin_calls         json        NOT NULL,
    details             json        NOT NULL,
    prev_hash           text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash                text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (seq, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX audit_events_order_id ON audit_events (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);

-- The one row every append locks: it serialises appenders across pools and
-- replicas and remembers the chain's last link even after retention.
CREATE TABLE audit_chain_head (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    seq         bigint      NOT NULL,
    hash        text        NOT NULL,
    occurred_at timestamptz
);
INSERT INTO audit_chain_head (seq, hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Row triggers on a partitioned table are cloned onto every partition.
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_head_kept
    BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_truncate
    BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Creates the monthly partition holding `moment` (UTC months) unless it exists;
-- safe when several sessions call it at once. Returns the partition's name.
CREATE FUNCTION audit_ensure_partition(moment timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day timestamp := date_trunc('month', moment AT TIME ZONE 'UTC');
    partition text := 'audit_events_' || to_char(first_day, 'YYYY_MM');
BEGIN
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN partition;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ordergate.audit_partitions'));
    BEGIN
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
            partition,
            first_day AT TIME ZONE 'UTC',
            (first_day + interval '1 month') AT TIME ZONE 'UTC'
        );
        -- Statement triggers are not inherited: TRUNCATE of a partition needs its own.
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
            partition
        );
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL;  -- another session created it between our check and our CREATE
    END;
    RETURN partition;
END
$$;

DO $$
BEGIN
    PERFORM audit_ensure_partition(now());
    PERFORM audit_ensure_partition(now() + interval '1 month');
END
$$;
