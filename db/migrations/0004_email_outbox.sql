-- Customer e-mail (CONTRACT §5): each mail is a row written in the same transaction as what
-- caused it, and delivered by a worker in every replica over SMTP, with retries, so an SMTP
-- outage delays mail and loses none.
--
-- `sealed` is the whole rendered mail (recipient, subject, texts) encrypted and authenticated
-- with a key derived from ORDERGATE_SECRET_KEY: a verification code is never readable at rest.
-- It is erased once the mail is delivered. `last_error` holds a failure kind only
-- ("connection", "timeout", …), never the server's words, which may quote an address.
-- `order_id` lets the personal-data commands find an order's mail (CONTRACT §7).

CREATE TABLE email_outbox (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    sealed          bytea,
    order_id        text,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    leased_until    timestamptz,
    sent_at         timestamptz,
    last_error      text,
    -- A delivered mail keeps no message; an undelivered one always has its message.
    CONSTRAINT email_outbox_sealed_until_sent CHECK ((sent_at IS NULL) = (sealed IS NOT NULL))
);

-- The worker's query: undelivered mail, by when it is due.
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX email_outbox_order ON email_outbox (order_id) WHERE order_id IS NOT NULL;
