# test/t/RbufdTest.pm -- real rbufd processes for the extension's TAP tests
#
#   rbufd_setup(dir => $tempdir, bin => $ENV{RBUFD}, args => [...]);
#   write_secret("$dir/A.secret", $secret);    # mode 0600
#   rbufd_start('A');             # start, or restart on its old port;
#                                 # $rbd{A}{port}, {secret}, {log}, {pid}
#   my ($dir, $pg_secret) = rbufd_pair($ENV{RBUFD}, '96M');  # A and B
#   rbufd_signal('A', 'STOP');    # KILL/TERM also reap it ({status})
#   my $node = rb_node('name', peers => "...", size => '32MB',
#                      secret_file => $f, conf => ['shared_buffers = 1MB']);
#   amcheck_ok($node, 'postgres', 'after X');  # test/lib/amcheck.sql (4 tests)
#
# Every rbufd started here is killed at exit, whatever happened.

package RbufdTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename ();
use File::Spec ();
use IPC::Run ();
use POSIX ();
use Time::HiRes qw(usleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT =
  qw(%rbd rbufd_setup write_secret rbufd_start rbufd_signal rbufd_pair rb_node
  amcheck_ok);

our %rbd;    # name => { pid, port, secret, log, status }
my ($dir, $bin, @args);

# dir: where secrets, port files and logs go; args: extra rbufd flags
sub rbufd_setup
{
	my %o = @_;
	($dir, $bin, @args) = ($o{dir}, $o{bin}, @{ $o{args} // [] });
	return;
}

sub write_secret
{
	my ($path, $secret) = @_;
	my $old = umask(077);
	open my $fh, '>', $path or die "could not write $path: $!";
	print $fh "$secret\n";
	close $fh;
	umask($old);
	chmod 0600, $path;
	return $path;
}

sub rbufd_start
{
	my ($name) = @_;
	my $r = $rbd{$name} //= {
		port => 0,
		secret => "$dir/$name.secret",
		log => "$dir/$name.log",
	};
	my $portfile = "$dir/$name.port";
	unlink $portfile;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open STDOUT, '>>', $r->{log} or POSIX::_exit(126);
		open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
		exec $bin, '--listen', '127.0.0.1', '--port', $r->{port},
		  '--port-file', $portfile, '--secret-file', $r->{secret}, @args
		  or POSIX::_exit(127);
	}
	$r->{pid} = $pid;
	for (my $i = 0; $i < 3000; $i++)
	{
		if (-s $portfile)
		{
			$r->{port} = 0 + slurp_file($portfile);
			return $r;
		}
		last if waitpid($pid, POSIX::WNOHANG) == $pid;
		usleep(10_000);
	}
	delete $r->{pid};
	die "rbufd $name did not start:\n" . slurp_file($r->{log});
}

# Two rbufd peers, A and B, sharing one fresh secret, with a copy of it for
# the cluster.  Returns the temp dir (logs, secrets) and that copy's path.
sub rbufd_pair
{
	my ($bin, $memory) = @_;
	my $tmp = PostgreSQL::Test::Utils::tempdir();
	rbufd_setup(
		dir => $tmp,
		bin => $bin,
		args => [ '--memory', $memory, '--min-ttl', '500' ]);
	my $secret = 'remote-buffer-secret-' . int(rand(1e9));
	for my $name (qw(A B))
	{
		write_secret("$tmp/$name.secret", $secret);
		rbufd_start($name);
	}
	return ($tmp, write_secret("$tmp/pg.secret", $secret));
}

sub rbufd_signal
{
	my ($name, $sig) = @_;
	my $pid = $rbd{$name}{pid} or return;
	kill $sig, $pid;
	if ($sig eq 'KILL' || $sig eq 'TERM')
	{
		kill 'CONT', $pid;
		waitpid($pid, 0);
		$rbd{$name}{status} = $?;
		delete $rbd{$name}{pid};
	}
	return;
}

# A started cluster with remote_buffer preloaded and created in "postgres".
# o: peers, size, secret_file (required); max_size (= size), lease_size
# (4MB), io_timeout (500ms), lease_ttl (the setting's default when not
# given); conf: more postgresql.conf lines; init: Cluster->init arguments.
sub rb_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $o{init} // {} });
	my $max = $o{max_size} // $o{size};
	my $conf = join(
		"\n",
		"shared_preload_libraries = 'remote_buffer'",
		"remote_buffer.peers = '$o{peers}'",
		"remote_buffer.size = $o{size}",
		"remote_buffer.max_size = $max",
		"remote_buffer.lease_size = " . ($o{lease_size} // '4MB'),
		(defined $o{lease_ttl} ? ("remote_buffer.lease_ttl = $o{lease_ttl}") : ()),
		"remote_buffer.io_timeout = " . ($o{io_timeout} // '500ms'),
		"remote_buffer.secret_file = '$o{secret_file}'",
		@{ $o{conf} // [] });
	$node->append_conf('postgresql.conf', "$conf\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION remote_buffer');
	return $node;
}

# test/lib/amcheck.sql: test/run-tap.sh copies it next to this module;
# in the source tree it is in ../lib
sub amcheck_sql_path
{
	my $here = File::Basename::dirname(File::Spec->rel2abs(__FILE__));
	for my $p ("$here/amcheck.sql", "$here/../lib/amcheck.sql")
	{
		return $p if -r $p;
	}
	die "amcheck.sql not found in $here or $here/../lib";
}

# amcheck over every relation of $dbname (verify_heapam with TOAST,
# bt_index_parent_check with heapallindexed on every btree index, the
# catalogs included).  Four tests: the script ran, it looked at heaps and
# at btree indexes (a check that saw nothing proves nothing), and it found
# no problem (the problems are printed if not).  Not on a standby:
# bt_index_parent_check needs a ShareLock that recovery does not allow,
# and the script creates temporary tables.  Returns true if all passed.
sub amcheck_ok
{
	my ($node, $dbname, $label) = @_;
	my ($stdout, $stderr) = ('', '');
	my $ran = IPC::Run::run(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($dbname),
			'-f', amcheck_sql_path()
		],
		'<', \undef, '>', \$stdout, '2>', \$stderr);
	my %n;
	my @problems;
	for (split /\n/, $stdout)
	{
		if (/^(heap_relations|btree_indexes) (\d+)$/) { $n{$1} = $2; }
		elsif (/^PROBLEM /) { push @problems, $_; }
	}
	my $all = ok($ran, "$label: amcheck ran in $dbname");
	diag("psql: $stderr") unless $ran;
	$all = cmp_ok($n{heap_relations} // 0, '>', 0,
		"$label: amcheck saw heap relations in $dbname ("
		  . ($n{heap_relations} // 'none') . ' heaps, '
		  . ($n{btree_indexes} // 'none') . ' btree indexes)') && $all;
	$all = cmp_ok($n{btree_indexes} // 0, '>', 0,
		"$label: amcheck saw btree indexes in $dbname") && $all;
	$all = is(scalar(@problems), 0, "$label: amcheck clean in $dbname")
	  && $all;
	diag(join("\n", @problems)) if @problems;
	return $all;
}

END
{
	local $?;    # reaping must not change the test's exit status
	for my $r (values %rbd)
	{
		next unless $r->{pid};
		kill 'CONT', $r->{pid};
		kill 'KILL', $r->{pid};
		waitpid($r->{pid}, 0);
	}
}

1;
