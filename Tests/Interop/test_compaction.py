"""Log compaction (cleanup.policy=compact) against `ledgerstream broker` with real clients: confluent-kafka and kcat
write many versions per key and tombstones; once the broker's cleaner has run (seen in its log and in the partition
directory shrinking), kcat, confluent-kafka and kafka-python read the topic from the beginning and get exactly the
latest value per key, deleted keys absent (over the offset gaps and emptied batches compaction leaves), also after
the broker is killed and restarted.
"""
import glob
import os
import time

import pytest

import interop_util as u
from conftest import BIN, run
from interop_util import KCAT

pytestmark = pytest.mark.timeout(120)

KEYS = 40
VERSIONS = 15
DELETED = [f"key-{i}" for i in range(0, KEYS, 4)]  # every fourth key ends with a tombstone


def partition_bytes(data_dir, topic):
    return sum(os.path.getsize(path) for path in glob.glob(os.path.join(data_dir, f"{topic}-0", "*.log")))


def kcat_read(address, topic):
    """(offset, key, value or None) of every record kcat reads from the beginning."""
    out = run([KCAT, "-C", "-b", address, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J"], timeout=30).stdout
    return [(m["offset"], m["key"], m["payload"]) for m in u.parse_json_lines(out)]


@pytest.fixture
def compacting_broker(start_broker):
    # The cleaner looks every 200 ms; maintenance (which rolls quiet segments after segment.ms) runs as often.
    return start_broker(extra=["--override", "log.cleaner.backoff.ms=200",
                               "--override", "log.retention.check.interval.ms=200"])


def test_compacted_topic_keeps_the_latest_value_per_key(compacting_broker):
    from confluent_kafka import Producer
    from confluent_kafka.admin import NewTopic

    broker = compacting_broker
    topic = u.uniq("compacted")
    admin = u.ck_admin(broker.address)
    configs = {"cleanup.policy": "compact", "segment.bytes": "4096", "segment.ms": "300",
               "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0"}
    admin.create_topics([NewTopic(topic, 1, 1, config=configs)])[topic].result(timeout=20)

    producer = Producer({"bootstrap.servers": broker.address, "linger.ms": 5, "enable.idempotence": True})
    latest = {}
    for version in range(VERSIONS):
        for i in range(KEYS):
            key, value = f"key-{i}", f"value-{i}-{version}"
            producer.produce(topic, key=key, value=value)
            latest[key] = value
        producer.flush(20)
    # A record without a key is refused on a compacted topic (INVALID_RECORD), as by Kafka.
    errors = []
    producer.produce(topic, value="no key", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(20)
    assert errors and errors[0] is not None and errors[0].name() == "INVALID_RECORD", errors
    # Tombstones from kcat (-Z: an empty value is sent as null).
    run([KCAT, "-P", "-b", broker.address, "-t", topic, "-p", "0", "-K:", "-Z"],
        input="".join(f"{key}:\n" for key in DELETED), timeout=30)
    for key in DELETED:
        latest.pop(key)
    written = partition_bytes(broker.data_dir, topic)

    # Tombstones go at a cleaning after their delete horizon, which needs new dirty data: a steady trickle of
    # writes to one more key, as a live topic has.
    tick = 0

    def compacted():
        nonlocal tick
        tick += 1
        producer.produce(topic, key="tick", value=str(tick))
        producer.flush(10)
        records = kcat_read(broker.address, topic)
        keys = [key for _, key, _ in records if key != "tick"]
        return "cleaned log" in broker.log() and sorted(keys) == sorted(latest) and records

    u.wait_until(compacted, timeout=60, interval=0.3, message="the cleaner to leave one record per key")
    assert partition_bytes(broker.data_dir, topic) < written / 3, (partition_bytes(broker.data_dir, topic), written)
    cleaned = [line for line in broker.log().splitlines() if "cleaned log" in line]
    assert any("recordsRemoved" in line and topic in line for line in cleaned), cleaned

    def check(records, reader):
        data = [(offset, key, value) for offset, key, value in records if key != "tick"]
        assert {key: value for _, key, value in data} == latest, f"{reader}: {data}"
        assert len(data) == len(latest), f"{reader} read duplicates or tombstones: {data}"
        offsets = [offset for offset, _, _ in records]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), f"{reader}: {offsets}"

    # dump-log shows the gaps compaction left and the cleaner's checkpoint, and every batch passes its CRC check.
    dump = run([BIN, "dump-log", os.path.join(broker.data_dir, f"{topic}-0")], timeout=30).stdout
    assert "removed by compaction" in dump and "cleaner checkpoint: compacted up to offset" in dump, dump

    check(kcat_read(broker.address, topic), "kcat")
    check(ck_keyed(broker.address, topic), "confluent-kafka")
    kp = u.kp_read_all(broker.address, topic, expected=len(latest) + 1, partitions=[0])
    check([(r.offset, r.key.decode(), r.value.decode() if r.value is not None else None) for r in kp], "kafka-python")

    # Killed and restarted: the compacted segments and the cleaner checkpoint are read back.
    producer.flush(10)
    broker.restart(kill=True)
    check(kcat_read(broker.address, topic), "kcat after a restart")
    check(ck_keyed(broker.address, topic), "confluent-kafka after a restart")


def test_clients_read_over_emptied_batches(compacting_broker):
    """Batches the cleaner emptied stay as headers: an idempotent producer's last batch (its sequence state) and a
    segment's last batch (its end offset). Every client skips them and reads on."""
    from confluent_kafka import Producer
    broker = compacting_broker
    topic = u.uniq("emptied")
    # 100-byte segments: every batch is a segment of its own.
    u.kp_create_topic(broker.address, topic, configs={"cleanup.policy": "compact", "segment.bytes": "100",
                                                      "segment.ms": "300", "min.cleanable.dirty.ratio": "0.01"})
    idempotent = Producer({"bootstrap.servers": broker.address, "enable.idempotence": True})
    idempotent.produce(topic, key="a", value="from the idempotent producer")
    idempotent.flush(20)
    for version in range(3):
        run([KCAT, "-P", "-b", broker.address, "-t", topic, "-p", "0", "-K:"], input=f"a:v{version}\n", timeout=30)

    def emptied():
        dump = run([BIN, "dump-log", os.path.join(broker.data_dir, f"{topic}-0")], timeout=30).stdout
        return dump.count("count: 0 ") >= 3 and dump

    dump = u.wait_until(emptied, timeout=30, interval=0.3, message="the cleaner to empty three batches")
    assert "producerId: -1" in dump and "baseSequence: 0" in dump, dump
    want = [(3, "a", "v2")]
    assert kcat_read(broker.address, topic) == want
    assert ck_keyed(broker.address, topic) == want
    kp = u.kp_read_all(broker.address, topic, expected=1, partitions=[0])
    assert [(r.offset, r.key.decode(), r.value.decode()) for r in kp] == want

    # As Kafka: the records of a compact-only topic cannot be deleted by DeleteRecords.
    from confluent_kafka import TopicPartition, KafkaException
    admin = u.ck_admin(broker.address)  # kept referenced until the future completes
    [future] = admin.delete_records([TopicPartition(topic, 0, 2)]).values()
    with pytest.raises(KafkaException) as refused:
        future.result(timeout=20)
    assert refused.value.args[0].name() == "POLICY_VIOLATION", refused.value


def ck_keyed(address, topic):
    """(offset, key, value) of every record confluent-kafka reads from the beginning to the end."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
    consumer = Consumer({"bootstrap.servers": address, "group.id": u.uniq("ck-compact"), "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 100})
    records = []
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error() is not None:
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                break
            records.append((msg.offset(), msg.key().decode(), msg.value().decode() if msg.value() is not None else None))
        else:
            raise AssertionError(f"confluent-kafka did not reach the end of {topic}: {records}")
    finally:
        consumer.close()
    return records
