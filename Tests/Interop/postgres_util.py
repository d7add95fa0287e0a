"""A throwaway PostgreSQL server for the interop tests: initdb into a temporary directory, one ephemeral port on
127.0.0.1, trust authentication, no fsync; stopped (pg_ctl stop -m immediate) and removed at the end.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the unprivileged user `nobody`
(its directory is handed to that user); otherwise as the current user.

    server = PostgresServer(tmpdir).start()
    url = server.url()                       # postgres://ledger@127.0.0.1:PORT/ledger?sslmode=disable
    server.psql("SELECT count(*) FROM ledger_postings")
    server.restart(); server.stop()
"""
import glob
import os
import pwd
import shutil
import subprocess
import time

from interop_util import free_port


def _bin_dir():
    """The newest installed server's programs (Debian: /usr/lib/postgresql/N/bin), else whatever is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


BIN_DIR = _bin_dir()


def available():
    """Whether a PostgreSQL server can be started here (tests skip otherwise, saying why)."""
    return BIN_DIR is not None and os.path.exists(os.path.join(BIN_DIR, "pg_ctl"))


class PostgresServer:
    """A PostgreSQL server in `tmpdir` (a directory the caller removes; the server's data lives in tmpdir/pgdata).
    The superuser is `ledger`; `start()` creates the database `ledger`."""

    def __init__(self, tmpdir, superuser="ledger", durable=False):
        self.tmpdir = tmpdir
        # Benchmarks want PostgreSQL's durable defaults; tests trade them for speed.
        self.durable = durable
        self.data = os.path.join(tmpdir, "pgdata")
        self.superuser = superuser
        self.port = None
        self.running = False
        self._as_root = os.geteuid() == 0

    def _command(self, program, *args):
        command = [os.path.join(BIN_DIR, program), *args]
        return ["runuser", "-u", "nobody", "--", *command] if self._as_root else command

    def _run(self, command, timeout=60):
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}{result.stderr}"
                               f"{self.log()}")
        return result.stdout

    def start(self, timeout=30):
        """initdb on first start, then pg_ctl start on a free port; waits until the server accepts connections."""
        if not os.path.exists(self.data):
            os.makedirs(self.data, mode=0o700)
            if self._as_root:
                # nobody must reach its data directory through tmpdir.
                os.chmod(self.tmpdir, 0o755)
                user = pwd.getpwnam("nobody")
                os.chown(self.data, user.pw_uid, user.pw_gid)
            self._run(self._command("initdb", "-D", self.data, "-U", self.superuser, "-A", "trust", "--no-sync",
                                    "-E", "UTF8", "--locale", "C"))
            fresh = True
        else:
            fresh = False
        if self.port is None:
            self.port = free_port()
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(self._command("pg_ctl", "-D", self.data, "-o", options, "-l", self.log_path, "-w", "-t", str(timeout),
                                "start"), timeout=timeout + 10)
        self.running = True
        if fresh:
            self.psql("CREATE DATABASE ledger", database="postgres")
        return self

    def stop(self):
        """Stops at once (-m immediate: no checkpoint, the tests' data is throwaway)."""
        if not self.running:
            return
        self.running = False
        self._run(self._command("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"))

    def restart(self):
        """Stops (immediately, as a crash would) and starts again on the same port and data."""
        self.stop()
        deadline = time.time() + 10
        while True:
            try:
                return self.start()
            except RuntimeError:
                # The port may linger a moment after an immediate stop.
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def log_path(self):
        return os.path.join(self.data, "server.log")

    def log(self):
        try:
            with open(self.log_path) as file:
                return file.read()[-4000:]
        except OSError:
            return ""

    def url(self, database="ledger", user="ledger", password=None, sslmode=None):
        """The URL `--db` takes. Without sslmode the URL says sslmode=disable (the test server has no TLS)."""
        credentials = user + (f":{password}" if password is not None else "")
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{database}?sslmode={sslmode or 'disable'}"

    def psql(self, sql, database="ledger", user=None):
        """Runs `sql` with psql (stops at the first error) and returns its output: unaligned, tuples only, so one
        value is just that value and a newline."""
        return self._run([os.path.join(BIN_DIR, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-h", "127.0.0.1", "-p", str(self.port), "-U", user or self.superuser, "-d", database,
                          "-c", sql])
