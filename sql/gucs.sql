--
-- gucs: the remote_buffer.* settings (docs/extension.md, "Settings"):
-- definitions, the values test/pg_regress/run.sh configured, the check
-- hooks' and range checks' errors with their DETAIL/HINT, who may change
-- what, and the reserved prefix.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

-- definitions: type, unit, bounds, context, default
SELECT name, vartype, unit, min_val, max_val, enumvals, context, boot_val
FROM pg_settings
WHERE name LIKE 'remote\_buffer.%'
ORDER BY name;

-- values: from the configuration file, or the defaults
SELECT name, source FROM pg_settings
WHERE name LIKE 'remote\_buffer.%'
ORDER BY name;
SHOW remote_buffer.enabled;
SHOW remote_buffer.size;
SHOW remote_buffer.max_size;
SHOW remote_buffer.lease_size;
SHOW remote_buffer.transport;
SHOW remote_buffer.lease_ttl;
SHOW remote_buffer.io_timeout;
SHOW remote_buffer.owner;
-- these name a port and a path that change from run to run
SELECT current_setting('remote_buffer.peers') ~ '^127\.0\.0\.1:[0-9]+$' AS peers_is_loopback_rbufd;
SELECT current_setting('remote_buffer.secret_file') ~ '^/.*/pg\.secret$' AS secret_file_set;

-- remote_buffer.enabled: superusers change it at run time, in a session
SET remote_buffer.enabled = off;
SHOW remote_buffer.enabled;
SET remote_buffer.enabled = on;
SHOW remote_buffer.enabled;
BEGIN;
SET LOCAL remote_buffer.enabled = off;
SHOW remote_buffer.enabled;
COMMIT;
SHOW remote_buffer.enabled;
SELECT set_config('remote_buffer.enabled', 'off', false);
RESET remote_buffer.enabled;
SHOW remote_buffer.enabled;
SET remote_buffer.enabled = maybe;
-- ... but nobody else
CREATE ROLE regress_rb_guc_user;
SET ROLE regress_rb_guc_user;
SET remote_buffer.enabled = off;
SHOW remote_buffer.enabled;
RESET ROLE;
DROP ROLE regress_rb_guc_user;

-- reload settings cannot be SET in a session
SET remote_buffer.peers = '127.0.0.1:1';
SET remote_buffer.size = '8MB';
SET remote_buffer.transport = tcp;
SET remote_buffer.lease_ttl = '10s';
SET remote_buffer.io_timeout = '50ms';
SET remote_buffer.secret_file = '/nonexistent';
-- restart settings neither
SET remote_buffer.max_size = '32MB';
SET remote_buffer.lease_size = '8MB';
SET remote_buffer.owner = 'someone';

-- The check hooks and range checks run for ALTER SYSTEM, which writes
-- nothing when they refuse.  (Nothing here reloads the configuration.)

-- remote_buffer.peers
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host:';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host:port';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host:123456';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host:0';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd-host:65536';
ALTER SYSTEM SET remote_buffer.peers = ':7420';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd host:7420';
ALTER SYSTEM SET remote_buffer.peers = 'rbufd/host:7420';
ALTER SYSTEM SET remote_buffer.peers = '::1:7420';
ALTER SYSTEM SET remote_buffer.peers = '[::1:7420';
ALTER SYSTEM SET remote_buffer.peers = '[]:7420';
ALTER SYSTEM SET remote_buffer.peers = '[::g]:7420';
ALTER SYSTEM SET remote_buffer.peers = '[10.0.0.1]:7420';
ALTER SYSTEM SET remote_buffer.peers = '[::1]';
ALTER SYSTEM SET remote_buffer.peers = '[::1]7420';
ALTER SYSTEM SET remote_buffer.peers = 'a:1,,b:2';
ALTER SYSTEM SET remote_buffer.peers = 'a:1,';
ALTER SYSTEM SET remote_buffer.peers = 'a:1, b:2, a:1';
-- one server listed twice, also written differently
ALTER SYSTEM SET remote_buffer.peers = '[::1]:7420, [0:0::1]:7420';
ALTER SYSTEM SET remote_buffer.peers = '[fe80::1%eth0]:1, [FE80:0::1%eth0]:1';
ALTER SYSTEM SET remote_buffer.peers = 'RBUFD-host:7420, rbufd-HOST:7420';
ALTER SYSTEM SET remote_buffer.peers =
	'h1:1,h2:1,h3:1,h4:1,h5:1,h6:1,h7:1,h8:1,h9:1,h10:1,h11:1,h12:1,h13:1,h14:1,h15:1,h16:1,h17:1';
-- accepted: IPv4, host names, bracketed IPv6 with a zone, 16 entries, blanks
ALTER SYSTEM SET remote_buffer.peers = ' 10.0.0.5:7420 , rbufd-2.example_net:65535,[fe80::1%eth0]:1 ';
ALTER SYSTEM SET remote_buffer.peers =
	'h1:1,h2:1,h3:1,h4:1,h5:1,h6:1,h7:1,h8:1,h9:1,h10:1,h11:1,h12:1,h13:1,h14:1,h15:1,h16:1';
-- ... and different servers: other port, other zone, other family
ALTER SYSTEM SET remote_buffer.peers = '[::1]:7420, [::1]:7421';
ALTER SYSTEM SET remote_buffer.peers = '[fe80::1%eth0]:1, [fe80::1%eth1]:1';
ALTER SYSTEM SET remote_buffer.peers = '127.0.0.1:7420, [::1]:7420, localhost:7420';
ALTER SYSTEM SET remote_buffer.peers = '';
ALTER SYSTEM RESET remote_buffer.peers;

-- remote_buffer.transport
ALTER SYSTEM SET remote_buffer.transport = rdma;
ALTER SYSTEM SET remote_buffer.transport = carrier_pigeon;
ALTER SYSTEM SET remote_buffer.transport = tcp;
ALTER SYSTEM RESET remote_buffer.transport;

-- remote_buffer.owner
ALTER SYSTEM SET remote_buffer.owner = 'two words';
ALTER SYSTEM SET remote_buffer.owner = E'tab\there';
ALTER SYSTEM SET remote_buffer.owner = U&'caf\00E9';
SELECT format('ALTER SYSTEM SET remote_buffer.owner = %L', repeat('o', 65)) \gexec
SELECT format('ALTER SYSTEM SET remote_buffer.owner = %L', repeat('o', 64)) \gexec
ALTER SYSTEM SET remote_buffer.owner = 'pg-primary.example:5432';
ALTER SYSTEM RESET remote_buffer.owner;

-- sizes: megabytes, with units and bounds
ALTER SYSTEM SET remote_buffer.lease_size = 0;
ALTER SYSTEM SET remote_buffer.lease_size = '2GB';
ALTER SYSTEM SET remote_buffer.lease_size = '512kB';
ALTER SYSTEM SET remote_buffer.lease_size = '1GB';
ALTER SYSTEM SET remote_buffer.size = -1;
ALTER SYSTEM SET remote_buffer.size = '5 parsecs';
ALTER SYSTEM SET remote_buffer.size = 'lots';
ALTER SYSTEM SET remote_buffer.size = '1.5GB';
ALTER SYSTEM SET remote_buffer.size = 0;
ALTER SYSTEM SET remote_buffer.max_size = -1;
ALTER SYSTEM SET remote_buffer.max_size = '4TB';
ALTER SYSTEM RESET remote_buffer.lease_size;
ALTER SYSTEM RESET remote_buffer.size;
ALTER SYSTEM RESET remote_buffer.max_size;

-- times: milliseconds, with units and bounds
ALTER SYSTEM SET remote_buffer.io_timeout = 0;
ALTER SYSTEM SET remote_buffer.io_timeout = '2min';
ALTER SYSTEM SET remote_buffer.io_timeout = '10 fortnights';
ALTER SYSTEM SET remote_buffer.io_timeout = '1min';
ALTER SYSTEM SET remote_buffer.lease_ttl = '999ms';
ALTER SYSTEM SET remote_buffer.lease_ttl = '1h';
ALTER SYSTEM SET remote_buffer.lease_ttl = '10min';
ALTER SYSTEM SET remote_buffer.lease_ttl = 1000;
ALTER SYSTEM RESET remote_buffer.io_timeout;
ALTER SYSTEM RESET remote_buffer.lease_ttl;

-- remote_buffer.enabled
ALTER SYSTEM SET remote_buffer.enabled = 'sometimes';

-- nothing was left in postgresql.auto.conf
ALTER SYSTEM RESET ALL;
SELECT count(*) AS auto_conf_entries FROM pg_file_settings
WHERE sourcefile LIKE '%postgresql.auto.conf' AND name LIKE 'remote\_buffer.%';

-- the settings in use did not change
SELECT name, setting FROM pg_settings
WHERE name LIKE 'remote\_buffer.%'
  AND name NOT IN ('remote_buffer.peers', 'remote_buffer.secret_file')
ORDER BY name;

-- "remote_buffer" is a reserved prefix: unknown names are errors
SET remote_buffer.foo = 1;
SET remote_buffer.enable = off;
ALTER SYSTEM SET remote_buffer.sise = '1GB';
SHOW remote_buffer.foo;
SELECT current_setting('remote_buffer.foo');
SELECT current_setting('remote_buffer.foo', true) IS NULL AS missing_ok;
