-- Idempotency keys are scoped to the order and contact they came with (CONTRACT §1): a key
-- squatted by a stranger on another order, or with another contact, never matches the real
-- customer's. `scope` is a digest of the order's id and the contact as typed; keys stored
-- before this migration have the empty scope, which no request has, so they replay nothing.

ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (operation, scope, key);
ALTER TABLE idempotency_keys ALTER COLUMN scope DROP DEFAULT;
