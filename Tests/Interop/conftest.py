"""Fixtures for interop tests: the real `ledgerstream` binary on an ephemeral 127.0.0.1 port, driven by real clients.

Every server a test needs is started here and stopped (by PID) when the test ends. The binary comes from
$LEDGERSTREAM_BIN (Tests/run-all.sh sets it) or .build/debug/ledgerstream.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from interop_util import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("LEDGERSTREAM_BIN", os.path.join(REPO, ".build", "debug", "ledgerstream"))
READY = re.compile(r"listening on ([0-9.]+):(\d+)")


class Server:
    """A ledgerstream server process started with `args`, ready once it prints its readiness line."""

    def __init__(self, args, data_dir, name="broker", preexec_fn=None):
        self.args = args
        self.data_dir = data_dir
        self.name = name
        # Runs in the child before exec (e.g. to lower its resource limits).
        self.preexec_fn = preexec_fn
        self.process = None
        self.port = None
        self.output = []

    def start(self, timeout=30):
        self.output = []
        self.process = subprocess.Popen(
            [BIN] + self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            preexec_fn=self.preexec_fn)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = READY.search(line)
            if match:
                self.port = int(match.group(2))
                # Keep draining output so the pipe never fills and blocks the server.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.stop(kill=True)
        raise RuntimeError(f"{self.name} did not become ready: {''.join(self.output)}")

    def _drain(self):
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self, kill=False, timeout=20):
        """SIGTERM (clean shutdown) or SIGKILL; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"{self.name} did not stop within {timeout}s: {''.join(self.output[-20:])}")

    def restart(self, kill=False):
        """Stops and starts again on the same port, so clients can reconnect to the same address."""
        self.stop(kill=kill)
        if self.port:
            self.args = [a.replace("127.0.0.1:0", f"127.0.0.1:{self.port}") for a in self.args]
        return self.start()

    def log(self):
        return "".join(self.output)

    def wait_for_log(self, text, timeout=10):
        """True once `text` is in the output, False after `timeout`. Another thread reads the server's pipe, so a line
        the server wrote before answering a request can land here a moment after the client has the answer."""
        try:
            return wait_until(lambda: text in self.log(), timeout=timeout, message=f"{text!r} in the output")
        except AssertionError:
            return False


@pytest.fixture
def data_dir():
    path = tempfile.mkdtemp(prefix="ledgerstream-interop-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def broker_args(data_dir, port=0, extra=()):
    return ["broker", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--log-dirs", data_dir,
            "--override", "group.initial.rebalance.delay.ms=0", *extra]


@pytest.fixture
def broker(data_dir):
    """A running broker on an ephemeral port with a fresh data directory."""
    server = Server(broker_args(data_dir), data_dir).start()
    yield server
    server.stop()


def run(cmd, timeout=60, check=True, input=None, env=None, cwd=None):
    """Runs a client command; returns CompletedProcess with text output."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, env=env, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Added for the broker interop suite (test_broker_*.py). The fixtures above keep their behaviour.

@pytest.fixture(scope="module")
def module_broker():
    """One broker shared by the tests of a module that do not interfere with each other (each uses its own topics
    and groups). Stopped (SIGTERM) and its data directory removed when the module is done."""
    path = tempfile.mkdtemp(prefix="ledgerstream-interop-module-")
    server = Server(broker_args(path), path).start()
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_broker():
    """Factory for extra brokers: `start_broker(extra=[...])` starts one with a fresh data directory and returns the
    started Server; every server it started is stopped (by PID) and its directory removed at teardown."""
    started = []

    def factory(extra=(), port=0, data_dir=None):
        path = data_dir or tempfile.mkdtemp(prefix="ledgerstream-interop-extra-")
        server = Server(broker_args(path, port=port, extra=extra), path)
        started.append(server)
        return server.start()

    yield factory
    for server in started:
        try:
            server.stop(kill=True)
        finally:
            shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def processes():
    """Client subprocesses a test starts (append Popen objects); any still running are killed at teardown."""
    procs = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def pytest_configure(config):
    # kafka-python 3.0.12 loads its protocol schemas with deprecated importlib.resources calls; not our concern.
    config.addinivalue_line("filterwarnings", "ignore:read_text is deprecated:DeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore:open_text is deprecated:DeprecationWarning")


# ---------------------------------------------------------------------------------------------------------------------
# Added for the ZooKeeper coordinator suite (test_zookeeper*.py). The fixtures above keep their behaviour.

def zookeeper_args(data_dir, port=0, extra=()):
    """`ledgerstream zookeeper` on 127.0.0.1:port with every four-letter word enabled (tests that check the default
    whitelist pass their own arguments)."""
    return ["zookeeper", "--client-port", str(port), "--data-dir", data_dir,
            "--override", "4lw.commands.whitelist=*", *extra]


@pytest.fixture
def start_zookeeper():
    """Factory for coordinators: `start_zookeeper(extra=[...])` starts one with a fresh data directory and returns the
    started Server (name "zookeeper"); every one it started is stopped (by PID) and its directory removed at teardown.
    `restart_zookeeper(server)` restarts one on the same port and data directory."""
    started = []

    def factory(extra=(), port=0, data_dir=None, args=None):
        path = data_dir or tempfile.mkdtemp(prefix="ledgerstream-interop-zk-")
        server = Server(args if args is not None else zookeeper_args(path, port=port, extra=extra), path, name="zookeeper")
        started.append(server)
        return server.start()

    yield factory
    for server in started:
        try:
            server.stop(kill=True)
        finally:
            shutil.rmtree(server.data_dir, ignore_errors=True)


def restart_zookeeper(server, kill=False, extra=()):
    """Stops a coordinator (SIGTERM, or SIGKILL) and starts it again on the same port and data directory."""
    server.stop(kill=kill)
    server.args = zookeeper_args(server.data_dir, port=server.port, extra=extra)
    return server.start()


# ---------------------------------------------------------------------------------------------------------------------
# Added for the PostgreSQL ledger suite (test_postgres_*.py). The fixtures above keep their behaviour.

@pytest.fixture
def postgres():
    """A fresh PostgreSQL server (see postgres_util.PostgresServer) with an empty database `ledger`; `postgres.url()`
    is the --db to pass. Stopped and its directory removed at teardown. Skips the test where no server is installed."""
    import postgres_util
    if not postgres_util.available():
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    path = tempfile.mkdtemp(prefix="ledgerstream-interop-pg-")
    server = postgres_util.PostgresServer(path)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(path, ignore_errors=True)
