"""A throwaway PostgreSQL 15 server for the pipeline tests, on 127.0.0.1 and an ephemeral port.

The same API as postgres_util.PostgresServer (written in parallel; the two are meant to be merged): `start()`,
`stop()`, `restart()`, `url(...)`, `psql(sql)`. Extras the pipeline tests need: `hba(lines)` to require passwords,
and `ssl` settings given to the constructor. The server runs as `nobody` when the tests run as root (PostgreSQL
refuses root), with fsync off (the tests crash processes, never the machine), and is stopped with `pg_ctl stop -m
immediate`, i.e. by the PID in its postmaster.pid.
"""
import os
import pwd
import shutil
import subprocess

import interop_util as u

PG_BIN = "/usr/lib/postgresql/15/bin"
PSQL = shutil.which("psql") or os.path.join(PG_BIN, "psql")


class PostgresServer:
    """PostgreSQL with a `ledger` superuser (trust auth until `hba()` says otherwise) and a `ledger` database."""

    def __init__(self, tmpdir, settings=()):
        self.root = os.path.join(tmpdir, "postgres")
        self.data = os.path.join(self.root, "data")
        # Extra `-c name=value` server settings (ssl=on, ...), kept across restarts.
        self.settings = list(settings)
        self.port = None
        self.as_root = os.geteuid() == 0
        os.makedirs(self.root, exist_ok=True)
        if self.as_root:
            nobody = pwd.getpwnam("nobody")
            # The server user must reach its directory through the test's private temporary directory.
            os.chmod(tmpdir, 0o711)
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        self._as_server(["initdb", "-D", self.data, "-U", "ledger", "-A", "trust", "--no-sync", "-E", "UTF8"])

    def _as_server(self, args, check=True, timeout=60):
        command = [os.path.join(PG_BIN, args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "nobody", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} exited {result.returncode}: {result.stdout}{result.stderr}{self.log()}")
        return result

    def give_to_server(self, path, mode=0o600):
        """Makes a file (a TLS key) readable by the server user only, as PostgreSQL requires."""
        os.chmod(path, mode)
        if self.as_root:
            nobody = pwd.getpwnam("nobody")
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def _options(self):
        settings = " ".join(f"-c {s}" for s in ["fsync=off", "listen_addresses=127.0.0.1", *self.settings])
        return f"-p {self.port} -k {self.data} {settings}"

    def start(self):
        first = self.port is None
        for _ in range(3):
            if first:
                self.port = u.free_port()
            started = self._as_server(["pg_ctl", "-D", self.data, "-o", self._options(), "-l", self.log_path, "-w", "start"],
                                      check=False)
            if started.returncode == 0:
                break
            if not first:
                raise RuntimeError(f"postgres did not start again: {started.stdout}{started.stderr}{self.log()}")
        else:
            raise RuntimeError(f"postgres did not start: {self.log()}")
        if first:
            self.psql("CREATE DATABASE ledger", database="postgres")
        return self

    def restart(self, mode="fast"):
        """pg_ctl restart on the same port: `fast` (clients disconnected, clean shutdown) or `immediate` (crash
        recovery on start)."""
        self._as_server(["pg_ctl", "-D", self.data, "-o", self._options(), "-l", self.log_path, "-m", mode, "-w", "restart"])
        return self

    def stop(self, mode="immediate"):
        if self.port is not None and os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._as_server(["pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def reload(self):
        self._as_server(["pg_ctl", "-D", self.data, "reload"])

    def hba(self, lines):
        """Replaces pg_hba.conf (local socket connections stay trusted, for psql) and reloads if running."""
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as out:
            out.write("local all all trust\n" + "".join(line + "\n" for line in lines))
        if self.port is not None and os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.reload()

    def url(self, database="ledger", user="ledger", password=None, sslmode=None, host="127.0.0.1"):
        credentials = user + (f":{password}" if password is not None else "")
        return f"postgres://{credentials}@{host}:{self.port}/{database}" + (f"?sslmode={sslmode}" if sslmode else "")

    def psql(self, sql, database="ledger"):
        """Runs SQL through the Unix socket; returns the unaligned output ('|' between columns, one row a line)."""
        result = subprocess.run([PSQL, "-h", self.data, "-p", str(self.port), "-U", "ledger", "-d", database, "-X", "-A", "-t",
                                 "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {sql}\n{result.stderr}")
        return result.stdout.strip()

    @property
    def log_path(self):
        return os.path.join(self.root, "log")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""
