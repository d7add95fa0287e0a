"""`report` and `shell` on a PostgreSQL ledger print what they print on SQLite for the same data.

One topic (one partition, so both sinks apply the records in the same order) holds the sample file and a generated
one of a few thousand rows (accounts whose names sort differently by bytes and by locale, times of day, ties, balance
mismatches, negative balances); `consume --sink sqlite` and `consume --sink postgres` apply it, and every report
format and filter must then be byte-identical, but for the database's name and the sink's commit times. The shell
reads balances and history, and sees a deposit applied by a running `consume --sink postgres`. Also: the exit codes
of an unreachable server, a database without a ledger, and `report --follow` seeing a PostgreSQL sink's commit.
"""
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import interop_util as u
import postgres_util
from conftest import BIN, REPO, run

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not postgres_util.available(), reason="PostgreSQL is not installed (Debian: apt-get install postgresql)"),
]

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")
ACCOUNTS = ["C100", "C200", "alpha", "Beta", "beta_2", "Émile", "ZED", "_under", "a-01", "a01", "Zulu", "mike"]


def generated_csv(path, rows=3000, seed=17):
    """Rows over five months with times of day (several per second at times: ties by date), each account's stated
    balance usually right, sometimes off by a little (mismatches), and withdrawals that overdraw (negative). Returns
    the path and the accounts' final balances in cents."""
    rng = random.Random(seed)
    balances = {account: 0 for account in ACCOUNTS}
    start = time.mktime((2023, 11, 1, 0, 0, 0, 0, 0, -1))
    moment = start
    lines = ["transaction_date;account;transaction_value;balance"]
    for _ in range(rows):
        moment += rng.choice([0, 0, 1, 37, 600, 3600, 4 * 3600])
        stamp = time.strftime("%d/%m/%Y %H:%M:%S", time.localtime(moment))
        account = rng.choice(ACCOUNTS)
        cents = rng.randint(1, 250_000)
        if rng.random() < 0.45:
            cents = -cents
        balances[account] += cents
        stated = balances[account] + (rng.choice([-100, 1, 5000]) if rng.random() < 0.03 else 0)
        lines.append(f"{stamp};{account};{cents / 100:.2f};{stated / 100:.2f}")
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")
    return path, balances


@pytest.fixture(scope="module")
def ledgers(module_broker):
    """The same records applied to a SQLite file and to a PostgreSQL database: (broker, sqlite path, server, url)."""
    directory = tempfile.mkdtemp(prefix="ledgerstream-interop-pgreport-")
    server = postgres_util.PostgresServer(directory)
    try:
        server.start()
        topic = u.uniq("pgreport")
        broker = module_broker
        run([BIN, "topic", "create", topic, "--partitions", "1", "-b", broker.address])
        generated, _ = generated_csv(os.path.join(directory, "generated.csv"))
        for csv_path in (SAMPLE, generated):
            run([BIN, "produce", "--csv", csv_path, "--topic", topic, "-b", broker.address], timeout=60)
        db = os.path.join(directory, "ledger.db")
        run([BIN, "consume", topic, "--sink", "sqlite", "--db", db, "-e", "-b", broker.address], timeout=60)
        run([BIN, "consume", topic, "--sink", "postgres", "--db", server.url(), "-e", "-b", broker.address], timeout=60)
        yield broker, db, server, server.url()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def report(db, *args, check=True):
    environment = dict(os.environ)
    environment.pop("NO_COLOR", None)
    return run([BIN, "report", "--db", db, *args], env=environment, check=check, timeout=60)


def normalized(output, db):
    """The output with the database's name and the sink's commit times (which differ between the two ledgers)
    replaced by placeholders."""
    output = output.replace(json.dumps(db)[1:-1], "DATABASE").replace(db, "DATABASE")
    return re.sub(r'"updated_at":"[0-9: .-]+"', '"updated_at":"T"', output)


REPORTS = [
    ("--color", "never", "--width", "120"),
    ("--color", "never", "--width", "100", "--from", "2024-01-01", "--to", "2024-01-31", "--top", "3"),
    ("--color", "never", "--width", "110", "--from", "2024-02-10", "--to", "2024-02-10"),
    ("--color", "never", "--width", "100", "--account", "beta_2", "--limit", "5"),
    ("--color", "never", "--width", "140", "--limit", "0", "--top", "0"),
    ("--color", "never", "--width", "100", "--account", "NOPE"),
    ("--color", "always", "--width", "90", "--to", "2023-12-24"),
    ("--format", "json"),
    ("--format", "json", "--from", "2023-12-01", "--to", "2024-02-29", "--account", "Émile", "--limit", "7"),
    ("--format", "json", "--limit", "0", "--top", "0"),
    ("--format", "csv"),
    ("--format", "csv", "--from", "2024-01-15", "--to", "2024-03-01"),
    ("--format", "csv", "--limit", "50", "--to", "2024-01-01"),
]


@pytest.mark.parametrize("args", REPORTS, ids=lambda args: " ".join(args))
def test_report_is_the_same_on_both_ledgers(ledgers, args):
    _, db, _, url = ledgers
    on_sqlite = normalized(report(db, *args).stdout, db)
    on_postgres = normalized(report(url, *args).stdout, url)
    assert on_postgres == on_sqlite
    assert len(on_sqlite) > 500


def test_the_data_is_all_there(ledgers):
    """The comparison above compares something: thousands of entries, both kinds of issue, several slices."""
    _, _, _, url = ledgers
    data = json.loads(report(url, "--format", "json", "--limit", "0", "--top", "0").stdout)
    assert data["header"]["entries"] == 3005
    assert data["header"]["accounts"] == len(ACCOUNTS)
    kinds = {issue["kind"] for issue in data["reconciliation"]["issues"]}
    assert kinds == {"balance_mismatch", "negative_balance"}
    series = data["balances"]["accounts"]
    assert len(series) == len(ACCOUNTS)
    assert all(len(account["points"]) > 100 for account in series if account["account"] not in ("C100", "C200"))
    assert sum(account["entries"] - len(account["points"]) for account in series) > 50  # slices did thin them


def shell(db, broker, topic, script, timeout=60):
    return subprocess.run([BIN, "shell", "--db", db, "-b", broker.address, "--topic", topic, "--apply-timeout", "5"],
                          input=script, capture_output=True, text=True, timeout=timeout)




def masked_now(output):
    """The shell stamps new transactions with the current time: masked."""
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?=\s+(deposit|withdrawal)\s+(100\.25|30\.00)\s)", "NOW", output)


def test_shell_reads_and_sees_its_deposit_applied_by_a_postgres_sink(module_broker, postgres, tmp_path, processes):
    """The same session against a SQLite ledger and a PostgreSQL one (each filled from a topic of its own, with a sink
    running) prints the same."""
    broker = module_broker
    csv_path, balances = generated_csv(str(tmp_path / "small.csv"), rows=200)
    rich = max(balances, key=balances.get)
    assert balances[rich] > 3000  # the withdrawal below is allowed
    script = (f"accounts\nlogin {rich.lower()}\nbalance\nhistory 3\ndeposit 100.25\nwithdraw 30\nhistory 3\n"
              "login Émile\nbalance\nlogout\n")
    outputs = {}
    for kind, db in (("sqlite", str(tmp_path / "shell.db")), ("postgres", postgres.url())):
        topic = u.uniq(f"pgshell-{kind}")
        run([BIN, "topic", "create", topic, "--partitions", "1", "-b", broker.address])
        run([BIN, "produce", "--csv", csv_path, "--topic", topic, "-b", broker.address])
        run([BIN, "consume", topic, "--sink", kind, "--db", db, "-e", "-b", broker.address])
        sink = subprocess.Popen([BIN, "consume", topic, "--sink", kind, "--db", db, "-b", broker.address],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(sink)
        result = shell(db, broker, topic, script)
        sink.terminate()
        sink.wait(timeout=20)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        outputs[kind] = masked_now(result.stdout)
    assert outputs["postgres"] == outputs["sqlite"]
    lines = outputs["postgres"].splitlines()
    assert lines[0].split() == ["account", "balance", "transactions", "last", "transaction"]
    assert f"logged in to {rich} — balance {balances[rich] // 100:,}.{balances[rich] % 100:02d}" in lines
    assert any(re.match(rf"deposit of 100\.25 applied — {re.escape(rich)} balance ", line) for line in lines)
    assert sum(1 for line in lines if line.startswith("NOW")) == 2  # the second history shows both


def test_shell_says_when_the_postgres_sink_is_behind(module_broker, postgres, tmp_path):
    broker = module_broker
    topic = u.uniq("pgbehind")
    run([BIN, "topic", "create", topic, "--partitions", "1", "-b", broker.address])
    run([BIN, "produce", "--csv", SAMPLE, "--topic", topic, "-b", broker.address])
    run([BIN, "consume", topic, "--sink", "postgres", "--db", postgres.url(), "-e", "-b", broker.address])
    result = subprocess.run([BIN, "shell", "--db", postgres.url(), "-b", broker.address, "--topic", topic,
                             "--apply-timeout", "1"], input="login C200\ndeposit 5\nbalance\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no sink applied it within 1 s — is `ledgerstream consume --sink postgres` running?" in result.stderr
    assert ("C200: 2,300.00 — not current: 1 transaction in the topic not applied yet "
            "(is `ledgerstream consume --sink postgres` running?)") in result.stdout.splitlines()


def test_unreachable_server_and_database_without_a_ledger(postgres, tmp_path):
    unreachable = report(f"postgres://ledger@127.0.0.1:{u.free_port()}/ledger?sslmode=disable", check=False)
    assert unreachable.returncode == 69
    assert unreachable.stderr.startswith("ledgerstream report: cannot reach PostgreSQL at postgres://ledger@127.0.0.1:")
    assert len(unreachable.stderr.splitlines()) == 1
    empty = report(postgres.url(), check=False)
    assert empty.returncode == 74
    assert "holds no ledger (no ledger_postings table)" in empty.stderr
    shell_run = subprocess.run([BIN, "shell", "--db", postgres.url(), "-b", "127.0.0.1:1"], input="accounts\n",
                               capture_output=True, text=True, timeout=30)
    assert shell_run.returncode == 74 and "holds no ledger" in shell_run.stderr
    # Read-only: the reader created nothing.
    assert postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").strip() == "0"


def test_follow_sees_a_postgres_sink_commit(module_broker, postgres, tmp_path, processes):
    broker = module_broker
    topic = u.uniq("pgfollow")
    run([BIN, "topic", "create", topic, "--partitions", "1", "-b", broker.address])
    run([BIN, "produce", "--csv", SAMPLE, "--topic", topic, "-b", broker.address])
    run([BIN, "consume", topic, "--sink", "postgres", "--db", postgres.url(), "-e", "-b", broker.address])
    follower = subprocess.Popen([BIN, "report", "--db", postgres.url(), "--follow", "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(follower)
    first = json.loads(follower.stdout.readline())
    assert first["header"]["entries"] == 5
    more = tmp_path / "more.csv"
    more.write_text("transaction_date;account;transaction_value;balance\n01/06/2024;C100;1.50;831.50\n")
    run([BIN, "produce", "--csv", str(more), "--topic", topic, "-b", broker.address])
    run([BIN, "consume", topic, "--sink", "postgres", "--db", postgres.url(), "-e", "-b", broker.address])
    started = time.monotonic()
    second = json.loads(follower.stdout.readline())
    assert time.monotonic() - started < 5
    assert second["header"]["entries"] == 6
    follower.terminate()
    follower.wait(timeout=10)
