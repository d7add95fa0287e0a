"""The KIP-848 consumer group protocol (ConsumerGroupHeartbeat / ConsumerGroupDescribe) with real clients:
confluent-kafka 2.16 (librdkafka 2.16) consumers with group.protocol=consumer, its AdminClient, and raw frames for
the exact error codes.

The broker runs with a 500 ms consumer heartbeat interval so that members learn about a new target assignment
quickly; everything else is Kafka's defaults (uniform assignor, 45 s session).
"""
import time

import pytest

import interop_util as u

pytestmark = pytest.mark.timeout(120)

FAST_HEARTBEATS = ["--override", "group.consumer.min.heartbeat.interval.ms=500",
                   "--override", "group.consumer.heartbeat.interval.ms=500"]


@pytest.fixture(scope="module")
def kip848_broker():
    import shutil
    import tempfile
    from conftest import Server, broker_args
    path = tempfile.mkdtemp(prefix="ledgerstream-interop-kip848-")
    server = Server(broker_args(path, extra=FAST_HEARTBEATS), path).start()
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Member:
    """A confluent-kafka consumer in a consumer-protocol group that commits every record it processes."""

    def __init__(self, address, group, topic, name):
        from confluent_kafka import Consumer
        self.name = name
        self.consumer = Consumer({
            "bootstrap.servers": address, "group.id": group, "group.protocol": "consumer",
            "client.id": name, "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "fetch.wait.max.ms": 100})
        self.consumer.subscribe([topic])
        self.records = []

    def poll(self, timeout=0.05):
        msg = self.consumer.poll(timeout)
        if msg is None:
            return
        assert msg.error() is None, f"{self.name}: {msg.error()}"
        self.records.append((msg.partition(), msg.offset()))
        self.consumer.commit(message=msg, asynchronous=False)

    def partitions(self):
        return {tp.partition for tp in self.consumer.assignment()}

    def close(self):
        self.consumer.close()


def produce(address, topic, partitions, per_partition, start):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": address})
    for p in range(partitions):
        for i in range(per_partition):
            producer.produce(topic, value=f"{start + i}".encode(), partition=p)
    assert producer.flush(15) == 0


def pump(members, until, timeout=30.0, message="condition"):
    """Polls every member round-robin until `until()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for member in members:
            member.poll()
        if until():
            return
    raise AssertionError(f"timed out waiting for {message}: " +
                         ", ".join(f"{m.name}={sorted(m.partitions())}/{len(m.records)}" for m in members))


def split_evenly(members, partitions):
    owned = [m.partitions() for m in members]
    every = set().union(*owned)
    return (every == set(range(partitions)) and sum(map(len, owned)) == partitions and all(owned)
            and max(map(len, owned)) - min(map(len, owned)) <= 1)


def test_members_share_take_over_and_consume_exactly_once(kip848_broker):
    address, topic, group, partitions = kip848_broker.address, u.uniq("kip848"), u.uniq("g848"), 6
    u.kp_create_topic(address, topic, partitions=partitions)
    produce(address, topic, partitions, 10, 0)
    a = Member(address, group, topic, "a")
    members = [a]
    try:
        # One member gets every partition and reads everything.
        pump(members, lambda: len(a.records) == 60 and a.partitions() == set(range(partitions)), message="a alone")

        # Three members: each partition owned by exactly one of them, two each.
        b, c = Member(address, group, topic, "b"), Member(address, group, topic, "c")
        members += [b, c]
        pump(members, lambda: split_evenly(members, partitions), message="three-way split")
        produce(address, topic, partitions, 10, 100)
        pump(members, lambda: sum(len(m.records) for m in members) == 120, message="records after the split")
        for m in members:
            assert {p for p, o in m.records if o >= 10} == m.partitions(), f"{m.name} read partitions it does not own"

        # c leaves: a and b take over its partitions.
        c.close()
        members.remove(c)
        pump(members, lambda: split_evenly(members, partitions), message="takeover after c left")
        produce(address, topic, partitions, 10, 200)
        pump(members, lambda: sum(len(m.records) for m in members + [c]) == 180, message="records after c left")

        # A new member gets a share.
        d = Member(address, group, topic, "d")
        members.append(d)
        pump(members, lambda: split_evenly(members, partitions), message="d joined")
        produce(address, topic, partitions, 10, 300)
        pump(members, lambda: sum(len(m.records) for m in members + [c]) == 240, message="records after d joined")

        consumed = [r for m in members + [c] for r in m.records]
        assert len(consumed) == len(set(consumed)) == 240, "a record was consumed twice"
        assert sorted(consumed) == [(p, o) for p in range(partitions) for o in range(40)]
        assert u.committed_offsets(address, group, topic) == {p: 40 for p in range(partitions)}

        # AdminClient: listed as a consumer group, described through ConsumerGroupDescribe with its members.
        from confluent_kafka import ConsumerGroupType
        admin = u.ck_admin(address)
        listed = admin.list_consumer_groups().result(timeout=20)
        [entry] = [g for g in listed.valid if g.group_id == group]
        assert entry.type == ConsumerGroupType.CONSUMER
        description = admin.describe_consumer_groups([group])[group].result(timeout=20)
        assert description.type == ConsumerGroupType.CONSUMER
        assert sorted(m.client_id for m in description.members) == ["a", "b", "d"]
        described = {m.client_id: {tp.partition for tp in m.assignment.topic_partitions} for m in description.members}
        assert described == {m.name: m.partitions() for m in members}
    finally:
        for m in members:
            m.close()


def test_classic_join_to_consumer_group_is_refused(kip848_broker):
    address, topic, group = kip848_broker.address, u.uniq("kip848c"), u.uniq("g848c")
    u.kp_create_topic(address, topic, partitions=2)
    member = Member(address, group, topic, "modern")
    try:
        pump([member], lambda: member.partitions() == {0, 1}, message="modern member assigned")
        # JoinGroup v5 (classic) for the same group id: INCONSISTENT_GROUP_PROTOCOL (mixed groups are not supported).
        body = (u.string(group) + u.i32(10000) + u.i32(10000) + u.string("") + u.string(None) + u.string("consumer")
                + u.array([u.string("range") + u.i32(4) + b"meta"]))
        with u.RawConnection(address) as conn:
            r = u.Reader(conn.request(11, 5, 1, body))
            assert r.i32() == 1
            r.i32()
            assert r.i16() == 23
        # A real classic consumer (librdkafka, group.protocol=classic) gets the same error from poll().
        from confluent_kafka import Consumer, KafkaError
        classic = Consumer({"bootstrap.servers": address, "group.id": group, "auto.offset.reset": "earliest"})
        try:
            classic.subscribe([topic])
            error, deadline = None, time.monotonic() + 15
            while error is None and time.monotonic() < deadline:
                msg = classic.poll(0.2)
                if msg is not None and msg.error() is not None:
                    error = msg.error()
            assert error is not None and error.code() == KafkaError.INCONSISTENT_GROUP_PROTOCOL, error
            assert classic.assignment() == []
        finally:
            classic.close()
        # The consumer group keeps going.
        pump([member], lambda: member.partitions() == {0, 1}, timeout=3, message="still assigned")
    finally:
        member.close()


def heartbeat_v0(address, group, member_id, epoch, topics=None, rebalance_timeout_ms=30000, owned=()):
    """ConsumerGroupHeartbeat v0 (flexible): returns (error, message, member_id, epoch, interval, assignment)."""
    def cstring(s):
        return u.uvarint(0) if s is None else u.uvarint(len(s.encode()) + 1) + s.encode()

    def carray(items):
        return u.uvarint(0) if items is None else u.uvarint(len(items) + 1) + b"".join(items)

    body = (cstring(group) + cstring(member_id) + u.i32(epoch) + cstring(None) + cstring(None)
            + u.i32(rebalance_timeout_ms) + carray(None if topics is None else [cstring(t) for t in topics])
            + cstring(None) + carray(list(owned)) + b"\x00")
    with u.RawConnection(address) as conn:
        payload = conn.request(68, 0, 7, body, flexible_header=True)
    r = u.Reader(payload)
    assert r.i32() == 7
    assert r.take(1) == b"\x00"  # response header tags
    r.i32()  # throttle

    def read_cstring():
        n = r.i8()  # short strings only
        return None if n == 0 else r.take(n - 1).decode()

    error, message = r.i16(), read_cstring()
    member, member_epoch, interval = read_cstring(), r.i32(), r.i32()
    assignment = None
    if r.i8() == 1:
        assignment = []
        for _ in range(r.i8() - 1):
            topic_id = r.take(16)
            parts = [r.i32() for _ in range(r.i8() - 1)]
            r.take(1)
            assignment.append((topic_id, parts))
    return error, message, member, member_epoch, interval, assignment


def test_raw_heartbeat_errors_and_epochs(kip848_broker):
    address, topic, group = kip848_broker.address, u.uniq("kip848r"), u.uniq("g848r")
    u.kp_create_topic(address, topic, partitions=3)
    # Joining without TopicPartitions = [] is an INVALID_REQUEST; an unknown member is UNKNOWN_MEMBER_ID.
    error, message, *_ = heartbeat_v0(address, group, "", 0, topics=[topic], rebalance_timeout_ms=-1)
    assert error == 42 and "RebalanceTimeoutMs" in message
    assert heartbeat_v0(address, group, "nobody", 3, topics=[topic])[0] == 25
    # v0: the broker picks the member id; the first member gets every partition at epoch 1.
    error, _, member, epoch, interval, assignment = heartbeat_v0(address, group, "", 0, topics=[topic])
    assert (error, epoch, interval) == (0, 1, 500) and member
    assert [sorted(parts) for _, parts in assignment] == [[0, 1, 2]]
    # A future epoch is fenced; leaving answers epoch -1 and the next heartbeat is from an unknown member.
    assert heartbeat_v0(address, group, member, 5)[0] == 110
    assert heartbeat_v0(address, group, member, -1)[:4] == (0, None, member, -1)
    assert heartbeat_v0(address, group, member, 1)[0] == 25


def test_consumer_protocol_disabled(start_broker):
    broker = start_broker(extra=["--override", "group.coordinator.rebalance.protocols=classic"])
    error, apis = u.api_versions_v0(broker.address)
    assert error == 0 and 68 not in apis and 69 not in apis and 11 in apis
    error, *_ = heartbeat_v0(broker.address, u.uniq("g"), "", 0, topics=["t"])
    assert error == 35


def test_members_rejoin_after_broker_restart(start_broker):
    # Membership is not persisted: after a restart the member's heartbeat gets UNKNOWN_MEMBER_ID, librdkafka rejoins
    # with epoch 0 and resumes from the committed offsets, so nothing is read twice.
    broker = start_broker(extra=FAST_HEARTBEATS)
    topic, group = u.uniq("kip848s"), u.uniq("g848s")
    u.kp_create_topic(broker.address, topic, partitions=2)
    produce(broker.address, topic, 2, 5, 0)
    member = Member(broker.address, group, topic, "survivor")
    try:
        pump([member], lambda: len(member.records) == 10, message="first records")
        broker.restart()
        produce(broker.address, topic, 2, 5, 100)
        pump([member], lambda: len(member.records) == 20, timeout=60, message="records after the restart")
        settle_until = time.monotonic() + 1.0  # anything read twice would arrive now
        while time.monotonic() < settle_until:
            member.poll()
        assert sorted(member.records) == [(p, o) for p in range(2) for o in range(10)]
    finally:
        member.close()


def test_regex_subscription_follows_new_topics(kip848_broker):
    # librdkafka sends a "^…" subscription as SubscribedTopicRegex (v1); the broker resolves it, including topics
    # created after the member joined.
    address, prefix, group = kip848_broker.address, u.uniq("rx"), u.uniq("g848x")
    u.kp_create_topic(address, f"{prefix}-one", partitions=2)
    member = Member(address, group, f"^{prefix}-.*", "regex")
    try:
        def owned():
            return {(tp.topic, tp.partition) for tp in member.consumer.assignment()}
        pump([member], lambda: owned() == {(f"{prefix}-one", 0), (f"{prefix}-one", 1)}, message="regex match")
        u.kp_create_topic(address, f"{prefix}-two", partitions=1)
        pump([member], lambda: (f"{prefix}-two", 0) in owned(), timeout=30, message="new topic picked up")
    finally:
        member.close()
