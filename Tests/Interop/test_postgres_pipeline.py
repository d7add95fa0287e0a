"""The PostgreSQL sink (issue #17) proved end to end: `produce --csv` -> a real broker -> `consume --sink postgres`
-> a real PostgreSQL 15 server, with real processes killed with SIGKILL, paused with SIGSTOP, and the database
restarted under the sink.

"Exactly once" is always checked the same way (`assert_exactly_once`), against a recomputation from the CSV files:
the number of rows, the rows per account, each account's balance (deposits minus withdrawals) in account_balances,
no (topic, partition, offset) twice in ledger_postings, and sink_offsets equal to the topic's end offsets.

Random choices come from a seed printed at the start of each test (LEDGERSTREAM_FAULT_SEED replays one).
"""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import interop_util as u
from conftest import BIN, REPO, run
import postgres_util
from postgres_util import PostgresServer
from test_pipeline_faults import seeded, write_csv

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not postgres_util.available(), reason="PostgreSQL is not installed (Debian: apt-get install postgresql)"),
]

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")
# The sample's accounts: C100 ends at 830.00 after 3 rows, C200 at 2300.00 after 2.
SAMPLE_BALANCES, SAMPLE_COUNTS = {"C100": 83000, "C200": 230000}, {"C100": 3, "C200": 2}
SESSION = ["--session-timeout-ms", "6000"]
# The `postgres` fixture is conftest's. URLs are asked for with sslmode=None: no sslmode in --db, so the sink
# negotiates as it does by default (prefer: asks for TLS, goes on without), the path users take.


# ---------------------------------------------------------------------------------------------------------------------
# Helpers

class Sink:
    """A `consume --sink postgres` process, its output in a file (read with log())."""

    def __init__(self, url, broker, *extra, env=None, topic="transactions"):
        self.log_file = tempfile.NamedTemporaryFile(prefix="pg-sink-", suffix=".log", delete=False)
        self.process = subprocess.Popen([BIN, "consume", topic, "--sink", "postgres", "--db", url, "-b", broker, *extra],
                                        stdout=self.log_file, stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def tail(self, size=3000):
        """The end of the log, or where it crashed (Swift's backtrace is long: its head says why)."""
        log = self.log()
        crashed = log.find("*** ")
        return log[crashed:crashed + size] if crashed >= 0 else log[-size:]

    @property
    def owner(self):
        """Its name in sink_partition_owners (host and process id)."""
        return f"{socket.gethostname()}:{self.process.pid}"

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self):
        """SIGTERM (a clean stop); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"the sink did not stop on SIGTERM: {self.log()[-3000:]}")
        return self.process.returncode

    def close(self):
        self.kill()
        self.log_file.close()
        os.unlink(self.log_file.name)


@pytest.fixture
def sinks():
    """Sinks a test starts (append them); killed (by PID) and their logs removed at teardown."""
    started = []
    yield started
    for sink in started:
        sink.close()


def rows(pg, sql):
    return [tuple(line.split("|")) for line in pg.psql(sql).splitlines()]


def int_map(pg, sql):
    return {key: int(value) for key, value in rows(pg, sql)}


def applied(pg):
    try:
        return int(pg.psql("SELECT count(*) FROM ledger_postings"))
    except RuntimeError:
        return 0  # before the first sink created the schema (or while the server restarts)


def produce(csv, broker, topic="transactions", timeout=300):
    result = run([BIN, "produce", "--csv", csv, "--topic", topic, "-b", broker], timeout=timeout)
    return result


def merge(*maps):
    total = {}
    for m in maps:
        for key, value in m.items():
            total[key] = total.get(key, 0) + value
    return total


def assert_exactly_once(pg, balances, counts, ends, topic="transactions"):
    """The ledger against the recomputation from the CSVs: every row once, exact balances, offsets at the ends."""
    total = sum(counts.values())
    assert int(pg.psql("SELECT count(*) FROM ledger_postings")) == total
    assert int(pg.psql("SELECT count(*) FROM transactions")) == total
    assert int(pg.psql('SELECT count(*) FROM (SELECT DISTINCT topic, partition, "offset" FROM ledger_postings) AS d')) == total
    assert int_map(pg, "SELECT account, count(*) FROM ledger_postings GROUP BY account") == counts
    assert int_map(pg, "SELECT account, entries FROM account_balances") == counts
    assert int_map(pg, "SELECT account, balance_cents FROM account_balances") == balances
    # The stored totals agree with the postings they sum up.
    assert int_map(pg, """SELECT account, sum(CASE transaction_type WHEN 'deposit' THEN amount_cents ELSE -amount_cents END)
                          FROM ledger_postings GROUP BY account""") == balances
    stored = {int(p): int(n) for p, n in rows(pg, f"SELECT partition, next_offset FROM sink_offsets WHERE topic = '{topic}'")}
    assert stored == {p: n for p, n in ends.items() if n > 0}


def end_offsets(broker, partitions, topic="transactions"):
    return u.end_offsets(broker, topic, range(partitions), "read_uncommitted")


def wait_applied(pg, total, sinks, timeout=180):
    deadline = time.time() + timeout
    while applied(pg) < total and time.time() < deadline:
        for sink in sinks:
            assert sink.process.poll() is None, f"a sink exited {sink.process.returncode}: {sink.tail()}"
        time.sleep(0.2)
    assert applied(pg) == total, f"{applied(pg)} of {total} applied; logs: " + "\n".join(s.log()[-2000:] for s in sinks)


def owners(pg, topic="transactions"):
    """{partition: (owner, generation)} from sink_partition_owners (empty before the schema exists)."""
    if pg.psql("SELECT to_regclass('sink_partition_owners') IS NULL") == "t":
        return {}
    return {int(p): (o, int(g)) for p, o, g in rows(pg, "SELECT partition, owner, owner_generation FROM sink_partition_owners"
                                                      f" WHERE topic = '{topic}'")}


def next_offsets(pg, topic="transactions"):
    return {int(p): int(n) for p, n in rows(pg, f"SELECT partition, next_offset FROM sink_offsets WHERE topic = '{topic}'")}


def wait_for(predicate, timeout, message):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, message()
        time.sleep(0.1)


class Feeder(threading.Thread):
    """A steady load: `produce --csv` of one small generated file after another (each file its own import) until
    stopped, so records keep flowing whatever the sinks are doing. Keeps the recomputation of what it produced."""

    def __init__(self, broker, directory, rng, rows=1000, pause=0.25, topic="transactions"):
        super().__init__(daemon=True)
        self.broker, self.directory, self.rng, self.rows, self.topic = broker, directory, rng, rows, topic
        # Seconds between files: a steady trickle (about 3,000 rows a second), not a flood the sinks lag behind.
        self.pause = pause
        self.balances, self.counts = {}, {}
        self.stopping = threading.Event()
        self.failure = None
        self.files = 0

    def run(self):
        while not self.stopping.is_set():
            csv = os.path.join(self.directory, f"feed-{self.files}.csv")
            balances, counts = write_csv(csv, self.rng, self.rows, accounts=100)
            result = subprocess.run([BIN, "produce", "--csv", csv, "--topic", self.topic, "-b", self.broker],
                                    capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                self.failure = result.stderr
                return
            self.balances, self.counts = merge(self.balances, balances), merge(self.counts, counts)
            self.files += 1
            self.stopping.wait(self.pause)

    @property
    def total(self):
        return sum(self.counts.values())

    def finish(self):
        """Stops after the file being produced; returns the recomputation (balances, counts) of all it produced."""
        self.stopping.set()
        self.join(timeout=150)
        assert not self.is_alive() and self.failure is None, self.failure
        return self.balances, self.counts


# ---------------------------------------------------------------------------------------------------------------------
# 1-3: one sink

def test_sample_and_100k_rows_exactly_once(broker, postgres, data_dir):
    """Proves: the sample file and a generated 100,000-row file, applied by `consume --sink postgres -e`, end up in
    PostgreSQL exactly once (checked against the recomputation), the original `transactions` view shows the sample's
    rows, and running the sink again applies nothing."""
    rng = seeded("pg 100k")
    csv = os.path.join(data_dir, "big.csv")
    balances, counts = write_csv(csv, rng, 100_000)
    run([BIN, "topic", "create", "transactions", "--partitions", "4", "-b", broker.address])
    produce(SAMPLE, broker.address)
    url = postgres.url(sslmode=None)
    first = run([BIN, "consume", "--sink", "postgres", "--db", url, "-e", "-b", broker.address])
    assert f"applied 5 transactions to {url}" in first.stderr, first.stderr
    assert rows(postgres, "SELECT transaction_date, account, transaction_value, balance, transaction_type FROM transactions"
                          " ORDER BY transaction_date") == [
        ("2024-01-01 00:00:00", "C100", "1000.00", "1000.00", "deposit"),
        ("2024-01-02 00:00:00", "C200", "2500.00", "2500.00", "deposit"),
        ("2024-01-03 00:00:00", "C200", "200.00", "2300.00", "withdrawal"),
        ("2024-01-04 00:00:00", "C100", "25.00", "975.00", "withdrawal"),
        ("2024-01-05 00:00:00", "C100", "145.00", "830.00", "withdrawal"),
    ]
    produce(csv, broker.address)
    second = run([BIN, "consume", "--sink", "postgres", "--db", url, "-e", "-b", broker.address], timeout=300)
    assert "applied 100000 transactions" in second.stderr, second.stderr
    assert_exactly_once(postgres, merge(balances, SAMPLE_BALANCES), merge(counts, SAMPLE_COUNTS), end_offsets(broker.address, 4))
    again = run([BIN, "consume", "--sink", "postgres", "--db", url, "-e", "-b", broker.address])
    assert "applied 0 transactions" in again.stderr, again.stderr
    assert int(postgres.psql("SELECT count(*) FROM ledger_postings")) == 100_005


def test_sink_killed_with_sigkill_ten_times_during_the_load(broker, postgres, data_dir, sinks):
    """Proves: a sink SIGKILLed ten times while records keep being produced — each time after it committed at least
    one batch, at a random moment after (mid-batch, mid-insert, between batches) — and restarted, loses and doubles
    nothing: a last `-e` run ends exactly once."""
    rng = seeded("pg sink kill -9")
    run([BIN, "topic", "create", "transactions", "--partitions", "4", "-b", broker.address])
    url = postgres.url(sslmode=None)
    feeder = Feeder(broker.address, data_dir, rng)
    feeder.start()
    progress = []
    try:
        for _ in range(10):
            before = applied(postgres)
            sink = Sink(url, broker.address)
            sinks.append(sink)
            wait_for(lambda: applied(postgres) > before or sink.process.poll() is not None, 60,
                     lambda: f"the sink applied nothing: {sink.tail()}")
            assert sink.process.poll() is None, sink.tail()
            time.sleep(rng.uniform(0, 1.0))
            sink.kill()
            progress.append(applied(postgres))
        # A sink that keeps up may have applied everything produced when it was killed: the load goes on for one more
        # file, so that the last run has rows to apply that no killed sink saw.
        files_at_last_kill = feeder.files
        wait_for(lambda: feeder.files > files_at_last_kill or feeder.failure is not None, 60,
                 lambda: f"the feeder stopped: {feeder.failure}")
    finally:
        balances, counts = feeder.finish()
    print(f"rows applied at each kill: {progress}; produced {feeder.total} in {feeder.files} files")
    assert progress[-1] < feeder.total, "the load was over before the last kill"
    final = run([BIN, "consume", "--sink", "postgres", "--db", url, "-e", "-b", broker.address], timeout=300)
    assert f"applied {feeder.total - progress[-1]} transactions" in final.stderr, final.stderr
    assert_exactly_once(postgres, balances, counts, end_offsets(broker.address, 4))


def test_postgres_restarted_under_a_running_sink(broker, postgres, data_dir, sinks):
    """Proves: PostgreSQL restarted three times while records flow (pg_ctl restart -m fast twice, -m immediate once:
    a crash and recovery) does not stop the one sink process, which waits, reconnects, resumes from its stored offsets
    and ends exactly once; its log tells the outage and the recovery."""
    rng = seeded("pg restarts")
    run([BIN, "topic", "create", "transactions", "--partitions", "4", "-b", broker.address])
    sink = Sink(postgres.url(sslmode=None), broker.address)
    sinks.append(sink)
    feeder = Feeder(broker.address, data_dir, rng)
    feeder.start()
    restarts = []
    try:
        for mode in ("fast", "immediate", "fast"):
            before = applied(postgres)
            wait_for(lambda: applied(postgres) > before, 60, lambda: f"stuck at {before}: {sink.tail()}")
            time.sleep(rng.uniform(0, 0.5))
            postgres.restart(mode)
            restarts.append((mode, before))
            assert sink.process.poll() is None, sink.tail()
        # Records keep coming after the last restart: the sink must be writing again.
        time.sleep(2)
    finally:
        balances, counts = feeder.finish()
    print(f"restarts (mode, rows applied before): {restarts}; produced {feeder.total} in {feeder.files} files")
    wait_applied(postgres, feeder.total, [sink])
    assert sink.stop() == 0, sink.tail()
    log = sink.log()
    assert "lost the PostgreSQL connection" in log and "PostgreSQL is back: the sink resumed from its stored offsets" in log, log[-3000:]
    assert_exactly_once(postgres, balances, counts, end_offsets(broker.address, 4))


# ---------------------------------------------------------------------------------------------------------------------
# 4-5: sinks in a consumer group

def test_a_sink_starting_while_another_migrates_waits_for_it(broker, postgres, data_dir):
    """Proves sinks starting together migrate an empty database once, without failing: psql plays a sink caught
    mid-migration (the migration lock taken, the migrations table created, not yet committed) while a real sink
    starts; the sink waits for the lock, then finds the table and migrates. (Before the fix the sink's CREATE TABLE IF
    NOT EXISTS ran outside the lock, blocked on the other's uncommitted table and then failed with a duplicate key:
    seen with three sinks started at once.)"""
    holder = subprocess.Popen(
        ["psql", "-h", postgres.data, "-p", str(postgres.port), "-U", "ledger", "-d", "ledger", "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-c", "BEGIN", "-c", "SELECT pg_advisory_xact_lock(119182731994482)",  # PostgresLedgerSchema.migrationLock
         "-c", "CREATE TABLE ledgerstream_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
               " applied_at timestamptz NOT NULL DEFAULT now())",
         "-c", "SELECT pg_sleep(3)", "-c", "COMMIT"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: postgres.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1", 10,
                 lambda: "psql did not take the migration lock")
        produce(SAMPLE, broker.address)
        result = run([BIN, "consume", "--sink", "postgres", "--db", postgres.url(sslmode=None), "-e", "-b", broker.address], check=False)
        assert result.returncode == 0 and "applied 5 transactions" in result.stderr, result.stderr
        assert holder.wait(timeout=30) == 0, holder.stderr.read()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert postgres.psql("SELECT version FROM ledgerstream_schema_migrations") == "1"


def test_three_sinks_in_a_group_one_killed_one_added(broker, postgres, data_dir, sinks):
    """Proves: three sinks started together in one group (`--group g1`) on an empty database share 6 partitions while
    records flow; one is SIGKILLed and a fourth added mid-way; every row ends up exactly once with the recomputed
    balances, partitions were claimed again (owner generations > 1), and at the end only live sinks own partitions."""
    rng = seeded("pg group")
    run([BIN, "topic", "create", "transactions", "--partitions", "6", "-b", broker.address])
    url = postgres.url(sslmode=None)
    group = ["--group", "g1", *SESSION]
    feeder = Feeder(broker.address, data_dir, rng)
    feeder.start()
    try:
        # Started at once on an empty database: they migrate it together.
        first = [Sink(url, broker.address, *group) for _ in range(3)]
        sinks.extend(first)
        wait_for(lambda: {o for o, _ in owners(postgres).values()} == {s.owner for s in first}, 90,
                 lambda: f"not all three own partitions: {owners(postgres)}; " + "\n".join(s.log()[-1500:] for s in first))
        before = applied(postgres)
        wait_for(lambda: applied(postgres) > before, 60, lambda: "nothing applied")
        victim, survivors = first[0], first[1:]
        victim.kill()
        # The group gives the victim's partitions to the others after the session timeout.
        wait_for(lambda: victim.owner not in {o for o, _ in owners(postgres).values()}, 60,
                 lambda: f"the killed sink's partitions were not taken over: {owners(postgres)}")
        added = Sink(url, broker.address, *group)
        sinks.append(added)
        live = [*survivors, added]
        wait_for(lambda: added.owner in {o for o, _ in owners(postgres).values()}, 60,
                 lambda: f"the added sink got no partition: {owners(postgres)}; {added.log()[-2000:]}")
        before = applied(postgres)
        wait_for(lambda: applied(postgres) > before, 60, lambda: "nothing applied after the sink was added")
    finally:
        balances, counts = feeder.finish()
    print(f"produced {feeder.total} rows in {feeder.files} files; owners: {owners(postgres)}")
    wait_applied(postgres, feeder.total, live)
    for sink in live:
        assert sink.stop() == 0, sink.tail()
    assert_exactly_once(postgres, balances, counts, end_offsets(broker.address, 6))
    final = owners(postgres)
    assert len(final) == 6 and max(g for _, g in final.values()) > 1, final
    assert {o for o, _ in final.values()} <= {s.owner for s in live}, final


def test_a_paused_sink_is_fenced_off_and_commits_nothing_for_lost_partitions(broker, postgres, data_dir, sinks):
    """Proves the fencing: sink A, paused with SIGSTOP while it owns partitions and records keep flowing, loses them
    after the session timeout to sink B, which claims them (a higher owner generation) and applies their records;
    resumed with SIGCONT, A writes nothing for the partitions it lost (its log says its batch was not written, or it
    rejoined and claimed again), and the ledger ends exactly once."""
    rng = seeded("pg fencing")
    run([BIN, "topic", "create", "transactions", "--partitions", "4", "-b", broker.address])
    url = postgres.url(sslmode=None)
    group = ["--group", "g5", *SESSION]
    feeder = Feeder(broker.address, data_dir, rng)
    feeder.start()
    try:
        a = Sink(url, broker.address, *group)
        sinks.append(a)
        wait_for(lambda: len(owners(postgres)) == 4, 60, lambda: f"A claimed nothing: {a.log()[-2000:]}")
        b = Sink(url, broker.address, *group)
        sinks.append(b)
        wait_for(lambda: {o for o, _ in owners(postgres).values()} == {a.owner, b.owner}, 60,
                 lambda: f"A and B do not share the partitions: {owners(postgres)}")
        before = applied(postgres)
        wait_for(lambda: applied(postgres) > before, 60, lambda: "nothing applied")
        os.kill(a.pid, signal.SIGSTOP)
        held = {p: g for p, (o, g) in owners(postgres).items() if o == a.owner}
        assert held, owners(postgres)
        offsets_at_pause = next_offsets(postgres)
        # B takes A's partitions (each claimed again: a higher generation) and applies what keeps arriving on them.
        wait_for(lambda: all(owners(postgres)[p][0] == b.owner and owners(postgres)[p][1] > g for p, g in held.items()), 60,
                 lambda: f"B did not take A's partitions {sorted(held)}: {owners(postgres)}; {b.log()[-2000:]}")
        wait_for(lambda: all(next_offsets(postgres).get(p, 0) > offsets_at_pause.get(p, 0) for p in held), 60,
                 lambda: f"B applied nothing of A's partitions: {next_offsets(postgres)} vs {offsets_at_pause}")
        claims_before = a.log().count("sink claimed its partitions")
        os.kill(a.pid, signal.SIGCONT)
        wait_for(lambda: "the batch was not written" in a.log() or a.log().count("sink claimed its partitions") > claims_before, 60,
                 lambda: f"A did not notice it lost its partitions: {a.log()[-3000:]}")
        time.sleep(2)  # A and B go on sharing the load
    finally:
        balances, counts = feeder.finish()
    log = a.log()
    print(f"produced {feeder.total} rows in {feeder.files} files; A held {held}; owners now {owners(postgres)}")
    print("A after SIGCONT: " + ("fenced: its batch was not written" if "the batch was not written" in log else "rejoined"))
    wait_applied(postgres, feeder.total, [a, b])
    for sink in (a, b):
        assert sink.stop() == 0, sink.tail()
    if "the batch was not written" in log:
        assert "now belong to another sink" in log or "now belongs to another sink" in log, log[-3000:]
    assert_exactly_once(postgres, balances, counts, end_offsets(broker.address, 4))


# ---------------------------------------------------------------------------------------------------------------------
# 6-7: connecting: passwords, unreachable servers, TLS

def sink_env(home, **extra):
    """The environment without the PG* variables of the machine, HOME at `home` (for ~/.pgpass)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in ("DATABASE_URL", "LEDGERSTREAM_DB")}
    env["HOME"] = home
    env.update(extra)
    return env


def consume_once(url, broker, env=None):
    return run([BIN, "consume", "--sink", "postgres", "--db", url, "-e", "-b", broker], check=False, env=env)


def test_passwords_wrong_missing_and_from_pgpassword_and_pgpass(broker, data_dir):
    """Proves, against a server that requires SCRAM passwords: a wrong password exits 77 naming the server and saying
    to check the password (and never prints the password); no password at all exits 77 saying where to put one;
    PGPASSWORD works; a 0600 ~/.pgpass works; a world-readable ~/.pgpass is ignored with a warning naming it."""
    server = PostgresServer(data_dir)
    server.hba(["host all all 127.0.0.1/32 scram-sha-256"])
    server.start()
    try:
        server.psql("ALTER ROLE ledger PASSWORD 'right-pw'")
        produce(SAMPLE, broker.address)
        home = os.path.join(data_dir, "home")
        os.mkdir(home)
        where = f"127.0.0.1:{server.port}"
        wrong = consume_once(server.url(password="wrong-pw", sslmode=None), broker.address, env=sink_env(home))
        assert wrong.returncode == 77, wrong.stderr
        assert where in wrong.stderr and "check the password" in wrong.stderr, wrong.stderr
        assert "wrong-pw" not in wrong.stderr + wrong.stdout
        print(f"wrong password: {wrong.stderr}", end="")
        missing = consume_once(server.url(sslmode=None), broker.address, env=sink_env(home))
        assert missing.returncode == 77, missing.stderr
        assert where in missing.stderr and "wants a password" in missing.stderr and "~/.pgpass" in missing.stderr, missing.stderr
        from_env = consume_once(server.url(sslmode=None), broker.address, env=sink_env(home, PGPASSWORD="right-pw"))
        assert from_env.returncode == 0 and "applied 5 transactions" in from_env.stderr, from_env.stderr
        pgpass = os.path.join(home, ".pgpass")
        with open(pgpass, "w") as out:
            out.write(f"# host:port:database:user:password\n127.0.0.1:{server.port}:ledger:ledger:right-pw\n")
        os.chmod(pgpass, 0o600)
        from_file = consume_once(server.url(sslmode=None), broker.address, env=sink_env(home))
        assert from_file.returncode == 0 and "applied 0 transactions" in from_file.stderr, from_file.stderr
        os.chmod(pgpass, 0o644)
        readable = consume_once(server.url(sslmode=None), broker.address, env=sink_env(home))
        assert readable.returncode == 77, readable.stderr
        assert "password file has group or world access" in readable.stderr and pgpass in readable.stderr, readable.stderr
        assert "wants a password" in readable.stderr, readable.stderr
    finally:
        server.stop()


def test_unreachable_server_and_missing_database(broker, postgres, data_dir):
    """Proves: a port nobody listens on exits 69 naming host:port and asking whether the server runs; a database that
    does not exist says to create it."""
    port = u.free_port()
    env = sink_env(data_dir)
    unreachable = consume_once(f"postgres://ledger@127.0.0.1:{port}/ledger", broker.address, env=env)
    assert unreachable.returncode == 69, unreachable.stderr
    assert f"127.0.0.1:{port}" in unreachable.stderr and "is the server running" in unreachable.stderr, unreachable.stderr
    missing = consume_once(postgres.url(database="nosuchdb", sslmode=None), broker.address, env=env)
    print(f"unreachable: {unreachable.stderr}missing database: {missing.stderr}", end="")
    assert missing.returncode != 0, missing.stderr
    assert "nosuchdb" in missing.stderr and "create it (createdb)" in missing.stderr, missing.stderr


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory):
    """A test CA and a server certificate it signed for the name localhost (DNS SAN only), plus an unrelated CA."""
    os.makedirs(directory)
    os.chmod(directory, 0o755)
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=ledgerstream {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
            cwd=directory)
    with open(os.path.join(directory, "ext.cnf"), "w") as out:
        out.write("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
            "-days", "2", "-extfile", "ext.cnf", cwd=directory)
    os.chmod(os.path.join(directory, "server.crt"), 0o644)
    return {name: os.path.join(directory, name) for name in ("ca.pem", "other-ca.pem", "server.crt", "server.key")}


def test_tls_require_verify_full_wrong_ca_and_no_tls_on_the_server(broker, postgres, data_dir, sinks):
    """Proves, against a server with ssl=on that accepts only TLS (hostssl): sslmode=require connects, and
    pg_stat_ssl shows the sink's connection encrypted; sslmode=verify-full with the right CA (sslrootcert) and host
    name (localhost) works; with another CA, or a host the certificate does not name (127.0.0.1), it exits 69 with a
    TLS message; and
    sslmode=require against a server without TLS (ssl=off) exits 69 saying the server does not support TLS."""
    certs = make_certificates(os.path.join(data_dir, "tls"))
    tls_dir = os.path.join(data_dir, "tls-server")
    os.makedirs(tls_dir)
    # The server user (nobody, when the tests run as root) reaches tls/ and tls-server/ through data_dir.
    os.chmod(data_dir, 0o711)
    server = PostgresServer(tls_dir, settings=["ssl=on", f"ssl_cert_file={certs['server.crt']}",
                                               f"ssl_key_file={certs['server.key']}"])
    server.give_to_server(certs["server.key"])
    server.hba(["hostssl all all 127.0.0.1/32 trust"])
    server.start()
    try:
        produce(SAMPLE, broker.address)
        env = sink_env(data_dir)
        sink = Sink(server.url(sslmode="require"), broker.address, env=env)
        sinks.append(sink)
        wait_applied(server, 5, [sink], timeout=60)
        encrypted = server.psql("SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                                " WHERE a.application_name = 'ledgerstream-sink'")
        assert encrypted.startswith("t|TLSv1."), encrypted
        assert sink.stop() == 0, sink.log()
        # verify-full: the certificate names localhost, so --db must too (the server listens on 127.0.0.1 only).
        def verify_full(ca, host="localhost"):
            return consume_once(server.url(sslmode="verify-full", host=host) + f"&sslrootcert={certs[ca]}", broker.address, env=env)
        verified = verify_full("ca.pem")
        assert verified.returncode == 0 and "applied 0 transactions" in verified.stderr, verified.stderr
        other_ca = verify_full("other-ca.pem")
        assert other_ca.returncode == 69, other_ca.stderr
        assert "TLS with PostgreSQL at" in other_ca.stderr and f"localhost:{server.port}" in other_ca.stderr, other_ca.stderr
        wrong_host = verify_full("ca.pem", host="127.0.0.1")
        print(f"another CA: {other_ca.stderr}wrong host: {wrong_host.stderr}", end="")
        assert wrong_host.returncode == 69 and "TLS with PostgreSQL at" in wrong_host.stderr, wrong_host.stderr
    finally:
        server.stop()
    plain = consume_once(postgres.url(sslmode="require"), broker.address, env=env)
    print(f"no TLS on the server: {plain.stderr}", end="")
    assert plain.returncode == 69, plain.stderr
    assert "does not support TLS" in plain.stderr and f"127.0.0.1:{postgres.port}" in plain.stderr, plain.stderr


# ---------------------------------------------------------------------------------------------------------------------
# 8: another broker

def test_the_postgres_pipeline_with_tansu_as_the_broker(postgres, data_dir, sinks):
    """Proves the PostgreSQL sink needs nothing of ledgerstream's broker: with Tansu (an independent Kafka-compatible
    broker) two sinks in one group apply the sample and 3,000 generated rows exactly once. Tansu answers ListOffsets
    "latest" wrongly (see test_cli_commands), so the sinks run without -e until the database holds every row, and
    the end offsets are checked as contiguous offsets 0..n-1 per partition, n rows in all."""
    from test_cli_commands import TansuBroker
    rng = seeded("pg tansu")
    tansu = TansuBroker().start()
    try:
        run([BIN, "topic", "create", "transactions", "--partitions", "3", "-b", tansu.address])
        produce(SAMPLE, tansu.address)
        csv = os.path.join(data_dir, "peer.csv")
        balances, counts = write_csv(csv, rng, 3000)
        produce(csv, tansu.address)
        url = postgres.url(sslmode=None)
        pair = [Sink(url, tansu.address, "--group", "g8", *SESSION) for _ in range(2)]
        sinks.extend(pair)
        # Tansu's joins take about half the session timeout: both sinks end up owning partitions.
        wait_for(lambda: {o for o, _ in owners(postgres).values()} == {s.owner for s in pair}, 90,
                 lambda: f"the two sinks do not share the partitions: {owners(postgres)}; " + "\n".join(s.log()[-1500:] for s in pair))
        wait_applied(postgres, 3005, pair, timeout=120)
        for sink in pair:
            assert sink.stop() == 0, sink.tail()
        per_partition = {int(p): (int(n), int(low), int(high)) for p, n, low, high in rows(
            postgres, 'SELECT partition, count(*), min("offset"), max("offset") FROM ledger_postings GROUP BY partition')}
        assert all(low == 0 and high == n - 1 for n, low, high in per_partition.values()), per_partition
        assert_exactly_once(postgres, merge(balances, SAMPLE_BALANCES), merge(counts, SAMPLE_COUNTS),
                            {p: n for p, (n, _, _) in per_partition.items()})
    finally:
        tansu.stop()
