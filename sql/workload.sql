--
-- workload: real remote hits.  The temporary instance has shared_buffers =
-- 1MB and a 16MB remote tier (test/pg_regress/run.sh); the table below is
-- about 4.5MB, so most of its pages cannot stay in shared_buffers and a
-- re-read can only be fast if the remote tier serves them.  Every read must
-- return the same, known results whether pages come from the remote tier,
-- from storage (remote_buffer.enabled = off), after invalidate_all(), or
-- after an update.  Counters are compared before/after each step and shown
-- as booleans.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS remote_buffer;
RESET client_min_messages;

-- the whole tier must be leased before pages can be admitted (at most 30 s)
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT count(*) FROM remote_buffer_leases
				   WHERE state = 'active') = 4;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT count(*) AS active_leases FROM remote_buffer_leases WHERE state = 'active';

SHOW shared_buffers;

CREATE TABLE rb_work (id integer NOT NULL, val bigint NOT NULL, pad text NOT NULL)
	WITH (autovacuum_enabled = off);
INSERT INTO rb_work
SELECT g, (g * 7919) % 100003, md5(g::text) || repeat('.', 40)
FROM generate_series(1, 40000) g;
-- all-visible and frozen, nothing dirty: reads set no hint bits, so no
-- page is written (and re-admitted) behind the test's back
VACUUM (FREEZE) rb_work;
CHECKPOINT;

-- the table is several times larger than shared_buffers, and smaller than
-- the remote tier
SELECT pg_relation_size('rb_work') / 8192 AS pages \gset
SELECT :pages > 4 * pg_size_bytes(current_setting('shared_buffers')) / 8192 AS larger_than_shared_buffers,
	   :pages * 8192 < pg_size_bytes(current_setting('remote_buffer.size')) AS fits_remote_tier;

-- the query every read runs, and its snapshot of the counters
\set check 'SELECT count(*), sum(id), sum(val), sum(length(pad)), sum((\'x\' || left(md5(pad), 8))::bit(32)::integer::bigint) AS hashsum FROM rb_work'
\set snap 'SELECT hits, misses, admissions, invalidations, used_bytes FROM remote_buffer_stats'

-- first and second read
:snap \gset s0_
:check;
:check;
:snap \gset s1_
-- most of the table came from the remote tier
SELECT :s1_hits - :s0_hits >= :pages / 2 AS remote_hits,
	   :s1_hits > 0 AS hits_counted
FROM remote_buffer_stats;

-- the same results from storage alone; this session makes no lookups
SET remote_buffer.enabled = off;
:snap \gset s2_
:check;
:snap \gset s3_
RESET remote_buffer.enabled;
SELECT :s3_hits = :s2_hits AS no_hits_when_disabled;

-- invalidate_all: counted, the tier is empty, and the next read goes to
-- storage, with the same results
SELECT remote_buffer_invalidate_all();
:snap \gset s4_
SELECT :s4_invalidations > :s3_invalidations AS invalidation_counted,
	   :s4_used_bytes < :s3_used_bytes AS used_bytes_dropped;
:check;
:snap \gset s5_
SELECT :s5_misses - :s4_misses >= :pages / 2 AS read_from_storage;
-- ... which admitted the pages again: the next read hits
:check;
:snap \gset s6_
SELECT :s6_hits - :s5_hits >= :pages / 2 AS remote_hits_again;

-- writes: the remote tier never serves the old version of a page
UPDATE rb_work SET val = val + 1, pad = upper(pad) WHERE id % 10 = 0;
CHECKPOINT;
:check;
:check;
SET remote_buffer.enabled = off;
:check;
RESET remote_buffer.enabled;
DELETE FROM rb_work WHERE id > 35000;
VACUUM rb_work;
:check;
SET remote_buffer.enabled = off;
:check;
RESET remote_buffer.enabled;

-- no page fetched from the remote tier failed its check
SELECT verify_failures FROM remote_buffer_stats;

-- reset_stats: every counter zero, stats_reset moves forward, the leases
-- stay.  Nothing may move the counters between the reset and the query:
-- nothing is dirty (no write, no admission), and the query runs once
-- before so that this session needs no catalog page for it afterwards.
CHECKPOINT;
SELECT stats_reset AS before_reset FROM remote_buffer_stats \gset
\set after_reset 'SELECT hits, misses, hit_ratio, admissions, invalidations, verify_failures, timeouts, fallbacks, bytes_read, bytes_written, remote_read_p50_us, remote_read_p99_us, storage_read_p50_us, storage_read_p99_us, leased_bytes = 16 * 1024 * 1024 AS still_leased, stats_reset > :\'before_reset\' AS reset_time_moved FROM remote_buffer_stats'
:after_reset \gset warm_
SELECT remote_buffer_reset_stats();
\x on
:after_reset;
\x off

-- and counting starts again
:check;
SELECT hits + misses > 0 AS counting_again FROM remote_buffer_stats;

DROP TABLE rb_work;
