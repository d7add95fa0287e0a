"""Several sinks on one SQLite ledger (`consume --sink sqlite --group`): the consumer group splits the partitions,
each sink claims its own in the ledger, and the file ends with every row exactly once, balances equal to a
recomputation from the CSV, even with a sink killed and another added mid-way. Also: a second lone sink on the same
ledger fences the first, which stops saying why. (The refusal of a ledger on a network file system is a unit test:
no such mount exists here.)
"""
import signal
import sqlite3
import subprocess
import time

import pytest

import interop_util as u
from conftest import BIN, run
from test_transactional_pipeline import write_csv as bank_csv

pytestmark = pytest.mark.timeout(180)


def sink(db, topic, broker, group=None, extra=()):
    args = [BIN, "consume", topic, "--sink", "sqlite", "--db", db, "-b", broker.address, *extra]
    if group:
        args += ["--group", group, "--session-timeout-ms", "6000"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def applied(db):
    try:
        with sqlite3.connect(db, timeout=10) as connection:
            return connection.execute("SELECT COALESCE(SUM(next_offset), 0) FROM sink_offsets").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_applied(db, rows, timeout=120):
    deadline = time.time() + timeout
    while applied(db) < rows:
        assert time.time() < deadline, f"only {applied(db)} of {rows} rows applied"
        time.sleep(0.2)


def assert_exactly_once(db, balances, rows):
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM ledger_postings").fetchone()[0] == rows
        assert connection.execute("SELECT COUNT(*) FROM (SELECT DISTINCT topic, partition, offset FROM ledger_postings)").fetchone()[0] == rows
        assert connection.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == rows
        stored = dict(connection.execute("SELECT account, balance_cents FROM account_balances").fetchall())
        assert stored == balances
        # Every entry's running balance follows from its account's previous one (one sink per account at a time).
        assert connection.execute("""
            SELECT COUNT(*) FROM (
                SELECT balance_cents AS stored,
                       SUM(CASE transaction_type WHEN 'deposit' THEN amount_cents ELSE -amount_cents END)
                           OVER (PARTITION BY account ORDER BY partition, offset) AS running
                FROM ledger_entries)
            WHERE stored <> running
            """).fetchone()[0] == 0


def test_three_sinks_share_one_sqlite_ledger_with_one_killed_and_one_added(module_broker, tmp_path):
    topic = u.uniq("sqlgroup")
    run([BIN, "topic", "create", topic, "--partitions", "6", "-b", module_broker.address])
    csv = str(tmp_path / "bank.csv")
    rows = 30_000
    balances = bank_csv(csv, rows)
    db = str(tmp_path / "ledger.db")
    group = u.uniq("sinks")
    sinks = [sink(db, topic, module_broker, group) for _ in range(3)]
    try:
        producer = subprocess.Popen([BIN, "produce", "--csv", csv, "--topic", topic, "-q", "-b", module_broker.address])
        # One sink dies while the group applies the file (however fast the import is), and a new one joins.
        u.wait_until(lambda: applied(db) > 0, timeout=60, message="the sinks start applying")
        sinks[0].send_signal(signal.SIGKILL)
        sinks[0].wait()
        sinks.append(sink(db, topic, module_broker, group))
        assert producer.wait(timeout=120) == 0
        wait_applied(db, rows)
        # The newcomer's join (and the dead sink's session timeout) hand partitions over: each claim is a new owner
        # generation, which the ledger records even when nothing was left to apply.
        def owners():
            with sqlite3.connect(db, timeout=10) as connection:
                return connection.execute("SELECT COUNT(DISTINCT owner), MAX(owner_generation) FROM sink_partition_owners").fetchone()
        u.wait_until(lambda: owners()[1] >= 2, timeout=60, message="the partitions claimed again after the rebalance")
        assert owners()[0] >= 2, owners()
        assert_exactly_once(db, balances, rows)
    finally:
        for process in sinks:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    for process in sinks[1:]:
        assert process.returncode == 0, process.stderr.read()


def test_a_second_lone_sink_fences_the_first(module_broker, tmp_path):
    topic = u.uniq("sqlfence")
    run([BIN, "topic", "create", topic, "--partitions", "2", "-b", module_broker.address])
    csv = str(tmp_path / "bank.csv")
    balances = bank_csv(csv, 2000, accounts=10)
    db = str(tmp_path / "ledger.db")
    first = sink(db, topic, module_broker)
    time.sleep(2)
    second = sink(db, topic, module_broker)
    try:
        time.sleep(2)
        run([BIN, "produce", "--csv", csv, "--topic", topic, "-q", "-b", module_broker.address])
        # The first sink's next batch is refused in the database: it stops, saying why and what to do.
        assert first.wait(timeout=60) == 1
        message = first.stderr.read()
        assert "now belong to another sink" in message and "--group" in message, message
        wait_applied(db, 2000)
        assert_exactly_once(db, balances, 2000)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
