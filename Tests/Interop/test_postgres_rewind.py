"""A PostgreSQL ledger that comes back with fewer commits than the sink made (a crash with synchronous_commit off,
a failover to a replica that lagged) must not make the sink skip records: after reconnecting, the sink sees its
stored offsets went back, says so, and consumes again from them, so the ledger ends with every record exactly once.

The loss is simulated exactly: the last commits' rows are deleted, the account totals and the stored offset put back
as they were before them, and the sink's connection is cut (pg_terminate_backend), as a failover would.
"""
import json
import subprocess
import time

import pytest

import interop_util as u
import postgres_util
from conftest import BIN, run

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not postgres_util.available(), reason="PostgreSQL is not installed (Debian: apt-get install postgresql)"),
]

ACCOUNTS = [f"R{i}" for i in range(10)]


def produce(broker, topic, first, count):
    """`count` deposits of 1.00, round-robin over the accounts, numbered from `first` (in their dates)."""
    lines = []
    for n in range(first, first + count):
        event = {"transaction_date": f"2024-03-{1 + n % 28:02d} 10:{n % 60:02d}:00", "account": ACCOUNTS[n % len(ACCOUNTS)],
                 "transaction_value": 1, "balance": None, "transaction_type": "deposit"}
        lines.append(json.dumps(event))
    run([BIN, "produce", topic, "-b", broker.address], input="\n".join(lines) + "\n")


def applied(postgres):
    try:
        return int(postgres.psql("SELECT COALESCE(SUM(next_offset), 0) FROM sink_offsets") or 0)
    except RuntimeError:
        return 0  # the sink has not created its tables yet


def wait_applied(postgres, rows, sink, timeout=60):
    deadline = time.time() + timeout
    while applied(postgres) != rows:
        assert sink.poll() is None, "the sink exited"
        assert time.time() < deadline, f"{applied(postgres)} of {rows} applied"
        time.sleep(0.2)


def test_the_sink_consumes_again_when_the_database_lost_commits(module_broker, postgres, tmp_path):
    topic = u.uniq("rewind")
    run([BIN, "topic", "create", topic, "--partitions", "1", "-b", module_broker.address])
    log = open(tmp_path / "sink.log", "w+")
    sink = subprocess.Popen([BIN, "consume", topic, "--sink", "postgres", "--db", postgres.url(), "-b", module_broker.address],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        produce(module_broker, topic, 0, 300)
        wait_applied(postgres, 300, sink)
        # The database "loses" the rows from offset 200 on, with their totals and the offset: as if those commits
        # never reached the disk. The sink still believes it committed up to 300.
        postgres.psql(f"""
            BEGIN;
            UPDATE account_balances b SET balance_cents = b.balance_cents - g.cents, entries = b.entries - g.n,
                   deposits = b.deposits - g.n, deposited_cents = b.deposited_cents - g.cents
            FROM (SELECT account, SUM(amount_cents) AS cents, COUNT(*) AS n FROM ledger_postings
                  WHERE topic = '{topic}' AND "offset" >= 200 GROUP BY account) g
            WHERE b.account = g.account;
            DELETE FROM ledger_postings WHERE topic = '{topic}' AND "offset" >= 200;
            UPDATE sink_offsets SET next_offset = 200 WHERE topic = '{topic}';
            COMMIT;
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ledgerstream-sink';
            """)
        produce(module_broker, topic, 300, 100)
        wait_applied(postgres, 400, sink)
        rows = postgres.psql(f'SELECT COUNT(*), COUNT(DISTINCT "offset"), MIN("offset"), MAX("offset") FROM ledger_postings WHERE topic = \'{topic}\'')
        assert rows.strip() == "400|400|0|399"
        balances = dict(line.split("|") for line in postgres.psql("SELECT account, balance_cents FROM account_balances").split())
        assert balances == {account: "4000" for account in ACCOUNTS}
        log.seek(0)
        output = log.read()
        assert "stored offsets went back" in output and "consuming again from there" in output, output
    finally:
        sink.terminate()
        sink.wait(timeout=30)
        log.close()
