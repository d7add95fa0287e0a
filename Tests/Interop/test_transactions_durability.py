"""Durability of Kafka transactions in `ledgerstream broker`: the coordinator's decisions survive kill -9 and are
carried out at restart (markers written, group offsets settled), open transactions survive restarts and still time
out, and under kills at random moments every transaction stays atomic for read_committed consumers.

Crashes at exact points use the broker's crash-injection hook: started with LEDGERSTREAM_CRASH_AT=NAME:N it SIGKILLs
itself the Nth time it passes NAME (`transaction-decided`: commit/abort durably decided, no marker yet;
`transaction-marker`: after each partition's marker; `transaction-offsets`: after a group's transactional offsets were
settled). Each test has its own broker, restarted on the same port and data directory. Transactional clients run in
subprocesses (confluent-kafka 2.16.1), so a client stuck on a dead broker is killed by PID, never waited for.
"""
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import interop_util as u

pytestmark = pytest.mark.timeout(90)

CRASH_ENV = "LEDGERSTREAM_CRASH_AT"


# ---------------------------------------------------------------------------------------------------------------------
# Helpers

@contextlib.contextmanager
def crash_at(point):
    """Sets LEDGERSTREAM_CRASH_AT while a broker is started (Server.start spawns it with this process's environment),
    and removes it right after so no other process inherits it. point=None: no crash point."""
    if point is None:
        yield
        return
    assert CRASH_ENV not in os.environ
    os.environ[CRASH_ENV] = point
    try:
        yield
    finally:
        del os.environ[CRASH_ENV]


def restart(server, crash=None, kill=True):
    """Restarts `server` on the same port and data directory (after SIGKILL, or SIGTERM), optionally armed."""
    with crash_at(crash):
        return server.restart(kill=kill)


def wait_crashed(server, point, timeout=20):
    """The broker must kill itself (SIGKILL) at the crash point within `timeout`."""
    try:
        code = server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the broker did not crash at {point} within {timeout}s:\n{u.log_excerpt(server)}")
    assert code == -signal.SIGKILL, f"broker exited {code}, expected SIGKILL at {point}:\n{u.log_excerpt(server)}"


CLIENT = textwrap.dedent("""
    import json, os, sys, time
    from confluent_kafka import Consumer, Producer, KafkaException
    args = json.loads(sys.argv[1])
    out = sys.stdout

    def say(*words):
        out.write(" ".join(str(w) for w in words) + "\\n")
        out.flush()

    producer = Producer({"bootstrap.servers": args["address"], "transactional.id": args["txn_id"], "linger.ms": 2,
                         "transaction.timeout.ms": args.get("txn_timeout_ms", 60000),
                         "reconnect.backoff.max.ms": 200})
    try:
        producer.init_transactions(20)
        mode = args["mode"]
        if mode == "once":
            producer.begin_transaction()
            for topic, partition, value in args["records"]:
                producer.produce(topic, value=value.encode(), partition=partition)
            assert producer.flush(15) == 0
            say("FLUSHED")
            if args["commit"]:
                producer.commit_transaction(30)
            else:
                producer.abort_transaction(30)
            say("DONE")
        elif mode == "transform":
            consumer = Consumer({"bootstrap.servers": args["address"], "group.id": args["group"],
                                 "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                 "fetch.wait.max.ms": 100})
            consumer.subscribe([args["src"]])
            producer.begin_transaction()
            got = 0
            while got < args["expected"]:
                msg = consumer.poll(0.2)
                if msg is None or msg.error() is not None:
                    continue
                producer.produce(args["dst"], value=msg.value().upper(), partition=msg.partition())
                got += 1
            positions = consumer.position(consumer.assignment())
            say("POSITIONS", json.dumps({tp.partition: tp.offset for tp in positions}))
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 15)
            producer.commit_transaction(30)
            say("DONE")
        elif mode == "loop":
            # Transaction n writes "n:0", "n:1", "n:2" over both partitions; even n commit, odd n abort (flushed first
            # so the aborted records are in the log).
            n = args["first"]
            while True:
                producer.begin_transaction()
                for i in range(3):
                    producer.produce(args["topic"], value=f"{n}:{i}".encode(), partition=(n + i) % 2)
                assert producer.flush(15) == 0
                if n % 2 == 0:
                    producer.commit_transaction(30)
                    say("COMMITTED", n)
                else:
                    producer.abort_transaction(30)
                    say("ABORTED", n)
                n += 1
        else:
            raise ValueError(mode)
    except Exception as exc:
        say("ERROR", repr(exc))
    os._exit(0)  # never wait for librdkafka's teardown against a dead broker
""")


class Client:
    """A transactional client subprocess (CLIENT above); its output lines are collected by a thread."""

    def __init__(self, processes, **args):
        self.proc = subprocess.Popen([sys.executable, "-c", CLIENT, json.dumps(args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        processes.append(self.proc)
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def words(self, first):
        return [line.split()[1:] for line in list(self.lines) if line.split()[:1] == [first]]

    def wait_for(self, first, timeout=20):
        return u.wait_until(lambda: self.words(first), timeout=timeout,
                            message=f"client line {first} (output so far: {self.lines[-10:]})")

    def finish(self, timeout=30):
        self.proc.wait(timeout=timeout)
        self.thread.join(5)
        return list(self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.thread.join(5)
        return list(self.lines)


def assert_stable_at_end(address, topic, partitions):
    """No transaction is open on the partitions: LSO (read_committed latest) == log end (read_uncommitted latest)."""
    committed = u.end_offsets(address, topic, partitions, "read_committed")
    uncommitted = u.end_offsets(address, topic, partitions, "read_uncommitted")
    assert committed == uncommitted, f"LSO {committed} != log end {uncommitted}: a transaction is still open"
    return committed


def produce_plain(address, topic, values_by_partition):
    producer = u.kp_producer(address)
    try:
        for p, values in values_by_partition.items():
            for v in values:
                producer.send(topic, v.encode(), partition=p)
        producer.flush(timeout=15)
    finally:
        producer.close()


# ---------------------------------------------------------------------------------------------------------------------
# 11. kill -9 at exact points of a commit / abort

def test_kill_between_markers_of_a_commit(start_broker, processes):
    """The broker dies after writing the 2nd of 4 commit markers. After a normal restart the decided commit is
    finished: read_committed sees every record of the transaction on every partition, nothing is left open, and
    DescribeTransactions says CompleteCommit."""
    with crash_at("transaction-marker:2"):
        server = start_broker()
    topic, txn_id = u.uniq("crash-commit"), u.uniq("tid")
    parts = [0, 1, 2, 3]
    u.kp_create_topic(server.address, topic, partitions=4)
    records = [(topic, p, f"v-{p}-{i}") for p in parts for i in range(3)]
    client = Client(processes, mode="once", address=server.address, txn_id=txn_id, records=records, commit=True)
    client.wait_for("FLUSHED")
    wait_crashed(server, "transaction-marker:2")
    client.kill()
    server.restart()

    committed, eof = u.ck_read_to_end(server.address, topic, parts)
    assert committed == {p: [(i, f"v-{p}-{i}") for i in range(3)] for p in parts}, \
        f"after the restart read_committed sees {committed} (the decision was commit)"
    assert assert_stable_at_end(server.address, topic, parts) == eof, eof
    desc = u.describe_transaction(server.address, txn_id)
    assert (desc.state, desc.topic_partitions) == ("CompleteCommit", set()), desc


def test_kill_after_abort_decided(start_broker, processes):
    """The broker dies right after an abort was durably decided, before any marker. After the restart the abort is
    finished: read_committed sees none of the records (and is not blocked: LSO == log end), read_uncommitted sees all
    of them, DescribeTransactions says CompleteAbort."""
    with crash_at("transaction-decided:1"):
        server = start_broker()
    topic, txn_id = u.uniq("crash-abort"), u.uniq("tid")
    parts = [0, 1, 2, 3]
    u.kp_create_topic(server.address, topic, partitions=4)
    produce_plain(server.address, topic, {p: [f"before-{p}"] for p in parts})      # offset 0 everywhere
    records = [(topic, p, f"v-{p}-{i}") for p in parts for i in range(3)]          # offsets 1-3
    client = Client(processes, mode="once", address=server.address, txn_id=txn_id, records=records, commit=False)
    client.wait_for("FLUSHED")
    wait_crashed(server, "transaction-decided:1")
    client.kill()
    server.restart()

    ends = assert_stable_at_end(server.address, topic, parts)
    assert ends == {p: 5 for p in parts}, f"expected data 0-3 + one abort marker per partition, log ends {ends}"
    committed, eof = u.ck_read_to_end(server.address, topic, parts)
    assert committed == {p: [(0, f"before-{p}")] for p in parts} and eof == ends, (committed, eof)
    uncommitted, _ = u.ck_read_to_end(server.address, topic, parts, "read_uncommitted")
    assert uncommitted == {p: [(0, f"before-{p}")] + [(1 + i, f"v-{p}-{i}") for i in range(3)] for p in parts}
    desc = u.describe_transaction(server.address, txn_id)
    assert desc.state == "CompleteAbort", desc


def test_kill_after_transactional_offsets_settled(start_broker, processes):
    """consume-transform-produce commit; the broker dies after the group's transactional offsets were settled but
    before the transaction was marked complete. After the restart the group's committed offsets are the
    transaction's, the output is visible read_committed, and the transaction is CompleteCommit."""
    with crash_at("transaction-offsets:1"):
        server = start_broker()
    src, dst, group, txn_id = u.uniq("crash-src"), u.uniq("crash-dst"), u.uniq("crash-g"), u.uniq("tid")
    u.kp_create_topic(server.address, src, partitions=2)
    u.kp_create_topic(server.address, dst, partitions=2)
    produce_plain(server.address, src, {p: [f"in-{p}-{i}" for i in range(6)] for p in (0, 1)})
    client = Client(processes, mode="transform", address=server.address, txn_id=txn_id, group=group, src=src,
                    dst=dst, expected=12)
    positions = json.loads(" ".join(client.wait_for("POSITIONS")[0]))
    assert positions == {"0": 6, "1": 6}, positions
    wait_crashed(server, "transaction-offsets:1")
    client.kill()
    server.restart()

    assert u.committed_offsets(server.address, group, src) == {0: 6, 1: 6}
    output, eof = u.ck_read_to_end(server.address, dst, [0, 1])
    assert output == {p: [(i, f"IN-{p}-{i}") for i in range(6)] for p in (0, 1)}, output
    assert assert_stable_at_end(server.address, dst, [0, 1]) == eof
    assert u.describe_transaction(server.address, txn_id).state == "CompleteCommit"


# ---------------------------------------------------------------------------------------------------------------------
# 12. kill -9 at random moments of a stream of transactions

def test_transactions_atomic_across_random_kills(start_broker, processes):
    """A producer runs transaction after transaction (3 records over 2 partitions each; even numbers commit, odd
    ones abort) while the broker is killed: once from outside at a random moment, then twice by the crash hook at a
    random marker / decision. Each round a new producer instance with the same transactional.id continues (its
    init_transactions settles what the previous one left). In the end, read_committed shows every transaction
    entirely or not at all, never an aborted one, every transaction the client saw committed, and no transaction is
    left open (LSO == log end)."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    server = start_broker()
    topic, txn_id = u.uniq("chaos"), u.uniq("tid")
    u.kp_create_topic(server.address, topic, partitions=2)
    acknowledged = {}  # n -> "COMMITTED" / "ABORTED", as reported by the client
    rounds = [None, f"transaction-marker:{rng.randint(1, 20)}", f"transaction-decided:{rng.randint(1, 10)}"]
    for number, crash in enumerate(rounds):
        if crash is not None:
            restart(server, crash=crash)
        client = Client(processes, mode="loop", address=server.address, txn_id=txn_id, topic=topic,
                        first=number * 10000)
        if crash is None:
            wanted = rng.randint(3, 12)
            u.wait_until(lambda: len(client.words("COMMITTED")) + len(client.words("ABORTED")) >= wanted, timeout=30,
                         message=f"{wanted} transactions (seed {seed}, output {client.lines[-5:]})")
            time.sleep(rng.uniform(0, 0.05))
            server.stop(kill=True)
        else:
            wait_crashed(server, crash, timeout=30)
        lines = client.kill()
        for line in lines:
            kind, _, n = line.partition(" ")
            if kind in ("COMMITTED", "ABORTED"):
                acknowledged[int(n)] = kind
    restart(server)
    # A last instance settles the leftover of the previous one (fences and aborts it, or waits for its completion).
    settle = Client(processes, mode="once", address=server.address, txn_id=txn_id, records=[], commit=True)
    assert settle.finish() == ["FLUSHED", "DONE"], f"seed {seed}: {settle.lines}"

    ends = assert_stable_at_end(server.address, topic, [0, 1])
    committed, eof = u.ck_read_to_end(server.address, topic, [0, 1])
    uncommitted, _ = u.ck_read_to_end(server.address, topic, [0, 1], "read_uncommitted")
    assert eof == ends

    def by_txn(values):
        out = {}
        for p, recs in values.items():
            for _, v in recs:
                n, i = v.split(":")
                out.setdefault(int(n), []).append((p, int(i)))
        return out

    visible, written = by_txn(committed), by_txn(uncommitted)
    expected_parts = lambda n: sorted(((n + i) % 2, i) for i in range(3))
    context = f"seed {seed}, crash points {rounds}, acknowledged {sorted(acknowledged.items())}"
    partial = {n: recs for n, recs in visible.items() if sorted(recs) != expected_parts(n)}
    assert not partial, f"transactions partly visible read_committed: {partial} ({context})"
    aborted_visible = sorted(n for n in visible if n % 2)
    assert not aborted_visible, f"aborted transactions visible read_committed: {aborted_visible} ({context})"
    lost = sorted(n for n, kind in acknowledged.items() if kind == "COMMITTED" and n not in visible)
    assert not lost, f"acknowledged commits not visible: {lost} ({context})"
    assert set(visible) <= set(written)
    assert any(k == "COMMITTED" for k in acknowledged.values()) and any(k == "ABORTED" for k in acknowledged.values())
    print(f"[measure] {len(acknowledged)} transactions acknowledged, {len(visible)} visible, {len(written)} written "
          f"({context})")
    # Order within a partition is the transaction order.
    for p, recs in committed.items():
        numbers = [int(v.split(":")[0]) for _, v in recs]
        assert numbers == sorted(numbers), f"partition {p} out of order: {numbers} ({context})"


# ---------------------------------------------------------------------------------------------------------------------
# 13. An open transaction across a restart

@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_open_transaction_survives_restart_then_times_out(start_broker, processes, kill):
    """A transaction left open (transaction.timeout.ms=2500) stays open across a restart: same producer id and epoch,
    Ongoing, the LSO still held at its first offset. Then it times out after the restart: aborted with the epoch
    bumped, the LSO released, its records never visible read_committed."""
    from confluent_kafka import KafkaException
    server = start_broker()
    topic, txn_id = u.uniq("open-restart"), u.uniq("tid")
    u.kp_create_topic(server.address, topic, partitions=1)
    produce_plain(server.address, topic, {0: ["before"]})                             # offset 0
    producer = u.ck_txn_producer(server.address, txn_id, **{"transaction.timeout.ms": 2500})
    producer.init_transactions(15)
    producer.begin_transaction()
    for i in range(2):
        producer.produce(topic, value=f"open-{i}".encode(), partition=0)              # offsets 1, 2
    assert producer.flush(15) == 0
    produce_plain(server.address, topic, {0: ["after"]})                              # offset 3
    before = u.describe_transaction(server.address, txn_id)
    assert before.state == "Ongoing", before

    server.restart(kill=kill)
    during = u.describe_transaction(server.address, txn_id)
    elapsed_ms = time.time() * 1000 - before.transaction_start_time_ms
    assert elapsed_ms < 2000, f"the restart took too long to check the open transaction ({elapsed_ms:.0f} ms)"
    assert during == before, f"open transaction changed across the restart: {before} -> {during}"
    assert u.end_offsets(server.address, topic, [0], "read_committed") == {0: 1}, "LSO not held after the restart"
    assert u.end_offsets(server.address, topic, [0], "read_uncommitted") == {0: 4}

    aborted = u.wait_until(lambda: (d := u.describe_transaction(server.address, txn_id)).state == "CompleteAbort" and d,
                           timeout=8, message="the transaction to time out after the restart")
    aborted_after_ms = time.time() * 1000 - before.transaction_start_time_ms
    assert aborted_after_ms >= 2400, f"aborted {aborted_after_ms:.0f} ms after its start, timeout is 2500 ms"
    assert (aborted.producer_id, aborted.producer_epoch) == (before.producer_id, before.producer_epoch + 1), aborted
    assert assert_stable_at_end(server.address, topic, [0]) == {0: 5}
    committed, eof = u.ck_read_to_end(server.address, topic, [0])
    assert committed == {0: [(0, "before"), (3, "after")]} and eof == {0: 5}, (committed, eof)
    with pytest.raises(KafkaException) as excinfo:
        producer.commit_transaction(10)
    assert excinfo.value.args[0].fatal(), excinfo.value.args[0]
    try:
        producer.close()
    except KafkaException:
        pass
