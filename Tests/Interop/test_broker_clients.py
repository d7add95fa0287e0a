"""Metadata, produce/consume and ListOffsets against `ledgerstream broker` with real clients: kcat (librdkafka 2.0.2 and
2.16), kafka-python 3.0.12, confluent-kafka 2.16.1 and aiokafka 0.14.0.

All tests share one broker (module scope); each uses its own topics.
"""
import asyncio
import json
import threading
import time

import pytest

from conftest import run
import interop_util as u
from interop_util import KCAT

pytestmark = pytest.mark.timeout(90)

KCAT_VARIANTS = ["system", "2.16"]


@pytest.fixture(params=KCAT_VARIANTS)
def kcat_env(request):
    """kcat linked to the system librdkafka (2.0.2) or, via LD_LIBRARY_PATH, to the confluent-kafka wheel's 2.16."""
    if request.param == "2.16" and not u.librdkafka_216_dir():
        pytest.skip("confluent_kafka.libs (librdkafka 2.16 bundled with the confluent-kafka wheel) not found")
    env = u.kcat_env(request.param)
    version = u.kcat_librdkafka_version(env)
    if request.param == "2.16":
        assert version and version.startswith("2.16"), f"kcat did not load librdkafka 2.16 (got {version})"
    return env


# ---------------------------------------------------------------------------------------------------------------------
# 1. Metadata

def test_kcat_metadata_json(module_broker, kcat_env):
    topic = u.uniq("meta")
    u.kp_create_topic(module_broker.address, topic, partitions=3)
    out = run([KCAT, "-b", module_broker.address, "-L", "-J", "-m", "10"], env=kcat_env, timeout=30).stdout
    meta = json.loads(out)
    assert meta["brokers"] == [{"id": 1, "name": f"127.0.0.1:{module_broker.port}"}], meta["brokers"]
    assert meta["controllerid"] == 1
    topics = {t["topic"]: t for t in meta["topics"]}
    assert topic in topics, f"{topic} missing from kcat -L: {sorted(topics)}"
    parts = sorted(topics[topic]["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2]
    for p in parts:
        assert p["leader"] == 1
        assert p["replicas"] == [{"id": 1}]
        assert p["isrs"] == [{"id": 1}]
        assert "error" not in p, p


def test_kafka_python_and_confluent_list_topics(module_broker):
    from kafka import KafkaConsumer
    topics = [u.uniq("list") for _ in range(2)]
    u.kp_create_topic(module_broker.address, topics[0], partitions=1)
    u.kp_create_topic(module_broker.address, topics[1], partitions=2)

    admin = u.kp_admin(module_broker.address)
    try:
        listed = admin.list_topics()
        described = {t["name"]: t for t in admin.describe_topics(topics)}
    finally:
        admin.close()
    assert set(topics) <= set(listed), listed
    assert [p["partition_index"] for p in sorted(described[topics[1]]["partitions"], key=lambda p: p["partition_index"])] == [0, 1]
    assert all(t["error_code"] == 0 for t in described.values())

    consumer = KafkaConsumer(bootstrap_servers=module_broker.address)
    try:
        assert set(topics) <= consumer.topics()
        assert consumer.partitions_for_topic(topics[1]) == {0, 1}
    finally:
        consumer.close()

    md = u.ck_admin(module_broker.address).list_topics(timeout=10)
    assert set(topics) <= set(md.topics), sorted(md.topics)
    assert sorted(md.topics[topics[1]].partitions) == [0, 1]
    assert md.topics[topics[1]].error is None
    assert [(b.id, b.host, b.port) for b in md.brokers.values()] == [(1, "127.0.0.1", module_broker.port)]
    assert md.controller_id == 1


def test_topic_auto_created_on_first_produce(module_broker):
    topic = u.uniq("auto")
    producer = u.kp_producer(module_broker.address, acks=1)
    try:
        meta = producer.send(topic, b"first").get(timeout=15)
    finally:
        producer.close()
    assert (meta.topic, meta.partition, meta.offset) == (topic, 0, 0)
    admin = u.kp_admin(module_broker.address)
    try:
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    assert described["error_code"] == 0
    # num.partitions defaults to 1, as in Apache Kafka.
    assert len(described["partitions"]) == 1
    records = u.kp_read_all(module_broker.address, topic, 1)
    assert [r.value for r in records] == [b"first"]


def test_metadata_null_vs_empty_topic_list_raw(module_broker):
    """Metadata v1+: Topics=[] means "no topics" (brokers only); Topics=null means all topics."""
    topic = u.uniq("rawmeta")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    with u.RawConnection(module_broker.address) as conn:
        empty = u.parse_metadata_v1(conn.request(3, 1, 11, u.metadata_v1_body([])))
        everything = u.parse_metadata_v1(conn.request(3, 1, 12, u.metadata_v1_body(None)))
        named = u.parse_metadata_v1(conn.request(3, 1, 13, u.metadata_v1_body([topic, "does-not-exist-" + topic])))
    assert empty["correlation_id"] == 11
    assert empty["topics"] == [], f"Metadata v1 with an empty topic list returned topics: {empty['topics']}"
    assert empty["brokers"] == [{"node_id": 1, "host": "127.0.0.1", "port": module_broker.port, "rack": None}]
    assert empty["controller_id"] == 1
    assert empty["trailing"] == 0
    assert topic in [t["name"] for t in everything["topics"]]
    by_name = {t["name"]: t for t in named["topics"]}
    assert by_name[topic]["error"] == 0 and len(by_name[topic]["partitions"]) == 2
    # Metadata v1 has no AllowAutoTopicCreation flag; Kafka auto-creates on v0-v3 when enabled, so either
    # NONE (created) or UNKNOWN_TOPIC_OR_PARTITION / LEADER_NOT_AVAILABLE is legal here; it must not be missing.
    assert "does-not-exist-" + topic in by_name


def test_metadata_empty_topic_list_flexible_v12(module_broker):
    """The same null-vs-empty rule on the flexible path (Metadata v12, compact arrays, header v2)."""
    topic = u.uniq("rawmeta12")
    u.kp_create_topic(module_broker.address, topic, partitions=1)

    def body(topics):
        # Topics: compact array (0 = null, N+1); AllowAutoTopicCreation=false; IncludeTopicAuthorizedOperations=false.
        if topics is None:
            encoded = b"\x00"
        else:
            encoded = u.uvarint(len(topics) + 1) + b"".join(
                b"\x00" * 16 + u.uvarint(len(t) + 1) + t.encode() + b"\x00" for t in topics)
        return encoded + b"\x00" + b"\x00" + b"\x00"

    def topic_count(payload):
        r = u.Reader(payload)
        r.i32()  # correlation id
        assert r.take(1) == b"\x00"  # response header v1 tag buffer
        r.i32()  # throttle

        def uv():
            shift = value = 0
            while True:
                b = r.take(1)[0]
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    return value

        def cstr():
            n = uv()
            return None if n == 0 else r.take(n - 1).decode()

        brokers = []
        for _ in range(uv() - 1):
            node, host, port, rack = r.i32(), cstr(), r.i32(), cstr()
            assert uv() == 0
            brokers.append((node, host, port, rack))
        cstr()  # cluster id
        r.i32()  # controller id
        count = uv()
        return brokers, (None if count == 0 else count - 1)

    with u.RawConnection(module_broker.address) as conn:
        brokers, empty_count = topic_count(conn.request(3, 12, 21, body([]), flexible_header=True))
        _, all_count = topic_count(conn.request(3, 12, 22, body(None), flexible_header=True))
    assert brokers == [(1, "127.0.0.1", module_broker.port, None)]
    assert empty_count == 0, f"Metadata v12 with an empty topic list returned {empty_count} topics"
    assert all_count >= 1


# ---------------------------------------------------------------------------------------------------------------------
# 2. kcat produce / consume

KCAT_MODES = {
    "acks1": ["-X", "acks=1"],
    "acksall": ["-X", "acks=all"],
    "idempotent": ["-X", "enable.idempotence=true"],
}


@pytest.mark.parametrize("mode", sorted(KCAT_MODES))
def test_kcat_produce_consume_exact(module_broker, kcat_env, mode):
    topic = u.uniq(f"kcat-{mode}")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    lines = "".join(f"k{i}:v{i}\n" for i in range(5))
    produce = [KCAT, "-P", "-b", module_broker.address, "-t", topic, "-p", "1", "-K:", "-H", "h=x",
               *KCAT_MODES[mode]]
    run(produce, input=lines, env=kcat_env, timeout=30)
    # A second run appends after the first: offsets continue, also for a new idempotent producer id.
    run(produce, input="k5:v5\n", env=kcat_env, timeout=30)

    consume = run([KCAT, "-C", "-b", module_broker.address, "-t", topic, "-p", "1", "-o", "beginning", "-e", "-J"],
                  env=kcat_env, timeout=30)
    msgs = u.parse_json_lines(consume.stdout)
    got = [(m["partition"], m["offset"], m["key"], m["payload"], m.get("headers")) for m in msgs]
    want = [(1, i, f"k{i}", f"v{i}", ["h", "x"]) for i in range(6)]
    assert got == want, f"kcat consumed {got}\nstderr: {consume.stderr}"
    assert all(m["tstype"] == "create" and abs(m["ts"] - time.time() * 1000) < 120_000 for m in msgs), msgs
    # Partition 0 stayed empty.
    other = run([KCAT, "-C", "-b", module_broker.address, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J"],
                env=kcat_env, timeout=30)
    assert u.parse_json_lines(other.stdout) == []


# ---------------------------------------------------------------------------------------------------------------------
# 3. kafka-python, confluent-kafka, aiokafka produce / consume

@pytest.mark.parametrize("acks", ["default", 1])
def test_kafka_python_produce_consume(module_broker, acks):
    topic = u.uniq("kp")
    u.kp_create_topic(module_broker.address, topic, partitions=3)
    kwargs = {} if acks == "default" else {"acks": acks}
    producer = u.kp_producer(module_broker.address, **kwargs)
    base_ts = int(time.time() * 1000) - 60_000
    sent = []
    try:
        for i in range(9):
            partition = i % 3
            meta = producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=partition,
                                 timestamp_ms=base_ts + i, headers=[("h", b"x"), ("i", str(i).encode())]).get(timeout=15)
            assert meta.partition == partition
            sent.append((partition, meta.offset, f"k{i}".encode(), f"v{i}".encode(), base_ts + i))
        # A burst without waiting in between, so several records share one batch per partition.
        futures = [producer.send(topic, key=b"burst", value=f"b{i}".encode(), partition=2, timestamp_ms=base_ts + 100 + i)
                   for i in range(20)]
        producer.flush(timeout=15)
        for i, f in enumerate(futures):
            meta = f.get(timeout=1)
            sent.append((2, meta.offset, b"burst", f"b{i}".encode(), base_ts + 100 + i))
    finally:
        producer.close()

    # Offsets per partition are dense from 0.
    for p in range(3):
        offsets = sorted(o for part, o, *_ in sent if part == p)
        assert offsets == list(range(len(offsets))), f"partition {p} offsets {offsets}"

    records = u.kp_read_all(module_broker.address, topic, len(sent))
    got = [(r.partition, r.offset, r.key, r.value, r.timestamp) for r in records]
    assert got == sorted(sent), f"consumed {got}\nexpected {sorted(sent)}"
    first = next(r for r in records if r.partition == 0 and r.offset == 0)
    assert first.headers == [("h", b"x"), ("i", b"0")]
    assert all(r.timestamp_type == 0 for r in records)


def test_kafka_python_default_producer_is_idempotent_and_keys_stick(module_broker):
    """kafka-python 3's default producer sends InitProducerId and sequence numbers; keyed sends with the default
    partitioner map a key to one partition, and consumers see each record where the producer was told it went."""
    topic = u.uniq("kpkeys")
    u.kp_create_topic(module_broker.address, topic, partitions=4)
    producer = u.kp_producer(module_broker.address)
    placed = {}
    try:
        assert producer.config["enable_idempotence"] is True, producer.config["enable_idempotence"]
        futures = [(f"key-{i % 6}".encode(), i, producer.send(topic, key=f"key-{i % 6}".encode(), value=str(i).encode()))
                   for i in range(60)]
        producer.flush(timeout=15)
        for key, i, f in futures:
            meta = f.get(timeout=1)
            placed[(meta.partition, meta.offset)] = (key, str(i).encode())
    finally:
        producer.close()
    partitions_per_key = {}
    for (partition, _), (key, _) in placed.items():
        partitions_per_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_per_key.values()), partitions_per_key
    records = u.kp_read_all(module_broker.address, topic, 60)
    assert {(r.partition, r.offset): (r.key, r.value) for r in records} == placed
    assert len(records) == 60


def test_confluent_idempotent_produce_consume(module_broker):
    from confluent_kafka import Producer
    topic = u.uniq("ck")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    producer = Producer({"bootstrap.servers": module_broker.address, "enable.idempotence": True, "linger.ms": 5})
    base_ts = int(time.time() * 1000) - 30_000
    acked, errors = {}, []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = (msg.key(), msg.value(), msg.timestamp()[1])

    for i in range(50):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 2,
                         timestamp=base_ts + i, headers=[("h", b"x")], on_delivery=on_delivery)
    assert producer.flush(20) == 0, "confluent producer did not deliver everything"
    assert errors == []
    assert len(acked) == 50
    for p in range(2):
        assert sorted(o for part, o in acked if part == p) == list(range(25))

    msgs = u.ck_read_all(module_broker.address, topic, 50, partitions=[0, 1])
    got = {(m.partition(), m.offset()): (m.key(), m.value(), m.timestamp()[1]) for m in msgs}
    assert len(msgs) == 50, f"consumed {len(msgs)} records, expected 50"
    assert got == acked
    assert all(m.headers() == [("h", b"x")] for m in msgs)
    # Key i went to partition i % 2 as requested.
    assert all(int(m.key()[1:]) % 2 == m.partition() for m in msgs)


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_aiokafka_produce_consume(module_broker, idempotent):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition
    topic = u.uniq("aio")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    base_ts = int(time.time() * 1000) - 10_000

    async def scenario():
        kwargs = {"enable_idempotence": True} if idempotent else {}
        producer = AIOKafkaProducer(bootstrap_servers=module_broker.address, request_timeout_ms=15000, **kwargs)
        await producer.start()
        sent = []
        try:
            for i in range(10):
                meta = await producer.send_and_wait(topic, value=f"v{i}".encode(), key=f"k{i}".encode(),
                                                    partition=i % 2, timestamp_ms=base_ts + i,
                                                    headers=[("h", b"x")])
                assert meta.partition == i % 2
                sent.append((meta.partition, meta.offset, f"k{i}".encode(), f"v{i}".encode(), base_ts + i))
            batch = producer.create_batch()
            for i in range(5):
                batch.append(key=b"batch", value=f"b{i}".encode(), timestamp=base_ts + 50 + i)
            fut = await producer.send_batch(batch, topic, partition=1)
            meta = await fut
            for i in range(5):
                sent.append((1, meta.offset + i, b"batch", f"b{i}".encode(), base_ts + 50 + i))
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(bootstrap_servers=module_broker.address, enable_auto_commit=False,
                                    request_timeout_ms=15000, fetch_max_wait_ms=100)
        await consumer.start()
        got = []
        try:
            tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            deadline = time.monotonic() + 15
            while len(got) < len(sent) and time.monotonic() < deadline:
                result = await consumer.getmany(timeout_ms=200)
                for records in result.values():
                    got.extend((r.partition, r.offset, r.key, r.value, r.timestamp) for r in records)
            end = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        return sent, got, end

    sent, got, end = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted(got) == sorted(sent), f"consumed {sorted(got)}\nexpected {sorted(sent)}"
    assert len(got) == 15
    assert {tp.partition: o for tp, o in end.items()} == {0: 5, 1: 10}


# ---------------------------------------------------------------------------------------------------------------------
# 4. ListOffsets

def _produce_timed(address, topic, base_ts):
    """Partition 0: 5 single-record batches (ts base+0..4 s), then one 5-record batch (ts base+10..14 s).
    Returns the number of records (10)."""
    producer = u.kp_producer(address, acks=1, linger_ms=50)
    try:
        for i in range(5):
            producer.send(topic, value=f"s{i}".encode(), partition=0, timestamp_ms=base_ts + i * 1000).get(timeout=15)
        futures = [producer.send(topic, value=f"m{i}".encode(), partition=0, timestamp_ms=base_ts + 10_000 + i * 1000)
                   for i in range(5)]
        producer.flush(timeout=15)
        offsets = [f.get(timeout=1).offset for f in futures]
    finally:
        producer.close()
    assert offsets == [5, 6, 7, 8, 9]
    return 10


def test_list_offsets_kafka_python(module_broker):
    from kafka import KafkaConsumer, TopicPartition
    topic = u.uniq("lo-kp")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    base_ts = int(time.time() * 1000) - 3_600_000
    count = _produce_timed(module_broker.address, topic, base_ts)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    consumer = KafkaConsumer(bootstrap_servers=module_broker.address, request_timeout_ms=15000)
    try:
        assert consumer.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
        # "latest" is the log end offset (10), not the base offset of the last (5-record) batch.
        assert consumer.end_offsets([tp0, tp1]) == {tp0: count, tp1: 0}
        found = consumer.offsets_for_times({tp0: base_ts + 2_500})
        assert found[tp0] is not None and (found[tp0].offset, found[tp0].timestamp) == (3, base_ts + 3_000), found
        # A timestamp inside the multi-record batch resolves to the exact record, as in Apache Kafka.
        found = consumer.offsets_for_times({tp0: base_ts + 12_000})
        assert found[tp0] is not None and (found[tp0].offset, found[tp0].timestamp) == (7, base_ts + 12_000), found
        found = consumer.offsets_for_times({tp0: base_ts - 1})
        assert (found[tp0].offset, found[tp0].timestamp) == (0, base_ts)
        # Later than every record: no offset.
        assert consumer.offsets_for_times({tp0: base_ts + 3_600_000})[tp0] is None
        assert consumer.offsets_for_times({tp1: base_ts})[tp1] is None
    finally:
        consumer.close()


def test_list_offsets_confluent(module_broker):
    from confluent_kafka import Consumer, TopicPartition
    topic = u.uniq("lo-ck")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    base_ts = int(time.time() * 1000) - 3_600_000
    count = _produce_timed(module_broker.address, topic, base_ts)
    consumer = Consumer({"bootstrap.servers": module_broker.address, "group.id": u.uniq("lo-ck")})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert (low, high) == (0, count)
        queries = [base_ts + 2_500, base_ts + 12_000, base_ts - 1, base_ts + 3_600_000]
        results = [consumer.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)[0] for ts in queries]
        assert [r.error for r in results] == [None] * 4
        # librdkafka reports "no such offset" as OFFSET_END (-1).
        assert [r.offset for r in results] == [3, 7, 0, -1], [(r.offset, r.error) for r in results]
    finally:
        consumer.close()


def test_list_offsets_latest_after_kcat_batch(module_broker):
    """kcat batches 50 records into few Produce requests; the high watermark must count every record."""
    topic = u.uniq("lo-kcat")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    run([KCAT, "-P", "-b", module_broker.address, "-t", topic, "-p", "0", "-X", "linger.ms=100"],
        input="".join(f"r{i}\n" for i in range(50)), timeout=30)
    out = run([KCAT, "-Q", "-b", module_broker.address, "-t", f"{topic}:0:-1", "-J"], timeout=30).stdout
    parsed = json.loads(out)
    assert parsed[topic]["0"]["offset"] == 50, parsed
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=module_broker.address)
    try:
        tp = TopicPartition(topic, 0)
        assert consumer.end_offsets([tp]) == {tp: 50}
    finally:
        consumer.close()


# ---------------------------------------------------------------------------------------------------------------------
# Compressed batches (the broker must count records inside compressed batches when assigning offsets)

@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_roundtrip(module_broker, codec):
    from confluent_kafka import Producer
    topic = u.uniq(f"comp-{codec}")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    producer = Producer({"bootstrap.servers": module_broker.address, "compression.type": codec, "linger.ms": 50,
                         "enable.idempotence": True})
    acked, errors = [], []
    for i in range(30):
        producer.produce(topic, key=f"k{i}".encode(), value=(f"value-{i}-" * 20).encode(), partition=0,
                         on_delivery=lambda err, msg: errors.append(err) if err else acked.append(msg.offset()))
    assert producer.flush(20) == 0
    assert errors == [] and sorted(acked) == list(range(30)), (errors, sorted(acked))
    # kcat (librdkafka 2.0.2) reads it back too; high watermark counts every record.
    out = run([KCAT, "-C", "-b", module_broker.address, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J"],
              timeout=30).stdout
    msgs = u.parse_json_lines(out)
    assert [(m["offset"], m["key"], m["payload"]) for m in msgs] == \
        [(i, f"k{i}", f"value-{i}-" * 20) for i in range(30)]
    second = [m.offset() for m in u.ck_read_all(module_broker.address, topic, 30, partitions=[0])]
    assert second == list(range(30))


def test_metadata_honours_allow_auto_topic_creation_flag(module_broker):
    """Metadata v4+: AllowAutoTopicCreation=false (librdkafka consumers) must not create the topic; true does."""
    not_created, created = u.uniq("noauto"), u.uniq("yesauto")
    with u.RawConnection(module_broker.address) as conn:
        refused = u.parse_metadata_v4(conn.request(3, 4, 1, u.metadata_v4_body([not_created], False)))
        allowed = u.parse_metadata_v4(conn.request(3, 4, 2, u.metadata_v4_body([created], True)))
        again = u.parse_metadata_v4(conn.request(3, 4, 3, u.metadata_v4_body([not_created, created], False)))
    [t] = refused["topics"]
    assert (t["name"], t["error"], t["partitions"]) == (not_created, 3, []), t
    [t] = allowed["topics"]
    assert t["name"] == created and t["error"] in (0, 5), t  # NONE, or LEADER_NOT_AVAILABLE once
    by_name = {t["name"]: t for t in again["topics"]}
    assert by_name[not_created]["error"] == 3, "topic created although AllowAutoTopicCreation was false"
    assert by_name[created]["error"] == 0 and len(by_name[created]["partitions"]) == 1
    assert allowed["cluster_id"] and allowed["controller_id"] == 1


def test_consume_from_the_middle_of_a_batch(module_broker):
    """Fetch from an offset inside a multi-record batch: the broker returns that batch, clients skip the records
    before the fetch offset, so every client starts exactly at the requested record."""
    from confluent_kafka import Consumer, TopicPartition as CkTopicPartition
    from kafka import KafkaConsumer, TopicPartition
    topic = u.uniq("midbatch")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    producer = u.kp_producer(module_broker.address, linger_ms=50)
    try:
        futures = [producer.send(topic, f"m{i}".encode(), partition=0) for i in range(10)]
        producer.flush(timeout=15)
        assert [f.get(timeout=1).offset for f in futures] == list(range(10))
    finally:
        producer.close()

    kp = KafkaConsumer(bootstrap_servers=module_broker.address, fetch_max_wait_ms=100)
    try:
        tp = TopicPartition(topic, 0)
        kp.assign([tp])
        kp.seek(tp, 7)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            for recs in kp.poll(timeout_ms=200).values():
                got.extend((r.offset, r.value) for r in recs)
    finally:
        kp.close()
    assert got == [(7, b"m7"), (8, b"m8"), (9, b"m9")], got

    ck = Consumer({"bootstrap.servers": module_broker.address, "group.id": u.uniq("mid"), "fetch.wait.max.ms": 100})
    try:
        ck.assign([CkTopicPartition(topic, 0, 4)])
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 6 and time.monotonic() < deadline:
            msg = ck.poll(0.2)
            if msg is not None and msg.error() is None:
                got.append((msg.offset(), msg.value()))
    finally:
        ck.close()
    assert got == [(i, f"m{i}".encode()) for i in range(4, 10)], got


# ---------------------------------------------------------------------------------------------------------------------
# Volume, small fetch sizes (trailing partial batches) and concurrent producers

def test_bulk_produce_and_consume_with_every_client(module_broker):
    from confluent_kafka import Producer
    topic = u.uniq("bulk")
    u.kp_create_topic(module_broker.address, topic, partitions=4)
    producer = Producer({"bootstrap.servers": module_broker.address, "linger.ms": 20, "batch.num.messages": 2000,
                         "enable.idempotence": True})
    errors = []
    total = 20000
    for i in range(total):
        while True:
            try:
                producer.produce(topic, value=b"%06d" % i + b"." * 50, partition=i % 4,
                                 on_delivery=lambda err, msg: err and errors.append(err))
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(30) == 0 and errors == [], errors[:3]

    out = run([KCAT, "-C", "-b", module_broker.address, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\\n"],
              timeout=60).stdout.split("\n")
    lines = [line.split() for line in out if line]
    assert len(lines) == total, f"kcat read {len(lines)} of {total}"
    assert sorted(int(v[:6]) for _, _, v in lines) == list(range(total))
    for p in range(4):
        assert sorted(int(o) for q, o, _ in lines if q == str(p)) == list(range(total // 4))

    # kafka-python with a tiny partition fetch size: most responses end in a truncated batch it must skip over.
    records = u.kp_read_all(module_broker.address, topic, total, partitions=range(4), timeout=60,
                            max_partition_fetch_bytes=3000, fetch_max_bytes=10000)
    assert len(records) == total
    assert sorted(int(r.value[:6]) for r in records) == list(range(total))


def test_concurrent_producers_same_partition(module_broker):
    from confluent_kafka import Producer
    topic = u.uniq("conc")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    per = 500
    results = {}

    def kp_job():
        producer = u.kp_producer(module_broker.address, linger_ms=2)
        try:
            futures = [producer.send(topic, f"kp-{i}".encode(), partition=0) for i in range(per)]
            producer.flush(timeout=30)
            results["kp"] = [f.get(timeout=1).offset for f in futures]
        finally:
            producer.close()

    def ck_job():
        producer = Producer({"bootstrap.servers": module_broker.address, "enable.idempotence": True, "linger.ms": 2})
        offsets = []
        for i in range(per):
            producer.produce(topic, f"ck-{i}".encode(), partition=0,
                             on_delivery=lambda err, msg: offsets.append(msg.offset() if err is None else err))
            producer.poll(0)
        producer.flush(30)
        results["ck"] = offsets

    def kcat_job():
        run([KCAT, "-P", "-b", module_broker.address, "-t", topic, "-p", "0", "-X", "linger.ms=1"],
            input="".join(f"kcat-{i}\n" for i in range(per)), timeout=60)
        results["kcat"] = True

    threads = [threading.Thread(target=job) for job in (kp_job, ck_job, kcat_job)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(results) == {"kp", "ck", "kcat"}, f"producers finished: {sorted(results)}"
    acked = results["kp"] + results["ck"]
    assert all(isinstance(o, int) for o in acked), [o for o in acked if not isinstance(o, int)][:3]
    assert len(set(acked)) == 2 * per, "two acknowledged records share an offset"
    records = u.kp_read_all(module_broker.address, topic, 3 * per, partitions=[0], timeout=30)
    assert [r.offset for r in records] == list(range(3 * per))
    values = [r.value.decode() for r in records]
    for prefix in ("kp", "ck", "kcat"):
        mine = [v for v in values if v.startswith(prefix + "-")]
        # Each producer's records are all there, in the order it sent them.
        assert mine == [f"{prefix}-{i}" for i in range(per)], f"{prefix}: {len(mine)} records, out of order or missing"
    by_offset = {r.offset: r.value.decode() for r in records}
    assert all(by_offset[o] == f"kp-{i}" for i, o in enumerate(results["kp"]))
