"""Compressed record batches (gzip, snappy, lz4, zstd) between real clients and ledgerstream.

* Batches compressed by real producers (kcat/librdkafka 2.0.2, confluent-kafka/librdkafka 2.16, kafka-python's own
  gzip) are stored as sent and read back record for record by `ledgerstream consume` and by the SQLite sink.
* `ledgerstream produce --compression` writes batches that kcat and confluent-kafka read back.
* The log on disk is inspected with `ledgerstream dump-log`, so a client that silently falls back to uncompressed
  batches fails the test (librdkafka < 2.11.1 does that unless the broker's Produce versions start at 0).
* A compressed batch whose payload does not decompress into records is refused with CORRUPT_MESSAGE, as Kafka does.
"""
import collections
import gzip
import json
import os
import re
import sqlite3
import subprocess

import pytest

import interop_util as u
from interop_util import RawConnection
from conftest import BIN, REPO

pytestmark = pytest.mark.timeout(240)

CODECS = ["gzip", "snappy", "lz4", "zstd"]
PAD = "x" * 120  # repetitive, so every codec actually shrinks the batch


def ls(*args, input=None, timeout=60):
    result = subprocess.run([BIN, *args], capture_output=True, text=True, input=input, timeout=timeout)
    assert result.returncode == 0, f"ledgerstream {' '.join(args)} -> {result.returncode}\n{result.stderr[-2000:]}"
    return result


def codecs_on_disk(data_dir, topic):
    """codec -> number of batches, over every partition of `topic`."""
    counts = collections.Counter()
    for name in os.listdir(data_dir):
        if name.rsplit("-", 1)[0] == topic:
            dump = ls("dump-log", os.path.join(data_dir, name)).stdout
            counts.update(re.findall(r"compression: (\w+)", dump))
    return counts


def consume_all(address, topic, expected):
    out = ls("consume", topic, "-b", address, "--from-beginning", "--exit-at-end", "--format", "%k|%s\n").stdout
    lines = out.splitlines()
    assert len(lines) == expected, f"expected {expected} records, `consume` printed {len(lines)}"
    return lines


def test_batches_compressed_by_real_producers_are_read_by_ledgerstream(module_broker):
    address = module_broker.address
    topic = u.uniq("compressed-in")
    ls("topic", "create", topic, "--partitions", "2", "-b", address)
    expected = []
    for codec in CODECS:
        lines = [f"kcat-{codec}-{i % 5}:kcat-{codec}-{i} {PAD}" for i in range(400)]
        subprocess.run(["kcat", "-P", "-b", address, "-t", topic, "-z", codec, "-K:"],
                       input="\n".join(lines) + "\n", text=True, check=True, timeout=60)
        expected += [line.replace(":", "|", 1) for line in lines]

    from confluent_kafka import Producer
    for codec in CODECS:
        producer = Producer({"bootstrap.servers": address, "compression.type": codec, "linger.ms": 20})
        for i in range(400):
            producer.produce(topic, key=f"ck-{codec}-{i % 3}", value=f"ck-{codec}-{i} {PAD}")
            expected.append(f"ck-{codec}-{i % 3}|ck-{codec}-{i} {PAD}")
        assert producer.flush(30) == 0

    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=address, compression_type="gzip", linger_ms=20)
    for i in range(400):
        producer.send(topic, key=b"kp", value=f"kp-gzip-{i} {PAD}".encode())
        expected.append(f"kp|kp-gzip-{i} {PAD}")
    producer.flush(30)
    producer.close()

    on_disk = codecs_on_disk(module_broker.data_dir, topic)
    for codec in CODECS:
        assert on_disk[codec] >= 2, f"no {codec} batches from kcat and confluent-kafka on disk: {dict(on_disk)}"
    lines = consume_all(address, topic, len(expected))
    assert sorted(lines) == sorted(expected)


@pytest.mark.parametrize("codec", ["gzip", "lz4", "zstd"])
def test_ledgerstream_produce_compression_is_read_by_real_consumers(module_broker, codec):
    address = module_broker.address
    topic = u.uniq(f"compressed-out-{codec}")
    ls("topic", "create", topic, "--partitions", "1", "-b", address)
    values = [f"{codec}-{i} {PAD}" for i in range(3000)]
    ls("produce", topic, "-b", address, "--compression", codec, "--key", "acct", input="\n".join(values) + "\n")
    on_disk = codecs_on_disk(module_broker.data_dir, topic)
    assert on_disk[codec] >= 1 and on_disk.get("none", 0) == 0, dict(on_disk)

    kcat = subprocess.run(["kcat", "-C", "-b", address, "-t", topic, "-e", "-q", "-f", "%k|%s\n"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert kcat.stdout.splitlines() == [f"acct|{v}" for v in values]

    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": address, "group.id": u.uniq("g"), "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        got = []
        while len(got) < len(values):
            message = consumer.poll(10)
            assert message is not None, f"confluent-kafka read {len(got)} of {len(values)}"
            assert message.error() is None, message.error()
            got.append(message.value().decode())
        assert got == values
    finally:
        consumer.close()


def test_compressed_transactions_reach_the_sqlite_sink(module_broker, tmp_path):
    address = module_broker.address
    topic = u.uniq("compressed-ledger")
    ls("topic", "create", topic, "--partitions", "3", "-b", address)
    csv = os.path.join(REPO, "data", "client_transactions.csv")
    rows = sum(1 for _ in open(csv, encoding="utf-8-sig")) - 1
    ls("produce", "--csv", csv, "--topic", topic, "--compression", "zstd", "-b", address)
    assert codecs_on_disk(module_broker.data_dir, topic)["zstd"] >= 1
    db = str(tmp_path / "ledger.db")
    ls("consume", topic, "--sink", "sqlite", "--db", db, "--exit-at-end", "-b", address)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == rows


def test_a_compressed_batch_that_does_not_decompress_is_refused(module_broker):
    topic = u.uniq("compressed-bad")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    good = u.record_batch([(b"k", b"v")])
    # Same batch, attributes = gzip, and a payload that is gzip of bytes that are not records / not gzip at all.
    for payload in (gzip.compress(b"\xff" * 64), b"not gzip at all, but a correct CRC"):
        after_crc = b"\x00\x01" + good[23:61] + payload
        crc = u.crc32c(after_crc)
        batch = good[:8] + u.i32(len(after_crc) + 9) + good[12:17] + crc.to_bytes(4, "big") + after_crc
        with RawConnection(module_broker.address) as conn:
            answer = u.parse_produce_v3(conn.request(0, 3, 7, u.produce_v3_body(topic, 0, batch)))
        assert answer["error"] == 2, f"want CORRUPT_MESSAGE (2) for an undecodable gzip batch, got {answer}"
    with RawConnection(module_broker.address) as conn:
        ok = u.parse_produce_v3(conn.request(0, 3, 8, u.produce_v3_body(topic, 0, good)))
    assert (ok["error"], ok["base_offset"]) == (0, 0), f"nothing may have been appended before: {ok}"
