"""`ledgerstream demo`, the README's first command: from a clean directory it runs the whole pipeline through the real
protocol and leaves a database that `report` and `shell` read; --keep-running leaves the broker and sink up."""
import os
import signal
import socket
import sqlite3
import subprocess
import time

from conftest import BIN, REPO, run
from interop_util import free_port

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")


def test_demo_from_a_clean_directory(tmp_path):
    result = run([BIN, "demo"], timeout=120, env={**os.environ, "NO_COLOR": "1"}, cwd=tmp_path)
    out = result.stdout
    assert "5 transactions from the built-in sample produced" in out
    assert "5 transactions applied exactly once to ledgerstream-demo/ledger.db" in out
    for section in ["── Transactions ", "── Transactions per account and type", "── Deposited and withdrawn per account",
                    "── Balance over time", "── Reconciliation"]:
        assert section in out
    assert "\x1b" not in out
    db = tmp_path / "ledgerstream-demo" / "ledger.db"
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("SELECT account, balance_cents FROM account_balances ORDER BY account").fetchall() == [
            ("C100", 83000), ("C200", 230000)]
        assert connection.execute("SELECT COUNT(*) FROM transactions").fetchone() == (5,)
    finally:
        connection.close()
    # The database stays for `report`; a second demo run starts afresh in the same directory.
    assert "C100" in run([BIN, "report", "--db", str(db)], cwd=tmp_path).stdout
    again = run([BIN, "demo", "--csv", SAMPLE], timeout=120, cwd=tmp_path)
    assert f"5 transactions from {SAMPLE} produced" in again.stdout


def test_demo_refuses_a_directory_it_did_not_make(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = subprocess.run([BIN, "demo", "--dir", "mine"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 74
    assert "mine exists and was not made by `ledgerstream demo`" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_keep_running_serves_shell_and_stops_cleanly(tmp_path):
    port = free_port()
    demo = subprocess.Popen([BIN, "demo", "--keep-running", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = demo.stdout.readline()
            lines.append(line)
            if "sink running" in line:
                break
        else:
            raise AssertionError("".join(lines))
        db = str(tmp_path / "ledgerstream-demo" / "ledger.db")
        shell = run([BIN, "shell", "--db", db, "-b", f"127.0.0.1:{port}"], input="login C200\ndeposit 50\n", timeout=60)
        assert "deposit of 50.00 applied — C200 balance 2,350.00" in shell.stdout
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
