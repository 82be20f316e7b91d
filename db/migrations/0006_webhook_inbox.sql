-- Shopify's webhooks (CONTRACT §6): each signed delivery is a row written before the 200, and
-- processed by a worker in every replica after commit, so a crash between the 200 and the work
-- loses nothing. The unique key makes a redelivery (same X-Shopify-Event-Id, else the same
-- X-Shopify-Webhook-Id, for the same topic) a no-op: it is acknowledged and stored once.
--
-- Order topics keep only the order's gid (`order_id`), never the payload: Shopify's order
-- payloads are full of personal data and the worker re-reads the order anyway. Only the
-- compliance topics (customers/data_request, customers/redact, shop/redact) keep `payload`,
-- since it is the request itself (CONTRACT §7). `last_error` holds a failure kind only.
-- Processed rows are kept (with their processed_at) until the personal-data work prunes them.

CREATE TABLE webhook_inbox (
    id              uuid        PRIMARY KEY,
    delivery_id     text        NOT NULL,
    topic           text        NOT NULL,
    order_id        text,
    payload         jsonb,
    received_at     timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    leased_until    timestamptz,
    processed_at    timestamptz,
    parked_at       timestamptz,
    last_error      text,
    CONSTRAINT webhook_inbox_delivered_once UNIQUE (topic, delivery_id)
);

-- The worker's query: rows neither processed nor parked, by when they are due.
CREATE INDEX webhook_inbox_due ON webhook_inbox (next_attempt_at)
    WHERE processed_at IS NULL AND parked_at IS NULL;
-- Lag: the oldest row still waiting.
CREATE INDEX webhook_inbox_waiting ON webhook_inbox (received_at)
    WHERE processed_at IS NULL AND parked_at IS NULL;
-- The personal-data commands find an order's deliveries.
CREATE INDEX webhook_inbox_order ON webhook_inbox (order_id) WHERE order_id IS NOT NULL;
