# test/t/003_datapath.pl -- remote_buffer data path with real rbufd peers
#
# A cluster with tiny shared_buffers and a remote tier on two real rbufd
# memory servers larger than the data: pgbench reads must be served from
# the remote tier (hits), and every result must be identical to what the
# same query returns with remote_buffer.enabled = off.  Then writes,
# amcheck, a peer killed with SIGKILL in the middle of pgbench, the
# enabled switch and remote_buffer_invalidate_all().
#
# Needs RBUFD (test/run-tap.sh sets it).  Run with test/run-tap.sh.

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
my $peer_a = "127.0.0.1:$rbd{A}{port}";
my $peer_b = "127.0.0.1:$rbd{B}{port}";

my $node = rb_node(
	'datapath',
	peers => "$peer_a, $peer_b",
	size => '64MB',
	lease_ttl => '2s',
	secret_file => $pg_secret,
	conf => [ 'shared_buffers = 1MB', 'autovacuum = off' ]);
$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');

sub q1
{
	return $node->safe_psql('postgres', $_[0]);
}

sub stat1
{
	return q1("SELECT $_[0] FROM remote_buffer_stats");
}

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'16'),
	'16 segments active');

$node->command_ok([ 'pgbench', '-i', '-s', '3', '-q', 'postgres' ],
	'pgbench -i -s 3');

my @tables = qw(pgbench_accounts pgbench_branches pgbench_tellers
  pgbench_history);
my %keys = (
	pgbench_accounts => 'aid',
	pgbench_branches => 'bid',
	pgbench_tellers => 'tid',
	pgbench_history => 'tid, bid, aid, delta, mtime');

# md5 of every table's contents, read with the remote tier on or off
sub checksums_sql
{
	my ($enabled) = @_;
	my $sql = "SET remote_buffer.enabled = $enabled; SET enable_indexscan = off; "
	  . "SET enable_bitmapscan = off; SET enable_indexonlyscan = off;\n";
	$sql .= join(
		" UNION ALL\n",
		map {
			"SELECT '$_', md5(coalesce(string_agg(t::text, ',' ORDER BY $keys{$_}), '')) FROM $_ t"
		} @tables);
	return $sql;
}

sub checksums
{
	return $node->safe_psql('postgres', checksums_sql($_[0]));
}

# first pass fills the tier, the second must hit it
q1('SELECT remote_buffer_reset_stats()');
my $on1 = checksums('on');
my $on2 = checksums('on');
my $off = checksums('off');
is($on1, $off, 'contents equal with the tier on (first pass) and off');
is($on2, $off, 'contents equal with the tier on (second pass) and off');
cmp_ok(stat1('admissions'), '>', 0, 'pages admitted');
cmp_ok(stat1('hits'), '>', 0, 'pages served from the remote tier');
cmp_ok(stat1('used_bytes'), '>', 0, 'used_bytes > 0');
is(q1('SELECT sum(used_bytes) = (SELECT used_bytes FROM remote_buffer_stats) FROM remote_buffer_peers'),
	't', 'peers used_bytes add up to the stats view');

# read-only pgbench
my $hits0 = stat1('hits');
$node->command_ok(
	[
		'pgbench', '-S', '-n', '-c', '4', '-j', '2', '-t', '2000',
		'--random-seed', '42', 'postgres'
	],
	'pgbench -S');
my $hits1 = stat1('hits');
cmp_ok($hits1, '>', $hits0, "pgbench -S hits the tier ($hits0 -> $hits1)");
note('stats after pgbench -S: '
	  . q1('SELECT hits, misses, admissions, invalidations, fallbacks, '
		  . 'remote_read_p50_us, storage_read_p50_us FROM remote_buffer_stats'));

# writes
$node->command_ok(
	[
		'pgbench', '-n', '-c', '4', '-j', '2', '-t', '500',
		'--random-seed', '43', 'postgres'
	],
	'pgbench tpcb');
q1('CHECKPOINT');
$off = checksums('off');
is(checksums('on'), $off, 'contents equal after writes (on vs off)');
is(checksums('on'), $off, 'contents equal after writes (second pass)');
is(stat1('verify_failures'), '0', 'no verify failures');

# amcheck on every relation (the catalogs too: pgbench -i and the writes
# went through the same tier)
amcheck_ok($node, 'postgres', 'after pgbench -S and tpcb writes');

# kill -9 one rbufd while pgbench runs
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '4', '-j', '2', '-T', '6',
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$out, '2>', \$err);
sleep 2;
rbufd_signal('A', 'KILL');
$h->finish;
is($h->result(0), 0, 'pgbench survives a peer killed with SIGKILL')
  or diag("pgbench: $out\n$err");
like($out, qr/number of failed transactions: 0/, 'no failed transaction')
  or diag($out);

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '$peer_b'",
		'16'),
	'all segments moved to the surviving peer');
my $hits2 = stat1('hits');
checksums('on');
is(checksums('on'), checksums('off'), 'contents equal after the peer loss');
my $hits3 = stat1('hits');
cmp_ok($hits3, '>', $hits2, "hits resume on the surviving peer ($hits2 -> $hits3)");
amcheck_ok($node, 'postgres', 'after the peer loss');

# enabled = off: no more hits from this session (one session throughout,
# so that no connection start-up reads with the tier on; nothing else runs)
my $off_sql = "SET remote_buffer.enabled = off;\n"
  . "SELECT hits FROM remote_buffer_stats;\n"
  . checksums_sql('off')
  . ";\nSELECT hits FROM remote_buffer_stats;";
my @lines = split /\n/, $node->safe_psql('postgres', $off_sql);
is($lines[-1], $lines[0], "no hits with remote_buffer.enabled = off ($lines[0])");

# invalidate everything
my $used0 = stat1('used_bytes');
cmp_ok($used0, '>', 0, 'tier in use before invalidate_all');
my $used1 = $node->safe_psql('postgres',
	"SET remote_buffer.enabled = off; SELECT remote_buffer_invalidate_all(); "
	  . "SELECT used_bytes FROM remote_buffer_stats");
$used1 = (split /\n/, $used1)[-1];
cmp_ok($used1, '<', $used0, "used_bytes drops after invalidate_all ($used0 -> $used1)");
my $miss0 = stat1('misses');
is(checksums('on'), checksums('off'), 'contents equal after invalidate_all');
cmp_ok(stat1('misses'), '>', $miss0, 'reads after invalidate_all miss');
is(stat1('verify_failures'), '0', 'still no verify failures');
amcheck_ok($node, 'postgres', 'after invalidate_all');

$node->stop;
done_testing();
