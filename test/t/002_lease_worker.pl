# test/t/002_lease_worker.pl -- remote_buffer lease manager and its views
#
# Runs two real rbufd memory servers on loopback and a cluster whose lease
# manager leases 4 MB segments from them, then breaks things: kills one
# server, restarts it, grows and shrinks the remote tier, changes the
# shared secret so that one server refuses us, stops one server with
# SIGSTOP.  After each step the views must converge (polled, never timed
# with sleeps) and ordinary queries must keep working.  Also checks the
# check hooks of the remote_buffer.* parameters.
#
# Needs RBUFD and RBUFCTL (test/run-tap.sh sets them).  Run with
# test/run-tap.sh.

use strict;
use warnings;

use JSON::PP;
use POSIX ();
use Time::HiRes qw(time usleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use RbufdTest;

my $rbufd_bin = $ENV{RBUFD};
my $rbufctl_bin = $ENV{RBUFCTL};
plan skip_all => 'RBUFD and RBUFCTL not set (run through test/run-tap.sh)'
  unless $rbufd_bin && -x $rbufd_bin && $rbufctl_bin && -x $rbufctl_bin;

my $dir = PostgreSQL::Test::Utils::tempdir();
rbufd_setup(
	dir => $dir,
	bin => $rbufd_bin,
	args => [ '--memory', '64M', '--min-ttl', '500', '--log-level', 'debug' ]);

# SIGHUP rbufd $name after changing its secret file; wait until it says the
# new secret is in effect
sub rbufd_new_secret
{
	my ($name, $secret) = @_;
	my $count = sub {
		my @m = slurp_file($rbd{$name}{log}) =~ /new secret in effect/g;
		return scalar @m;
	};
	my $before = $count->();
	write_secret($rbd{$name}{secret}, $secret);
	rbufd_signal($name, 'HUP');
	for (my $i = 0; $i < 3000; $i++)
	{
		return if $count->() > $before;
		usleep(10_000);
	}
	die "rbufd $name did not take its new secret";
}

# rbufctl status --json for $name, decoded
sub rbufd_status
{
	my ($name) = @_;
	my $r = $rbd{$name};
	my ($stdout, $stderr);
	IPC::Run::run(
		[
			$rbufctl_bin, '--host', '127.0.0.1', '--port', $r->{port},
			'--secret-file', $r->{secret}, '--json', 'status'
		],
		'>', \$stdout, '2>', \$stderr)
	  or die "rbufctl status for $name failed: $stderr";
	return decode_json($stdout);
}

# lease ids (hex) that rbufd $name holds for $owner
sub rbufd_leases
{
	my ($name, $owner) = @_;
	my @ids = sort map { $_->{id} }
	  grep { $_->{owner} eq $owner } @{ rbufd_status($name)->{leases} };
	return @ids;
}

#
# Two memory servers sharing one secret (each reads its own copy)
#
my $secret1 = 'remote-buffer-test-secret-1-' . int(rand(1e9));
my $secret2 = 'remote-buffer-test-secret-2-' . int(rand(1e9));
write_secret("$dir/A.secret", $secret1);
write_secret("$dir/B.secret", $secret1);
rbufd_start('A');
rbufd_start('B');
my $peer_a = "127.0.0.1:$rbd{A}{port}";
my $peer_b = "127.0.0.1:$rbd{B}{port}";
note("rbufd A at $peer_a, B at $peer_b");

my $pg_secret = write_secret("$dir/pg.secret", $secret1);

my $node = rb_node(
	'lease',
	peers => "$peer_a, $peer_b",
	size => '32MB',
	max_size => '64MB',
	lease_ttl => '2s',
	secret_file => $pg_secret);

sub q1
{
	return $node->safe_psql('postgres', $_[0]);
}

sub active_on
{
	my ($peer) = @_;
	return q1(
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '$peer'"
	);
}

# { segment => generation } of the active segments on $peer
sub generations_on
{
	my ($peer) = @_;
	my %g;
	for (split /\n/,
		q1( "SELECT segment, generation FROM remote_buffer_leases "
			  . "WHERE state = 'active' AND peer = '$peer'"))
	{
		my ($s, $gen) = split /\|/;
		$g{$s} = $gen;
	}
	return \%g;
}

#
# 1. Settings as configured, and the owner name
#
is(q1('SHOW remote_buffer.lease_size'), '4MB', 'lease_size shown in MB');
is(q1('SHOW remote_buffer.size'), '32MB', 'size shown in MB');
is(q1('SHOW remote_buffer.io_timeout'), '500ms', 'io_timeout shown in ms');
is(q1('SHOW remote_buffer.lease_ttl'), '2s', 'lease_ttl shown with unit');
is(q1('SHOW remote_buffer.transport'), 'auto', 'transport defaults to auto');

$node->wait_for_log(qr/remote_buffer lease manager started/);
my ($owner) =
  slurp_file($node->logfile) =~ /Owner "(pg-\d+-[0-9a-f]{8})"/;
ok(defined $owner, 'derived owner name logged: ' . ($owner // 'none'));
my $sysid = q1('SELECT system_identifier FROM pg_control_system()');
like($owner, qr/^pg-\Q$sysid\E-[0-9a-f]{8}$/,
	'owner is pg-<system identifier>-<hash>');

#
# 2. Eight leases, spread over both peers, renewed
#
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'8'),
	'8 segments active');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_peers WHERE state = 'connected' AND rtt_us IS NOT NULL",
		'2'),
	'both peers connected, with a round-trip time');
my $spread = q1(
	"SELECT string_agg(leases::text, ',' ORDER BY peer) FROM remote_buffer_peers");
like($spread, qr/^[1-7],[1-7]$/, "leases spread over both peers ($spread)");
is(q1("SELECT count(*) FROM remote_buffer_peers WHERE leased_bytes <> leases * 4194304 OR used_bytes < 0 OR used_bytes > leased_bytes"),
	'0', 'leased_bytes = leases x 4 MB, used_bytes within it');
is( q1( "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' "
		  . "AND lease_id ~ '^[0-9a-f]{16}\$' AND bytes = 4194304 AND expires_at > now()"
	),
	'8',
	'lease rows carry id, size and a future expiry');
is_deeply(
	[ rbufd_leases('A', $owner) ],
	[
		split /\n/,
		q1( "SELECT lease_id FROM remote_buffer_leases "
			  . "WHERE peer = '$peer_a' ORDER BY lease_id COLLATE \"C\"")
	],
	'rbufd A holds exactly the leases the view shows for it');

ok( $node->poll_query_until(
		'postgres',
		"SELECT min(renewals) >= 2 FROM remote_buffer_leases WHERE state = 'active'"),
	'every lease renewed at least twice');
cmp_ok(rbufd_status('B')->{counters}{leases_renewed},
	'>', 0, 'rbufd B counted renewals');
is(scalar(rbufd_leases('B', $owner)), active_on($peer_b),
	'rbufd B still holds its leases after renewals (TTL 2 s)');

#
# 3. kill -9 one server: its segments move to the other, with new
#    generations, while a pgbench run keeps going
#
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ],
	'pgbench -i');
my $gen_b = generations_on($peer_b);
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-t', '300', $node->connstr('postgres') ],
	'>', \$bench_out, '2>', \$bench_err);
rbufd_signal('B', 'KILL');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '$peer_a'",
		'8'),
	'all 8 segments active on the surviving peer');
my $gen_now = q1(
	"SELECT string_agg(segment || ':' || generation, ',') FROM remote_buffer_leases");
my %gen_now = map { split /:/ } split /,/, $gen_now;
my @not_bumped = grep { $gen_now{$_} <= $gen_b->{$_} } keys %$gen_b;
ok(keys %$gen_b > 0 && @not_bumped == 0,
	'moved segments have a higher generation');
is( q1( "SELECT state <> 'connected' AND disconnects > 0 AND last_error IS NOT NULL "
		  . "AND last_error_at IS NOT NULL FROM remote_buffer_peers WHERE peer = '$peer_b'"
	),
	't',
	'dead peer: not connected, disconnect counted, last error recorded');
note('dead peer error: '
	  . q1("SELECT last_error FROM remote_buffer_peers WHERE peer = '$peer_b'"));
ok($bench->finish, 'pgbench during the failover succeeded')
  or diag($bench_err);

#
# 4. Restart it on the same port: back after its quarantine
#
rbufd_start('B');
ok( $node->poll_query_until(
		'postgres',
		"SELECT state FROM remote_buffer_peers WHERE peer = '$peer_b'",
		'connected'),
	'restarted peer connected again');

#
# 5. Grow beyond max_size (capped), then shrink: highest segments released
#
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.size = '1GB'; SELECT pg_reload_conf()");
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'16'),
	'size > max_size: capped at max_size / lease_size = 16 segments');
is(q1('SHOW remote_buffer.size'), '1GB', 'SHOW gives the configured size');
ok($node->log_contains(qr/WARNING:  remote_buffer.size \(1024 MB\) exceeds remote_buffer.max_size \(64 MB\)/),
	'capping is logged as a warning');
is(active_on($peer_b), '8', 'new segments went to the peer with fewer');

my $released_a = rbufd_status('A')->{counters}{leases_released};
my $released_b = rbufd_status('B')->{counters}{leases_released};
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.size = '16MB'; SELECT pg_reload_conf()");
ok( $node->poll_query_until(
		'postgres',
		"SELECT string_agg(segment::text, ',' ORDER BY segment) FROM remote_buffer_leases",
		'0,1,2,3'),
	'shrunk to 16MB: segments 0-3 kept, no pending rows');
is( rbufd_status('A')->{counters}{leases_released} - $released_a +
	  rbufd_status('B')->{counters}{leases_released} - $released_b,
	12,
	'the 12 highest leases were released on the servers');
is_deeply(
	[ sort { $a cmp $b } rbufd_leases('A', $owner), rbufd_leases('B', $owner) ],
	[ split /\n/, q1("SELECT lease_id FROM remote_buffer_leases ORDER BY lease_id COLLATE \"C\"") ],
	'the servers hold exactly the 4 leases left');

#
# 6. A new secret that only B knows: A refuses us, nothing else breaks
#
my $active_a = active_on($peer_a);
rbufd_new_secret('B', $secret2);
my $pg_secret2 = write_secret("$dir/pg2.secret", $secret2);
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.secret_file = '$pg_secret2'; SELECT pg_reload_conf()"
);
ok( $node->poll_query_until(
		'postgres',
		"SELECT state FROM remote_buffer_peers WHERE peer = '$peer_a'",
		'auth_failed'),
	'peer with the old secret: auth_failed');
like(
	q1("SELECT last_error FROM remote_buffer_peers WHERE peer = '$peer_a'"),
	qr/rejected our authentication.*shared secret/,
	'last_error says why');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' AND peer = '$peer_b'",
		'4'),
	"A's segments moved to B (A had $active_a)");
is(q1("SELECT state FROM remote_buffer_peers WHERE peer = '$peer_b'"),
	'connected', 'peer with the new secret stays connected');

# an unreadable secret file: warning, established connections stay
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.secret_file = '$dir/missing.secret'; SELECT pg_reload_conf()"
);
$node->wait_for_log(
	qr/WARNING:  could not load remote_buffer.secret_file: could not open secret file/,
	$log_offset);
ok( $node->poll_query_until(
		'postgres',
		"SELECT last_error FROM remote_buffer_peers WHERE peer = '$peer_a'",
		"could not load remote_buffer.secret_file: could not open secret file \"$dir/missing.secret\": No such file or directory"
	),
	'missing secret file reported as last_error');
is(q1("SELECT state || ' ' || leases FROM remote_buffer_peers WHERE peer = '$peer_b'"),
	'connected 4', 'established connection kept without a loadable secret');

# give A the new secret too, then reload: back at once (quarantine cleared)
rbufd_new_secret('A', $secret2);
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.secret_file = '$pg_secret2'; SELECT pg_reload_conf()"
);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_peers WHERE state = 'connected'",
		'2'),
	'both peers connected with the new secret');

#
# 7. SIGSTOP one server: the lease manager times out, moves on, and views
#    stay prompt
#
my $stopped = active_on($peer_b) > 0 ? 'B' : 'A';
my ($stopped_peer, $other_peer) =
  $stopped eq 'B' ? ($peer_b, $peer_a) : ($peer_a, $peer_b);
$bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-t', '300', $node->connstr('postgres') ],
	'>', \$bench_out, '2>', \$bench_err);
rbufd_signal($stopped, 'STOP');
my $slowest = 0;
my $moved = 0;
for (my $i = 0; $i < 600 && !$moved; $i++)
{
	my $t0 = time();
	$moved =
	  q1( "SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' "
		  . "AND peer = '$other_peer'") eq '4';
	q1('SELECT count(*) FROM remote_buffer_peers');
	my $t = time() - $t0;
	$slowest = $t if $t > $slowest;
	usleep(100_000) unless $moved;
}
ok($moved, "stopped peer's segments moved to the other peer");
cmp_ok($slowest, '<', 5, sprintf('view queries stayed prompt (slowest %.2f s)', $slowest));
like(
	q1("SELECT state || ': ' || last_error FROM remote_buffer_peers WHERE peer = '$stopped_peer'"),
	qr/^quarantined: .*(within|timed out)/,
	'stopped peer quarantined after a timeout');
ok($bench->finish, 'pgbench while a peer is stopped succeeded')
  or diag($bench_err);
rbufd_signal($stopped, 'CONT');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_peers WHERE state = 'connected'",
		'2'),
	'continued peer connected again');

#
# 8. Peers removed and added by a reload: remove the one holding the leases
#
my %peer_of = (A => $peer_a, B => $peer_b);
my ($drop, $keep) = active_on($peer_a) > 0 ? ('A', 'B') : ('B', 'A');
my $released_before = rbufd_status($drop)->{counters}{leases_released};
my $on_drop = active_on($peer_of{$drop});
is($on_drop, '4', "peer $drop holds all 4 leases before its removal");
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.peers = '$peer_of{$keep}'; SELECT pg_reload_conf()"
);
ok( $node->poll_query_until(
		'postgres',
		"SELECT string_agg(peer || '=' || leases, ',') FROM remote_buffer_peers",
		"$peer_of{$keep}=4"),
	'removed peer gone from the view, its segments re-acquired on the other');
is(rbufd_status($drop)->{counters}{leases_released} - $released_before,
	4, "removed peer's leases were released, not left to expire");
is(scalar(rbufd_leases($drop, $owner)), 0, 'removed peer holds no lease of ours');
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.peers = '$peer_of{$drop},$peer_of{$keep}'; SELECT pg_reload_conf()"
);
ok( $node->poll_query_until(
		'postgres',
		"SELECT string_agg(peer || ' ' || state || ' ' || transport, ',') FROM remote_buffer_peers",
		"$peer_of{$drop} connected tcp,$peer_of{$keep} connected tcp"),
	'added peer connected; the view follows the new order');

#
# 9. SIGTERM to the lease manager: it releases its leases and is started
#    again by the postmaster
#
my ($worker_pid) =
  (slurp_file($node->logfile) =~ /\[(\d+)\] LOG:  remote_buffer lease manager started/g)[-1];
my $gen_before = q1(
	"SELECT string_agg(format('(%s,%s)', segment, generation), ',') FROM remote_buffer_leases"
);
$log_offset = -s $node->logfile;
kill 'TERM', $worker_pid;
$node->wait_for_log(
	qr/remote_buffer lease manager shutting down
.*DETAIL:  Released 4 of 4 leases/,
	$log_offset);
$node->wait_for_log(qr/remote_buffer lease manager started/, $log_offset);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases l JOIN (VALUES $gen_before) v(s, g) "
		  . "ON l.segment = v.s WHERE l.state = 'active' AND l.generation > v.g",
		'4'),
	'restarted lease manager acquired 4 new leases');

#
# 10. Check hooks
#
sub alter_err
{
	my ($setting) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "ALTER SYSTEM SET $setting");
	return $ret == 0 ? '' : $err;
}
like(alter_err(q{remote_buffer.peers = 'nohost'}),
	qr/invalid value for parameter "remote_buffer.peers".*\n.*DETAIL:  Entry "nohost" has no port number/,
	'peer without port rejected with detail');
like(alter_err(q{remote_buffer.peers = '::1:7420'}),
	qr/DETAIL:  .*IPv6 addresses must be enclosed in brackets/,
	'bare IPv6 rejected with detail');
like(alter_err(q{remote_buffer.peers = 'a:1, a:1'}),
	qr/DETAIL:  Peer "a:1" is listed twice/, 'duplicate rejected');
like(alter_err(q{remote_buffer.peers = 'a:1,,b:2'}),
	qr/DETAIL:  The list has an empty entry/, 'empty entry rejected');
like(alter_err(q{remote_buffer.peers = 'a:70000'}),
	qr/DETAIL:  .*port number must be between 1 and 65535/,
	'port out of range rejected');
like(alter_err(q{remote_buffer.peers = '[fe80::zz]:1'}),
	qr/DETAIL:  .*is not an IPv6 address/, 'bad IPv6 literal rejected');
my $seventeen = join(',', map { "h$_:7420" } 1 .. 17);
like(alter_err(qq{remote_buffer.peers = '$seventeen'}),
	qr/DETAIL:  The list has 17 entries; at most 16 peers are supported/,
	'more than 16 peers rejected');
is(alter_err(q{remote_buffer.peers = '[::1]:7420, db-1.example.com:7421, 10.0.0.5:1'}),
	'', 'IPv4, names and bracketed IPv6 accepted');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET remote_buffer.peers');
is(alter_err(q{remote_buffer.transport = 'rdma'}), '', 'transport rdma accepted');
is(alter_err(q{remote_buffer.transport = 'tcp'}), '', 'transport tcp accepted');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET remote_buffer.transport');
like(alter_err(q{remote_buffer.owner = 'has space'}),
	qr/DETAIL:  An owner name is 1 to 64 printable ASCII characters/,
	'invalid owner rejected');
like(alter_err(q{remote_buffer.lease_ttl = '500ms'}),
	qr/500 ms is outside the valid range.*1000 .. 600000/,
	'lease_ttl below 1 s rejected');
like(alter_err(q{remote_buffer.lease_size = '2GB'}),
	qr/outside the valid range/, 'lease_size above 1 GB rejected');
my ($ret, $out, $err) =
  $node->psql('postgres', q{SET remote_buffer.peers = 'a:1'});
like($err, qr/parameter "remote_buffer.peers" cannot be changed now/,
	'peers cannot be SET in a session');
($ret, $out, $err) =
  $node->psql('postgres', q{SET remote_buffer.max_size = '1GB'});
like($err,
	qr/parameter "remote_buffer.max_size" cannot be changed without restarting the server/,
	'max_size needs a restart');

#
# 11. Privileges, and a clean shutdown releases everything
#
$node->safe_psql('postgres', 'CREATE ROLE rb_bob LOGIN');
($ret, $out, $err) = $node->psql(
	'postgres', 'SELECT * FROM remote_buffer_peers',
	extra_params => [ '-U', 'rb_bob' ]);
like($err, qr/permission denied for view remote_buffer_peers/,
	'peers view not readable by PUBLIC');
$node->safe_psql('postgres', 'GRANT pg_monitor TO rb_bob');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM remote_buffer_leases',
		extra_params => [ '-U', 'rb_bob' ]),
	'4',
	'leases view readable by pg_monitor');

$log_offset = -s $node->logfile;
$node->stop;
ok( $node->log_contains(
		qr/remote_buffer lease manager shutting down\n.*DETAIL:  Released 4 of 4 leases/,
		$log_offset),
	'shutdown released all 4 leases');
is(scalar(rbufd_leases('A', $owner)) + scalar(rbufd_leases('B', $owner)),
	0, 'no leases of ours left on the servers');

#
# 12. Restart with leftover leases on a server: released at re-attach
#
$node->start;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'4'),
	'4 segments active after restart');
# a long TTL, so that the leftovers outlive the restart below
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.lease_ttl = '2min'; SELECT pg_reload_conf()"
);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active' "
		  . "AND expires_at > now() + interval '60 s'",
		'4'),
	'leases renewed with a TTL of 2 min');
$log_offset = -s $node->logfile;
$node->stop('immediate');
my $left = scalar(rbufd_leases('A', $owner)) + scalar(rbufd_leases('B', $owner));
is($left, 4, 'immediate stop leaves the 4 leases behind');
$node->start;
$node->wait_for_log(qr/leftover leases released/, $log_offset);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'4'),
	'4 fresh segments active after re-attach');
is_deeply(
	[ sort { $a cmp $b } rbufd_leases('A', $owner), rbufd_leases('B', $owner) ],
	[ split /\n/, q1("SELECT lease_id FROM remote_buffer_leases ORDER BY lease_id COLLATE \"C\"") ],
	'leftovers released, not adopted: servers hold only the new leases');

#
# 13. An explicit owner name
#
$node->safe_psql('postgres',
	"ALTER SYSTEM SET remote_buffer.owner = 'rb-test-owner'");
$node->restart;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
		'4'),
	'4 segments active under the explicit owner');
is_deeply(
	[ sort { $a cmp $b } rbufd_leases('A', 'rb-test-owner'), rbufd_leases('B', 'rb-test-owner') ],
	[ split /\n/, q1("SELECT lease_id FROM remote_buffer_leases ORDER BY lease_id COLLATE \"C\"") ],
	'the servers hold our leases under remote_buffer.owner');
$node->stop;

#
# 14. Not preloaded: the views refuse
#
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION remote_buffer');
for my $view (qw(remote_buffer_peers remote_buffer_leases))
{
	($ret, $out, $err) = $plain->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT * FROM $view");
	like(
		$err,
		qr/ERROR:  55000: remote_buffer must be loaded via shared_preload_libraries(.|\n)*HINT:  Add remote_buffer to shared_preload_libraries/,
		"$view without preloading: prerequisite error with hint");
}
$plain->stop;

rbufd_signal('A', 'TERM');
rbufd_signal('B', 'TERM');
is($rbd{A}{status}, 0, 'rbufd A exited cleanly');
is($rbd{B}{status}, 0, 'rbufd B exited cleanly');

done_testing();
