"""`ledgerstream report` on databases the real pipeline filled: `produce --csv` -> broker -> `consume --sink sqlite`.

Checks the five dashboards and the reconciliation section on the sample file, the inconsistent sample's mismatch,
JSON and CSV output, a period, colour only on a terminal (a pty) and never with NO_COLOR, the terminal's width, an
empty ledger, a missing database and a file that is not a ledger, and `--follow` redrawing when the sink applies
new transactions and stopping cleanly on Ctrl-C. One broker for the module; every process is stopped by PID.
"""
import csv
import fcntl
import io
import json
import os
import pty
import signal
import sqlite3
import struct
import subprocess
import termios
import time

import pytest

import interop_util as u
from conftest import BIN, REPO, run

pytestmark = pytest.mark.timeout(60)

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")
SECTIONS = [
    "── Transactions ──",
    "── Transactions by date ──",
    "── Transactions per account and type, all dates ──",
    "── Deposited and withdrawn per account, all dates ──",
    "── Balance over time, all dates ──",
    "── Reconciliation ──",
]


def cli(broker, *args, check=True):
    return run([BIN, *args, "-b", broker.address], check=check, timeout=60)


def fill_ledger(broker, db, csv_path):
    """Produces a CSV file to a topic of its own and applies it to `db` with the sink; returns the topic."""
    topic = u.uniq("report")
    cli(broker, "produce", "--csv", csv_path, "--topic", topic)
    cli(broker, "consume", topic, "--sink", "sqlite", "--db", db, "-e")
    return topic


def report(*args, env=None, check=True):
    environment = dict(os.environ)
    environment.pop("NO_COLOR", None)
    environment.update(env or {})
    return run([BIN, "report", *args], env=environment, check=check, timeout=30)


def report_on_terminal(*args, columns=72, env=None):
    """Runs `report` with standard output on a pseudo-terminal of `columns` columns; returns (exit code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = dict(os.environ)
    environment.pop("NO_COLOR", None)
    environment.pop("COLUMNS", None)
    environment.update(env or {})
    process = subprocess.Popen([BIN, "report", *args], stdout=slave, stderr=slave, env=environment)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the pty is closed once the process has exited
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return process.wait(timeout=30), output.decode().replace("\r\n", "\n")


@pytest.fixture(scope="module")
def sample_db(module_broker, tmp_path_factory):
    db = str(tmp_path_factory.mktemp("report") / "ledger.db")
    fill_ledger(module_broker, db, SAMPLE)
    return db


def test_sample_report_has_the_five_dashboards_and_reconciliation(sample_db):
    result = report("--db", sample_db, "--width", "100")
    out = result.stdout
    positions = [out.find(title) for title in SECTIONS]
    assert -1 not in positions and positions == sorted(positions), out
    assert out.startswith(f"ledgerstream report · {sample_db}\n5 entries · 2 accounts · 0 rejected records\n")
    assert "sink next offsets: report-" in out
    # The table, exact amounts, the heatmap counts, the bars' amounts, both balance charts.
    assert "2024-01-03 00:00:00  C200     withdrawal    200.00  2,300.00" in out
    assert "C100     ▒▒▒▒▒ 1 ▒▒▒▒▒▒ █████ 2 ██████" in out
    assert "1,000.00     170.00" in out and "2,500.00     200.00" in out
    assert "C100 · 3 entries · 1,000.00 → 830.00" in out and "C200 · 2 entries · 2,500.00 → 2,300.00" in out
    assert "No balance mismatches and no negative balances." in out
    assert all(len(line) <= 100 for line in out.splitlines())
    # Not a terminal: no colour.
    assert "\x1b" not in out


def test_inconsistent_sample_is_reported(module_broker, tmp_path):
    csv_path = tmp_path / "inconsistent.csv"
    with open(SAMPLE, "rb") as original:
        csv_path.write_bytes(original.read()[:-3] + b"8305")
    db = str(tmp_path / "ledger.db")
    fill_ledger(module_broker, db, str(csv_path))
    out = report("--db", db, "--width", "100").stdout
    assert "1 balance mismatch, 0 negative balances" in out
    assert "2024-01-05  C100     balance mismatch  8,305.00   830.00  report-" in out
    assert "≠ 8,305.00" in out


def test_json_and_csv_carry_the_same_data(sample_db):
    data = json.loads(report("--db", sample_db, "--format", "json").stdout)
    assert set(data) == {"header", "transactions", "filtered", "heatmap", "bars", "balances", "reconciliation"}
    assert data["header"]["entries"] == 5 and data["header"]["rejected_records"] == 0
    assert [row["balance_cents"] for row in data["transactions"]["rows"]] == [100000, 250000, 230000, 97500, 83000]
    assert {a["account"]: (a["deposit"], a["withdrawal"]) for a in data["heatmap"]["accounts"]} == {"C100": (1, 2), "C200": (1, 1)}
    assert {a["account"]: a["withdrawn_cents"] for a in data["bars"]["accounts"]} == {"C100": 17000, "C200": 20000}
    assert [len(a["points"]) for a in data["balances"]["accounts"]] == [3, 2]
    assert data["reconciliation"]["issues"] == []
    rows = list(csv.DictReader(io.StringIO(report("--db", sample_db, "--format", "csv").stdout)))
    assert [(r["transaction_date"], r["account"], r["amount"], r["balance"]) for r in rows] == [
        ("2024-01-01 00:00:00", "C100", "1000.00", "1000.00"),
        ("2024-01-02 00:00:00", "C200", "2500.00", "2500.00"),
        ("2024-01-03 00:00:00", "C200", "200.00", "2300.00"),
        ("2024-01-04 00:00:00", "C100", "25.00", "975.00"),
        ("2024-01-05 00:00:00", "C100", "145.00", "830.00"),
    ]


def test_period_and_limit(sample_db):
    data = json.loads(report("--db", sample_db, "--format", "json", "--from", "2024-01-02", "--to", "2024-01-04",
                             "--limit", "2").stdout)
    assert data["filtered"]["from"] == "2024-01-02" and data["filtered"]["total"] == 3 and data["filtered"]["omitted"] == 1
    assert [r["transaction_date"][:10] for r in data["filtered"]["rows"]] == ["2024-01-03", "2024-01-04"]
    assert [r["transaction_date"][:10] for r in data["transactions"]["rows"]] == ["2024-01-04", "2024-01-05"]
    out = report("--db", sample_db, "--from", "2024-01-02", "--to", "2024-01-04", "--limit", "2").stdout
    assert "── Transactions, 2024-01-02 to 2024-01-04 ──" in out
    assert "… 1 earlier transaction not shown" in out and "… 3 earlier transactions not shown" in out
    bad = report("--db", sample_db, "--from", "2024-02-30", check=False)
    assert bad.returncode == 64 and "--from must be a date YYYY-MM-DD" in bad.stderr


def test_colour_only_on_a_terminal_and_never_with_no_color(sample_db):
    code, out = report_on_terminal("--db", sample_db, columns=72)
    assert code == 0 and "\x1b[" in out
    plain_lines = [line for line in out.splitlines() if "\x1b" not in line]
    assert plain_lines and max(len(line) for line in plain_lines) <= 72  # the terminal's width, from TIOCGWINSZ
    code, out = report_on_terminal("--db", sample_db, env={"NO_COLOR": ""})
    assert code == 0 and "\x1b" not in out and "── Reconciliation ──" in out
    assert max(len(line) for line in out.splitlines()) <= 72
    forced = report("--db", sample_db, "--color", "always").stdout
    assert "\x1b[" in forced
    narrow = report("--db", sample_db, env={"COLUMNS": "40"}).stdout
    assert max(len(line) for line in narrow.splitlines() if line != sample_db) <= 40  # a path is never cut


def test_empty_ledger_says_so_in_one_line(module_broker, tmp_path):
    topic = u.uniq("report-empty")
    cli(module_broker, "topic", "create", topic)
    db = str(tmp_path / "empty.db")
    cli(module_broker, "consume", topic, "--sink", "sqlite", "--db", db, "-e")
    result = report("--db", db)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"No transactions in {db} yet: they appear once `ledgerstream consume --sink sqlite --db {db}` applies some."]
    assert json.loads(report("--db", db, "--format", "json").stdout)["transactions"]["rows"] == []


def test_missing_database_and_not_a_ledger(tmp_path):
    missing = str(tmp_path / "nothing.db")
    result = report("--db", missing, check=False)
    assert result.returncode == 74 and result.stdout == ""
    assert result.stderr == (f"ledgerstream report: no database at {missing} — "
                             f"run `ledgerstream consume --sink sqlite --db {missing}` to create it\n")
    assert not os.path.exists(missing)  # reading never creates it
    other = str(tmp_path / "other.db")
    sqlite3.connect(other).execute("CREATE TABLE something (x)").connection.close()
    result = report("--db", other, check=False)
    assert result.returncode == 74 and "holds no ledger" in result.stderr and "consume --sink sqlite" in result.stderr
    env_result = report(env={"LEDGERSTREAM_DB": missing}, check=False)
    assert env_result.returncode == 74 and missing in env_result.stderr


def test_follow_redraws_when_the_sink_applies_and_stops_on_ctrl_c(module_broker, tmp_path, processes):
    db = str(tmp_path / "ledger.db")
    topic = fill_ledger(module_broker, db, SAMPLE)
    follower = subprocess.Popen([BIN, "report", "--db", db, "--follow", "--width", "80"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(follower)
    time.sleep(1.5)
    more = tmp_path / "more.csv"
    more.write_text("transaction_date;account;transaction_value;balance\n06/01/2024;C300;42.50;\n")
    cli(module_broker, "produce", "--csv", str(more), "--topic", topic)
    cli(module_broker, "consume", topic, "--sink", "sqlite", "--db", db, "-e")
    time.sleep(1.5)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=10)
    assert follower.returncode == 0, err
    reports = out.split("\n\nledgerstream report")
    assert len(reports) == 2, out  # the first report, then one more after the change (not one per poll)
    assert "5 entries · 2 accounts" in reports[0] and "C300" not in reports[0]
    assert "6 entries · 3 accounts" in reports[1] and "2024-01-06 00:00:00  C300     deposit" in reports[1]
