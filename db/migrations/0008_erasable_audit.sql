-- Personal data erasable without breaking the audit chain (CONTRACT §7; design in
-- 0008_erasable_audit.md beside this file).
--
-- An audit row's personal part (client address, the caller's own request id) moves to
-- `audit_personal`, with a random key of its own; the chained row keeps `personal_digest`,
-- HMAC-SHA256 of that part under that key. Erasure deletes the personal row, key included:
-- the chain still verifies, and what is left cannot be brute-forced back to an address.
-- `audit_events.client_address` stays for the rows' shape and is NULL from now on.
--
-- Existing rows are moved and re-chained by the Python step `audit_personal_rechain`
-- (service/storage/migration_steps.py) that `ordergate migrate` runs in this file's
-- transaction, after checking the old chain: a broken chain is refused, never laundered.

ALTER TABLE audit_events ADD COLUMN personal_digest text
    CHECK (personal_digest ~ '^[0-9a-f]{64}$');

-- Not append-only: erasure deletes from it. One row per audit row that had personal data.
CREATE TABLE audit_personal (
    seq         bigint      PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    order_id    text,
    key         bytea       NOT NULL CHECK (length(key) = 32),
    -- json, not jsonb: the stored text is the canonical text the digest covers.
    data        json        NOT NULL
);
CREATE INDEX audit_personal_order ON audit_personal (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX audit_personal_occurred_at ON audit_personal (occurred_at);

-- Requests: when their personal data was erased (the comment, the tracking number).
ALTER TABLE customer_requests ADD COLUMN erased_at timestamptz;

-- Idempotency keys name their order, so an order's replays can be erased with it. Keys stored
-- before have none; they expire within 48 hours (service/storage/idempotency.py).
ALTER TABLE idempotency_keys ADD COLUMN order_id text;
CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id) WHERE order_id IS NOT NULL;

-- Retention finds old mail and codes by age.
CREATE INDEX email_outbox_created_at ON email_outbox (created_at);
CREATE INDEX verification_codes_created_at ON verification_codes (created_at);

-- Compliance deliveries keep only what the work needs: the order ids and the request's id,
-- never the customer's e-mail address or phone number.
UPDATE webhook_inbox
SET payload = jsonb_strip_nulls(jsonb_build_object(
    'orders_to_redact', payload -> 'orders_to_redact',
    'orders_requested', payload -> 'orders_requested',
    'data_request_id', payload -> 'data_request' -> 'id'
))
WHERE payload IS NOT NULL;
