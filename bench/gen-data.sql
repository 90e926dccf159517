-- gen-data.sql: benchmark data for coursegen-status (bench/bench.py applies it).
--
--   psql -v courses=100000 -v users=10000 -v orgs=1000 -f bench/gen-data.sql
--
-- Deterministic (no random()): the same numbers give the same rows, so runs can be
-- compared. UUIDs are version-4 shaped (zod's uuid check) and derived from the
-- row number:
--   user n    00000000-0000-4000-a000-<n, 12 digits>
--   org n     00000000-0000-4000-b000-<n, 12 digits>
--   course n  <md5 of 'course-n', version 4, variant 8>
-- Membership: user u belongs to organization ((u-1) % orgs) + 1 when
-- u <= 0.9 * users, and every third user to a second one; the first 2000 users
-- also belong to one of the first 10 organizations, which so have ~200 members
-- each (the hot set: a few courses polled by many users).
-- Courses: owner and organization spread over all users and organizations, one
-- course in five without organization; generation_status cycles through every
-- status (NULL too) and every generating phase, with the worker's metadata.
-- The table bench_pairs (n, course_id, user_id, hot) lists one authorized
-- (course, user) pair per course (the owner, or for every third course with an
-- organization a member who is not the owner) plus the hot pairs.

\set ON_ERROR_STOP 1
SET synchronous_commit = off;

CREATE OR REPLACE FUNCTION pg_temp.uid(kind text, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE AS
$$ SELECT ('00000000-0000-4000-' || kind || '000-' || lpad(n::text, 12, '0'))::uuid $$;

CREATE OR REPLACE FUNCTION pg_temp.cid(n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE AS
$$ SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8'
           || substr(h, 18, 3) || '-' || substr(h, 21, 12))::uuid
   FROM md5('course-' || n) AS h $$;

TRUNCATE courses, user_organizations;
DROP TABLE IF EXISTS bench_pairs;

INSERT INTO user_organizations (user_id, organization_id)
SELECT pg_temp.uid('a', u), pg_temp.uid('b', ((u - 1) % :orgs) + 1)
FROM generate_series(1, (:users * 9) / 10) AS u
UNION
SELECT pg_temp.uid('a', u), pg_temp.uid('b', ((u * 7 - 1) % :orgs) + 1)
FROM generate_series(3, :users, 3) AS u
UNION
SELECT pg_temp.uid('a', u), pg_temp.uid('b', ((u - 1) % 10) + 1)
FROM generate_series(1, least(2000, :users)) AS u;

-- Statuses in a cycle of 20 (k % 20):
--   0 NULL   1 idle   2-3 queued   4-5 generating/metadata
--   6-9 generating/sections (batch k%9 of 8, model per phase)
--   10 generating/validation  11 generating/saving
--   12-15 completed  16-17 failed  18 cancelled  19 generating, no metadata
INSERT INTO courses (id, user_id, organization_id, title, generation_status,
                     generation_metadata, created_at, updated_at)
SELECT pg_temp.cid(k),
       pg_temp.uid('a', ((k::bigint * 7919) % :users)::int + 1),
       CASE WHEN k % 5 = 0 THEN NULL ELSE pg_temp.uid('b', ((k * 31) % :orgs) + 1) END,
       'Course ' || k,
       CASE s WHEN 0 THEN NULL WHEN 1 THEN 'idle' WHEN 2 THEN 'queued' WHEN 3 THEN 'queued'
              WHEN 12 THEN 'completed' WHEN 13 THEN 'completed' WHEN 14 THEN 'completed'
              WHEN 15 THEN 'completed' WHEN 16 THEN 'failed' WHEN 17 THEN 'failed'
              WHEN 18 THEN 'cancelled' ELSE 'generating' END,
       CASE
         WHEN s IN (4, 5) THEN jsonb_build_object(
              'last_phase', 'metadata', 'total_batches', 8, 'batch_count', 0,
              'model_used', jsonb_build_object('metadata', 'openai/gpt-oss-20b'))
         WHEN s BETWEEN 6 AND 9 THEN jsonb_build_object(
              'last_phase', 'sections', 'total_batches', 8, 'batch_count', k % 9,
              'duration_ms', jsonb_build_object('metadata', 12000 + k % 5000, 'sections', 30000),
              'model_used', jsonb_build_object('metadata', 'openai/gpt-oss-20b',
                                               'sections', 'openai/gpt-oss-120b'),
              'quality_scores', jsonb_build_object('overall', round((0.5 + (k % 50) / 100.0)::numeric, 2)))
         WHEN s = 10 THEN jsonb_build_object(
              'last_phase', 'validation', 'total_batches', 8, 'batch_count', 8,
              'duration_ms', jsonb_build_object('metadata', 11000, 'sections', 90000, 'validation', 4000),
              'model_used', 'openai/gpt-oss-20b',
              'quality_scores', jsonb_build_object('overall', 0.87))
         WHEN s = 11 THEN jsonb_build_object(
              'last_phase', 'saving', 'total_batches', 12, 'batch_count', 12,
              'duration_ms', jsonb_build_object('metadata', 11000, 'sections', 90000,
                                                'validation', 4000, 'saving', 800))
         WHEN s BETWEEN 12 AND 15 THEN jsonb_build_object(
              'last_phase', 'saving', 'total_batches', 8, 'batch_count', 8,
              'total_lessons', 10 + k % 30, 'total_sections', 3 + k % 8,
              'cost_usd', round((0.01 + (k % 300) / 1000.0)::numeric, 3),
              'duration_ms', jsonb_build_object('metadata', 11000, 'sections', 90000,
                                                'validation', 4000, 'saving', 800,
                                                'total', 105800 + k % 10000),
              'quality_scores', jsonb_build_object('overall', round((0.6 + (k % 40) / 100.0)::numeric, 2)))
         WHEN s IN (16, 17) THEN jsonb_build_object(
              'last_phase', 'sections', 'last_progress', 10 + k % 70,
              'error_message', 'LLM provider timeout after 3 retries',
              'retryable', s = 16)
         ELSE NULL
       END,
       now() - make_interval(secs => 30 + k % 600),
       now() - make_interval(secs => k % 30)
FROM generate_series(1, :courses) AS k, LATERAL (SELECT k % 20 AS s) AS x;

-- One authorized pair per course.
CREATE TABLE bench_pairs (n serial PRIMARY KEY, course_id uuid NOT NULL,
                          user_id uuid NOT NULL, hot bool NOT NULL);
INSERT INTO bench_pairs (course_id, user_id, hot)
SELECT c.id,
       coalesce(CASE WHEN c.organization_id IS NOT NULL AND hashtext(c.id::text) % 3 = 0 THEN
                  (SELECT uo.user_id FROM user_organizations uo
                   WHERE uo.organization_id = c.organization_id AND uo.user_id <> c.user_id
                   ORDER BY uo.user_id LIMIT 1) END,
                c.user_id),
       false
FROM courses c;

-- The hot set: one course of each of the first 10 organizations, polled by
-- every member of that organization.
INSERT INTO bench_pairs (course_id, user_id, hot)
SELECT h.id, uo.user_id, true
FROM (SELECT DISTINCT ON (organization_id) id, organization_id FROM courses
      WHERE organization_id IN (SELECT pg_temp.uid('b', o) FROM generate_series(1, 10) o)
        AND generation_status = 'generating'
      ORDER BY organization_id, id) AS h
JOIN user_organizations uo ON uo.organization_id = h.organization_id;

ANALYZE courses;
ANALYZE user_organizations;
ANALYZE bench_pairs;
