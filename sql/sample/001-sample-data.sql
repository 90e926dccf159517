-- sample/001-sample-data.sql: demo and test data. NOT applied in production.
--
-- ./run loads it into its throwaway cluster; the e2e harness loads it too. Re-applying
-- resets every row below to its initial state (ON CONFLICT ... DO UPDATE) and moves the
-- start of the generating courses to "a moment ago", so their ETAs look live.
--
-- Users (there is no users table: a user is the UUID in the JWT `user_id`/`sub` claim)
--   11111111-1111-4111-8111-111111111111  alice  owns the courses below; admin of Acme
--   22222222-2222-4222-8222-222222222222  bob    member of Acme; owns nothing
--   33333333-3333-4333-8333-333333333333  carol  member of Globex; owns course ...0d
--   44444444-4444-4444-8444-444444444444  dave   no organization, no course
--
-- Organizations
--   aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa  Acme    (alice, bob)
--   bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb  Globex  (carol)
--
-- Courses (owner alice, no organization, unless noted)    expected answer for alice
--   00000000-0000-4000-8000-000000000001  generation_status NULL     idle, progress 0
--   00000000-0000-4000-8000-000000000002  'idle'                     idle, progress 0
--   00000000-0000-4000-8000-000000000003  'queued'                   queued, progress 0
--   00000000-0000-4000-8000-000000000004  'generating', metadata NULL
--                                          (worker set the status, wrote nothing yet)
--                                                                    metadata phase, 0
--   00000000-0000-4000-8000-000000000005  'generating', last_phase metadata
--                                                                    metadata phase, 0
--   00000000-0000-4000-8000-000000000006  'generating', sections 3/8, model_used object,
--                                          quality_scores            sections, 36 (37%),
--                                          currentModel openai/gpt-oss-20b, qualityScore 0.82
--   00000000-0000-4000-8000-000000000007  'generating', duration_ms.validation > 0 only
--                                          (no last_phase)           validation, 88
--   00000000-0000-4000-8000-000000000008  'generating', last_phase saving, model_used a
--                                          plain string              saving, 98
--   00000000-0000-4000-8000-000000000009  'completed' as the contract example
--                                          24 lessons, 8 sections, cost 0.28,
--                                          duration 150000, qualityScore 0.88
--   00000000-0000-4000-8000-00000000000a  'failed' as the contract example: sections, 35,
--                                          "Token budget exceeded, Gemini fallback failed",
--                                          retryable true
--   00000000-0000-4000-8000-00000000000b  'cancelled'                cancelled, progress 0
--   00000000-0000-4000-8000-00000000000c  'completed', organization Acme: bob (member,
--                                          not owner) may read it; dave may not (FORBIDDEN)
--   00000000-0000-4000-8000-00000000000d  'generating', owner carol, organization Globex:
--                                          FORBIDDEN for alice, bob and dave
--   123e4567-e89b-12d3-a456-426614174000  the contract's generating example: sections,
--                                          4/8 batches, progress 45 (50%), model_used
--                                          {"sections":"openai/gpt-oss-20b"},
--                                          qualityScore 0.87, started 75 s before loading
--
-- Any other UUID (e.g. 99999999-9999-4999-8999-999999999999) is NOT_FOUND.

BEGIN;

-- Delete and insert (not ON CONFLICT): the platform's user_organizations may have a
-- surrogate key and no unique constraint on (user_id, organization_id).
DELETE FROM user_organizations
 WHERE organization_id IN ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
                           'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
INSERT INTO user_organizations (user_id, organization_id, role) VALUES
    ('11111111-1111-4111-8111-111111111111', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'admin'),
    ('22222222-2222-4222-8222-222222222222', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'member'),
    ('33333333-3333-4333-8333-333333333333', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'member');

INSERT INTO courses (id, user_id, organization_id, title, status,
                     generation_status, generation_metadata, created_at, updated_at)
VALUES
    ('00000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', NULL,
     'Never generated', 'draft', NULL, NULL,
     '2025-11-01T09:00:00Z', '2025-11-01T09:00:00Z'),

    ('00000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', NULL,
     'Idle', 'draft', 'idle', NULL,
     '2025-11-01T09:05:00Z', '2025-11-01T09:05:00Z'),

    ('00000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', NULL,
     'Queued', 'draft', 'queued', NULL,
     now() - interval '5 seconds', now() - interval '5 seconds'),

    ('00000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', NULL,
     'Generating, no metadata yet', 'draft', 'generating', NULL,
     now() - interval '2 seconds', now() - interval '2 seconds'),

    ('00000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', NULL,
     'Generating: metadata', 'draft', 'generating',
     '{"last_phase": "metadata", "total_batches": 8}',
     now() - interval '10 seconds', now() - interval '1 second'),

    ('00000000-0000-4000-8000-000000000006', '11111111-1111-4111-8111-111111111111', NULL,
     'Generating: sections 3/8', 'draft', 'generating',
     '{"last_phase": "sections", "batch_count": 3, "total_batches": 8,
       "duration_ms": {"metadata": 9500},
       "model_used": {"metadata": "openai/gpt-oss-120b", "sections": "openai/gpt-oss-20b"},
       "quality_scores": {"overall": 0.82}}',
     now() - interval '60 seconds', now() - interval '3 seconds'),

    ('00000000-0000-4000-8000-000000000007', '11111111-1111-4111-8111-111111111111', NULL,
     'Generating: validation', 'draft', 'generating',
     '{"batch_count": 8, "total_batches": 8,
       "duration_ms": {"metadata": 9000, "sections": 100000, "validation": 4000},
       "model_used": {"sections": "openai/gpt-oss-20b", "validation": "google/gemini-2.5-flash"}}',
     now() - interval '120 seconds', now() - interval '2 seconds'),

    ('00000000-0000-4000-8000-000000000008', '11111111-1111-4111-8111-111111111111', NULL,
     'Generating: saving', 'draft', 'generating',
     '{"last_phase": "saving", "batch_count": 8, "total_batches": 8,
       "duration_ms": {"metadata": 9000, "sections": 100000, "validation": 25000},
       "model_used": "openai/gpt-oss-20b",
       "quality_scores": {"overall": 0.9}}',
     now() - interval '140 seconds', now() - interval '1 second'),

    ('00000000-0000-4000-8000-000000000009', '11111111-1111-4111-8111-111111111111', NULL,
     'Completed', 'draft', 'completed',
     '{"last_phase": "saving", "batch_count": 8, "total_batches": 8,
       "total_lessons": 24, "total_sections": 8, "cost_usd": 0.28,
       "duration_ms": {"metadata": 10000, "sections": 105000, "validation": 28000,
                       "saving": 7000, "total": 150000},
       "model_used": {"metadata": "openai/gpt-oss-120b", "sections": "openai/gpt-oss-20b"},
       "quality_scores": {"overall": 0.88}}',
     '2025-11-05T12:00:00Z', '2025-11-05T12:02:30Z'),

    ('00000000-0000-4000-8000-00000000000a', '11111111-1111-4111-8111-111111111111', NULL,
     'Failed', 'draft', 'failed',
     '{"last_phase": "sections", "last_progress": 35, "batch_count": 4, "total_batches": 8,
       "error_message": "Token budget exceeded, Gemini fallback failed",
       "retryable": true}',
     '2025-11-05T12:00:00Z', '2025-11-05T12:01:45Z'),

    ('00000000-0000-4000-8000-00000000000b', '11111111-1111-4111-8111-111111111111', NULL,
     'Cancelled', 'draft', 'cancelled', '{"last_phase": "sections", "batch_count": 2}',
     '2025-11-05T13:00:00Z', '2025-11-05T13:00:40Z'),

    ('00000000-0000-4000-8000-00000000000c', '11111111-1111-4111-8111-111111111111',
     'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
     'Acme onboarding (organization course)', 'published', 'completed',
     '{"total_lessons": 12, "total_sections": 4, "cost_usd": 0.11,
       "duration_ms": {"total": 90000}, "quality_scores": {"overall": 0.91}}',
     '2025-11-04T08:00:00Z', '2025-11-04T08:01:30Z'),

    ('00000000-0000-4000-8000-00000000000d', '33333333-3333-4333-8333-333333333333',
     'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
     'Globex course (not yours)', 'draft', 'generating',
     '{"last_phase": "sections", "batch_count": 1, "total_batches": 8}',
     now() - interval '30 seconds', now() - interval '4 seconds'),

    ('123e4567-e89b-12d3-a456-426614174000', '11111111-1111-4111-8111-111111111111', NULL,
     'Contract example', 'draft', 'generating',
     '{"last_phase": "sections", "batch_count": 4, "total_batches": 8,
       "duration_ms": {"metadata": 10000},
       "model_used": {"sections": "openai/gpt-oss-20b"},
       "quality_scores": {"overall": 0.87}}',
     now() - interval '75 seconds', now() - interval '1 second')
ON CONFLICT (id) DO UPDATE SET
    user_id             = EXCLUDED.user_id,
    organization_id     = EXCLUDED.organization_id,
    title               = EXCLUDED.title,
    status              = EXCLUDED.status,
    generation_status   = EXCLUDED.generation_status,
    generation_metadata = EXCLUDED.generation_metadata,
    created_at          = EXCLUDED.created_at,
    updated_at          = EXCLUDED.updated_at;

COMMIT;
