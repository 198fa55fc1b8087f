-- amcheck.sql -- check every relation of the current database with amcheck.
--
-- Run with: psql -XAtq -v ON_ERROR_STOP=1 -d DB -f test/lib/amcheck.sql
-- Prints "heap_relations N", "btree_indexes N" and then one line
-- "PROBLEM <relation>: <detail>" per corruption found.  A clean database
-- prints no PROBLEM line; callers must also check N > 0, so that a check
-- that looked at nothing never passes.  verify_heapam() covers tables,
-- materialized views and TOAST tables (with check_toast); every valid
-- btree index gets bt_index_parent_check() with heapallindexed, which
-- raises an error on corruption: each error is caught and reported as a
-- problem so one bad index does not hide the others.  Temporary relations
-- of other sessions cannot be read and are skipped.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE TEMP TABLE rb_amcheck_problem (rel text, detail text);
CREATE TEMP TABLE rb_amcheck_count (kind text, n bigint);

WITH heaps AS (
	SELECT c.oid FROM pg_class c
	 WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence IN ('p', 'u')
), problems AS (
	INSERT INTO rb_amcheck_problem
	SELECT h.oid::regclass::text,
		   format('block %s offset %s attnum %s: %s', v.blkno, v.offnum, v.attnum, v.msg)
	  FROM heaps h CROSS JOIN LATERAL verify_heapam(h.oid, check_toast => true) v
	RETURNING 1
)
INSERT INTO rb_amcheck_count SELECT 'heap_relations', count(*) FROM heaps;

DO $$
DECLARE
	r record;
	n bigint := 0;
BEGIN
	FOR r IN
		SELECT c.oid FROM pg_index i
		  JOIN pg_class c ON c.oid = i.indexrelid
		  JOIN pg_am a ON a.oid = c.relam
		 WHERE a.amname = 'btree' AND c.relpersistence IN ('p', 'u')
		   AND i.indisvalid AND i.indisready
	LOOP
		BEGIN
			PERFORM bt_index_parent_check(r.oid, true, true);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO rb_amcheck_problem VALUES (r.oid::regclass::text, SQLERRM);
		END;
		n := n + 1;
	END LOOP;
	INSERT INTO rb_amcheck_count VALUES ('btree_indexes', n);
END
$$;

SELECT kind || ' ' || n FROM rb_amcheck_count ORDER BY kind DESC;
SELECT 'PROBLEM ' || rel || ': ' || detail FROM rb_amcheck_problem ORDER BY rel;
