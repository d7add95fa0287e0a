"""Incremental fetch sessions (KIP-227): the session state machine over raw Fetch v11 requests (creation, epochs,
changed and forgotten partitions, long polling, errors, closing, topics deleted and recreated under a session), and
kafka-python 3, whose consumer uses sessions by default, reading every record exactly once through one session.

librdkafka (confluent-kafka 2.16) always sends SessionId 0 / SessionEpoch -1 (rdkafka_fetcher.c), and aiokafka 0.14
has no sessions: both stay on sessionless full fetches, which the other interop suites cover.
"""
import threading
import time

import pytest

import interop_util as u

pytestmark = pytest.mark.timeout(120)

FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, UNKNOWN_TOPIC_OR_PARTITION = 70, 71, 3


def produce(address, topic, partition, count, prefix="v"):
    producer = u.kp_producer(address)
    try:
        for i in range(count):
            producer.send(topic, f"{prefix}-{i}".encode(), partition=partition)
        producer.flush(timeout=15)
    finally:
        producer.close()


def test_session_lifecycle(module_broker):
    address = module_broker.address
    topic = u.uniq("session")
    u.kp_create_topic(address, topic, partitions=3)
    produce(address, topic, 0, 2)
    with u.RawConnection(address) as conn:
        # A full fetch (epoch 0) opens a session and answers every partition.
        error, sid, parts = u.fetch_v11(conn, {topic: [(0, 0, -1), (1, 0, -1), (2, 0, -1)]}, session_epoch=0)
        assert error == 0 and sid > 0
        assert sorted(parts) == [(topic, 0), (topic, 1), (topic, 2)] and parts[(topic, 0)]["records"]
        # The client moved p0 to offset 2: nothing new anywhere, so the answer is empty.
        error, same, parts = u.fetch_v11(conn, {topic: [(0, 2, -1)]}, session_id=sid, session_epoch=1)
        assert (error, same, parts) == (0, sid, {})
        # A record on p1 (still cached at offset 0): only p1 is sent.
        produce(address, topic, 1, 1)
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=2)
        assert error == 0 and sorted(parts) == [(topic, 1)] and parts[(topic, 1)]["high_watermark"] == 1
        error, _, parts = u.fetch_v11(conn, {topic: [(1, 1, -1)]}, session_id=sid, session_epoch=3)
        assert (error, parts) == (0, {})
        # Forgotten partitions are no longer read.
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=4, forgotten=[(topic, [2])])
        assert (error, parts) == (0, {})
        produce(address, topic, 2, 1)
        produce(address, topic, 0, 1)
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=5)
        assert error == 0 and sorted(parts) == [(topic, 0)]
        error, _, parts = u.fetch_v11(conn, {topic: [(0, 3, -1)]}, session_id=sid, session_epoch=6)
        assert (error, parts) == (0, {})

        # Long polling: an incremental fetch with nothing new waits and is woken by the next append.
        def append_later():
            time.sleep(0.3)
            produce(address, topic, 1, 1, prefix="late")
        writer = threading.Thread(target=append_later)
        started = time.monotonic()
        writer.start()
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=7, max_wait_ms=10000)
        waited = time.monotonic() - started
        writer.join()
        assert error == 0 and sorted(parts) == [(topic, 1)] and parts[(topic, 1)]["records"]
        assert 0.2 < waited < 5, f"the parked incremental fetch answered after {waited:.2f}s"

        # Errors: a stale epoch, an unknown session id.
        assert u.fetch_v11(conn, {}, session_id=sid, session_epoch=7)[:2] == (INVALID_FETCH_SESSION_EPOCH, 0)
        assert u.fetch_v11(conn, {}, session_id=sid ^ 0x5A5A, session_epoch=1)[:2] == (FETCH_SESSION_ID_NOT_FOUND, 0)
        # The session is still usable at its epoch after those errors.
        assert u.fetch_v11(conn, {topic: [(1, 2, -1)]}, session_id=sid, session_epoch=8)[:2] == (0, sid)
        # Epoch -1 closes it and is answered in full, without a session.
        error, none, parts = u.fetch_v11(conn, {topic: [(0, 0, -1)]}, session_id=sid, session_epoch=-1)
        assert (error, none) == (0, 0) and sorted(parts) == [(topic, 0)]
        assert u.fetch_v11(conn, {}, session_id=sid, session_epoch=9)[0] == FETCH_SESSION_ID_NOT_FOUND
    # Sessions belong to no connection: a session opened on one is continued on another.
    with u.RawConnection(address) as first:
        _, sid, _ = u.fetch_v11(first, {topic: [(0, 0, -1)]}, session_epoch=0)
    with u.RawConnection(address) as second:
        assert u.fetch_v11(second, {topic: [(0, 3, -1)]}, session_id=sid, session_epoch=1) == (0, sid, {})


def test_topic_deleted_and_recreated_under_a_session(module_broker):
    address = module_broker.address
    topic, other = u.uniq("doomed"), u.uniq("kept")
    u.kp_create_topic(address, topic, partitions=1)
    u.kp_create_topic(address, other, partitions=1)
    produce(address, topic, 0, 2)
    with u.RawConnection(address) as conn:
        error, sid, parts = u.fetch_v11(conn, {topic: [(0, 0, -1)], other: [(0, 0, -1)]}, session_epoch=0)
        assert error == 0 and sid > 0 and len(parts) == 2
        error, _, parts = u.fetch_v11(conn, {topic: [(0, 2, -1)]}, session_id=sid, session_epoch=1)
        assert (error, parts) == (0, {})
        admin = u.kp_admin(address)
        try:
            admin.delete_topics([topic])
        finally:
            admin.close()
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=2)
        assert error == 0 and sorted(parts) == [(topic, 0)], parts
        assert parts[(topic, 0)]["error"] == UNKNOWN_TOPIC_OR_PARTITION
        # The error stays visible while it lasts.
        assert u.fetch_v11(conn, {}, session_id=sid, session_epoch=3)[2][(topic, 0)]["error"] == UNKNOWN_TOPIC_OR_PARTITION
        # Recreated: the partition comes back (empty, so the cached offset 2 is out of range, as Kafka answers).
        u.kp_create_topic(address, topic, partitions=1)
        error, _, parts = u.fetch_v11(conn, {}, session_id=sid, session_epoch=4)
        assert error == 0 and parts[(topic, 0)]["error"] == 1, parts
        produce(address, topic, 0, 1, prefix="reborn")
        error, _, parts = u.fetch_v11(conn, {topic: [(0, 0, -1)]}, session_id=sid, session_epoch=5)
        assert error == 0 and parts[(topic, 0)]["error"] == 0 and parts[(topic, 0)]["records"]
        assert (other, 0) not in parts, "the untouched topic is not resent"


def test_kafka_python_consumer_reads_through_one_incremental_session(start_broker):
    """kafka-python 3 keeps one session per broker (enable_incremental_fetch_sessions defaults to True): while a
    producer writes and partitions are added, the group consumer reads every record exactly once, and the broker
    opened only a few sessions for it (a full fetch per fetch would open one each time)."""
    from kafka import KafkaConsumer
    server = start_broker(extra=["--log-level", "debug"])
    address = server.address
    topic, client_id = u.uniq("kp-session"), u.uniq("kp-session-client")
    u.kp_create_topic(address, topic, partitions=3)
    consumer = KafkaConsumer(topic, bootstrap_servers=address, client_id=client_id, group_id=u.uniq("g"),
                             auto_offset_reset="earliest", fetch_max_wait_ms=100, metadata_max_age_ms=500)
    producer = u.kp_producer(address)
    got = []
    try:
        def drain(until, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not until():
                for records in consumer.poll(timeout_ms=100).values():
                    got.extend((r.partition, r.offset, r.value.decode()) for r in records)
        drain(lambda: len(consumer.assignment()) == 3, 20)
        for i in range(60):
            producer.send(topic, f"a-{i}".encode(), partition=i % 3)
            if i % 10 == 0:
                producer.flush()
                drain(lambda: False, 0.2)
        producer.flush()
        admin = u.kp_admin(address)
        try:
            from kafka.admin import NewPartitions
            admin.create_partitions({topic: NewPartitions(total_count=5)})
        finally:
            admin.close()
        drain(lambda: len(consumer.assignment()) == 5, 20)
        producer.close()
        producer = u.kp_producer(address)
        for i in range(50):
            producer.send(topic, f"b-{i}".encode(), partition=i % 5)
        producer.flush()
        drain(lambda: len(got) >= 110, 30)
        drain(lambda: False, 0.5)
    finally:
        consumer.close()
        producer.close()
    keys = [(p, o) for p, o, _ in got]
    assert len(keys) == len(set(keys)), "records delivered twice"
    assert sorted(v for _, _, v in got) == sorted([f"a-{i}" for i in range(60)] + [f"b-{i}" for i in range(50)])
    lines = server.log().splitlines()
    opened = [line for line in lines if "fetch session opened" in line and f"client={client_id}" in line]
    errors = [line for line in lines if "fetch session error" in line and f"client={client_id}" in line]
    assert 1 <= len(opened) <= 3, f"kafka-python opened {len(opened)} sessions:\n" + "\n".join(opened[:10])
    assert not errors, "\n".join(errors[:10])
