-- 002-indexes.sql: the two indexes of the contract, section 8.2, verbatim.
--
-- The status query itself is a primary-key lookup (courses_pkey); these partial
-- indexes serve lists of active generations (queued/generating), as the contract
-- asks. Both are idempotent (IF NOT EXISTS).

-- Index for fast status lookups
CREATE INDEX IF NOT EXISTS idx_courses_generation_status
ON courses (id, generation_status, updated_at)
WHERE generation_status IN ('queued', 'generating');

-- Partial index for active generations only
CREATE INDEX IF NOT EXISTS idx_active_generations
ON courses (user_id, generation_status)
WHERE generation_status IN ('queued', 'generating');

-- Membership lookups by (user_id, organization_id) use the primary key of
-- user_organizations; no extra index is needed.
