"""A throwaway PostgreSQL server for the interop tests and the PostgreSQL benchmark.

initdb into tmpdir/pgdata (locale C, so text sorts by bytes as in SQLite), one ephemeral port on 127.0.0.1, the Unix
socket in the data directory, trust authentication until `hba()` says otherwise, a `ledger` superuser and a `ledger`
database. Tests turn fsync, synchronous_commit and full_page_writes off (they kill processes, never the machine);
`durable=True` keeps PostgreSQL's defaults, for benchmarks.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the unprivileged user `nobody`
(its data directory is handed to that user); otherwise as the current user.

    server = PostgresServer(tmpdir, settings=["ssl=on", ...])  # initdb; settings are extra `-c` server options
    server.hba(["host all all 127.0.0.1/32 scram-sha-256"])    # optional, before or after start()
    server.start()
    server.url()                    # postgres://ledger@127.0.0.1:PORT/ledger?sslmode=disable
    server.url(sslmode=None)        # no sslmode: the client's default (prefer)
    server.psql("SELECT count(*) FROM ledger_postings")  # over the Unix socket: no password or TLS needed
    server.restart("immediate"); server.stop()
"""
import glob
import os
import pwd
import shutil
import subprocess

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
    """A PostgreSQL server in `tmpdir` (a directory the caller removes). initdb runs here, so `hba()` and
    `give_to_server()` can prepare the server before `start()`."""

    def __init__(self, tmpdir, settings=(), durable=False):
        self.data = os.path.join(tmpdir, "pgdata")
        # Extra `-c name=value` server settings (ssl=on, ...), kept across restarts.
        self.settings = list(settings)
        self.durable = durable
        self.port = None
        self._as_root = os.geteuid() == 0
        os.makedirs(self.data, mode=0o700)
        if self._as_root:
            # nobody must reach its data directory through tmpdir.
            os.chmod(tmpdir, 0o711)
            self.give_to_server(self.data, 0o700)
        self._run("initdb", "-D", self.data, "-U", "ledger", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C")

    def _run(self, program, *args, timeout=60):
        """Runs one of the server's programs as the server user; raises with its output and the server's log."""
        command = [os.path.join(BIN_DIR, program), *args]
        if self._as_root:
            command = ["runuser", "-u", "nobody", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}{result.stderr}{self.log()}")
        return result.stdout

    def _pg_ctl(self, action, *args, timeout=60):
        settings = ["listen_addresses=127.0.0.1", *self.settings]
        if not self.durable:
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        options = f"-p {self.port} -k {self.data} " + " ".join(f"-c {s}" for s in settings)
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.log_path, "-w", "-t", str(timeout), *args, action,
                  timeout=timeout + 10)

    @property
    def running(self):
        return self.port is not None and os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def start(self, timeout=30):
        """Starts and waits until the server accepts connections. The first start picks a free port (another one if
        something took it meanwhile) and creates the database `ledger`; a start after stop() reuses the port."""
        first = self.port is None
        for attempt in range(3):
            if first:
                self.port = free_port()
            try:
                self._pg_ctl("start", timeout=timeout)
                break
            except RuntimeError:
                if not first or attempt == 2:
                    raise
        if first:
            self.psql("CREATE DATABASE ledger", database="postgres")
        return self

    def restart(self, mode="fast"):
        """pg_ctl restart on the same port and data, so clients reconnect to the same URL: `fast` (clients
        disconnected, clean shutdown) or `immediate` (as a crash would: recovery on start)."""
        self._pg_ctl("restart", "-m", mode)
        return self

    def stop(self, mode="immediate"):
        """Stops, at once by default (no checkpoint: the tests' data is throwaway). Does nothing if not running."""
        if self.running:
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def hba(self, lines):
        """Replaces pg_hba.conf with `lines` (e.g. to require passwords or TLS over TCP), reloading if running. Local
        socket connections stay trusted, so psql() works whatever TCP requires."""
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as out:
            out.write("local all all trust\n" + "".join(line + "\n" for line in lines))
        if self.running:
            self._run("pg_ctl", "-D", self.data, "reload")

    def give_to_server(self, path, mode=0o600):
        """Makes a file (a TLS key) the server user's, readable by it only, as PostgreSQL requires."""
        os.chmod(path, mode)
        if self._as_root:
            nobody = pwd.getpwnam("nobody")
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def url(self, database="ledger", user="ledger", password=None, host="127.0.0.1", sslmode="disable"):
        """The URL `--db` takes. sslmode=disable by default (the server has no TLS unless settings turn it on);
        sslmode=None leaves it out, so the client's default (prefer) applies."""
        credentials = user + (f":{password}" if password is not None else "")
        return f"postgres://{credentials}@{host}:{self.port}/{database}" + (f"?sslmode={sslmode}" if sslmode else "")

    def psql(self, sql, database="ledger"):
        """Runs `sql` through the Unix socket (trusted, see hba()) and stops at the first error. Returns the output
        unaligned and stripped: '|' between columns, one row a line, so one value is just that value."""
        result = subprocess.run([os.path.join(BIN_DIR, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                 "-h", self.data, "-p", str(self.port), "-U", "ledger", "-d", database, "-c", sql],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {sql}\n{result.stderr}")
        return result.stdout.strip()

    @property
    def log_path(self):
        return os.path.join(self.data, "server.log")

    def log(self):
        """The end of the server's log, for error messages."""
        try:
            with open(self.log_path, errors="replace") as file:
                return file.read()[-4000:]
        except OSError:
            return ""
