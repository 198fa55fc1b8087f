--
-- install: CREATE EXTENSION remote_buffer, the objects it creates, their
-- columns and privileges; DROP and CREATE again.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE EXTENSION remote_buffer;

-- every member object
\dx+ remote_buffer

SELECT extversion, extrelocatable FROM pg_extension
WHERE extname = 'remote_buffer';

-- the columns of the views, in order, with their types
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relname LIKE 'remote\_buffer\_%' AND c.relkind = 'v'
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

-- the functions: result type, volatility, parallel safety, strictness
SELECT p.proname, pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proparallel, p.proisstrict, l.lanname
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.proname LIKE 'remote\_buffer\_%'
ORDER BY p.proname;

-- privileges: superusers and pg_monitor read the views; nobody else
-- (PUBLIC) may read or execute anything; changing functions are for
-- superusers only
CREATE ROLE regress_rb_monitor IN ROLE pg_monitor;
CREATE ROLE regress_rb_plain;

SELECT c.relname,
       has_table_privilege('regress_rb_monitor', c.oid, 'SELECT') AS monitor_select,
       has_table_privilege('regress_rb_plain', c.oid, 'SELECT') AS plain_select,
       has_table_privilege('regress_rb_monitor', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS monitor_write
FROM pg_class c
WHERE c.relname LIKE 'remote\_buffer\_%' AND c.relkind = 'v'
ORDER BY c.relname;
SELECT p.proname,
       has_function_privilege('regress_rb_monitor', p.oid, 'EXECUTE') AS monitor_execute,
       has_function_privilege('regress_rb_plain', p.oid, 'EXECUTE') AS plain_execute
FROM pg_proc p
WHERE p.proname LIKE 'remote\_buffer\_%'
ORDER BY p.proname;

-- a pg_monitor member reads every view, but may not change anything
SET ROLE regress_rb_monitor;
SELECT count(*) FROM remote_buffer_stats;
SELECT count(*) > 0 AS has_rows FROM remote_buffer_peers;
SELECT count(*) >= 0 AS readable FROM remote_buffer_leases;
SELECT count(*) > 0 AS has_rows FROM remote_buffer_intercept;
SELECT remote_buffer_reset_stats();
SELECT remote_buffer_invalidate_all();
RESET ROLE;

-- a plain role reads nothing and calls nothing
SET ROLE regress_rb_plain;
SELECT * FROM remote_buffer_stats;
SELECT * FROM remote_buffer_peers;
SELECT * FROM remote_buffer_leases;
SELECT * FROM remote_buffer_intercept;
SELECT * FROM remote_buffer_stats_status();
SELECT remote_buffer_reset_stats();
SELECT remote_buffer_invalidate_all();
RESET ROLE;

-- delegation by GRANT EXECUTE works as documented
GRANT EXECUTE ON FUNCTION remote_buffer_invalidate_all() TO regress_rb_plain;
SET ROLE regress_rb_plain;
SELECT remote_buffer_invalidate_all();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION remote_buffer_invalidate_all() FROM regress_rb_plain;

-- not relocatable
CREATE SCHEMA regress_rb_elsewhere;
ALTER EXTENSION remote_buffer SET SCHEMA regress_rb_elsewhere;
DROP SCHEMA regress_rb_elsewhere;

-- DROP removes every object; CREATE again brings them back
DROP EXTENSION remote_buffer;
SELECT count(*) AS leftover_objects FROM pg_class
WHERE relname LIKE 'remote\_buffer\_%';
SELECT count(*) AS leftover_functions FROM pg_proc
WHERE proname LIKE 'remote\_buffer\_%';
SELECT * FROM remote_buffer_stats;

CREATE EXTENSION remote_buffer;
SELECT count(*) AS views FROM pg_class
WHERE relname LIKE 'remote\_buffer\_%' AND relkind = 'v';
SELECT count(*) AS functions FROM pg_proc
WHERE proname LIKE 'remote\_buffer\_%';
SELECT count(*) FROM remote_buffer_stats;

-- a second CREATE is refused; IF NOT EXISTS only notices
CREATE EXTENSION remote_buffer;
CREATE EXTENSION IF NOT EXISTS remote_buffer;

DROP ROLE regress_rb_monitor;
DROP ROLE regress_rb_plain;
