-- How staff settled a request (CONTRACT §6): set when a review or a not-received case ends,
-- null before. One of the public `Resolution` values.

ALTER TABLE customer_requests ADD COLUMN resolution text CHECK (
    resolution IN ('CANCELLED', 'DECLINED', 'REFUNDED', 'RESHIPPED', 'DELIVERED')
);
