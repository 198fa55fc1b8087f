/* sql/remote_buffer--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION remote_buffer" to load this file. \quit

--
-- Storage manager interception: install status and per-operation,
-- per-process-kind call counts since the last server (re)start.
--
CREATE FUNCTION remote_buffer_intercept_status(
	OUT installed boolean,
	OUT detail text,
	OUT operation text,
	OUT backend_type text,
	OUT calls bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'remote_buffer_intercept_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW remote_buffer_intercept AS
	SELECT * FROM remote_buffer_intercept_status();

REVOKE ALL ON FUNCTION remote_buffer_intercept_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION remote_buffer_intercept_status() TO pg_monitor;

REVOKE ALL ON remote_buffer_intercept FROM PUBLIC;
GRANT SELECT ON remote_buffer_intercept TO pg_monitor;
