"""The bank pipeline end to end: `produce --csv` -> broker -> `consume --sink sqlite`, with real processes.

Checks the sample file, reconciliation of an inconsistent stated balance, strict CSV validation (nothing sent on a
bad file), and exactly-once under crashes: the sink is SIGKILLed at random moments while a 100,000-record stream is
being produced, restarted each time, and in the end rows == records with exact balances.
"""
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, REPO, run

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")


def cli(*args, broker, check=True, timeout=120):
    return run([BIN, *args, "-b", broker.address], check=check, timeout=timeout)


def rows(db, sql):
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_sample_file_through_broker_and_sink(broker, data_dir):
    db = os.path.join(data_dir, "ledger.db")
    produced = cli("produce", "--csv", SAMPLE, broker=broker)
    assert "5 transactions" in produced.stderr
    cli("consume", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert rows(db, "SELECT transaction_date, account, transaction_value, balance, transaction_type FROM transactions") == [
        ("2024-01-01 00:00:00", "C100", 1000, 1000, "deposit"),
        ("2024-01-02 00:00:00", "C200", 2500, 2500, "deposit"),
        ("2024-01-03 00:00:00", "C200", 200, 2300, "withdrawal"),
        ("2024-01-04 00:00:00", "C100", 25, 975, "withdrawal"),
        ("2024-01-05 00:00:00", "C100", 145, 830, "withdrawal"),
    ]
    # The original table keeps exactly the original columns and declared types.
    columns = rows(db, "PRAGMA table_info(transactions)")
    assert [(c[1], c[2]) for c in columns] == [
        ("transaction_date", "DATETIME"), ("account", "TEXT"), ("transaction_value", "NUMERIC(10,2)"),
        ("balance", "NUMERIC(10,2)"), ("transaction_type", "TEXT")]
    assert rows(db, "SELECT account, balance_cents FROM account_balances ORDER BY account") == [("C100", 83000), ("C200", 230000)]
    # The shipped sample is consistent (its last row states 830), so nothing is flagged.
    assert rows(db, "SELECT COUNT(*) FROM reconciliation_issues") == [(0,)]
    # Records are keyed by account and the value keeps the original JSON keys.
    record = subprocess.run([BIN, "consume", "transactions", "--from-beginning", "-e", "-b", broker.address],
                            capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
    assert '"key":"C100"' in record and "transaction_type" in record
    # Running the sink again applies nothing twice.
    again = cli("consume", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "applied 0 transactions" in again.stderr
    assert rows(db, "SELECT COUNT(*) FROM ledger_entries") == [(5,)]


def test_inconsistent_stated_balance_is_flagged(broker, data_dir):
    csv = os.path.join(data_dir, "inconsistent.csv")
    with open(SAMPLE, "rb") as original:
        data = original.read()
    assert data.endswith(b";830")
    with open(csv, "wb") as changed:
        changed.write(data[:-3] + b"8305")  # the inconsistency described for the original data
    db = os.path.join(data_dir, "ledger.db")
    cli("produce", "--csv", csv, "--topic", "tx2", broker=broker)
    result = cli("consume", "tx2", "--sink", "sqlite", "--db", db, "-e", broker=broker)
    assert "1 balance mismatch" in result.stderr
    assert rows(db, "SELECT kind, account, stated_balance_cents, derived_balance_cents FROM reconciliation_issues") == [
        ("balance_mismatch", "C100", 830500, 83000)]


def test_bad_csv_sends_nothing_and_names_file_and_line(broker, data_dir):
    csv = os.path.join(data_dir, "bad.csv")
    with open(csv, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n01/01/2024;C1;10;10\n32/01/2024;C1;5;15\n03/01/2024;C1;1.005;\n")
    result = cli("produce", "--csv", csv, "--topic", "strict", broker=broker, check=False)
    assert result.returncode == 65
    assert f"{csv}:3: transaction_date '32/01/2024' is not a valid date" in result.stderr
    assert f"{csv}:4: transaction_value: amount '1.005' has more than two decimals" in result.stderr
    listed = cli("topic", "list", broker=broker).stdout.split()
    assert "strict" not in listed  # nothing was produced, not even the topic
    skipped = cli("produce", "--csv", csv, "--topic", "lenient", "--skip-invalid", broker=broker)
    assert "1 transactions" in skipped.stderr and "2 invalid rows skipped" in skipped.stderr


def test_sink_is_exactly_once_under_repeated_kill_9(broker, data_dir):
    random.seed(1234)
    total = 100_000
    accounts = [f"C{i}" for i in range(50)]
    expected = {a: 0 for a in accounts}
    csv = os.path.join(data_dir, "stream.csv")
    with open(csv, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(total):
            account = random.choice(accounts)
            cents = random.randint(1, 100_000) * (1 if random.random() < 0.6 else -1)
            expected[account] += cents
            out.write(f"2024-{1 + i % 12:02d}-{1 + i % 28:02d};{account};{cents / 100:.2f};\n")
    cli("topic", "create", "stream", "--partitions", "4", broker=broker)
    db = os.path.join(data_dir, "ledger.db")
    producer = subprocess.Popen([BIN, "produce", "--csv", csv, "--topic", "stream", "-b", broker.address],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kills = 0
    try:
        while kills < 10:
            sink = subprocess.Popen([BIN, "consume", "stream", "--sink", "sqlite", "--db", db, "-b", broker.address],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0.3, 1.5))
            sink.send_signal(signal.SIGKILL)
            sink.wait()
            kills += 1
        out, err = producer.communicate(timeout=300)
        assert producer.returncode == 0, err
    finally:
        if producer.poll() is None:
            producer.kill()
    final = cli("consume", "stream", "--sink", "sqlite", "--db", db, "-e", broker=broker, timeout=300)
    assert "applied" in final.stderr
    assert rows(db, "SELECT COUNT(*) FROM ledger_entries") == [(total,)]
    assert rows(db, "SELECT COUNT(*) FROM transactions") == [(total,)]
    assert rows(db, "SELECT COUNT(*) FROM (SELECT DISTINCT topic, partition, offset FROM ledger_entries)") == [(total,)]
    assert rows(db, "SELECT SUM(next_offset) FROM sink_offsets WHERE topic = 'stream'") == [(total,)]
    balances = dict(rows(db, "SELECT account, balance_cents FROM account_balances"))
    assert balances == expected
    # Every account's entries form one consistent running balance, in stream order.
    for account, in rows(db, "SELECT DISTINCT account FROM ledger_entries")[:5]:
        running = 0
        for kind, amount, balance in rows(db, f"SELECT transaction_type, amount_cents, balance_cents FROM ledger_entries WHERE account = '{account}' ORDER BY partition, offset"):
            running += amount if kind == "deposit" else -amount
            assert balance == running
