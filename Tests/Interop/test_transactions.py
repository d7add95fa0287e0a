"""Kafka transactions (KIP-98/360/447) against `ledgerstream broker` with real clients: transactional producers of
confluent-kafka 2.16.1 (librdkafka 2.16), kafka-python 3.0.12 and aiokafka 0.14.0; read_committed consumers (the LSO
bounds what they see, aborted records and control batches never surface); consume-transform-produce with offsets
committed inside the transaction (TxnOffsetCommit, RequireStable → UNSTABLE_OFFSET_COMMIT); fencing by a second
producer instance; the broker aborting a transaction at its transaction.timeout.ms; transaction.max.timeout.ms; the
KIP-664 views (ListTransactions, DescribeTransactions, DescribeProducers); and hand-encoded requests checking the exact
error codes of the coordinator and of transactional Produce.

Most tests share one broker (module scope) and use their own topics, groups and transactional ids; tests that need
broker settings start their own.
"""
import asyncio
import struct
import time

import pytest

import interop_util as u
from interop_util import Reader, array, i8, i16, i32, i64, string, uvarint

pytestmark = pytest.mark.timeout(60)

# Error codes (Kafka's ErrorCode table).
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
OPERATION_NOT_ATTEMPTED = 55
UNSTABLE_OFFSET_COMMIT = 88
PRODUCER_FENCED = 90


# ---------------------------------------------------------------------------------------------------------------------
# Helpers

def ck_transaction(producer, records, commit=True):
    """One confluent-kafka transaction writing `records` [(topic, partition, value)]: flushed (so every record is in
    the log before the outcome is decided), then committed or aborted."""
    producer.begin_transaction()
    for topic, partition, value in records:
        producer.produce(topic, value=value.encode(), partition=partition)
    assert producer.flush(15) == 0, "records still queued after flush"
    if commit:
        producer.commit_transaction(15)
    else:
        producer.abort_transaction(15)


def kafka_error(excinfo):
    """The KafkaError inside a confluent-kafka KafkaException."""
    return excinfo.value.args[0]


def close_quietly(producer):
    """Closes a confluent-kafka producer; a producer in a fatal state raises its fatal error again on close."""
    from confluent_kafka import KafkaException
    try:
        producer.close()
    except KafkaException:
        pass


def ck_list_offsets(address, topic, partitions, isolation):
    """confluent-kafka AdminClient.list_offsets(latest, isolation_level=...): {partition: offset}."""
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import OffsetSpec
    level = IsolationLevel.READ_COMMITTED if isolation == "read_committed" else IsolationLevel.READ_UNCOMMITTED
    admin = u.ck_admin(address)  # kept referenced until the futures are done
    futures = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},
                                 isolation_level=level, request_timeout=15)
    return {tp.partition: f.result(timeout=20).offset for tp, f in futures.items()}


def both_end_offsets(address, topic, partitions):
    """(read_committed, read_uncommitted) latest offsets, each asked by confluent-kafka AND kafka-python (which must
    agree)."""
    result = []
    for isolation in ("read_committed", "read_uncommitted"):
        ck = ck_list_offsets(address, topic, partitions, isolation)
        kp = u.end_offsets(address, topic, partitions, isolation)
        assert ck == kp, f"ListOffsets latest ({isolation}): confluent-kafka says {ck}, kafka-python says {kp}"
        result.append(ck)
    return tuple(result)


def kp_txn_admin(address, call, *args, **kw):
    admin = u.kp_admin(address)
    try:
        return getattr(admin, call)(*args, **kw)
    finally:
        admin.close()


# ---------------------------------------------------------------------------------------------------------------------
# 1. confluent-kafka: commit and abort; what read_committed and read_uncommitted consumers see

def test_confluent_commit_and_abort_isolation(module_broker):
    """Three transactions over three partitions (commit, abort, commit). read_committed (confluent's default) sees
    exactly the committed records, read_uncommitted sees the aborted ones too; each transaction's records sit at the
    expected offsets with one control batch (the marker) after them, which no consumer ever returns as a record; order
    within a partition is kept."""
    address = module_broker.address
    topic, txn_id = u.uniq("txn-basic"), u.uniq("tid")
    parts = [0, 1, 2]
    u.kp_create_topic(address, topic, partitions=3)
    producer = u.ck_txn_producer(address, txn_id)
    producer.init_transactions(15)
    for name, commit in (("A", True), ("B", False), ("C", True)):
        ck_transaction(producer, [(topic, p, f"{name}-{p}-{i}") for i in range(4) for p in parts], commit=commit)
    producer.close()

    committed, committed_eof = u.ck_read_to_end(address, topic, parts, "read_committed")
    uncommitted, uncommitted_eof = u.ck_read_to_end(address, topic, parts, "read_uncommitted")
    for p in parts:
        # A: offsets 0-3, commit marker 4; B: 5-8, abort marker 9; C: 10-13, commit marker 14; log end 15.
        assert committed[p] == [(o, f"A-{p}-{o}") for o in range(4)] + [(10 + i, f"C-{p}-{i}") for i in range(4)], \
            f"read_committed partition {p}: {committed[p]}"
        assert uncommitted[p] == ([(o, f"A-{p}-{o}") for o in range(4)] + [(5 + i, f"B-{p}-{i}") for i in range(4)]
                                  + [(10 + i, f"C-{p}-{i}") for i in range(4)]), \
            f"read_uncommitted partition {p}: {uncommitted[p]}"
    assert committed_eof == {p: 15 for p in parts} == uncommitted_eof, (committed_eof, uncommitted_eof)
    assert both_end_offsets(address, topic, parts) == ({p: 15 for p in parts},) * 2

    # kafka-python read_committed agrees (it filters with the AbortedTransactions list of the Fetch response).
    records = u.kp_read_all(address, topic, 24, partitions=parts, isolation_level="read_committed")
    assert [(r.partition, r.offset, r.value.decode()) for r in records] == \
        [(p, o, v) for p in parts for o, v in committed[p]]


# ---------------------------------------------------------------------------------------------------------------------
# 2. An open transaction holds the last stable offset

def test_open_transaction_holds_last_stable_offset(module_broker):
    """While a transaction is open (records flushed, not committed), read_committed consumers stop at its first offset
    (the LSO) and see neither its records nor the non-transactional records written after it; ListOffsets latest is
    the LSO for read_committed and the log end for read_uncommitted (confluent-kafka AdminClient.list_offsets,
    Consumer.get_watermark_offsets and kafka-python end_offsets agree). After the commit everything appears in offset
    order and both ends are equal."""
    address = module_broker.address
    topic, txn_id = u.uniq("txn-lso"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=1)
    plain = u.kp_producer(address)
    try:
        for i in range(2):
            plain.send(topic, f"pre-{i}".encode(), partition=0).get(timeout=15)          # offsets 0, 1
        producer = u.ck_txn_producer(address, txn_id)
        producer.init_transactions(15)
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic, value=f"txn-{i}".encode(), partition=0)            # offsets 2, 3, 4
        assert producer.flush(15) == 0
        for i in range(2):
            plain.send(topic, f"post-{i}".encode(), partition=0).get(timeout=15)         # offsets 5, 6
    finally:
        plain.close()

    assert both_end_offsets(address, topic, [0]) == ({0: 2}, {0: 7})
    from confluent_kafka import Consumer, TopicPartition
    for isolation, high in (("read_committed", 2), ("read_uncommitted", 7)):
        consumer = Consumer({"bootstrap.servers": address, "group.id": u.uniq("wm"), "isolation.level": isolation})
        try:
            assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False) == (0, high), \
                f"get_watermark_offsets ({isolation})"
        finally:
            consumer.close()
    committed, eof = u.ck_read_to_end(address, topic, [0], "read_committed")
    assert committed == {0: [(0, "pre-0"), (1, "pre-1")]} and eof == {0: 2}, (committed, eof)
    uncommitted, eof = u.ck_read_to_end(address, topic, [0], "read_uncommitted")
    assert [v for _, v in uncommitted[0]] == ["pre-0", "pre-1", "txn-0", "txn-1", "txn-2", "post-0", "post-1"]
    assert eof == {0: 7}

    producer.commit_transaction(15)                                                     # marker at offset 7
    producer.close()
    assert both_end_offsets(address, topic, [0]) == ({0: 8}, {0: 8})
    committed, eof = u.ck_read_to_end(address, topic, [0], "read_committed")
    assert committed[0] == list(enumerate(["pre-0", "pre-1", "txn-0", "txn-1", "txn-2", "post-0", "post-1"])), committed
    assert eof == {0: 8}


# ---------------------------------------------------------------------------------------------------------------------
# 3. consume-transform-produce (KIP-447) with confluent-kafka

def _transform(consumer, producer, dst, expected, commit):
    """One transaction of a consume-transform-produce loop: consumes `expected` records, writes them upper-cased to
    the same partition of `dst`, sends the consumer's positions and group metadata, then commits or aborts.
    Returns (consumed [(partition, offset, value)], positions {partition: offset})."""
    producer.begin_transaction()
    consumed = []
    deadline = time.monotonic() + 20
    while len(consumed) < expected and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        assert msg.error() is None, f"consumer error: {msg.error()}"
        consumed.append((msg.partition(), msg.offset(), msg.value().decode()))
        producer.produce(dst, value=msg.value().upper(), partition=msg.partition())
    assert len(consumed) == expected, f"consumed {len(consumed)} of {expected}: {consumed}"
    positions = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 15)
    if commit:
        producer.commit_transaction(15)
    else:
        assert producer.flush(15) == 0
        producer.abort_transaction(15)
    return sorted(consumed), {tp.partition: tp.offset for tp in positions}


def test_confluent_consume_transform_produce(module_broker):
    """A subscribed read_committed consumer and a transactional producer: the committed transaction stores the group's
    offsets (= the consumer positions) atomically with the output; an aborted one changes neither the committed
    offsets nor the read_committed output; a new member of the group resumes at the committed offsets."""
    from confluent_kafka import Consumer
    address = module_broker.address
    src, dst, group, txn_id = u.uniq("ctp-in"), u.uniq("ctp-out"), u.uniq("ctp-g"), u.uniq("tid")
    u.kp_create_topic(address, src, partitions=2)
    u.kp_create_topic(address, dst, partitions=2)

    def feed(batch):
        plain = u.kp_producer(address)
        try:
            for p in (0, 1):
                for i in batch:
                    plain.send(src, f"in-{p}-{i}".encode(), partition=p)
            plain.flush(timeout=15)
        finally:
            plain.close()

    def member():
        consumer = Consumer({"bootstrap.servers": address, "group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": False, "fetch.wait.max.ms": 100, "session.timeout.ms": 6000,
                             "heartbeat.interval.ms": 500})
        consumer.subscribe([src])
        return consumer

    feed(range(10))
    producer = u.ck_txn_producer(address, txn_id)
    producer.init_transactions(15)
    consumer = member()
    try:
        consumed, positions = _transform(consumer, producer, dst, 20, commit=True)
        assert consumed == sorted((p, i, f"in-{p}-{i}") for p in (0, 1) for i in range(10))
        assert positions == {0: 10, 1: 10}
        assert u.committed_offsets(address, group, src) == {0: 10, 1: 10}
        first_output = {p: [(i, f"IN-{p}-{i}") for i in range(10)] for p in (0, 1)}
        assert u.ck_read_to_end(address, dst, [0, 1])[0] == first_output

        feed(range(10, 15))
        consumed, positions = _transform(consumer, producer, dst, 10, commit=False)
        assert consumed == sorted((p, i, f"in-{p}-{i}") for p in (0, 1) for i in range(10, 15))
        assert positions == {0: 15, 1: 15}
    finally:
        consumer.close()
    assert u.committed_offsets(address, group, src) == {0: 10, 1: 10}, "an aborted transaction moved the offsets"
    output, eof = u.ck_read_to_end(address, dst, [0, 1])
    assert output == first_output and eof == {0: 17, 1: 17}, (output, eof)
    assert [len(v) for v in u.ck_read_to_end(address, dst, [0, 1], "read_uncommitted")[0].values()] == [15, 15]

    consumer = member()  # resumes from the committed offsets: re-processes what the aborted transaction consumed
    try:
        consumed, positions = _transform(consumer, producer, dst, 10, commit=True)
    finally:
        consumer.close()
    producer.close()
    assert consumed == sorted((p, i, f"in-{p}-{i}") for p in (0, 1) for i in range(10, 15)), consumed
    assert positions == {0: 15, 1: 15} and u.committed_offsets(address, group, src) == {0: 15, 1: 15}
    output, _ = u.ck_read_to_end(address, dst, [0, 1])
    # Offsets: first 0-9 + marker 10, aborted 11-15 + marker 16, redone 17-21 + marker 22.
    assert output == {p: first_output[p] + [(17 + i, f"IN-{p}-{10 + i}") for i in range(5)] for p in (0, 1)}, output


# ---------------------------------------------------------------------------------------------------------------------
# 4. RequireStable: OffsetFetch while transactional offsets are pending

def c_string(s):
    if s is None:
        return uvarint(0)
    raw = s.encode()
    return uvarint(len(raw) + 1) + raw


def c_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


def read_uvarint(r):
    shift = value = 0
    while True:
        byte = r.i8() & 0xFF
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7


def read_c_string(r):
    n = read_uvarint(r)
    return None if n == 0 else r.take(n - 1).decode()


def read_c_array(r, item):
    n = read_uvarint(r)
    return None if n == 0 else [item(r) for _ in range(n - 1)]


def skip_tags(r):
    for _ in range(read_uvarint(r)):
        read_uvarint(r)
        r.take(read_uvarint(r))


def offset_fetch_v7(address, group, topic, partitions, require_stable):
    """Raw OffsetFetch v7 (flexible): {partition: (committed offset, error code)}; the top-level error must be 0."""
    body = (c_string(group) + c_array([c_string(topic) + c_array([i32(p) for p in partitions]) + b"\x00"])
            + i8(1 if require_stable else 0) + b"\x00")
    with u.RawConnection(address) as conn:
        r = Reader(conn.request(9, 7, 77, body, flexible_header=True))
    assert r.i32() == 77
    skip_tags(r)
    r.i32()  # throttle

    def partition(rd):
        index, offset, _epoch, _meta, error = rd.i32(), rd.i64(), rd.i32(), read_c_string(rd), rd.i16()
        skip_tags(rd)
        return index, (offset, error)

    def topic_entry(rd):
        name, parts = read_c_string(rd), read_c_array(rd, partition)
        skip_tags(rd)
        return name, dict(parts)

    topics = dict(read_c_array(r, topic_entry))
    error = r.i16()
    skip_tags(r)
    assert error == 0 and r.remaining() == 0, f"OffsetFetch v7 top-level error {error}, {r.remaining()} bytes left"
    return topics[topic]


def test_require_stable_offset_fetch_while_transaction_open(module_broker):
    """Offsets sent to an open transaction are pending: OffsetFetch v7 with RequireStable answers
    UNSTABLE_OFFSET_COMMIT (88) for that partition (offset -1), without it the last committed offset; a read_committed
    confluent-kafka consumer of the group (RequireStable) waits instead of starting from the stale offset, and starts
    at the transaction's offset once it commits."""
    from confluent_kafka import Consumer, TopicPartition
    from kafka import KafkaConsumer, TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata
    address = module_broker.address
    src, dst, group, txn_id = u.uniq("rs-in"), u.uniq("rs-out"), u.uniq("rs-g"), u.uniq("tid")
    u.kp_create_topic(address, src, partitions=2)
    u.kp_create_topic(address, dst, partitions=1)
    plain = u.kp_producer(address)
    try:
        for i in range(10):
            plain.send(src, f"in-{i}".encode(), partition=0)
        plain.flush(timeout=15)
    finally:
        plain.close()
    committer = KafkaConsumer(bootstrap_servers=address, group_id=group, enable_auto_commit=False)
    try:
        committer.commit({KTP(src, 0): OffsetAndMetadata(2, "", -1), KTP(src, 1): OffsetAndMetadata(0, "", -1)})
    finally:
        committer.close()
    assert offset_fetch_v7(address, group, src, [0, 1], True) == {0: (2, 0), 1: (0, 0)}

    group_md_source = Consumer({"bootstrap.servers": address, "group.id": group})
    producer = u.ck_txn_producer(address, txn_id)
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce(dst, value=b"out", partition=0)
    producer.send_offsets_to_transaction([TopicPartition(src, 0, 5)], group_md_source.consumer_group_metadata(), 15)
    group_md_source.close()

    assert offset_fetch_v7(address, group, src, [0, 1], True) == {0: (-1, UNSTABLE_OFFSET_COMMIT), 1: (0, 0)}, \
        "RequireStable must report the partition with a pending transactional offset as unstable"
    assert offset_fetch_v7(address, group, src, [0, 1], False) == {0: (2, 0), 1: (0, 0)}, \
        "without RequireStable the last committed offset is returned"

    consumer = Consumer({"bootstrap.servers": address, "group.id": group, "enable.auto.commit": False,
                         "fetch.wait.max.ms": 100})
    try:
        consumer.assign([TopicPartition(src, 0)])  # committed offset, fetched with RequireStable
        early = [consumer.poll(0.2) for _ in range(5)]
        assert [m for m in early if m is not None and m.error() is None] == [], \
            f"the consumer started while the offset was unstable: {[(m.offset(), m.value()) for m in early if m]}"
        producer.commit_transaction(15)
        producer.close()
        first = u.wait_until(lambda: consumer.poll(0.2), timeout=15, interval=0, message="first record after commit")
        assert first.error() is None and (first.offset(), first.value()) == (5, b"in-5"), \
            f"consumer started at {first.offset()} ({first.value()}), expected the transaction's offset 5"
    finally:
        consumer.close()
    assert offset_fetch_v7(address, group, src, [0, 1], True) == {0: (5, 0), 1: (0, 0)}


# ---------------------------------------------------------------------------------------------------------------------
# 5. Fencing by a second producer instance

def test_second_producer_fences_first(module_broker):
    """init_transactions of a second producer with the same transactional.id aborts the first one's open transaction
    (its records never become visible read_committed), bumps the epoch twice (fence + new instance) and makes the
    first producer's next transactional operation fail fatally (fenced); the second commits normally."""
    from confluent_kafka import KafkaError, KafkaException
    address = module_broker.address
    topic, txn_id = u.uniq("fence"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=2)
    first = u.ck_txn_producer(address, txn_id)
    first.init_transactions(15)
    initial = u.describe_transaction(address, txn_id)
    assert (initial.state, initial.producer_epoch) == ("Empty", 0), initial
    first.begin_transaction()
    for p in (0, 1):
        first.produce(topic, value=f"zombie-{p}".encode(), partition=p)
    assert first.flush(15) == 0
    assert u.describe_transaction(address, txn_id).state == "Ongoing"

    second = u.ck_txn_producer(address, txn_id)
    second.init_transactions(15)
    after = u.describe_transaction(address, txn_id)
    # Fence (epoch 1) + abort, then the new instance's epoch (2): Empty again, ready for its first transaction.
    assert (after.state, after.producer_id, after.producer_epoch) == ("Empty", initial.producer_id, 2), after
    ck_transaction(second, [(topic, p, f"live-{p}") for p in (0, 1)])

    with pytest.raises(KafkaException) as excinfo:
        first.commit_transaction(10)
    error = kafka_error(excinfo)
    assert error.fatal() and error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED), \
        f"the fenced producer's commit failed with {error} (fatal={error.fatal()})"
    close_quietly(first)
    second.close()

    committed, eof = u.ck_read_to_end(address, topic, [0, 1])
    # zombie at 0, abort marker at 1, live at 2, commit marker at 3.
    assert committed == {p: [(2, f"live-{p}")] for p in (0, 1)} and eof == {0: 4, 1: 4}, (committed, eof)
    uncommitted, _ = u.ck_read_to_end(address, topic, [0, 1], "read_uncommitted")
    assert uncommitted == {p: [(0, f"zombie-{p}"), (2, f"live-{p}")] for p in (0, 1)}, uncommitted
    final = u.describe_transaction(address, txn_id)
    assert (final.state, final.producer_epoch) == ("CompleteCommit", 2), final


# ---------------------------------------------------------------------------------------------------------------------
# 6. transaction.timeout.ms: the broker aborts an expired transaction and fences its producer

def test_transaction_timeout_aborts_and_fences(module_broker):
    """A producer with transaction.timeout.ms=1500 leaves a transaction open: at the deadline the broker aborts it
    (CompleteAbort, epoch bumped), the LSO moves past it so read_committed consumers see the records written after
    it but never its own, and the producer's late commit fails fatally."""
    from confluent_kafka import KafkaError, KafkaException
    address = module_broker.address
    topic, txn_id = u.uniq("tmo"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=1)
    producer = u.ck_txn_producer(address, txn_id, **{"transaction.timeout.ms": 1500})
    producer.init_transactions(15)
    producer.begin_transaction()
    for i in range(2):
        producer.produce(topic, value=f"expired-{i}".encode(), partition=0)              # offsets 0, 1
    assert producer.flush(15) == 0
    plain = u.kp_producer(address)
    try:
        plain.send(topic, b"after", partition=0).get(timeout=15)                          # offset 2
    finally:
        plain.close()
    ongoing = u.describe_transaction(address, txn_id)
    assert (ongoing.state, ongoing.producer_epoch, ongoing.transaction_timeout_ms) == ("Ongoing", 0, 1500), ongoing
    assert u.end_offsets(address, topic, [0], "read_committed") == {0: 0}

    seen = []  # (wall-clock ms, state) of each DescribeTransactions

    def aborted_by_broker():
        desc = u.describe_transaction(address, txn_id)
        seen.append((time.time() * 1000 - ongoing.transaction_start_time_ms, desc.state))
        return desc.state == "CompleteAbort" and desc

    aborted = u.wait_until(aborted_by_broker, timeout=6, message="the broker to abort the expired transaction")
    last_open = max((ms for ms, state in seen if state == "Ongoing"), default=0)
    assert seen[-1][0] >= 1500 and last_open < 1500 + 1500, \
        f"transaction.timeout.ms=1500: states seen at ms since the transaction started: {seen}"
    assert (aborted.producer_id, aborted.producer_epoch) == (ongoing.producer_id, 1), aborted
    assert aborted.topic_partitions == set(), aborted
    assert both_end_offsets(address, topic, [0]) == ({0: 4}, {0: 4})  # abort marker at 3
    committed, eof = u.ck_read_to_end(address, topic, [0])
    assert committed == {0: [(2, "after")]} and eof == {0: 4}, (committed, eof)

    with pytest.raises(KafkaException) as excinfo:
        producer.commit_transaction(10)
    error = kafka_error(excinfo)
    assert error.fatal() and error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED), \
        f"the late commit of the timed-out transaction failed with {error} (fatal={error.fatal()}), expected fenced"
    close_quietly(producer)
    assert u.describe_transaction(address, txn_id).state == "CompleteAbort"
    assert u.ck_read_to_end(address, topic, [0])[0] == {0: [(2, "after")]}


# ---------------------------------------------------------------------------------------------------------------------
# 7. transaction.max.timeout.ms

def test_transaction_max_timeout_enforced(start_broker):
    """With transaction.max.timeout.ms=5000 a producer asking for 10000 ms fails init_transactions with
    INVALID_TRANSACTION_TIMEOUT (50); exactly 5000 is accepted; raw InitProducerId with 5001 or 0 gets 50 and no
    producer id."""
    from confluent_kafka import KafkaError, KafkaException
    server = start_broker(extra=["--override", "transaction.max.timeout.ms=5000"])
    too_long = u.ck_txn_producer(server.address, u.uniq("tid"), **{"transaction.timeout.ms": 10000})
    with pytest.raises(KafkaException) as excinfo:
        too_long.init_transactions(10)
    assert kafka_error(excinfo).code() == KafkaError.INVALID_TRANSACTION_TIMEOUT, kafka_error(excinfo)
    close_quietly(too_long)

    txn_id = u.uniq("tid")
    ok = u.ck_txn_producer(server.address, txn_id, **{"transaction.timeout.ms": 5000})
    ok.init_transactions(10)
    ok.close()
    assert u.describe_transaction(server.address, txn_id).transaction_timeout_ms == 5000

    wire = TxnWire(server.address)  # defined with test 10
    try:
        assert wire.init_producer_id(u.uniq("tid"), 5001) == (INVALID_TRANSACTION_TIMEOUT, -1, -1)
        assert wire.init_producer_id(u.uniq("tid"), 0) == (INVALID_TRANSACTION_TIMEOUT, -1, -1)
        error, pid, epoch = wire.init_producer_id(u.uniq("tid"), 5000)
        assert (error, epoch) == (0, 0) and pid >= 0
    finally:
        wire.close()


# ---------------------------------------------------------------------------------------------------------------------
# 8. aiokafka transactional producer and read_committed consumer

async def _aio_read(address, topic, isolation, expected):
    """aiokafka assign+seek_to_beginning read of partition 0 until `expected` records (then a short extra poll).
    Returns ([(offset, value)], last_stable_offset, highwater)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(bootstrap_servers=address, isolation_level=isolation, enable_auto_commit=False,
                                fetch_max_wait_ms=100)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records, deadline = [], time.monotonic() + 15
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend((r.offset, r.value.decode()) for r in batch)
        for batch in (await consumer.getmany(timeout_ms=300)).values():
            records.extend((r.offset, r.value.decode()) for r in batch)
        return records, consumer.last_stable_offset(tp), consumer.highwater(tp)
    finally:
        await consumer.stop()


def test_aiokafka_transactions(module_broker):
    """aiokafka (InitProducerId/AddPartitionsToTxn/EndTxn/TxnOffsetCommit v0): a committed transaction, an aborted one
    (its records in the log), one committing consumed offsets with send_offsets_to_transaction(offsets, group_id),
    and one left open while reading: aiokafka read_committed sees only the committed records and reports the LSO
    (first offset of the open transaction), read_uncommitted sees everything."""
    from aiokafka import AIOKafkaProducer, TopicPartition
    address = module_broker.address
    topic, src, group, txn_id = u.uniq("aio"), u.uniq("aio-src"), u.uniq("aio-g"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=1)
    u.kp_create_topic(address, src, partitions=1)

    async def flow():
        producer = AIOKafkaProducer(bootstrap_servers=address, transactional_id=txn_id, linger_ms=5)
        await producer.start()
        try:
            async with producer.transaction():                                        # 0-2, commit marker 3
                for i in range(3):
                    await producer.send(topic, f"c1-{i}".encode(), partition=0)
            await producer.begin_transaction()                                         # 4-5, abort marker 6
            await asyncio.gather(*[await producer.send(topic, f"ab-{i}".encode(), partition=0) for i in range(2)])
            await producer.abort_transaction()
            await producer.begin_transaction()                                         # 7, commit marker 8
            await producer.send_and_wait(topic, b"c2-0", partition=0)
            await producer.send_offsets_to_transaction({TopicPartition(src, 0): 3}, group)
            await producer.commit_transaction()
            await producer.begin_transaction()                                         # 9, left open
            await producer.send_and_wait(topic, b"open-0", partition=0)
            open_committed = await _aio_read(address, topic, "read_committed", 4)
            open_uncommitted = await _aio_read(address, topic, "read_uncommitted", 7)
            await producer.abort_transaction()                                         # abort marker 10
            return open_committed, open_uncommitted, await _aio_read(address, topic, "read_committed", 4)
        finally:
            await producer.stop()

    open_committed, open_uncommitted, final = asyncio.run(flow())
    assert open_committed == ([(0, "c1-0"), (1, "c1-1"), (2, "c1-2"), (7, "c2-0")], 9, 10), open_committed
    assert open_uncommitted == ([(0, "c1-0"), (1, "c1-1"), (2, "c1-2"), (4, "ab-0"), (5, "ab-1"), (7, "c2-0"),
                                 (9, "open-0")], 9, 10), open_uncommitted
    assert final == ([(0, "c1-0"), (1, "c1-1"), (2, "c1-2"), (7, "c2-0")], 11, 11), final
    assert u.committed_offsets(address, group, src) == {0: 3}
    assert u.describe_transaction(address, txn_id).state == "CompleteAbort"


# ---------------------------------------------------------------------------------------------------------------------
# 9. kafka-python transactional producer and the KIP-664 admin views

def test_kafka_python_transactions_and_admin_views(module_broker):
    """kafka-python's KafkaProducer(transactional_id=...): commit, abort (flushed first, so the records are in the
    log), and a transaction with send_offsets_to_transaction; a kafka-python read_committed consumer sees only the
    committed records. While the last transaction is open, KafkaAdminClient list_transactions (state filter),
    describe_transactions (exact state name, the partitions) and describe_producers (current transaction start
    offset) show it; after the commit they show it finished."""
    from kafka import KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    address = module_broker.address
    topic, src, group, txn_id = u.uniq("kp-txn"), u.uniq("kp-src"), u.uniq("kp-g"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=2)
    u.kp_create_topic(address, src, partitions=1)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    producer = KafkaProducer(bootstrap_servers=address, transactional_id=txn_id, linger_ms=5,
                             request_timeout_ms=15000, max_block_ms=20000)
    try:
        producer.init_transactions()
        producer.begin_transaction()                                                   # p0 0-1, p1 0-1; markers 2
        for i in range(4):
            producer.send(topic, f"c1-{i}".encode(), partition=i % 2)
        producer.commit_transaction()
        producer.begin_transaction()                                                   # p0 3, p1 3; markers 4
        for p in (0, 1):
            producer.send(topic, f"ab-{p}".encode(), partition=p)
        producer.flush(timeout=15)
        producer.abort_transaction()
        producer.begin_transaction()                                                   # p0 5; marker 6
        producer.send(topic, b"c2-0", partition=0).get(timeout=15)
        producer.send_offsets_to_transaction({TopicPartition(src, 0): OffsetAndMetadata(4, "", -1)}, group)

        desc = u.describe_transaction(address, txn_id)
        assert (desc.state, desc.transaction_timeout_ms) == ("Ongoing", 60000), desc
        assert abs(desc.transaction_start_time_ms / 1000 - time.time()) < 30, desc.transaction_start_time_ms
        assert {tp for tp in desc.topic_partitions if tp.topic != "__consumer_offsets"} == {tp0}, desc
        ongoing = kp_txn_admin(address, "list_transactions", state_filters=["Ongoing"])
        mine = [t for listing in ongoing.values() for t in listing if t.transactional_id == txn_id]
        assert [(t.producer_id, t.state) for t in mine] == [(desc.producer_id, "Ongoing")], ongoing
        def listed_ids(**filters):
            found = kp_txn_admin(address, "list_transactions", **filters)
            return [t.transactional_id for listing in found.values() for t in listing if t.transactional_id == txn_id]

        assert listed_ids(state_filters=["CompleteCommit"]) == []
        # ListTransactions v1 DurationFilter: only transactions running longer than the duration.
        assert listed_ids(state_filters=["Ongoing"], duration_filter_ms=0) == [txn_id]
        assert listed_ids(state_filters=["Ongoing"], duration_filter_ms=3_600_000) == []
        producers = kp_txn_admin(address, "describe_producers", [tp0, tp1])
        [state0] = [s for s in producers[tp0].active_producers if s.producer_id == desc.producer_id]
        [state1] = [s for s in producers[tp1].active_producers if s.producer_id == desc.producer_id]
        assert (state0.producer_epoch, state0.current_transaction_start_offset) == (desc.producer_epoch, 5), state0
        assert state1.current_transaction_start_offset == -1, state1
        assert u.end_offsets(address, topic, [0, 1], "read_committed") == {0: 5, 1: 5}

        producer.commit_transaction()
    finally:
        producer.close(timeout=10)

    done = u.describe_transaction(address, txn_id)
    assert (done.state, done.producer_id, done.topic_partitions) == ("CompleteCommit", desc.producer_id, set()), done
    listed = kp_txn_admin(address, "list_transactions", state_filters=["Ongoing", "CompleteCommit"])
    assert [(t.transactional_id, t.state) for listing in listed.values() for t in listing
            if t.transactional_id == txn_id] == [(txn_id, "CompleteCommit")], listed
    producers = kp_txn_admin(address, "describe_producers", [tp0])
    [state0] = [s for s in producers[tp0].active_producers if s.producer_id == desc.producer_id]
    assert state0.current_transaction_start_offset == -1, state0
    assert u.committed_offsets(address, group, src) == {0: 4}
    records = u.kp_read_all(address, topic, 5, partitions=[0, 1], isolation_level="read_committed")
    assert [(r.partition, r.offset, r.value.decode()) for r in records] == \
        [(0, 0, "c1-0"), (0, 1, "c1-2"), (0, 5, "c2-0"), (1, 0, "c1-1"), (1, 1, "c1-3")], records
    assert u.end_offsets(address, topic, [0, 1], "read_committed") == {0: 7, 1: 5}


# ---------------------------------------------------------------------------------------------------------------------
# 10. Protocol edges with hand-encoded requests: exact error codes

def txn_batch(values, producer_id, producer_epoch, base_sequence, transactional=True):
    """An uncompressed magic-2 batch of values with the transactional attribute (0x10) and a correct CRC-32C."""
    timestamp = int(time.time() * 1000)
    records = b"".join(u.encode_record(i, None, v) for i, v in enumerate(values))
    attributes = 0x10 if transactional else 0
    after_crc = (struct.pack(">hiqqqhii", attributes, len(values) - 1, timestamp, timestamp, producer_id,
                             producer_epoch, base_sequence, len(values)) + records)
    after_length = struct.pack(">ibI", 0, 2, u.crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def parse_batches(records):
    """[(base_offset, record count, attributes, control type or None)] of a magic-2 records blob; the control type
    (0 abort, 1 commit) comes from the control record's 4-byte key."""
    out, pos = [], 0
    while records and pos + 61 <= len(records):
        base_offset, length = struct.unpack(">qi", records[pos:pos + 12])
        if pos + 12 + length > len(records):
            break
        attributes = struct.unpack(">h", records[pos + 21:pos + 23])[0]
        count = struct.unpack(">i", records[pos + 57:pos + 61])[0]
        control = None
        if attributes & 0x20:
            body = records[pos + 61:pos + 12 + length]
            # record: length varint, attributes int8, timestamp delta varint, offset delta varint, key length varint.
            # All are one byte for a control record (key length 4 → zigzag 8).
            assert body[4] == 8, f"control record key length byte {body[4]}"
            version, control = struct.unpack(">hh", body[5:9])
            assert version == 0
        out.append((base_offset, count, attributes, control))
        pos += 12 + length
    return out


class TxnWire:
    """Raw transactional requests on one connection (every call also proves the broker still serves it)."""

    def __init__(self, address):
        self.conn = u.RawConnection(address)
        self.correlation = 0

    def _request(self, api_key, version, body, flexible=False):
        self.correlation += 1
        r = Reader(self.conn.request(api_key, version, self.correlation, body, flexible_header=flexible))
        assert r.i32() == self.correlation
        if flexible:
            skip_tags(r)
        return r

    def find_coordinator(self, key, key_type=1):
        r = self._request(10, 1, string(key) + i8(key_type))
        r.i32()
        return {"error": r.i16(), "message": r.string(), "node_id": r.i32(), "host": r.string(), "port": r.i32()}

    def init_producer_id(self, transactional_id, timeout_ms=60000):
        r = self._request(22, 0, string(transactional_id) + i32(timeout_ms))
        r.i32()
        return r.i16(), r.i64(), r.i16()

    def add_partitions(self, version, transactional_id, pid, epoch, topics):
        """AddPartitionsToTxn v0-2 (classic) or v3 (flexible): {topic: {partition: error}}."""
        if version < 3:
            body = (string(transactional_id) + i64(pid) + i16(epoch)
                    + array([string(t) + array([i32(p) for p in ps]) for t, ps in topics]))
            r = self._request(24, version, body)
            r.i32()
            result = r.array(lambda rd: (rd.string(), dict(rd.array(lambda x: (x.i32(), x.i16())))))
        else:
            body = (c_string(transactional_id) + i64(pid) + i16(epoch)
                    + c_array([c_string(t) + c_array([i32(p) for p in ps]) + b"\x00" for t, ps in topics]) + b"\x00")
            r = self._request(24, version, body, flexible=True)
            r.i32()

            def partition(rd):
                index, error = rd.i32(), rd.i16()
                skip_tags(rd)
                return index, error

            def topic(rd):
                name, parts = read_c_string(rd), dict(read_c_array(rd, partition))
                skip_tags(rd)
                return name, parts

            result = read_c_array(r, topic)
            skip_tags(r)
        assert r.remaining() == 0
        return dict(result)

    def end_txn(self, transactional_id, pid, epoch, commit, version=0):
        r = self._request(26, version, string(transactional_id) + i64(pid) + i16(epoch) + i8(1 if commit else 0))
        r.i32()
        return r.i16()

    def produce(self, transactional_id, topic, partition, batch):
        body = (string(transactional_id) + i16(-1) + i32(10000)
                + array([string(topic) + array([i32(partition) + i32(len(batch)) + batch])]))
        self.correlation += 1
        answer = u.parse_produce_v3(self.conn.request(0, 3, self.correlation, body))
        assert answer["correlation_id"] == self.correlation
        return answer["error"], answer["base_offset"]

    def fetch(self, topic, partition, offset, isolation):
        """Fetch v4 with the isolation level (0/1): (last stable offset, high watermark, aborted list, batches)."""
        body = (i32(-1) + i32(100) + i32(0) + i32(1 << 20) + i8(isolation)
                + array([string(topic) + array([i32(partition) + i64(offset) + i32(1 << 20)])]))
        self.correlation += 1
        answer = u.parse_fetch_v4(self.conn.request(1, 4, self.correlation, body))
        [part] = answer["topics"][0]["partitions"]
        assert part["error"] == 0, part
        return part["last_stable"], part["high_watermark"], part["aborted"], parse_batches(part["records"] or b"")

    def close(self):
        self.conn.close()


def test_transaction_protocol_error_codes(module_broker):
    """Hand-encoded coordinator and Produce requests get Kafka's exact error codes, and the broker keeps serving the
    same connection after each: EndTxn without a transaction → INVALID_TXN_STATE; a wrong epoch in AddPartitionsToTxn
    → INVALID_PRODUCER_EPOCH (v1) / PRODUCER_FENCED (v3); unknown topics or partitions → UNKNOWN_TOPIC_OR_PARTITION
    and OPERATION_NOT_ATTEMPTED for the rest (nothing added); a transactional batch for a partition not in the
    transaction → INVALID_TXN_STATE (nothing appended); a transactional batch without a transactional id →
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an unknown transactional id or producer id → INVALID_PRODUCER_ID_MAPPING;
    InitProducerId during an open transaction → CONCURRENT_TRANSACTIONS, aborts it (read_committed Fetch lists it as
    aborted), and the retry gets epoch+2; the old epoch's writes are then refused (INVALID_PRODUCER_EPOCH)."""
    address = module_broker.address
    topic, other, txn_id = u.uniq("wire"), u.uniq("wire-other"), u.uniq("tid")
    u.kp_create_topic(address, topic, partitions=2)
    u.kp_create_topic(address, other, partitions=1)
    wire = TxnWire(address)
    try:
        coordinator = wire.find_coordinator(txn_id)
        assert (coordinator["error"], coordinator["node_id"], coordinator["host"], coordinator["port"]) == \
            (0, 1, "127.0.0.1", module_broker.port), coordinator
        error, pid, epoch = wire.init_producer_id(txn_id)
        assert (error, epoch) == (0, 0) and pid >= 0

        # No transaction yet.
        assert wire.end_txn(txn_id, pid, 0, commit=True) == INVALID_TXN_STATE
        assert wire.end_txn(txn_id, pid, 0, commit=False) == INVALID_TXN_STATE

        # Wrong epoch: 47 before v2, 90 from v2 on.
        assert wire.add_partitions(1, txn_id, pid, 1, [(topic, [0])]) == {topic: {0: INVALID_PRODUCER_EPOCH}}
        assert wire.add_partitions(3, txn_id, pid, 1, [(topic, [0])]) == {topic: {0: PRODUCER_FENCED}}

        # Unknown topic / partition index: those fail, the rest is not attempted, nothing is added.
        missing = u.uniq("no-such-topic")
        assert wire.add_partitions(0, txn_id, pid, 0, [(topic, [0, 1]), (missing, [0]), (other, [5])]) == {
            topic: {0: OPERATION_NOT_ATTEMPTED, 1: OPERATION_NOT_ATTEMPTED},
            missing: {0: UNKNOWN_TOPIC_OR_PARTITION}, other: {5: UNKNOWN_TOPIC_OR_PARTITION}}
        assert wire.add_partitions(3, txn_id, pid, 0, [(topic, [1]), (other, [1])]) == {
            topic: {1: OPERATION_NOT_ATTEMPTED}, other: {1: UNKNOWN_TOPIC_OR_PARTITION}}
        assert u.describe_transaction(address, txn_id).state == "Empty"
        assert wire.end_txn(txn_id, pid, 0, commit=True) == INVALID_TXN_STATE

        # Transactional batches outside a transaction.
        assert wire.produce(txn_id, topic, 0, txn_batch([b"x"], pid, 0, 0)) == (INVALID_TXN_STATE, -1)
        assert wire.produce(None, topic, 0, txn_batch([b"x"], pid, 0, 0))[0] == TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        assert u.end_offsets(address, topic, [0, 1], "read_uncommitted") == {0: 0, 1: 0}, "a refused batch was written"

        # Unknown transactional id, or a producer id that is not the id's.
        unknown = u.uniq("unknown-tid")
        assert wire.add_partitions(0, unknown, pid, 0, [(topic, [0])]) == {topic: {0: INVALID_PRODUCER_ID_MAPPING}}
        assert wire.end_txn(unknown, pid, 0, commit=True) == INVALID_PRODUCER_ID_MAPPING
        assert wire.end_txn(txn_id, pid + 1000, 0, commit=True) == INVALID_PRODUCER_ID_MAPPING

        # A real transaction, then InitProducerId while it is open.
        assert wire.add_partitions(0, txn_id, pid, 0, [(topic, [0])]) == {topic: {0: 0}}
        assert wire.add_partitions(2, txn_id, pid, 0, [(topic, [0])]) == {topic: {0: 0}}  # already in: no-op
        assert wire.produce(txn_id, topic, 0, txn_batch([b"t0", b"t1"], pid, 0, 0)) == (0, 0)
        assert wire.fetch(topic, 0, 0, isolation=1)[:3] == (0, 2, [])
        assert wire.init_producer_id(txn_id) == (CONCURRENT_TRANSACTIONS, -1, -1)
        answers = []

        def retried():
            answers.append(wire.init_producer_id(txn_id))
            return answers[-1][0] != CONCURRENT_TRANSACTIONS

        u.wait_until(retried, timeout=10, interval=0.05, message="InitProducerId to stop answering 51")
        assert answers[-1] == (0, pid, 2), f"InitProducerId retries answered {answers}"
        last_stable, high, aborted, batches = wire.fetch(topic, 0, 0, isolation=1)
        assert (last_stable, high, aborted) == (3, 3, [(pid, 0)]), (last_stable, high, aborted)
        assert batches == [(0, 2, 0x10, None), (2, 1, 0x30, 0)], f"expected data + ABORT marker, got {batches}"
        assert wire.fetch(topic, 0, 0, isolation=0)[2] is None, "read_uncommitted Fetch must not list aborted txns"

        # The fenced epoch is refused everywhere; the new one works.
        assert wire.produce(txn_id, topic, 0, txn_batch([b"zombie"], pid, 0, 2))[0] == INVALID_PRODUCER_EPOCH
        assert wire.add_partitions(1, txn_id, pid, 0, [(topic, [0])]) == {topic: {0: INVALID_PRODUCER_EPOCH}}
        assert wire.end_txn(txn_id, pid, 0, commit=True, version=2) == PRODUCER_FENCED
        assert wire.add_partitions(0, txn_id, pid, 2, [(topic, [0, 1])]) == {topic: {0: 0, 1: 0}}
        assert wire.produce(txn_id, topic, 0, txn_batch([b"n0"], pid, 2, 0)) == (0, 3)
        assert wire.produce(txn_id, topic, 1, txn_batch([b"n1"], pid, 2, 0)) == (0, 0)
        assert wire.end_txn(txn_id, pid, 2, commit=True) == 0
        assert wire.end_txn(txn_id, pid, 2, commit=True) == 0, "a retried commit of a committed transaction is OK"
        assert wire.end_txn(txn_id, pid, 2, commit=False) == INVALID_TXN_STATE
        last_stable, high, aborted, batches = wire.fetch(topic, 0, 3, isolation=1)
        assert (last_stable, high, aborted, batches) == (5, 5, [], [(3, 1, 0x10, None), (4, 1, 0x30, 1)]), \
            (last_stable, high, aborted, batches)
        assert wire.find_coordinator(txn_id)["error"] == 0  # the same connection still serves
    finally:
        wire.close()
    committed, eof = u.ck_read_to_end(address, topic, [0, 1])
    assert committed == {0: [(3, "n0")], 1: [(0, "n1")]} and eof == {0: 5, 1: 2}, (committed, eof)
