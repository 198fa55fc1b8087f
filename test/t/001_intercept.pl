# test/t/001_intercept.pl -- remote_buffer storage manager interception
#
# Proves that, with remote_buffer in shared_preload_libraries, the storage
# manager and sync handler tables of an unpatched PostgreSQL 15 are found
# and wrapped, and that every kind of process (client backends, parallel
# workers, checkpointer/bgwriter, startup during crash recovery) calls
# through the wrappers; that remote_buffer.enabled = off bypasses them; and
# that without preloading the SQL interface refuses with a clear error.
#
# Run with test/run-tap.sh.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# { operation => { backend_type => calls } } from the view
sub counts
{
	my ($node) = @_;
	my %c;
	my $out = $node->safe_psql('postgres',
		q{SELECT operation, backend_type, calls FROM remote_buffer_intercept
		  WHERE operation IS NOT NULL ORDER BY 1, 2});
	for my $line (split /\n/, $out)
	{
		my ($op, $type, $calls) = split /\|/, $line;
		$c{$op}{$type} = $calls;
	}
	return \%c;
}

sub total
{
	my ($c, $op) = @_;
	my $sum = 0;
	$sum += $_ for values %{ $c->{$op} // {} };
	return $sum;
}

sub by_type
{
	my ($c, $type) = @_;
	my $sum = 0;
	$sum += ($c->{$_}{$type} // 0) for keys %$c;
	return $sum;
}

sub show
{
	my ($label, $c) = @_;
	my @lines;
	for my $op (sort keys %$c)
	{
		push @lines, sprintf("  %-15s %s", $op,
			join(', ', map { "$_=$c->{$op}{$_}" } sort keys %{ $c->{$op} }));
	}
	note("$label:\n" . join("\n", @lines));
}

#
# 1. Preloaded cluster: interception installed and exercised
#
my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'remote_buffer'
shared_buffers = 1MB
fsync = on
restart_after_crash = on
max_parallel_workers_per_gather = 2
autovacuum_naptime = 1s
});
$node->start;

ok( $node->log_contains(
		qr/remote_buffer: storage manager interception installed/),
	'installation logged');
ok(!$node->log_contains(qr/WARNING:.*remote_buffer/),
	'no remote_buffer warnings at startup');

$node->safe_psql('postgres', 'CREATE EXTENSION remote_buffer');

my $status = $node->safe_psql('postgres',
	'SELECT DISTINCT installed, detail FROM remote_buffer_intercept');
my ($installed, $detail) = split /\|/, $status, 2;
is($installed, 't', 'status says installed');
like(
	$detail,
	qr/^smgrsw\[\] at executable\+0x[0-9a-f]+ .*syncsw\[\] at executable\+0x[0-9a-f]+ .*1 match each/,
	'detail names where both tables were found');
diag("interception: $detail");

# The patched page is read-only again, in the postmaster and in children.
# The view shows executable-relative offsets; the executable's load base
# is the start of its file-offset-0 mapping.
sub page_perms
{
	my ($pid, $offset) = @_;
	open my $fh, '<', "/proc/$pid/maps" or return "unreadable: $!";
	my @maps = <$fh>;
	my $exe = readlink("/proc/$pid/exe") // return "no exe: $!";
	my $base;
	for (@maps)
	{
		$base = hex($1), last
		  if /^([0-9a-f]+)-\S+ \S+ 0+ \S+ \d+\s+\Q$exe\E$/;
	}
	return 'no base' unless defined $base;
	for (@maps)
	{
		next unless /^([0-9a-f]+)-([0-9a-f]+) (\S+)/;
		return $3 if hex($1) <= $base + $offset && $base + $offset < hex($2);
	}
	return 'unmapped';
}
my ($smgrsw_addr) = $detail =~ /^smgrsw\[\] at executable\+0x([0-9a-f]+)/;
my ($postmaster_pid) =
  split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
my $checkpointer_pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'});
like(page_perms($postmaster_pid, hex($smgrsw_addr)),
	qr/^r-/, 'smgrsw page read-only again in the postmaster');
like(page_perms($checkpointer_pid, hex($smgrsw_addr)),
	qr/^r-/, 'smgrsw page read-only in a child process');

# workload: every intercepted operation, from several process kinds
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '2', 'postgres' ],
	'pgbench -i');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '200', 'postgres' ],
	'pgbench transactions');

my $plan = $node->safe_psql(
	'postgres', q{
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pgbench_accounts;
});
like($plan, qr/Workers Planned: [12]/, 'parallel plan chosen');
is( $node->safe_psql(
		'postgres', q{
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) FROM pgbench_accounts;
}),
	'200000',
	'parallel scan');

# smgr-level truncation: TRUNCATE of a table created in the same
# transaction, and VACUUM cutting off empty trailing pages
$node->safe_psql(
	'postgres', q{
BEGIN;
CREATE TABLE t_trunc AS SELECT g FROM generate_series(1, 50000) g;
TRUNCATE t_trunc;
COMMIT;
CREATE TABLE t_vac (i int) WITH (autovacuum_enabled = off);
INSERT INTO t_vac SELECT generate_series(1, 50000);
DELETE FROM t_vac WHERE i > 100;
VACUUM t_vac;
TRUNCATE pgbench_history;
DROP TABLE t_trunc;
DROP TABLE t_vac;
CHECKPOINT;
});

my $c = counts($node);
show('after workload', $c);

for my $op (
	qw(read write extend truncate unlink create unlinkfiletag
	syncfiletag nblocks exists)
  )
{
	cmp_ok(total($c, $op), '>', 0, "$op calls pass through the wrapper");
}
cmp_ok($c->{read}{'client backend'} // 0, '>', 0, 'client backends read');
cmp_ok($c->{extend}{'client backend'} // 0, '>', 0, 'client backends extend');
cmp_ok(
	($c->{write}{checkpointer} // 0) + ($c->{write}{'background writer'} // 0),
	'>', 0, 'checkpointer/bgwriter writes pass through');
cmp_ok($c->{unlinkfiletag}{checkpointer} // 0,
	'>', 0, 'checkpointer unlinks through syncsw');
cmp_ok($c->{syncfiletag}{checkpointer} // 0,
	'>', 0, 'checkpointer fsyncs through syncsw');
cmp_ok($c->{read}{'parallel worker'} // 0, '>', 0, 'parallel workers read');

#
# 2. remote_buffer.enabled = off: wrappers only forward, nothing counted
#
my $created = $c->{create}{'client backend'} // 0;
$node->safe_psql('postgres',
	'SET remote_buffer.enabled = off; CREATE TABLE g_off (i int);');
is(counts($node)->{create}{'client backend'} // 0,
	$created, 'enabled = off: create not counted');
$node->safe_psql('postgres', 'CREATE TABLE g_on (i int);');
cmp_ok(counts($node)->{create}{'client backend'} // 0,
	'>', $created, 'enabled = on: create counted again');

#
# 3. Privileges and GUC namespace
#
$node->safe_psql('postgres', 'CREATE ROLE rb_alice LOGIN');
my ($ret, $out, $err) = $node->psql(
	'postgres', 'SET remote_buffer.enabled = off',
	extra_params => [ '-U', 'rb_alice' ]);
like(
	$err,
	qr/permission denied to set parameter "remote_buffer.enabled"/,
	'only superusers may change remote_buffer.enabled');
($ret, $out, $err) = $node->psql(
	'postgres', 'SELECT count(*) FROM remote_buffer_intercept',
	extra_params => [ '-U', 'rb_alice' ]);
like($err, qr/permission denied for view remote_buffer_intercept/,
	'view not readable by PUBLIC');
$node->safe_psql('postgres', 'GRANT pg_monitor TO rb_alice');
is( $node->safe_psql(
		'postgres',
		'SELECT bool_and(installed) FROM remote_buffer_intercept',
		extra_params => [ '-U', 'rb_alice' ]),
	't',
	'view readable by pg_monitor');
($ret, $out, $err) =
  $node->psql('postgres', 'SET remote_buffer.no_such_setting = 1');
like($err, qr/reserved prefix/, 'remote_buffer GUC prefix is reserved');

#
# 4. Crash recovery after an immediate shutdown: the startup process
#    replays WAL through the wrappers (counters start fresh with the new
#    postmaster)
#
$node->safe_psql('postgres', 'CHECKPOINT');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '300', 'postgres' ],
	'WAL to replay');
$node->stop('immediate');
my $log_offset = -s $node->logfile;
$node->start;
ok($node->log_contains(qr/redo starts at/, $log_offset),
	'crash recovery ran');
ok( $node->log_contains(
		qr/remote_buffer: storage manager interception installed/,
		$log_offset),
	'interception installed again by the new postmaster');
$c = counts($node);
show('after immediate stop + start', $c);
cmp_ok(by_type($c, 'startup'), '>', 0, 'startup process calls through');
cmp_ok($c->{read}{startup} // 0, '>', 0, 'startup process reads');
cmp_ok($c->{write}{startup} // 0, '>', 0, 'startup process writes');

#
# 5. In-place crash restart (a child dies, the postmaster reinitializes
#    shared memory): the patched tables survive, counters are recreated
#
$node->safe_psql('postgres', 'CHECKPOINT');
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-t', '300', 'postgres' ],
	'more WAL to replay');
my $walwriter = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'});
like($walwriter, qr/^\d+$/, 'found walwriter');
$log_offset = -s $node->logfile;
kill 'KILL', $walwriter;
$node->wait_for_log(qr/all server processes terminated; reinitializing/,
	$log_offset);
$node->poll_query_until('postgres', 'SELECT true')
  or die 'server did not come back after crash restart';
ok($node->log_contains(qr/redo starts at/, $log_offset),
	'crash restart replayed WAL');
is($node->safe_psql('postgres',
		'SELECT DISTINCT installed FROM remote_buffer_intercept'),
	't', 'still installed after crash restart');
$c = counts($node);
show('after in-place crash restart', $c);
cmp_ok(by_type($c, 'startup'), '>', 0,
	'startup process calls through after crash restart');
cmp_ok($c->{read}{startup} // 0, '>', 0,
	'startup process reads after crash restart');

$node->stop;

#
# 6. Not preloaded: module stays inert, SQL interface refuses
#
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION remote_buffer');
($ret, $out, $err) = $plain->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT * FROM remote_buffer_intercept");
isnt($ret, 0, 'query fails without preloading');
like(
	$err,
	qr/ERROR:  55000: remote_buffer must be loaded via shared_preload_libraries/,
	'prerequisite error (SQLSTATE 55000)');
like($err, qr/HINT:  Add remote_buffer to shared_preload_libraries/,
	'hint says what to do');
ok(!$plain->log_contains(qr/storage manager interception/),
	'nothing intercepted without preloading');
$plain->stop;

done_testing();
