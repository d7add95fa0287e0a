"""A full disk (ENOSPC) is survived without a restart: the writer refuses what it cannot store, with a clear error,
keeps serving reads, and carries on by itself once space returns; nothing half-written remains.

The disk is a small tmpfs mounted for the test and grown afterwards (`mount -o remount,size=…`) to give space back;
tests are skipped where mounting is not allowed (not root, or no mount namespace rights).
"""
import errno
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


def fill(disk):
    """Takes whatever space is left on the disk (which may be none already: then even creating the file fails)."""
    try:
        with open(os.path.join(disk, "filler"), "wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
    except OSError as error:
        assert error.errno == errno.ENOSPC, error


def count(db):
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT COUNT(*) FROM ledger_postings").fetchone()[0]
    finally:
        connection.close()


def test_sink_waits_on_a_full_disk_and_resumes_when_space_returns(broker, data_dir, tiny_disk):
    disk, resize = tiny_disk
    # About 9.6 MB of ledger once checkpointed: far past the 6 MiB disk. (60,000 rows are 4.8 MB, and once the sink
    # wrote them in batches large enough, their write-ahead log fitted in the disk and nothing was ever full.)
    total = 120_000
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


def test_broker_refuses_produce_on_a_full_disk_serves_fetches_and_resumes(data_dir, tiny_disk):
    from conftest import Server, broker_args
    from interop_util import RawConnection, parse_produce_v3, produce_v3_body, record_batch
    disk, resize = tiny_disk
    total = 60_000
    csv = os.path.join(data_dir, "big.csv")
    rng = random.Random(11)
    with open(csv, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(total):
            out.write(f"2024-02-{1 + i % 28:02d};C{rng.randrange(3000):05d};{rng.randint(1, 99999) / 100:.2f};\n")
    broker = Server(broker_args(os.path.join(disk, "broker"), extra=["--override", "log.segment.bytes=1048576"]), disk).start()
    try:
        run([BIN, "topic", "create", "transactions", "--partitions", "2", "-b", broker.address])
        # An import larger than the disk: the producer keeps retrying KAFKA_STORAGE_ERROR (retriable, as in Kafka).
        producer = subprocess.Popen([BIN, "produce", "--csv", csv, "-b", broker.address],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while "No space left on device" not in broker.log() and time.time() < deadline:
            assert producer.poll() is None, producer.communicate()
            time.sleep(0.1)
        assert "No space left on device" in broker.log(), broker.log()[-3000:]
        # The error is logged once, not per request.
        time.sleep(2)
        assert broker.log().count("No space left on device") <= 4, broker.log()[-3000:]
        # Full to the last page: a produce is refused with KAFKA_STORAGE_ERROR, and what is stored is still served.
        # The batch is larger than a page: a smaller one may still fit in the free tail of the segment's last page
        # (seen: 2,061 bytes into the 2,643 left there), which is a successful write, not a full disk.
        fill(disk)
        with RawConnection(broker.address) as conn:
            answer = parse_produce_v3(conn.request(0, 3, 5, produce_v3_body("transactions", 0, record_batch([(None, b"x" * 6000)]))))
            assert answer["error"] == 56, answer
        stored = run([BIN, "consume", "transactions", "--from-beginning", "-e", "--format", "%o\\n", "-b", broker.address], timeout=120)
        assert 0 < len(stored.stdout.split()) < total
        # Space returns: the same producer finishes without a restart of anything, every row once.
        resize(256)
        out, err = producer.communicate(timeout=300)
        assert producer.returncode == 0, err
        assert f"{total} transactions from {csv} acknowledged" in err
        everything = run([BIN, "consume", "transactions", "--from-beginning", "-e", "--format", "%h\\n", "-b", broker.address], timeout=120)
        sources = everything.stdout.split()
        assert len(sources) == total and len(set(sources)) == total
    finally:
        broker.stop(kill=True)


def test_coordinator_refuses_writes_on_a_full_disk_serves_reads_and_resumes(tiny_disk, start_zookeeper):
    from kazoo.client import KazooClient
    from kazoo.exceptions import NotReadOnlyCallError
    disk, resize = tiny_disk
    zookeeper = start_zookeeper(data_dir=os.path.join(disk, "zk"))
    client = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}", timeout=10)
    client.start(timeout=15)
    try:
        client.create("/ledger", b"kept")
        refused = None
        for i in range(200):
            try:
                client.create(f"/ledger/blob-{i}", b"x" * 500_000)
            except NotReadOnlyCallError as error:
                refused = error
                break
        assert refused is not None, "the disk never filled"
        assert zookeeper.wait_for_log("the coordinator's disk is nearly full"), zookeeper.log()[-3000:]
        # Reads, and new sessions, go on; writes are refused, not half-done.
        assert client.get("/ledger")[0] == b"kept"
        other = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}", timeout=10)
        other.start(timeout=15)
        assert other.exists("/ledger") is not None
        other.stop()
        other.close()
        with pytest.raises(NotReadOnlyCallError):
            client.set("/ledger", b"changed")
        assert client.get("/ledger")[0] == b"kept"
        # Space returns: writes are accepted again, without a restart.
        resize(256)
        deadline = time.time() + 15
        while True:
            try:
                client.set("/ledger", b"changed")
                break
            except NotReadOnlyCallError:
                assert time.time() < deadline, "writes were not accepted again"
                time.sleep(0.2)
        assert client.get("/ledger")[0] == b"changed"
        assert zookeeper.wait_for_log("write requests are accepted"), zookeeper.log()[-3000:]
        assert zookeeper.process.poll() is None
    finally:
        client.stop()
        client.close()


def allocated_beyond_size(path):
    """Bytes of disk a file holds past its size (blocks reserved ahead, rounded to its last block)."""
    status = os.stat(path)
    return status.st_blocks * 512 - status.st_size


def produce_some(address, topic):
    from interop_util import kp_create_topic, kp_producer
    kp_create_topic(address, topic)
    producer = kp_producer(address, acks=1)
    try:
        for i in range(20):
            producer.send(topic, value=b"x" * 1000 + str(i).encode(), partition=0)
        producer.flush(timeout=15)
    finally:
        producer.close()
    return os.path.join(topic + "-0", "00000000000000000000.log")


def test_segment_reservation_follows_the_budget_and_the_disk(tiny_disk, start_broker):
    """The active segment reserves blocks ahead of its end within `log.reservation.budget.bytes`: by default a
    twentieth of the log directory's free space, so a 1 MiB disk gets no reservation; 0 turns it off anywhere.
    (tiny_disk comes first so that it is unmounted after the brokers on it have stopped.)"""
    plain = start_broker()
    segment = produce_some(plain.address, "reserved")
    ahead = allocated_beyond_size(os.path.join(plain.data_dir, segment))
    if ahead < 32 * 1024:
        pytest.skip(f"no reservation on this file system (fallocate KEEP_SIZE unsupported, or under 1.3 MB free "
                    f"for the default budget): {ahead} bytes past the end")

    off = start_broker(extra=["--override", "log.reservation.budget.bytes=0"])
    segment = produce_some(off.address, "unreserved")
    assert allocated_beyond_size(os.path.join(off.data_dir, segment)) < 8192

    disk, resize = tiny_disk
    resize(1)  # 52 KB of budget: less than the smallest chunk (64 KiB)
    small = start_broker(data_dir=os.path.join(disk, "broker"))
    segment = produce_some(small.address, "small-disk")
    assert allocated_beyond_size(os.path.join(small.data_dir, segment)) < 8192
