"""A full disk (ENOSPC) is survived without a restart: the writer refuses what it cannot store, with a clear error,
keeps serving reads, and carries on by itself once space returns; nothing half-written remains.

The disk is a small tmpfs mounted for the test and grown afterwards (`mount -o remount,size=…`) to give space back;
tests are skipped where mounting is not allowed (not root, or no mount namespace rights).
"""
import os
import random
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, run


@pytest.fixture
def tiny_disk():
    """A tmpfs of 6 MiB; yields (path, resize) where resize(megabytes) grows or shrinks it."""
    path = tempfile.mkdtemp(prefix="ledgerstream-tiny-disk-")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", path], capture_output=True, text=True)
    if result.returncode != 0:
        os.rmdir(path)
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")

    def resize(megabytes):
        subprocess.run(["mount", "-o", f"remount,size={megabytes}m", path], check=True)

    try:
        yield path, resize
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        os.rmdir(path)


def count(db):
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT COUNT(*) FROM ledger_postings").fetchone()[0]
    finally:
        connection.close()


def test_sink_waits_on_a_full_disk_and_resumes_when_space_returns(broker, data_dir, tiny_disk):
    disk, resize = tiny_disk
    total = 60_000
    rng = random.Random(7)
    csv = os.path.join(data_dir, "big.csv")
    with open(csv, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(total):
            out.write(f"2024-01-{1 + i % 28:02d};C{rng.randrange(3000):05d};{rng.randint(1, 99999) / 100:.2f};\n")
    run([BIN, "produce", "--csv", csv, "-b", broker.address], timeout=300)
    db = os.path.join(disk, "ledger.db")
    log_path = os.path.join(data_dir, "sink.log")
    sink_log = open(log_path, "w")
    sink = subprocess.Popen([BIN, "consume", "transactions", "--sink", "sqlite", "--db", db, "-b", broker.address],
                            stdout=subprocess.DEVNULL, stderr=sink_log, text=True)

    def log():
        with open(log_path) as text:
            return text.read()

    try:
        # The ledger outgrows the disk: the sink reports it and waits, alive.
        deadline = time.time() + 120
        while "the ledger database is full" not in log() and time.time() < deadline:
            assert sink.poll() is None, log()
            time.sleep(0.1)
        assert "the ledger database is full" in log() and "nothing of the batch was written" in log(), log()
        time.sleep(1)
        assert sink.poll() is None
        # Reads keep working, and what is there is whole batches: every applied entry has its offset stored.
        applied = count(db)
        assert 0 < applied < total
        report = run([BIN, "report", "--db", db, "--format", "json"])
        assert '"accounts"' in report.stdout or "balance" in report.stdout
        # Space returns: the sink carries on by itself and applies everything exactly once.
        resize(256)
        deadline = time.time() + 180
        while count(db) < total and time.time() < deadline:
            assert sink.poll() is None
            time.sleep(0.2)
        assert count(db) == total
        connection = sqlite3.connect(db)
        try:
            assert connection.execute("SELECT SUM(next_offset) FROM sink_offsets").fetchone()[0] == total
            assert connection.execute("SELECT COUNT(DISTINCT source_line) FROM ledger_postings").fetchone()[0] == total
        finally:
            connection.close()
        assert "space is back: the sink resumed" in log(), log()
    finally:
        sink.terminate()
        sink.wait(timeout=30)
        sink_log.close()
