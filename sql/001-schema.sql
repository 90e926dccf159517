-- 001-schema.sql: the two tables coursegen-status reads.
--
-- Applied in file-name order with `psql -v ON_ERROR_STOP=1`. Every statement is
-- idempotent (IF NOT EXISTS), so re-applying the directory is harmless. The service
-- never writes: the generation worker and the application own these rows. The
-- columns and defaults mirror the platform's data model as far as the contract
-- (generation.getStatus.tRPC.md) names them; nothing else is created here.
-- gen_random_uuid() is built into PostgreSQL 13+, no extension needed.

CREATE TABLE IF NOT EXISTS courses (
    -- Course id; the tRPC input `courseId` is looked up by this primary key.
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Owner of the course (auth.uid() in the contract); the owner always has access.
    user_id             uuid        NOT NULL,
    -- Organization the course belongs to, if any; members of that organization
    -- (user_organizations) have access too. No foreign key: the contract names no
    -- organizations table.
    organization_id     uuid        NULL,
    -- Course title; not read by the service.
    title               text        NOT NULL DEFAULT '',
    -- Publication status of the course (draft, published, ...); not read by the service.
    status              text        NOT NULL DEFAULT 'draft',
    -- Generation state machine: NULL (never sent to generation, reported as idle),
    -- 'idle', 'queued', 'generating', 'completed', 'failed', 'cancelled'.
    -- Deliberately no CHECK constraint: a value the service does not know must reach
    -- it, so it is reported (500) and logged instead of being hidden by the schema.
    generation_status   text        NULL,
    -- Free-form JSON written by the generation worker. Keys the service reads:
    --   last_phase       'metadata' | 'sections' | 'validation' | 'saving'
    --   batch_count      section batches done so far (number)
    --   total_batches    section batches planned (number, default 8)
    --   duration_ms      {metadata, sections, validation, saving, total} in ms
    --   model_used       {"<phase>": "<model>"} or a plain model string
    --   quality_scores   {"overall": 0..1, ...}
    --   total_lessons, total_sections, cost_usd        (after completion)
    --   last_progress, error_message, retryable        (after failure)
    generation_metadata jsonb       NULL,
    -- When generation started (reported as startedAt).
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- Last write by the worker (reported as lastUpdatedAt).
    updated_at          timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE courses IS
    'Courses; coursegen-status reads generation_status/generation_metadata by id.';
COMMENT ON COLUMN courses.generation_status IS
    'NULL|idle|queued|generating|completed|failed|cancelled; no CHECK on purpose.';
COMMENT ON COLUMN courses.generation_metadata IS
    'Worker-written JSON: last_phase, batch_count, total_batches, duration_ms, model_used, quality_scores, ...';

-- Organization membership; a member of a course's organization may read its status.
CREATE TABLE IF NOT EXISTS user_organizations (
    -- The member (JWT user_id / sub).
    user_id         uuid        NOT NULL,
    -- The organization (matches courses.organization_id).
    organization_id uuid        NOT NULL,
    -- Role inside the organization (member, admin, ...); any role grants read access.
    role            text        NOT NULL DEFAULT 'member',
    -- When the membership was granted.
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, organization_id)
);

COMMENT ON TABLE user_organizations IS
    'Organization membership; grants access to the organization''s courses.';
