# test/t/005_crash_matrix.pl -- kill -9 the postmaster under a write load,
# again and again, and check that nothing acknowledged is lost or stale
#
# A cluster with shared_buffers = 1MB and a remote tier (two real rbufd)
# larger than its data, so that most reads during the load are served
# remotely.  Each iteration (RB_CRASH_ITERATIONS, default 10):
#
#   1. a write-heavy pgbench (TPC-B, 3 clients) and rb_commit_logger, a
#      libpq client that appends "C <id>" to a local log only after the
#      COMMIT of the transaction inserting <id> returned success;
#   2. after a random delay (optionally with a CHECKPOINT at a random
#      moment before it), SIGKILL to the postmaster; wait until every
#      orphaned child has detached from shared memory;
#   3. restart (crash recovery), then check:
#      - every acknowledged id is in crash_log with exactly its content,
#        every id there was attempted by the client, and the counter
#        table updated in the same transactions agrees;
#      - pgbench's TPC-B invariant sum(abalance) = sum(bbalance) =
#        sum(tbalance) = sum(delta);
#      - the remote tier started over: its shared memory (page directory,
#        counters) was created after the kill, every lease held before the
#        crash was released as a leftover and replaced, and the tier is
#        used again (hits > 0 on a second read pass);
#      - every table reads the same with remote_buffer.enabled on (served
#        by the tier, filled by a first pass) and off;
#      - amcheck over every relation (test/lib/amcheck.sql) is clean.
#
# The delays, the checkpoint choice and pgbench's own random seeds come
# from one seed: RB_CRASH_SEED, or a fixed default; it is printed, so a
# failing sequence can be replayed.
#
# Needs RBUFD and RB_COMMIT_LOGGER (test/run-tap.sh sets them).

use strict;
use warnings;

use IPC::Run ();
use Time::HiRes qw(usleep time);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use RbufdTest;

my $rbufd_bin = $ENV{RBUFD};
my $logger_bin = $ENV{RB_COMMIT_LOGGER};
plan skip_all =>
  'RBUFD and RB_COMMIT_LOGGER not set (run through test/run-tap.sh)'
  unless $rbufd_bin && -x $rbufd_bin && $logger_bin && -x $logger_bin;

my $seed = $ENV{RB_CRASH_SEED} // 20240515;
my $iterations = $ENV{RB_CRASH_ITERATIONS} // 10;
die "RB_CRASH_SEED must be a number" unless $seed =~ /^\d+$/;
srand($seed);
diag("crash matrix: seed $seed, $iterations iterations (RB_CRASH_SEED=$seed to replay)");

my @running;    # IPC::Run harnesses to kill if we die

END
{
	local $?;
	for my $h (@running)
	{
		eval { $h->kill_kill if $h->pumpable; 1 };
	}
}

my ($dir, $pg_secret) = rbufd_pair($rbufd_bin, '64M');

# 12 segments of 4MB: 48MB of tier for ~35MB of data
my $segments = 12;
my $node = rb_node(
	'crash',
	peers => "127.0.0.1:$rbd{A}{port}, 127.0.0.1:$rbd{B}{port}",
	size => '48MB',
	lease_ttl => '20s',
	secret_file => $pg_secret,
	conf => [ 'shared_buffers = 1MB', 'autovacuum = off' ]);

sub q1
{
	return $node->safe_psql('postgres', $_[0]);
}

sub wait_leases
{
	my ($label) = @_;
	return ok(
		$node->poll_query_until(
			'postgres',
			"SELECT count(*) FROM remote_buffer_leases WHERE state = 'active'",
			$segments),
		"$label: $segments segments active");
}

wait_leases('start');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '2', $node->connstr('postgres') ],
	'pgbench -i -s 2');
q1(
	q{CREATE TABLE crash_log (id bigint PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL);
CREATE TABLE crash_counter (k int PRIMARY KEY, n bigint NOT NULL, last_id bigint);
INSERT INTO crash_counter SELECT k, 0, NULL FROM generate_series(0, 7) k;
CHECKPOINT});

my %keys = (
	pgbench_accounts => 'aid',
	pgbench_branches => 'bid',
	pgbench_tellers => 'tid',
	pgbench_history => 'tid, bid, aid, delta, mtime',
	crash_log => 'id',
	crash_counter => 'k');

# md5 of every table, read by sequential scans, with the tier on or off
sub checksums
{
	my ($enabled) = @_;
	my $sql = "SET remote_buffer.enabled = $enabled; SET enable_indexscan = off; "
	  . "SET enable_bitmapscan = off; SET enable_indexonlyscan = off;\n";
	$sql .= join(
		" UNION ALL\n",
		map {
			"SELECT '$_', count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY $keys{$_}), '')) FROM $_ t"
		} sort keys %keys);
	return q1($sql);
}

sub lease_ids
{
	return q1(
		"SELECT string_agg(lease_id, ' ' ORDER BY lease_id) FROM remote_buffer_leases WHERE state = 'active'"
	);
}

# the postmaster's pid and shared memory segment id from postmaster.pid
sub pid_and_shmem_id
{
	my @l = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	my (undef, $id) = split ' ', $l[6];
	return ($l[0], $id);
}

# A new postmaster refuses to start while the old one's pid exists (it
# must have been reaped by whoever inherited it) or while any of its
# orphaned children still has the shared memory attached (they exit when
# they notice the postmaster is gone).  Returns the seconds waited, undef
# on timeout.
sub wait_detached
{
	my ($pid, $shmid) = @_;
	my $t0 = time;
	while (time - $t0 < $PostgreSQL::Test::Utils::timeout_default)
	{
		if (kill(0, $pid))
		{
			usleep(20_000);
			next;
		}
		my $attached;
		open my $fh, '<', '/proc/sysvipc/shm' or die "/proc/sysvipc/shm: $!";
		while (<$fh>)
		{
			my @f = split;
			$attached = $f[6] if $f[1] eq $shmid;
		}
		close $fh;
		return time - $t0 if !defined $attached || $attached == 0;
		usleep(20_000);
	}
	return undef;
}

# first read pass fills the tier
checksums('on');

my (%attempted_all, %committed_all);
my @summary;
my $t_start = time;

for my $it (1 .. $iterations)
{
	my $delay = 0.8 + rand(2.2);
	my $ckpt_at = rand() < 0.4 ? rand($delay) : undef;
	my $bench_seed = int(rand(1e9));
	my $first_id = $it * 10_000_000;
	my $log = "$dir/commits.$it";
	my $label = "iteration $it";

	q1('SELECT remote_buffer_reset_stats()');
	my $leases_before = lease_ids();
	my ($pm_pid, $shmid) = pid_and_shmem_id();

	my ($b_out, $b_err, $l_out, $l_err) = ('', '', '', '');
	my $bench = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '3', '-j', '1', '-T', '120',
			"--random-seed=$bench_seed", $node->connstr('postgres')
		],
		'>', \$b_out, '2>', \$b_err,
		IPC::Run::timeout(180));
	push @running, $bench;
	my $logger = IPC::Run::start(
		[ $logger_bin, $node->connstr('postgres'), $log, $first_id, 10_000_000 ],
		'>', \$l_out, '2>', \$l_err,
		IPC::Run::timeout(180));
	push @running, $logger;

	# the CHECKPOINT runs in the background: the kill may land in it
	my $t0 = time;
	my $ckpt;
	if (defined $ckpt_at)
	{
		usleep(1e6 * $ckpt_at);
		$ckpt = IPC::Run::start(
			[ 'psql', '-XAtq', '-c', 'CHECKPOINT', '-d', $node->connstr('postgres') ],
			'>', \my $c_out, '2>', \my $c_err, IPC::Run::timeout(180));
		push @running, $ckpt;
	}
	my $left = $delay - (time - $t0);
	usleep(1e6 * $left) if $left > 0;
	my ($hits, $admissions, $kill_ts) = split /\|/,
	  q1('SELECT hits, admissions, clock_timestamp() FROM remote_buffer_stats');
	my $log_offset = -s $node->logfile;
	my $killed_at = time - $t0;
	$node->kill9;

	# pgbench and the logger end when their connections break
	my $clients_ok =
	  eval { $bench->finish; $logger->finish; $ckpt->finish if $ckpt; 1 };
	ok($clients_ok, "$label: clients ended after the kill")
	  or diag("clients: $@");
	my $logger_rc = $logger->result(0);
	is($logger_rc, 0, "$label: rb_commit_logger ended on the lost connection")
	  or diag("rb_commit_logger: $l_out\n$l_err");
	@running = ();
	my $detach = wait_detached($pm_pid, $shmid);
	ok(defined $detach, "$label: the killed postmaster and its children are gone")
	  or BAIL_OUT('old server processes still attached to shared memory');

	# what the client logged: attempted, acknowledged
	my (%att, %com);
	for (split /\n/, slurp_file($log))
	{
		my ($k, $id) = split;
		($k eq 'A' ? \%att : \%com)->{$id} = 1;
	}
	$attempted_all{$_} = 1 for keys %att;
	$committed_all{$_} = 1 for keys %com;
	cmp_ok(scalar(keys %com), '>', 0,
		"$label: the client had acknowledged commits before the kill");

	$node->start;
	ok( $node->log_contains(
			'database system was not properly shut down; automatic recovery in progress',
			$log_offset),
		"$label: the restart ran crash recovery");

	# the tier starts over: shared memory (with the page directory and the
	# counters) was created anew, every old lease released, new ones
	# acquired
	my ($fresh, $used_at_start) = split /\|/,
	  q1("SELECT stats_reset > '$kill_ts', used_bytes FROM remote_buffer_stats");
	is($fresh, 't',
		"$label: the tier's shared memory was created after the kill (directory empty at start)");
	wait_leases($label);
	my $leases_after = lease_ids();
	my %old = map { $_ => 1 } split ' ', $leases_before;
	my @kept = grep { $old{$_} } split ' ', $leases_after;
	is(scalar(@kept), 0,
		"$label: no lease from before the crash is in use after it");
	my $released = 0;
	for (my $t = time; time - $t < 30; usleep(100_000))
	{
		my $since = slurp_file($node->logfile, $log_offset);
		$released = 0;
		$released += $1 while $since =~ /(\d+) leftover leases released/g;
		last if $released >= keys %old;
	}
	is($released, scalar(keys %old),
		"$label: the leases from before the crash were released as leftovers");

	# every acknowledged commit survived, with its content; nothing that
	# was not attempted appeared; the counter moved in the same commits
	my $rows = q1(
		q{SELECT string_agg(id::text, ' ' ORDER BY id) FROM crash_log
		  WHERE v = id * 7 + 1 AND pad = repeat(md5(id::text), 4)});
	my %present = map { $_ => 1 } split ' ', $rows;
	is(q1(q{SELECT count(*) FROM crash_log
		  WHERE NOT (v = id * 7 + 1 AND pad = repeat(md5(id::text), 4))}),
		'0', "$label: every row of crash_log has the content of its id");
	my @lost = grep { !$present{$_} } sort { $a <=> $b } keys %committed_all;
	is(scalar(@lost), 0,
		"$label: all " . scalar(keys %committed_all)
		  . ' acknowledged commits so far are present')
	  or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
	my @invented = grep { !$attempted_all{$_} } keys %present;
	is(scalar(@invented), 0, "$label: no row that was never attempted");
	is( q1('SELECT (SELECT count(*) FROM crash_log) = (SELECT sum(n) FROM crash_counter)'),
		't', "$label: crash_counter agrees with crash_log");
	my @in_doubt = grep { !$com{$_} } keys %att;
	my $doubt_committed = grep { $present{$_} } @in_doubt;

	is( q1(
			q{WITH h AS (SELECT coalesce(sum(delta), 0) AS d FROM pgbench_history)
			  SELECT (SELECT sum(abalance) FROM pgbench_accounts) = h.d
			     AND (SELECT sum(bbalance) FROM pgbench_branches) = h.d
			     AND (SELECT sum(tbalance) FROM pgbench_tellers) = h.d FROM h}
		),
		't',
		"$label: pgbench balances consistent");

	# the tier is used again, and serves what storage has
	# (a cheap first pass fills the tier, the second reads through it)
	q1('SELECT remote_buffer_reset_stats()');
	q1(join(' UNION ALL ', map { "SELECT count(*) FROM $_" } sort keys %keys));
	my $on = checksums('on');
	my $off = checksums('off');
	my ($hits_after, $vf) = split /\|/,
	  q1('SELECT hits, verify_failures FROM remote_buffer_stats');
	is($on, $off, "$label: tables read the same with the tier on and off");
	cmp_ok($hits_after, '>', 0, "$label: the tier serves reads again after the restart");
	is($vf, '0', "$label: no verify failures");
	amcheck_ok($node, 'postgres', $label);

	my $line = sprintf(
		"%s: killed at %.2fs%s, %d acknowledged (%d in doubt, %d of them committed), "
		  . "hits before kill %d (admissions %d), %d leases released, used after recovery %d kB, "
		  . "hits after restart %d, detach %.2fs",
		$label, $killed_at,
		defined $ckpt_at ? sprintf(' (CHECKPOINT at %.2fs)', $ckpt_at) : '',
		scalar(keys %com), scalar(@in_doubt), $doubt_committed,
		$hits, $admissions, $released, $used_at_start / 1024, $hits_after,
		$detach // -1);
	note($line);
	push @summary, $line;
	cmp_ok($hits, '>', 0, "$label: the load was served by the tier before the kill ($hits hits)");
}

diag($_) for @summary;
diag(sprintf('crash matrix: %d iterations, %d acknowledged commits verified, %.0f s',
	$iterations, scalar(keys %committed_all), time - $t_start));

$node->stop;
done_testing();
