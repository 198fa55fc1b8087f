# test/t/004_invalidation.pl -- remote pages are never served stale
#
# Runs two real rbufd memory servers and a cluster with shared_buffers =
# 1MB, so that most pages of the test tables leave shared_buffers and are
# read back from the remote tier.  Then changes relation files every way
# we know -- UPDATE churn, TRUNCATE, DROP/CREATE, VACUUM FULL, CLUSTER,
# REINDEX, VACUUM truncation, ALTER TABLE SET TABLESPACE, and the paths
# that bypass the storage manager: CREATE DATABASE (FILE_COPY and
# WAL_LOG), DROP DATABASE, ALTER DATABASE SET TABLESPACE, DROP TABLESPACE
# -- and after each one checks that every table reads the same with
# remote_buffer.enabled on as with it off (off reads local storage only),
# and that amcheck finds nothing in any relation of that database
# (verify_heapam, bt_index_parent_check; RbufdTest::amcheck_ok).
# Databases are dropped and created again with the same OID (CREATE
# DATABASE ... OID), so that the new files have exactly the buffer tags of
# the old ones: a remote page that survived would be served in place of
# the new one.
#
# Then an immediate stop during a write load (crash recovery), and a
# streaming standby (with its own leases on the same servers) that replays
# the database and tablespace operations and is finally promoted.
#
# This tests correctness, not caching: it passes whether or not pages are
# actually served remotely.  Where the remote_buffer_stats view exists,
# hits on the standby are checked too.
#
# Needs RBUFD and RBUFCTL (test/run-tap.sh sets them).  Run with
# test/run-tap.sh.

use strict;
use warnings;

use POSIX ();
use Time::HiRes qw(usleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use RbufdTest;

my $rbufd_bin = $ENV{RBUFD};
plan skip_all => 'RBUFD not set (run through test/run-tap.sh)'
  unless $rbufd_bin && -x $rbufd_bin;

my (undef, $pg_secret) = rbufd_pair($rbufd_bin, '96M');
my $peers = "127.0.0.1:$rbd{A}{port}, 127.0.0.1:$rbd{B}{port}";
note("rbufd peers: $peers");

my $node = rb_node(
	'primary',
	init => { allows_streaming => 1 },
	peers => $peers,
	size => '32MB',
	io_timeout => '2s',
	secret_file => $pg_secret,
	conf => [
		"remote_buffer.owner = 'rb-inval-primary'", 'shared_buffers = 1MB',
		'max_connections = 20', 'autovacuum = off',
		'wal_keep_size = 256MB'
	]);

# wait for the remote tier before loading data, so that it gets cached
ok( $node->poll_query_until(
		'postgres', 'SELECT count(*) > 0 FROM remote_buffer_leases', 't'),
	'lease manager holds segments');

# remote_buffer_stats: only checked if this build has it
my $have_stats = $node->safe_psql('postgres',
	"SELECT to_regclass('remote_buffer_stats') IS NOT NULL") eq 't';
note($have_stats
	? 'remote_buffer_stats exists: hits are checked'
	: 'remote_buffer_stats does not exist: hits are not checked');

# sum of every integer column of remote_buffer_stats whose name says "hit"
sub stats_hits
{
	my ($n) = @_;
	my $cols = $n->safe_psql(
		'postgres', q{
SELECT string_agg(format('coalesce(sum(%I), 0)', column_name), ' + ')
FROM information_schema.columns
WHERE table_name = 'remote_buffer_stats' AND column_name ~ 'hit'
  AND data_type IN ('bigint', 'integer', 'numeric')});
	return undef if $cols eq '';
	return $n->safe_psql('postgres',
		"SELECT $cols FROM remote_buffer_stats");
}

#
# Checks
#

# One line per user table of $db: name, row count, md5 of all rows in a
# stable order, and the same through the primary key index (forced index
# scan), so that stale index pages show too.
sub table_sums
{
	my ($n, $db, $enabled) = @_;
	my $tables = $n->safe_psql(
		$db, q{
SELECT string_agg(c.oid::regclass::text || ':' || EXISTS
  (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id'),
  ' ' ORDER BY c.relname)
FROM pg_class c WHERE c.relkind = 'r'
  AND c.relnamespace = 'public'::regnamespace});
	return '' if $tables eq '';
	my @q;
	for (split / /, $tables)
	{
		my ($t, $has_id) = split /:/;
		push @q,
		  "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM $t x";
		push @q,
		  "SELECT '$t/idx', count(*), md5(coalesce(string_agg(id::text, '|' ORDER BY id), '')) FROM $t WHERE id > -2147483648"
		  if $has_id eq 't';
	}
	my $set =
	  "SET remote_buffer.enabled = " . ($enabled ? 'on' : 'off') . ";\n"
	  . "SET enable_seqscan = off; SET enable_bitmapscan = off;\n";

	# with sequential and bitmap scans off the id queries read the index;
	# the branches of a (parallel) append come in any order: sort them
	my $sql =
	  $set
	  . "SELECT * FROM (\n"
	  . join("\nUNION ALL\n", @q)
	  . "\n) s ORDER BY 1;";
	return $n->safe_psql($db, $sql);
}

# the state of $db must read the same with and without the remote tier,
# and amcheck must be clean on every relation of $db, catalogs included
# (test/lib/amcheck.sql); returns the sums
sub check_db
{
	my ($n, $db, $label) = @_;
	my $on = table_sums($n, $db, 1);
	my $off = table_sums($n, $db, 0);
	is($on, $off, "$label: $db reads the same with remote_buffer on and off");
	amcheck_ok($n, $db, $label);
	return $off;
}

# read every table of $db twice, so that its pages go through the remote
# tier (evicted from the 1MB of shared_buffers, read back)
sub warm
{
	my ($n, $db) = @_;
	table_sums($n, $db, 1) for 1 .. 2;
	return;
}

sub fill_sql
{
	my ($t, $rows, $seed) = @_;
	return
	  "CREATE TABLE $t (id int PRIMARY KEY, v int, pad text);\n"
	  . "INSERT INTO $t SELECT g, g * $seed, repeat(md5((g * $seed)::text), 4) "
	  . "FROM generate_series(1, $rows) g;";
}

#
# 1. Relation-level changes in one database (all through smgr)
#
$node->safe_psql('postgres', 'CREATE DATABASE work');
$node->safe_psql('work', fill_sql('t1', 20000, 3) . fill_sql('t2', 8000, 5));
warm($node, 'work');
check_db($node, 'work', 'initial load');

# UPDATE churn: many versions of the same pages come and go
for my $i (1 .. 4)
{
	$node->safe_psql('work',
		"UPDATE t1 SET v = v + $i, pad = md5(pad) WHERE id % 4 = " . ($i % 4));
	$node->safe_psql('work', "UPDATE t2 SET v = -v WHERE id % 3 = " . ($i % 3));
	warm($node, 'work');
}
check_db($node, 'work', 'update churn');

# TRUNCATE, then the same block numbers filled with other rows
$node->safe_psql('work',
	"TRUNCATE t1; INSERT INTO t1 SELECT g, -g, repeat('x', 120) || g FROM generate_series(1, 20000) g"
);
warm($node, 'work');
is($node->safe_psql('work', 'SELECT sum(v) FROM t1'),
	-200010000, 'truncated and refilled t1 has the new rows');
check_db($node, 'work', 'truncate and reinsert');

# DROP TABLE and a table of the same shape
$node->safe_psql('work', 'DROP TABLE t2;' . fill_sql('t2', 8000, 7));
warm($node, 'work');
check_db($node, 'work', 'drop and create table');

# new relfilenodes: fillfactor + VACUUM FULL, CLUSTER, REINDEX
$node->safe_psql('work',
	'ALTER TABLE t1 SET (fillfactor = 50); VACUUM FULL t1; UPDATE t1 SET v = v - 1 WHERE id % 5 = 0'
);
warm($node, 'work');
check_db($node, 'work', 'fillfactor + VACUUM FULL');
$node->safe_psql('work', 'CLUSTER t2 USING t2_pkey; UPDATE t2 SET v = v + 1');
warm($node, 'work');
check_db($node, 'work', 'CLUSTER');
$node->safe_psql('work',
	'REINDEX TABLE t1; REINDEX TABLE t2; DELETE FROM t2 WHERE id % 7 = 0');
warm($node, 'work');
check_db($node, 'work', 'REINDEX');

# VACUUM truncates the heap tail; refilling reuses the block numbers
my $size_before = $node->safe_psql('work', "SELECT pg_relation_size('t1')");
$node->safe_psql('work', 'DELETE FROM t1 WHERE id > 4000');
$node->safe_psql('work', 'VACUUM t1');
my $size_after = $node->safe_psql('work', "SELECT pg_relation_size('t1')");
cmp_ok($size_after, '<', $size_before,
	"VACUUM truncated t1 ($size_before -> $size_after bytes)");
$node->safe_psql('work',
	"INSERT INTO t1 SELECT g, g, repeat('y', 150) || g FROM generate_series(4001, 20000) g"
);
warm($node, 'work');
check_db($node, 'work', 'VACUUM truncation and refill');

#
# 2. CREATE DATABASE from a template with data, both strategies; the
#    template changes, the copies are dropped and created again with the
#    same OIDs (so with the same buffer tags) and must show the new data.
#
$node->safe_psql('postgres', 'CREATE DATABASE tmpl');
$node->safe_psql('tmpl', fill_sql('t', 15000, 11));
my $tmpl_sums = check_db($node, 'tmpl', 'template');

my %copy_oid = (c_fc => 60001, c_wl => 60002);
my %strategy = (c_fc => 'FILE_COPY', c_wl => 'WAL_LOG');
for my $db (sort keys %copy_oid)
{
	$node->safe_psql('postgres',
		"CREATE DATABASE $db OID = $copy_oid{$db} TEMPLATE tmpl STRATEGY $strategy{$db}"
	);
	warm($node, $db);
	is(check_db($node, $db, "CREATE DATABASE $strategy{$db}"),
		$tmpl_sums, "$db is a copy of the template");
	# changes in the copy, flushed and cached
	$node->safe_psql($db, 'UPDATE t SET v = v + 1000000; CHECKPOINT');
	warm($node, $db);
}

$node->safe_psql('tmpl',
	"UPDATE t SET v = -v, pad = 'changed' || id; DELETE FROM t WHERE id % 10 = 0; VACUUM t"
);
$tmpl_sums = check_db($node, 'tmpl', 'template changed');
for my $db (sort keys %copy_oid)
{
	$node->safe_psql('postgres', "DROP DATABASE $db");
	$node->safe_psql('postgres',
		"CREATE DATABASE $db OID = $copy_oid{$db} TEMPLATE tmpl STRATEGY $strategy{$db}"
	);
	is(check_db($node, $db, "recreated with $strategy{$db}, same OID"),
		$tmpl_sums, "recreated $db has the changed template's data");
	warm($node, $db);
}

# DROP DATABASE and CREATE DATABASE again from template0, same OID: even
# the catalogs now differ at the same tags
$node->safe_psql('postgres', 'DROP DATABASE c_wl');
$node->safe_psql('postgres',
	"CREATE DATABASE c_wl OID = $copy_oid{c_wl} TEMPLATE template0 STRATEGY FILE_COPY"
);
is($node->safe_psql('c_wl', "SELECT count(*) FROM pg_class WHERE relname = 't'"),
	'0', 'recreated from template0: no table t in the catalog');
$node->safe_psql('c_wl', fill_sql('t', 15000, 13));
warm($node, 'c_wl');
check_db($node, 'c_wl', 'DROP + CREATE DATABASE from template0');

#
# 3. Tablespaces: ALTER TABLE / ALTER DATABASE SET TABLESPACE, back and
#    forth with changes in between, then DROP TABLESPACE
#
my $ts1_dir = PostgreSQL::Test::Utils::tempdir();
my $ts2_dir = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', "CREATE TABLESPACE ts1 LOCATION '$ts1_dir'");
$node->safe_psql('postgres', "CREATE TABLESPACE ts2 LOCATION '$ts2_dir'");

$node->safe_psql('work', 'ALTER TABLE t1 SET TABLESPACE ts1');
$node->safe_psql('work', 'UPDATE t1 SET v = v + 7 WHERE id % 2 = 0');
warm($node, 'work');
check_db($node, 'work', 'ALTER TABLE SET TABLESPACE ts1');
$node->safe_psql('work',
	'ALTER TABLE t1 SET TABLESPACE pg_default; UPDATE t1 SET v = v - 3');
warm($node, 'work');
check_db($node, 'work', 'ALTER TABLE SET TABLESPACE back');

# c_fc: cached in pg_default, moved, changed, moved back: the files in
# pg_default come back with the tags they had, and other contents
warm($node, 'c_fc');
$node->safe_psql('postgres', 'ALTER DATABASE c_fc SET TABLESPACE ts2');
check_db($node, 'c_fc', 'ALTER DATABASE SET TABLESPACE ts2');
$node->safe_psql('c_fc', "UPDATE t SET pad = 'moved' || id; CHECKPOINT");
warm($node, 'c_fc');
my $c_fc_sums = check_db($node, 'c_fc', 'changed in ts2');
$node->safe_psql('postgres', 'ALTER DATABASE c_fc SET TABLESPACE pg_default');
is(check_db($node, 'c_fc', 'ALTER DATABASE SET TABLESPACE back'),
	$c_fc_sums, 'c_fc moved back keeps the changes made in ts2');
is($node->safe_psql('c_fc', "SELECT count(*) FROM t WHERE pad NOT LIKE 'moved%'"),
	'0', 'no row of c_fc shows its contents from before the move');

$node->safe_psql('postgres', 'DROP TABLESPACE ts1');
$node->safe_psql('postgres', 'DROP TABLESPACE ts2');
for my $db (qw(work tmpl c_fc c_wl))
{
	check_db($node, $db, 'DROP TABLESPACE');
}

#
# 4. Crash recovery: immediate stop during a write load
#
$node->safe_psql('postgres', 'CREATE DATABASE bench');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', '--foreign-keys', $node->connstr('bench') ],
	'pgbench -i');
my $commits0 = $node->safe_psql('postgres',
	"SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench'");
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '600', $node->connstr('bench') ],
	'>', \$bench_out, '2>', \$bench_err);
ok( $node->poll_query_until(
		'postgres',
		"SELECT xact_commit > $commits0 + 500 FROM pg_stat_database WHERE datname = 'bench'"
	),
	'write load running');
$node->stop('immediate');
$bench->finish;    # fails: the server went away
$node->start;
for my $db (qw(bench work c_fc))
{
	check_db($node, $db, 'after crash recovery');
}
is( $node->safe_psql('bench',
		'SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history)'
	),
	't',
	'pgbench balances consistent after crash recovery');

#
# 5. Streaming standby with its own leases: replays database and
#    tablespace operations, then is promoted
#
$node->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b1', has_streaming => 1);
$standby->append_conf('postgresql.conf',
	"remote_buffer.owner = 'rb-inval-standby'\nallow_in_place_tablespaces = on\n");
$standby->start;
$node->wait_for_catchup($standby, 'replay');
ok( $standby->poll_query_until(
		'postgres', 'SELECT count(*) > 0 FROM remote_buffer_leases', 't'),
	'standby lease manager holds segments');

# the standby caches the copies as they are now
for my $db (qw(c_fc c_wl tmpl))
{
	warm($standby, $db);
	is(table_sums($standby, $db, 1), table_sums($node, $db, 0),
		"standby reads $db as the primary does");
}

$node->safe_psql('tmpl', "UPDATE t SET pad = 'standby round' || id; CHECKPOINT");

# drop and recreate with the same OIDs, replayed on the standby
for my $db (sort keys %copy_oid)
{
	$node->safe_psql('postgres', "DROP DATABASE $db");
	$node->safe_psql('postgres',
		"CREATE DATABASE $db OID = $copy_oid{$db} TEMPLATE tmpl STRATEGY $strategy{$db}"
	);
}
$node->wait_for_catchup($standby, 'replay');
for my $db (qw(c_fc c_wl tmpl))
{
	is(table_sums($standby, $db, 1), table_sums($standby, $db, 0),
		"standby after replayed drop/create: $db the same with remote_buffer on and off"
	);
	is(table_sums($standby, $db, 1), table_sums($node, $db, 0),
		"standby after replayed drop/create: $db as on the primary");
	warm($standby, $db);
}

# and once more from template0: even the catalogs differ at the same tags
$node->safe_psql('postgres', 'DROP DATABASE c_fc');
$node->safe_psql('postgres',
	"CREATE DATABASE c_fc OID = $copy_oid{c_fc} TEMPLATE template0 STRATEGY FILE_COPY"
);
$node->wait_for_catchup($standby, 'replay');
is( $standby->safe_psql(
		'c_fc', "SELECT count(*) FROM pg_class WHERE relname = 't'"),
	'0',
	'standby: c_fc recreated from template0 has no table t in its catalog');
$node->safe_psql('c_fc', fill_sql('t', 15000, 17));
$node->wait_for_catchup($standby, 'replay');
warm($standby, 'c_fc');

# a database moved away and back, with a change in between; a tablespace
# dropped
# in place (inside pg_tblspc/): a LOCATION directory would be shared by
# the primary and the standby on this host, and replay would remove the
# primary's files there
$node->safe_psql('postgres',
	"SET allow_in_place_tablespaces = on; CREATE TABLESPACE ts3 LOCATION ''");
$node->safe_psql('postgres', 'ALTER DATABASE c_wl SET TABLESPACE ts3');
$node->safe_psql('c_wl', "UPDATE t SET pad = 'moved on standby' || id; CHECKPOINT");
$node->wait_for_catchup($standby, 'replay');
warm($standby, 'c_wl');
$node->safe_psql('postgres', 'ALTER DATABASE c_wl SET TABLESPACE pg_default');
$node->safe_psql('c_wl', "UPDATE t SET v = v + 1 WHERE id % 3 = 0");
$node->safe_psql('postgres', 'DROP TABLESPACE ts3');
$node->wait_for_catchup($standby, 'replay');
for my $db (qw(c_fc c_wl tmpl work))
{
	is(table_sums($standby, $db, 1), table_sums($standby, $db, 0),
		"standby after replayed moves: $db the same with remote_buffer on and off"
	);
	is(table_sums($standby, $db, 1), table_sums($node, $db, 0),
		"standby after replayed moves: $db as on the primary");
}

if ($have_stats)
{
	my $hits = stats_hits($standby);
	if (defined $hits)
	{
		cmp_ok($hits, '>', 0, "standby served reads from the remote tier ($hits hits)");
	}
	else
	{
		note('remote_buffer_stats has no hit counter column');
	}
}

# promote; the promoted standby must have exactly the primary's last state
my %primary_sums;
$primary_sums{$_} = table_sums($node, $_, 0) for qw(c_fc c_wl tmpl work bench);
$node->stop;
$standby->promote;
ok( $standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()', 't'),
	'standby promoted');
for my $db (sort keys %primary_sums)
{
	is(check_db($standby, $db, 'promoted standby'),
		$primary_sums{$db}, "promoted standby: $db as the primary left it");
}
$standby->safe_psql('c_wl', 'UPDATE t SET v = 0 WHERE id < 100');
warm($standby, 'c_wl');
check_db($standby, 'c_wl', 'writes after promotion');

$standby->stop;

for my $name (qw(A B))
{
	kill 'TERM', $rbd{$name}{pid};
	waitpid($rbd{$name}{pid}, 0);
	is($?, 0, "rbufd $name exited cleanly");
	delete $rbd{$name}{pid};
}

done_testing();
