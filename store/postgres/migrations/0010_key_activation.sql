-- 0010_key_activation: staged key rotation, mirroring store/sqlite's 0010.
-- A new key is published in the tenant's JWKS from created_at and signs
-- from activate_at on; the key it replaces keeps signing until then (its
-- retired_at is that same instant, which may lie in the future). The unique index signing_keys_active still
-- holds: only the newest key has retired_at = 0.
--
-- Keys that exist already signed from their creation.

ALTER TABLE signing_keys ADD COLUMN activate_at BIGINT NOT NULL DEFAULT 0;

UPDATE signing_keys SET activate_at = created_at;
