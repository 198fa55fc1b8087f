--
-- views: remote_buffer_stats, remote_buffer_peers, remote_buffer_leases and
-- remote_buffer_intercept on a server whose only peer is a live rbufd on
-- loopback (test/pg_regress/run.sh: remote_buffer.size = 16MB in leases of
-- 4MB).  Ports, times, ids and latencies vary from run to run: only their
-- properties are shown.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS remote_buffer;
RESET client_min_messages;

-- The lease manager connects and leases in the background: wait (at most
-- 30 s) until the peer is connected and the whole tier is leased.
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT count(*) FROM remote_buffer_leases
				   WHERE state = 'active') = 4
			AND (SELECT bool_and(state = 'connected') FROM remote_buffer_peers);
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;

-- stats: exactly one row, with sane values
SELECT count(*) AS rows FROM remote_buffer_stats;
SELECT hits >= 0 AND misses >= 0 AND admissions >= 0 AND invalidations >= 0
	   AND timeouts >= 0 AND fallbacks >= 0 AS counters_not_negative,
	   verify_failures = 0 AS no_verify_failures,
	   hit_ratio IS NULL OR hit_ratio BETWEEN 0 AND 1 AS hit_ratio_in_range,
	   (hit_ratio IS NULL) = (hits + misses = 0) AS hit_ratio_null_iff_no_reads,
	   hit_ratio IS NULL
	   OR abs(hit_ratio - hits::float8 / (hits + misses)) < 1e-6 AS hit_ratio_consistent,
	   bytes_read >= 8192 * hits AS bytes_read_cover_hits,
	   bytes_written >= 8192 * admissions AS bytes_written_cover_admissions,
	   leased_bytes = 16 * 1024 * 1024 AS whole_tier_leased,
	   used_bytes BETWEEN 0 AND leased_bytes AS used_within_leased,
	   remote_read_p50_us IS NULL
	   OR remote_read_p50_us <= remote_read_p99_us AS remote_quantiles_ordered,
	   storage_read_p50_us IS NULL
	   OR storage_read_p50_us <= storage_read_p99_us AS storage_quantiles_ordered,
	   stats_reset <= now() AS stats_reset_in_past
FROM remote_buffer_stats;

-- peers: the one rbufd of remote_buffer.peers, connected over TCP and
-- holding the whole tier
SELECT count(*) AS peers FROM remote_buffer_peers;
SELECT peer = current_setting('remote_buffer.peers') AS peer_as_configured,
	   peer ~ '^127\.0\.0\.1:[0-9]+$' AS loopback,
	   transport, state,
	   rtt_us >= 0 AS rtt_measured,
	   leases,
	   leased_bytes = 16 * 1024 * 1024 AS leased_16mb,
	   used_bytes BETWEEN 0 AND leased_bytes AS used_within_leased,
	   disconnects,
	   last_error IS NULL AS no_error,
	   last_error_at IS NULL AS no_error_time
FROM remote_buffer_peers;

-- leases: four active 4MB leases on that peer, segments 0..3, each with its
-- own lease id and a generation
SELECT state, count(*), sum(bytes) AS bytes,
	   bool_and(bytes = 4 * 1024 * 1024) AS each_4mb,
	   bool_and(peer = current_setting('remote_buffer.peers')) AS on_the_peer,
	   bool_and(lease_id ~ '^[0-9a-f]{16}$') AS lease_id_hex,
	   count(DISTINCT lease_id) AS distinct_lease_ids,
	   array_agg(segment ORDER BY segment) AS segments,
	   bool_and(generation > 0) AS generation_set,
	   bool_and(renewals >= 0) AS renewals_counted,
	   bool_and(expires_at > now()) AS not_expired
FROM remote_buffer_leases
GROUP BY state;

-- the peers view agrees with the leases view
SELECT p.leases = (SELECT count(*) FROM remote_buffer_leases l
				   WHERE l.peer = p.peer AND l.state = 'active') AS leases_agree,
	   p.leased_bytes = (SELECT sum(bytes) FROM remote_buffer_leases l
						 WHERE l.peer = p.peer) AS bytes_agree
FROM remote_buffer_peers p;

-- interception: installed at startup, calls counted per operation and
-- process kind (the detail names addresses: only its presence is shown)
SELECT bool_and(installed) AS installed, count(*) > 0 AS has_rows
FROM remote_buffer_intercept;
SELECT bool_and(calls > 0) AS calls_positive,
	   bool_or(operation = 'read') AS reads_seen,
	   bool_or(backend_type = 'client backend') AS client_backends_seen
FROM remote_buffer_intercept
WHERE operation IS NOT NULL;
SELECT count(DISTINCT detail) AS one_detail, bool_and(detail <> '') AS detail_given
FROM remote_buffer_intercept;
