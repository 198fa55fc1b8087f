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

--
-- Remote tier: the peers (rbufd memory servers) of remote_buffer.peers and
-- their state as the lease manager sees it.
--
CREATE FUNCTION remote_buffer_peers_status(
	OUT peer text,
	OUT transport text,
	OUT state text,
	OUT rtt_us bigint,
	OUT leases integer,
	OUT leased_bytes bigint,
	OUT used_bytes bigint,
	OUT disconnects bigint,
	OUT last_error text,
	OUT last_error_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'remote_buffer_peers_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW remote_buffer_peers AS
	SELECT * FROM remote_buffer_peers_status();

REVOKE ALL ON FUNCTION remote_buffer_peers_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION remote_buffer_peers_status() TO pg_monitor;

REVOKE ALL ON remote_buffer_peers FROM PUBLIC;
GRANT SELECT ON remote_buffer_peers TO pg_monitor;

--
-- Remote tier: one row per segment that holds a lease ('active') or is
-- wanted but has none at the moment ('pending').
--
CREATE FUNCTION remote_buffer_leases_status(
	OUT peer text,
	OUT lease_id text,
	OUT bytes bigint,
	OUT expires_at timestamptz,
	OUT renewals bigint,
	OUT state text,
	OUT segment integer,
	OUT generation bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'remote_buffer_leases_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW remote_buffer_leases AS
	SELECT * FROM remote_buffer_leases_status();

REVOKE ALL ON FUNCTION remote_buffer_leases_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION remote_buffer_leases_status() TO pg_monitor;

REVOKE ALL ON remote_buffer_leases FROM PUBLIC;
GRANT SELECT ON remote_buffer_leases TO pg_monitor;

--
-- Data path statistics since the last reset: one row.  Latencies are the
-- upper bounds of log2 histogram buckets, in microseconds.
--
CREATE FUNCTION remote_buffer_stats_status(
	OUT hits bigint,
	OUT misses bigint,
	OUT hit_ratio float8,
	OUT admissions bigint,
	OUT invalidations bigint,
	OUT verify_failures bigint,
	OUT timeouts bigint,
	OUT fallbacks bigint,
	OUT bytes_read bigint,
	OUT bytes_written bigint,
	OUT remote_read_p50_us bigint,
	OUT remote_read_p99_us bigint,
	OUT storage_read_p50_us bigint,
	OUT storage_read_p99_us bigint,
	OUT leased_bytes bigint,
	OUT used_bytes bigint,
	OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'remote_buffer_stats_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW remote_buffer_stats AS
	SELECT * FROM remote_buffer_stats_status();

REVOKE ALL ON FUNCTION remote_buffer_stats_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION remote_buffer_stats_status() TO pg_monitor;

REVOKE ALL ON remote_buffer_stats FROM PUBLIC;
GRANT SELECT ON remote_buffer_stats TO pg_monitor;

--
-- Zero the statistics; invalidate every page of the remote tier.  Both
-- change shared state, so only superusers may call them by default
-- (GRANT EXECUTE to delegate).
--
CREATE FUNCTION remote_buffer_reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'remote_buffer_reset_stats'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION remote_buffer_reset_stats() FROM PUBLIC;

CREATE FUNCTION remote_buffer_invalidate_all()
RETURNS void
AS 'MODULE_PATHNAME', 'remote_buffer_invalidate_all'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION remote_buffer_invalidate_all() FROM PUBLIC;
