"""The bank pipeline with transactions, through ledgerstream's own commands: `produce --csv --transactional-id` makes a
CSV import one Kafka transaction, the SQLite sink reads read_committed, and `transactions` / `topic describe` show
what is open.

Checks: a committed import is applied in full; an import killed with SIGKILL half way is never applied in part (the
sink sees none of it while it is open, nor after the broker aborts it), and rerunning the import with the same
transactional id fences the dead one and applies the file exactly once; `consume --isolation-level` shows the
difference; and a transaction left open past --transaction-timeout-ms is aborted by the broker.
"""
import json
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

import interop_util as u
from conftest import BIN, run

pytestmark = pytest.mark.timeout(240)


def cli(*args, broker, check=True, timeout=120):
    return run([BIN, *args, "-b", broker.address], check=check, timeout=timeout)


def count(db, sql):
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchone()[0]
    finally:
        connection.close()


def write_csv(path, rows, seed=7, accounts=40):
    """`rows` transactions with unstated balances; returns {account: expected balance in cents}."""
    rng = random.Random(seed)
    expected = {}
    with open(path, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(rows):
            account = f"C{rng.randrange(accounts)}"
            cents = rng.randint(1, 50_000) * (1 if rng.random() < 0.6 else -1)
            expected[account] = expected.get(account, 0) + cents
            out.write(f"2024-{1 + i % 12:02d}-{1 + i % 28:02d};{account};{cents / 100:.2f};\n")
    return expected


def describe(broker, topic):
    described = json.loads(cli("topic", "describe", topic, "--format", "json", broker=broker).stdout)[0]
    return {p["partition"]: p for p in described["partitions"]}


def transaction(broker, transactional_id):
    return json.loads(cli("transactions", "describe", transactional_id, "--format", "json", broker=broker).stdout)[0]


def test_a_committed_import_is_applied_in_full(broker, data_dir):
    csv = os.path.join(data_dir, "import.csv")
    expected = write_csv(csv, 20_000)
    cli("topic", "create", "bank", "--partitions", "3", broker=broker)
    produced = cli("produce", "--csv", csv, "--topic", "bank", "--transactional-id", "import-1", broker=broker)
    assert "20000 transactions" in produced.stderr and "committed transaction import-1" in produced.stderr
    state = transaction(broker, "import-1")
    assert state["state"] == "CompleteCommit" and state["partitions"] == [], state
    partitions = describe(broker, "bank")
    for p in partitions.values():
        assert p["last_stable_offset"] == p["high_watermark"] and p["open_transactions"] == [], p
    db = os.path.join(data_dir, "ledger.db")
    applied = cli("consume", "bank", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "applied 20000 transactions" in applied.stderr, applied.stderr
    assert count(db, "SELECT COUNT(*) FROM ledger_entries") == 20_000
    connection = sqlite3.connect(db)
    try:
        assert dict(connection.execute("SELECT account, balance_cents FROM account_balances")) == expected
    finally:
        connection.close()
    listed = cli("transactions", "list", "--state", "CompleteCommit", broker=broker).stdout
    assert "import-1" in listed
    bogus = cli("transactions", "list", "--state", "Finished", broker=broker, check=False)
    assert bogus.returncode != 0 and "unknown transaction state 'Finished'" in bogus.stderr, bogus.stderr
    unknown = cli("transactions", "describe", "nobody", broker=broker, check=False)
    assert unknown.returncode != 0 and "no transactional id 'nobody'" in unknown.stderr, unknown.stderr


def start_import(broker, csv, topic, transactional_id, *extra):
    return subprocess.Popen([BIN, "produce", "--csv", csv, "--topic", topic, "--transactional-id", transactional_id,
                             "-b", broker.address, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_once_records_are_in(process, broker, topic, timeout=60):
    """SIGKILLs `process` as soon as some of its records reached the log (the import is half way)."""
    def some_written():
        if process.poll() is not None:
            raise AssertionError(f"the import finished before it could be killed: {process.communicate()}")
        return sum(p["high_watermark"] for p in describe(broker, topic).values()) > 0
    u.wait_until(some_written, timeout=timeout, interval=0.02, message="records of the import in the log")
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_killed_import_is_never_applied_in_part_and_a_rerun_applies_it_once(broker, data_dir, processes):
    csv = os.path.join(data_dir, "big.csv")
    rows = 400_000
    expected = write_csv(csv, rows, seed=11)
    cli("topic", "create", "bank", "--partitions", "3", broker=broker)
    first = start_import(broker, csv, "bank", "nightly")
    processes.append(first)
    kill_once_records_are_in(first, broker, "bank")
    partitions = describe(broker, "bank")
    written = sum(p["high_watermark"] for p in partitions.values())
    assert 0 < written < rows, written
    # The dead import's transaction is open: it holds the stable offset at its start and names its producer.
    open_state = transaction(broker, "nightly")
    assert open_state["state"] == "Ongoing" and open_state["partitions"], open_state
    holders = [p for p in partitions.values() if p["high_watermark"] > 0]
    assert holders and all(p["last_stable_offset"] == 0 and p["open_transactions"] for p in holders), partitions
    assert all(t["producer_id"] == open_state["producer_id"] for p in holders for t in p["open_transactions"])
    # The sink reads committed data only: nothing of the open transaction.
    db = os.path.join(data_dir, "ledger.db")
    applied = cli("consume", "bank", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "applied 0 transactions" in applied.stderr, applied.stderr
    # read_uncommitted shows the partial import; read_committed nothing.
    uncommitted = cli("consume", "bank", "--offset", "beginning", "-e", "--isolation-level", "read_uncommitted", broker=broker)
    assert len(uncommitted.stdout.splitlines()) == written
    committed = cli("consume", "bank", "--offset", "beginning", "-e", "--isolation-level", "read_committed", broker=broker)
    assert committed.stdout == ""
    # The rerun fences the dead producer (its transaction is aborted) and commits the whole file.
    second = cli("produce", "--csv", csv, "--topic", "bank", "--transactional-id", "nightly", broker=broker, timeout=180)
    assert f"{rows} transactions" in second.stderr, second.stderr
    assert transaction(broker, "nightly")["producer_epoch"] >= open_state["producer_epoch"] + 2
    applied = cli("consume", "bank", "--sink", "sqlite", "--db", db, "-e", broker=broker, timeout=180)
    assert f"applied {rows} transactions" in applied.stderr, applied.stderr
    assert count(db, "SELECT COUNT(*) FROM ledger_entries") == rows
    connection = sqlite3.connect(db)
    try:
        assert dict(connection.execute("SELECT account, balance_cents FROM account_balances")) == expected
    finally:
        connection.close()
    # The aborted partial import is still in the log, skipped by every read_committed reader.
    after = cli("consume", "bank", "--offset", "beginning", "-e", "--isolation-level", "read_uncommitted", broker=broker,
                timeout=180)
    assert len(after.stdout.splitlines()) == written + rows
    # dump-log shows the markers and the aborted-transaction index of a partition the dead import wrote to.
    holder = min(p for p, described in partitions.items() if described["high_watermark"] > 0)
    dumped = run([BIN, "dump-log", os.path.join(broker.data_dir, f"bank-{holder}")]).stdout
    assert "endTxnMarker: ABORT" in dumped and "endTxnMarker: COMMIT" in dumped, dumped[-2000:]
    assert f"producerId: {open_state['producer_id']} firstOffset: 0" in dumped, dumped[-2000:]


def test_an_abandoned_transaction_is_aborted_at_its_timeout(broker, data_dir, processes):
    csv = os.path.join(data_dir, "abandoned.csv")
    write_csv(csv, 300_000, seed=3)
    cli("topic", "create", "slow", "--partitions", "1", broker=broker)
    process = start_import(broker, csv, "slow", "abandoned", "--transaction-timeout-ms", "2000")
    processes.append(process)
    kill_once_records_are_in(process, broker, "slow")
    assert transaction(broker, "abandoned")["state"] == "Ongoing"
    u.wait_until(lambda: transaction(broker, "abandoned")["state"] == "CompleteAbort", timeout=10,
                 message="the broker to abort the abandoned transaction")
    partition = describe(broker, "slow")[0]
    assert partition["last_stable_offset"] == partition["high_watermark"] > 0 and partition["open_transactions"] == []
    db = os.path.join(data_dir, "ledger.db")
    applied = cli("consume", "slow", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "applied 0 transactions" in applied.stderr, applied.stderr
    # The dead producer was fenced (epoch bumped): a new run with the id starts one epoch later still.
    small = os.path.join(data_dir, "small.csv")
    write_csv(small, 10, seed=4)
    cli("produce", "--csv", small, "--topic", "slow", "--transactional-id", "abandoned", broker=broker)
    applied = cli("consume", "slow", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "applied 10 transactions" in applied.stderr, applied.stderr


def test_stdin_records_commit_as_one_transaction(broker):
    cli("topic", "create", "lines", "--partitions", "2", broker=broker)
    produced = run([BIN, "produce", "lines", "--transactional-id", "lines-1", "--key-delimiter", ":", "-b", broker.address],
                   input="a:1\nb:2\nc:3\n")
    assert "3 records acknowledged by lines in committed transaction lines-1" in produced.stderr
    out = cli("consume", "lines", "--offset", "beginning", "-e", "--isolation-level", "read_committed",
              "--format", "%k=%s\\n", broker=broker).stdout
    assert sorted(out.split()) == ["a=1", "b=2", "c=3"]
    bad = cli("produce", "lines", "--transactional-id", "x", "--acks", "1", broker=broker, check=False)
    assert bad.returncode != 0 and "--transactional-id needs idempotence and --acks all" in bad.stderr


def test_a_transactional_import_works_against_an_independent_broker(data_dir):
    """The client side of transactions is plain Kafka: the same import and sink against Tansu (Rust). Tansu has no
    KIP-664 views, which the commands report plainly; and, as measured by Benchmarks/txn_bench.py, it hands aborted
    records to read_committed consumers, so only the committed path is checked here."""
    from test_cli_commands import TansuBroker
    tansu = TansuBroker().start()
    try:
        class Address:
            address = tansu.address
        csv = os.path.join(data_dir, "peer.csv")
        expected = write_csv(csv, 2_000, seed=21)
        cli("topic", "create", "bank", "--partitions", "3", broker=Address)
        produced = cli("produce", "--csv", csv, "--topic", "bank", "--transactional-id", "peer-import", broker=Address)
        assert "2000 transactions" in produced.stderr and "committed transaction peer-import" in produced.stderr
        db = os.path.join(data_dir, "peer.db")
        applied = cli("consume", "bank", "--sink", "sqlite", "--db", db, "-e", broker=Address)
        assert "applied 2000 transactions" in applied.stderr, applied.stderr
        connection = sqlite3.connect(db)
        try:
            assert dict(connection.execute("SELECT account, balance_cents FROM account_balances")) == expected
        finally:
            connection.close()
        listed = cli("transactions", "list", broker=Address, check=False)
        assert listed.returncode != 0 and "supports no version of ListTransactions" in listed.stderr, listed.stderr
    finally:
        tansu.stop()
