"""`ledgerstream shell` with piped stdin against a real broker and sink: every command, the error messages, read your
own write through broker -> sink -> database, the honest message when no sink runs, and exit statuses."""
import os
import sqlite3
import subprocess
import time

from conftest import BIN, REPO, run

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")


def shell(broker, db, script, timeout=60, extra=()):
    return subprocess.run([BIN, "shell", "--db", db, "-b", broker.address, "--apply-timeout", "3", *extra],
                          input=script, capture_output=True, text=True, timeout=timeout)


def loaded(broker, data_dir):
    db = os.path.join(data_dir, "ledger.db")
    run([BIN, "produce", "--csv", SAMPLE, "-b", broker.address])
    run([BIN, "consume", "--sink", "sqlite", "--db", db, "-e", "-b", broker.address])
    return db


def test_read_your_own_write_through_the_sink(broker, data_dir, processes):
    db = loaded(broker, data_dir)
    sink = subprocess.Popen([BIN, "consume", "--sink", "sqlite", "--db", db, "-b", broker.address],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(sink)
    result = shell(broker, db, "accounts\nlogin C100\nbalance\ndeposit 100.25\nwithdraw 30\nhistory 2\nlogout\nquit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert result.stderr == ""
    assert "\x1b" not in out and "ledgerstream>" not in out  # no prompt or escape codes when piped
    lines = out.splitlines()
    assert lines[0].split() == ["account", "balance", "transactions", "last", "transaction"]
    assert any(line.startswith("C100") and "830.00" in line for line in lines)
    assert "logged in to C100 — balance 830.00" in lines
    assert "C100: 830.00" in lines
    assert "deposit of 100.25 applied — C100 balance 930.25" in lines
    assert "withdrawal of 30.00 applied — C100 balance 900.25" in lines
    assert "logged out of C100" in lines
    history = [line for line in lines if line.startswith("20")]
    assert [line.split()[2:] for line in history[-2:]] == [["deposit", "100.25", "930.25"], ["withdrawal", "30.00", "900.25"]]
    # The sink applied them, with the shell's stated balances agreeing (nothing flagged), keyed by account.
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("SELECT balance_cents FROM account_balances WHERE account = 'C100'").fetchone() == (90025,)
        assert connection.execute("SELECT COUNT(*) FROM reconciliation_issues").fetchone() == (0,)
        assert connection.execute("SELECT COUNT(*) FROM transactions").fetchone() == (7,)
    finally:
        connection.close()


def test_every_error_has_a_message_and_sets_the_exit_status(broker, data_dir):
    db = loaded(broker, data_dir)
    script = "\n".join([
        "balance", "login C999", "login C200", "deposit", "deposit abc", "deposit 0", "deposit 1.234", "withdraw 5000",
        "history many", "fly", "",
    ])
    result = shell(broker, db, script)
    assert result.returncode == 1
    errors = [line.removeprefix("ledgerstream shell: ") for line in result.stderr.splitlines()]
    assert errors == [
        "not logged in — use `login ACCOUNT` (accounts: C100, C200)",
        "unknown account 'C999' — known accounts: C100, C200",
        "`deposit` needs amount (for example: deposit 125.50)",
        "'abc' is not an amount (use digits with at most two decimals, for example 125.50)",
        "the amount must be greater than zero (got 0)",
        "'1.234' has more than two decimals (cents are the smallest unit)",
        "refused: withdrawing 5,000.00 would take C200 below zero (balance 2,300.00)",
        "`history` takes a number of transactions from 1 to 10000 (for example: history 20)",
        "unknown command 'fly' — commands: accounts, login, balance, deposit, withdraw, history, logout, help, quit (`help` explains them)",
    ]
    assert result.stdout.splitlines() == ["logged in to C200 — balance 2,300.00"]


def test_without_a_sink_it_says_so(broker, data_dir):
    db = loaded(broker, data_dir)
    started = time.monotonic()
    result = shell(broker, db, "login C200\ndeposit 5\nbalance\n")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "is safely in transactions (partition" in result.stderr
    assert "no sink applied it within 3 s — is `ledgerstream consume --sink sqlite` running?" in result.stderr
    assert "C200: 2,300.00 — not current: 1 transaction in the topic not applied yet" in result.stdout
    # Once a sink runs, the deposit lands.
    run([BIN, "consume", "--sink", "sqlite", "--db", db, "-e", "-b", broker.address])
    again = shell(broker, db, "login C200\nbalance\n")
    assert "C200: 2,305.00" in again.stdout.splitlines()


def test_missing_database_and_unreachable_broker(broker, data_dir):
    missing = shell(broker, os.path.join(data_dir, "none.db"), "accounts\n")
    assert missing.returncode == 74
    assert "no database at" in missing.stderr and "consume --sink sqlite" in missing.stderr
    db = loaded(broker, data_dir)
    result = subprocess.run([BIN, "shell", "--db", db, "-b", "127.0.0.1:1"], input="login C100\nbalance\ndeposit 1\n",
                            capture_output=True, text=True, timeout=60)
    assert "C100: 830.00 — as last applied; cannot tell whether it is current" in result.stdout
    assert "127.0.0.1:1" in result.stderr and result.returncode == 1
