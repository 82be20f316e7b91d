-- One-time codes e-mailed to an order's address before an irreversible action (CONTRACT §5).
-- Only a keyed hash of the code is stored (HMAC-SHA256 with ORDERGATE_SECRET_KEY over the
-- order id and the code): a dump of this table opens no order.

CREATE TABLE verification_codes (
    id          uuid PRIMARY KEY,
    order_id    text NOT NULL,
    digest      text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    used_at     timestamptz
);

CREATE INDEX verification_codes_by_order ON verification_codes (order_id, created_at DESC);
