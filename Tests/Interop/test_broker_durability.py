"""Durability of `ledgerstream broker`: acknowledged records and committed group offsets survive SIGKILL and clean
restarts, including a SIGKILL in the middle of a continuous idempotent producer.

Each test has its own broker (the `broker` fixture), restarted on the same port.
"""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

import interop_util as u

pytestmark = pytest.mark.timeout(120)


def produce_acked(address, topic, count, partitions):
    """`count` records with the default (idempotent, acks=all) kafka-python producer; returns {(p, o): value}."""
    producer = u.kp_producer(address, linger_ms=5)
    futures = []
    try:
        for i in range(count):
            value = f"rec-{i}".encode()
            futures.append((value, producer.send(topic, key=str(i).encode(), value=value, partition=i % partitions)))
        producer.flush(timeout=30)
        acked = {}
        for value, future in futures:
            meta = future.get(timeout=1)
            acked[(meta.partition, meta.offset)] = value
    finally:
        producer.close()
    assert len(acked) == count
    return acked


def commit_offsets(address, group, topic, offsets):
    """Commits {partition: offset} for `group` as a simple (assign-mode) consumer, with metadata."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    consumer = KafkaConsumer(bootstrap_servers=address, group_id=group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in offsets]
        consumer.assign(tps)
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, f"meta-{p}", -1) for p, o in offsets.items()})
    finally:
        consumer.close()


def group_offsets(address, group):
    admin = u.kp_admin(address)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {(tp.topic, tp.partition): (om.offset, om.metadata) for tp, om in offsets.items()}


def read_everything(address, topic, partitions):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=address)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = consumer.end_offsets(tps)
    finally:
        consumer.close()
    total = sum(ends.values())
    records = u.kp_read_all(address, topic, total, partitions=range(partitions), timeout=30)
    return {tp.partition: end for tp, end in ends.items()}, records


def _group_member_commit(address, topic, group, count):
    """A real group member (subscribe) consumes `count` records and commits them."""
    member = u.KafkaPythonMember("durable-member", address, group, topic)
    member.start()
    try:
        u.wait_until(lambda: len(member.records) >= count, timeout=20, message="group member consumes")
        u.wait_until(lambda: sum(o for (t, _), (o, _) in group_offsets(address, group).items() if t == topic) == count,
                     timeout=10, message="group member commits")
    finally:
        member.stop()
    assert member.error is None and member.commit_errors == [], (member.error, member.commit_errors)


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
def test_acked_records_and_offsets_survive_restart(broker, kill):
    topic, group, simple_group = u.uniq("dur"), u.uniq("g"), u.uniq("simple")
    u.kp_create_topic(broker.address, topic, partitions=3, configs={"retention.ms": "86400000"})
    acked = produce_acked(broker.address, topic, 300, 3)
    _group_member_commit(broker.address, topic, group, 300)
    commit_offsets(broker.address, simple_group, topic, {0: 10, 1: 20, 2: 30})
    before_member = group_offsets(broker.address, group)
    before_simple = group_offsets(broker.address, simple_group)
    assert before_simple == {(topic, 0): (10, "meta-0"), (topic, 1): (20, "meta-1"), (topic, 2): (30, "meta-2")}

    cluster_id = u.ck_admin(broker.address).list_topics(timeout=10).cluster_id
    code = broker.stop(kill=kill)
    stop_log = broker.log()
    if kill:
        assert code == -signal.SIGKILL
    else:
        assert code == 0, f"SIGTERM exit code {code}\n{stop_log[-3000:]}"
        assert "stopped cleanly" in stop_log, f"no 'stopped cleanly' in the broker log:\n{stop_log[-3000:]}"
    broker.restart()

    ends, records = read_everything(broker.address, topic, 3)
    assert ends == {0: 100, 1: 100, 2: 100}, ends
    got = {(r.partition, r.offset): r.value for r in records}
    assert len(records) == 300 and got == acked, \
        f"after restart read {len(records)} records; missing {sorted(set(acked) - set(got))[:10]}"
    assert group_offsets(broker.address, group) == before_member
    assert group_offsets(broker.address, simple_group) == before_simple
    assert u.ck_admin(broker.address).list_topics(timeout=10).cluster_id == cluster_id, "cluster id changed"

    # Topic config survived too, and the log continues where it was (no offset reuse, new producer id accepted).
    from kafka.admin import ConfigResource, ConfigResourceType
    admin = u.kp_admin(broker.address)
    try:
        cfg = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"][topic]
    finally:
        admin.close()
    assert cfg["retention.ms"]["value"] == "86400000"
    more = produce_acked(broker.address, topic, 3, 3)
    assert sorted(more) == [(0, 100), (1, 100), (2, 100)]


PRODUCER = textwrap.dedent("""
    import sys, time
    from confluent_kafka import Producer
    address, topic = sys.argv[1:3]
    p = Producer({"bootstrap.servers": address, "acks": "all", "enable.idempotence": True, "linger.ms": 2,
                  "message.timeout.ms": 60000})
    out = sys.stdout
    def on_delivery(err, msg):
        if err is None:
            out.write("ACK %d %d %s\\n" % (msg.partition(), msg.offset(), msg.value().decode()))
        else:
            out.write("ERR %s\\n" % err)
        out.flush()
    i = 0
    while True:
        try:
            p.produce(topic, value=("v%d" % i).encode(), partition=i % 2, on_delivery=on_delivery)
            i += 1
        except BufferError:
            pass
        p.poll(0.0005)
""")


def test_continuous_produce_sigkill_loses_no_acked_record(broker, processes):
    topic = u.uniq("cont")
    u.kp_create_topic(broker.address, topic, partitions=2)
    stderr = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-c", PRODUCER, broker.address, topic],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    processes.append(proc)
    acks = []

    def reader():
        for line in proc.stdout:
            if line.startswith("ACK ") and line.endswith("\n"):
                _, p, o, v = line.split()
                acks.append((int(p), int(o), v))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        u.wait_until(lambda: len(acks) >= 2000, timeout=40, interval=0.02,
                     message="the producer to get 2000 acks")
    except AssertionError:
        proc.kill()
        stderr.seek(0)
        raise AssertionError(f"producer got {len(acks)} acks; stderr: {stderr.read()[-2000:]}")
    broker.stop(kill=True)  # mid-stream: the producer keeps sending into a dead socket
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    thread.join(5)
    acked = list(acks)
    assert len(acked) >= 2000

    broker.restart()
    ends, records = read_everything(broker.address, topic, 2)
    got = {(r.partition, r.offset): r.value.decode() for r in records}
    missing = [(p, o, v) for p, o, v in acked if got.get((p, o)) != v]
    assert not missing, (
        f"{len(missing)} of {len(acked)} acknowledged records are missing or different after kill -9; first: "
        f"{[(m, got.get(m[:2])) for m in missing[:5]]}; log end offsets {ends}")
    for p in range(2):
        top = max((o for q, o, _ in acked if q == p), default=-1)
        assert ends[p] >= top + 1
        # Offsets are dense and values unique: nothing was written twice.
        offsets = sorted(o for q, o in got if q == p)
        assert offsets == list(range(ends[p])), f"partition {p}: offsets not dense"
    values = list(got.values())
    assert len(values) == len(set(values)), "a record was stored twice"


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
def test_idempotent_producer_state_survives_restart(broker, kill):
    """After a restart, a retry of a batch acknowledged before the crash is still recognised as a duplicate, and the
    producer's next sequence is accepted (Kafka rebuilds producer state from snapshots and the log tail)."""
    topic = u.uniq("idem-restart")
    u.kp_create_topic(broker.address, topic, partitions=1)
    with u.RawConnection(broker.address) as conn:
        pid, epoch = u.init_producer_id_v0(conn)
        first = u.record_batch([(b"k", b"0"), (b"k", b"1")], pid, epoch, base_sequence=0)
        answer = u.parse_produce_v3(conn.request(0, 3, 1, u.produce_v3_body(topic, 0, first)))
        assert (answer["error"], answer["base_offset"]) == (0, 0), answer
    broker.restart(kill=kill)
    with u.RawConnection(broker.address) as conn:
        retry = u.parse_produce_v3(conn.request(0, 3, 2, u.produce_v3_body(topic, 0, first)))
        assert retry["error"] in (0, 46) and (retry["error"] == 46 or retry["base_offset"] == 0), \
            f"retry of a pre-restart batch answered {retry} (duplicate not detected)"
        nxt = u.parse_produce_v3(conn.request(0, 3, 3, u.produce_v3_body(
            topic, 0, u.record_batch([(b"k", b"2")], pid, epoch, base_sequence=2))))
        assert (nxt["error"], nxt["base_offset"]) == (0, 2), f"next sequence after restart answered {nxt}"
        # A brand-new producer id is never one handed out before the restart.
        new_pid, _ = u.init_producer_id_v0(conn, correlation_id=4)
        assert new_pid != pid
    values = [r.value for r in u.kp_read_all(broker.address, topic, 3, partitions=[0])]
    assert values == [b"0", b"1", b"2"]


def test_retention_deletes_old_segments_and_consumers_follow_log_start(start_broker):
    """Time retention removes whole old segments; ListOffsets earliest moves, the log end does not, and a consumer
    starting from the beginning reads exactly the retained records."""
    from kafka import KafkaConsumer, TopicPartition
    server = start_broker(extra=["--override", "log.retention.check.interval.ms=300"])
    topic = u.uniq("ret")
    u.kp_create_topic(server.address, topic, partitions=1, configs={"segment.bytes": "1024", "retention.ms": "1500"})
    producer = u.kp_producer(server.address, acks=1)
    try:
        old_ts = int(time.time() * 1000) - 600_000  # ten minutes old: expired right away
        for i in range(30):
            producer.send(topic, f"old-{i:02d}".encode() * 10, partition=0, timestamp_ms=old_ts).get(timeout=15)
        for i in range(3):
            producer.send(topic, f"new-{i}".encode(), partition=0).get(timeout=15)
    finally:
        producer.close()
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=server.address)
    try:
        start = u.wait_until(lambda: consumer.beginning_offsets([tp])[tp], timeout=10,
                             message="retention to move the log start offset")
        # Retention deletes one expired segment after another over a few check intervals: read once it settled.
        deadline = time.time() + 10
        while time.time() < deadline:
            time.sleep(1.0)
            settled = consumer.beginning_offsets([tp])[tp]
            if settled == start:
                break
            start = settled
        end = consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()
    assert end == 33
    assert 0 < start <= 30, f"log start {start}: retention must keep the active segment with the new records"
    records = u.kp_read_all(server.address, topic, end - start, partitions=[0])
    assert [r.offset for r in records] == list(range(start, end))
    assert [r.value for r in records][-3:] == [b"new-0", b"new-1", b"new-2"]


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
def test_connected_clients_carry_on_after_broker_restart(broker, kill):
    """A long-lived idempotent producer (kafka-python) and a group member (confluent-kafka) reconnect after the
    broker restarts on the same port: the producer's next records are accepted (same producer id, next sequence)
    and the member receives exactly the new records (its commits survived; nothing is re-delivered)."""
    topic, group = u.uniq("carry"), u.uniq("g")
    u.kp_create_topic(broker.address, topic, partitions=2)
    producer = u.kp_producer(broker.address, retries=2147483647, reconnect_backoff_max_ms=500)
    member = u.ConfluentMember("carry-member", broker.address, group, topic,
                               **{"reconnect.backoff.max.ms": 500})
    member.start()
    try:
        u.wait_until(lambda: member.assignment == {0, 1}, timeout=20, message="member assignment")
        for i in range(10):
            producer.send(topic, f"before-{i}".encode(), partition=i % 2)
        producer.flush(timeout=15)
        u.wait_until(lambda: len(member.records) >= 10, timeout=15, message="member consumes the first 10")
        u.wait_until(lambda: u.committed_offsets(broker.address, group, topic) == {0: 5, 1: 5}, timeout=10,
                     message="member commits the first 10")

        broker.restart(kill=kill)
        restarted = time.monotonic()
        futures = [producer.send(topic, f"after-{i}".encode(), partition=i % 2) for i in range(10)]
        producer.flush(timeout=45)
        offsets = sorted((f.get(timeout=1).partition, f.get(timeout=1).offset) for f in futures)
        assert offsets == sorted([(0, o) for o in range(5, 10)] + [(1, o) for o in range(5, 10)]), offsets
        u.wait_until(lambda: len(member.records) >= 20, timeout=45,
                     message="member to consume the records produced after the restart")
        recovered = time.monotonic() - restarted
        time.sleep(0.5)
        values = member.values()
        assert sorted(values) == sorted([f"before-{i}" for i in range(10)] + [f"after-{i}" for i in range(10)]), \
            f"member got {len(values)} records: {sorted(values)}"
        print(f"[measure] clients recovered {recovered:.2f}s after the broker restart ({'kill -9' if kill else 'SIGTERM'})")
    finally:
        member.stop()
        producer.close()
    assert member.error is None, repr(member.error)


def test_second_broker_on_same_data_dir_is_refused(broker):
    """Two brokers must never write one log directory (Kafka locks it): the second exits non-zero with a clear
    message, and the first keeps serving its data."""
    from conftest import BIN, broker_args
    topic = u.uniq("lock")
    acked = produce_acked(broker.address, topic, 20, 1)
    started = time.monotonic()
    result = subprocess.run([BIN] + broker_args(broker.data_dir, port=0), capture_output=True, text=True, timeout=20)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"a second broker started on a data directory in use:\n{output}"
    assert "listening on" not in result.stdout, output
    assert broker.data_dir in output, f"the error does not name the data directory:\n{output}"
    assert elapsed < 10
    more = produce_acked(broker.address, topic, 5, 1)
    assert sorted(o for _, o in more) == list(range(20, 25))
    _, records = read_everything(broker.address, topic, 1)
    assert len(records) == 25 and {(r.partition, r.offset): r.value for r in records[:20]} == acked
