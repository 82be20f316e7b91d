-- Customer requests (cancellations, not-received reports) and idempotency keys.
-- One request per order and kind: a second one returns the first (CONTRACT §1).

CREATE TABLE customer_requests (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('CANCELLATION', 'NOT_RECEIVED')),
    status          text NOT NULL CHECK (
                        status IN ('CANCELLED', 'PROCESSING', 'PENDING_REVIEW',
                                   'DECLINED', 'OPEN', 'RESOLVED')),
    order_id        text NOT NULL,
    order_name      text NOT NULL,
    submitted_at    timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    customer_reason text,
    comment         text,
    locale          text NOT NULL DEFAULT 'en',
    -- Where the Admin side stands: PENDING (intent written, nothing sent yet),
    -- SENT (sent, outcome not final), DONE. The reconciler works from this.
    admin_state     text NOT NULL DEFAULT 'PENDING' CHECK (admin_state IN ('PENDING', 'SENT', 'DONE')),
    admin_job_id    text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (order_id, kind)
);

CREATE INDEX customer_requests_unfinished ON customer_requests (updated_at)
    WHERE admin_state <> 'DONE';

CREATE TABLE idempotency_keys (
    operation   text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operation, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
