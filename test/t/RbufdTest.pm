# test/t/RbufdTest.pm -- real rbufd processes for the extension's TAP tests
#
#   rbufd_setup(dir => $tempdir, bin => $ENV{RBUFD}, args => [...]);
#   write_secret("$dir/A.secret", $secret);    # mode 0600
#   rbufd_start('A');             # start, or restart on its old port;
#                                 # $rbd{A}{port}, {secret}, {log}, {pid}
#   rbufd_signal('A', 'STOP');    # KILL/TERM also reap it ({status})
#
# Every rbufd started here is killed at exit, whatever happened.

package RbufdTest;

use strict;
use warnings;

use Exporter 'import';
use POSIX ();
use Time::HiRes qw(usleep);

use PostgreSQL::Test::Utils;

our @EXPORT = qw(%rbd rbufd_setup write_secret rbufd_start rbufd_signal);

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
