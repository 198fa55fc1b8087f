--
-- no_preload: a server WITHOUT shared_preload_libraries = 'remote_buffer'
-- (test/pg_regress/run.sh, second temporary instance).  The extension's
-- SQL objects can be created, but every function refuses to run, with
-- SQLSTATE 55000 (object_not_in_prerequisite_state) and a hint, the way
-- pg_stat_statements does.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

SHOW shared_preload_libraries;

CREATE EXTENSION remote_buffer;
SELECT count(*) AS views FROM pg_class
WHERE relname LIKE 'remote\_buffer\_%' AND relkind = 'v';

SELECT * FROM remote_buffer_stats;
SELECT * FROM remote_buffer_peers;
SELECT * FROM remote_buffer_leases;
SELECT * FROM remote_buffer_intercept;
SELECT remote_buffer_reset_stats();
SELECT remote_buffer_invalidate_all();

-- the SQLSTATE, for each of them
\set VERBOSITY sqlstate
SELECT * FROM remote_buffer_stats;
SELECT * FROM remote_buffer_peers;
SELECT * FROM remote_buffer_leases;
SELECT * FROM remote_buffer_intercept;
SELECT remote_buffer_reset_stats();
SELECT remote_buffer_invalidate_all();
\set VERBOSITY default

-- the library is loaded now (CREATE FUNCTION checked its symbols) but
-- inert: it defined no settings
SHOW remote_buffer.enabled;

DROP EXTENSION remote_buffer;
