"""Consumer groups against `ledgerstream broker`: partition split and takeover (kafka-python, confluent-kafka),
first-record latency of a lone member, kcat balanced consumer, expulsion of a SIGKILLed member, aiokafka group.

All tests share one broker (module scope); each uses its own topic and group.
"""
import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import interop_util as u
from interop_util import KCAT

pytestmark = pytest.mark.timeout(120)

PARTITIONS = 4


def produce_round(address, topic, per_partition, tag):
    """`per_partition` records to each partition; values `<tag>-<partition>-<i>`. Returns the set of values."""
    producer = u.kp_producer(address, acks="all", linger_ms=5)
    values = set()
    try:
        for p in range(PARTITIONS):
            for i in range(per_partition):
                value = f"{tag}-{p}-{i}"
                producer.send(topic, value=value.encode(), partition=p)
                values.add(value)
        producer.flush(timeout=15)
    finally:
        producer.close()
    return values


def _split_takeover_scenario(address, member_factory, during_split=None):
    topic, group = u.uniq("grp"), u.uniq("g")
    u.kp_create_topic(address, topic, partitions=PARTITIONS)
    a, b = member_factory("member-a", group, topic), member_factory("member-b", group, topic)
    a.start()
    b.start()
    try:
        everything = set(range(PARTITIONS))

        def split():
            for m in (a, b):
                assert m.error is None, f"{m.name} failed: {m.error!r}"
            sa, sb = set(a.assignment), set(b.assignment)
            return sa and sb and not (sa & sb) and (sa | sb) == everything and (sa, sb)

        sa, sb = u.wait_until(split, timeout=30, message="both members to own disjoint partitions covering all 4")
        if during_split:
            during_split(group)

        # Phase 1: 10 records per partition; each member gets exactly its partitions' records; both commit.
        phase1 = produce_round(address, topic, 10, "p1")
        u.wait_until(lambda: len(a.records) + len(b.records) >= 40, timeout=20,
                     message="phase 1 records consumed")
        time.sleep(0.3)
        assert sorted(a.values() + b.values()) == sorted(phase1), "phase 1: missing or duplicated records"
        assert {p for p, _, _ in a.records} <= sa and {p for p, _, _ in b.records} <= sb, \
            f"records outside the member's assignment: a={sa} got {sorted({p for p, _, _ in a.records})}, " \
            f"b={sb} got {sorted({p for p, _, _ in b.records})}"
        assert a.assignment == sa and b.assignment == sb, "assignment changed without a membership change"
        u.wait_until(lambda: u.committed_offsets(address, group, topic) == {p: 10 for p in everything},
                     timeout=10, message="phase 1 offsets committed (10 per partition)")

        # Phase 2: b stops committing; 2 more records per partition.
        b.commit = False
        phase2 = produce_round(address, topic, 2, "p2")
        u.wait_until(lambda: len(a.records) + len(b.records) >= 48, timeout=20, message="phase 2 records consumed")
        time.sleep(0.3)
        b_uncommitted = {v for p, _, v in b.records if v.startswith("p2-")}
        assert len(b_uncommitted) == 2 * len(sb)

        # b closes (LeaveGroup): a must take over every partition quickly.
        a_seen = len(a.records)
        b.stop()
        assert b.error is None, f"member-b failed: {b.error!r}"
        takeover_started = b.closed_at
        u.wait_until(lambda: a.assignment == everything, timeout=15,
                     message="member-a to own all partitions after member-b left")
        takeover = time.monotonic() - takeover_started
        print(f"[measure] takeover after LeaveGroup: {takeover:.2f}s")

        # Phase 3: 5 more per partition. a must see b's uncommitted phase-2 records again (from b's committed
        # offsets), plus phase 3, and nothing else.
        phase3 = produce_round(address, topic, 5, "p3")
        expected_new = sorted(b_uncommitted | phase3)
        u.wait_until(lambda: len(a.records) - a_seen >= len(expected_new), timeout=20,
                     message="member-a to consume phase 3 and b's uncommitted records")
        time.sleep(0.5)
        new = sorted(v for _, _, v in a.records[a_seen:])
        assert new == expected_new, (
            f"after takeover member-a got {len(new)} records, expected {len(expected_new)}; "
            f"unexpected={sorted(set(new) - set(expected_new))[:10]} missing={sorted(set(expected_new) - set(new))[:10]} "
            f"duplicates={len(new) - len(set(new))}")
        assert phase2 - b_uncommitted <= set(a.values())
        u.wait_until(lambda: u.committed_offsets(address, group, topic) == {p: 17 for p in everything},
                     timeout=10, message="final offsets committed (17 per partition)")
        assert a.commit_errors == [] and b.commit_errors == [], (a.commit_errors, b.commit_errors)
        assert takeover < 10, f"takeover after LeaveGroup took {takeover:.1f}s"
    finally:
        for m in (a, b):
            if m.is_alive():
                m.stop()
    assert a.error is None, f"member-a failed: {a.error!r}"


def test_kafka_python_group_split_and_takeover(module_broker):
    _split_takeover_scenario(
        module_broker.address, lambda name, group, topic: u.KafkaPythonMember(name, module_broker.address, group, topic))


def test_confluent_group_split_and_takeover(module_broker):
    _split_takeover_scenario(
        module_broker.address, lambda name, group, topic: u.ConfluentMember(name, module_broker.address, group, topic))


def test_mixed_clients_group_agree_on_common_protocol(module_broker):
    """kafka-python offers (range, roundrobin), the confluent member only roundrobin: the group must pick the only
    protocol every member supports, and the two clients then split and hand over partitions as above."""
    def factory(name, group, topic):
        if name == "member-a":
            return u.KafkaPythonMember(name, module_broker.address, group, topic)
        return u.ConfluentMember(name, module_broker.address, group, topic, **{"partition.assignment.strategy": "roundrobin"})

    def check_protocol(group):
        admin = u.kp_admin(module_broker.address)
        try:
            description = admin.describe_groups([group])[group]
        finally:
            admin.close()
        assert description["group_state"] == "Stable"
        assert description["protocol_data"] == "roundrobin", description["protocol_data"]
        assert len(description["members"]) == 2

    _split_takeover_scenario(module_broker.address, factory, during_split=check_protocol)


# ---------------------------------------------------------------------------------------------------------------------
# First record latency of a lone member (group.initial.rebalance.delay.ms=0 in the fixture)

def test_lone_kafka_python_consumer_first_record_fast(module_broker):
    """A lone member gets its first record quickly. The consumer reads the topic's metadata before it subscribes,
    and polls a second at a time (poll returns as soon as records come): otherwise kafka-python's leader can assign
    before its metadata lists the new topic ("No partition metadata for topic", seen once in CI), assign nothing and
    rejoin, and kafka-python 3.0.12 can lose that second join when a short poll times out between its SyncGroup and
    the answer (see test_orphan_pending_member_does_not_stall_group)."""
    from kafka import KafkaConsumer
    topic, group = u.uniq("lone-kp"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    produce = u.kp_producer(module_broker.address)
    produce.send(topic, b"hello").get(timeout=15)
    produce.close()
    started = time.monotonic()
    consumer = KafkaConsumer(bootstrap_servers=module_broker.address, group_id=group,
                             auto_offset_reset="earliest", fetch_max_wait_ms=100)
    try:
        assert consumer.partitions_for_topic(topic) == {0}
        consumer.subscribe([topic])
        got = []
        while not got and time.monotonic() - started < 15:
            for recs in consumer.poll(timeout_ms=1000).values():
                got.extend(recs)
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
    print(f"[measure] kafka-python lone consumer first record after {elapsed:.2f}s")
    assert [r.value for r in got] == [b"hello"]
    assert elapsed < 2.0, f"kafka-python lone consumer got its first record after {elapsed:.2f}s"


def test_lone_confluent_consumer_first_record_fast(module_broker):
    from confluent_kafka import Consumer
    topic, group = u.uniq("lone-ck"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    produce = u.kp_producer(module_broker.address)
    produce.send(topic, b"hello").get(timeout=15)
    produce.close()
    started = time.monotonic()
    consumer = Consumer({"bootstrap.servers": module_broker.address, "group.id": group,
                         "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
    consumer.subscribe([topic])
    try:
        msg = None
        while msg is None and time.monotonic() - started < 15:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is not None:
                raise AssertionError(f"consumer error: {msg.error()}")
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
    print(f"[measure] confluent-kafka lone consumer first record after {elapsed:.2f}s")
    assert msg is not None and msg.value() == b"hello"
    assert elapsed < 2.0, f"confluent-kafka lone consumer got its first record after {elapsed:.2f}s"


# ---------------------------------------------------------------------------------------------------------------------
# kcat balanced consumer

@pytest.mark.parametrize("variant", ["system", "2.16"])
def test_kcat_balanced_consumer_consumes_and_commits(module_broker, processes, variant):
    if variant == "2.16" and not u.librdkafka_216_dir():
        pytest.skip("confluent_kafka.libs (librdkafka 2.16 bundled with the confluent-kafka wheel) not found")
    topic, group = u.uniq("kcatg"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    values = produce_round_two(module_broker.address, topic, 6)
    proc = subprocess.Popen(
        ["timeout", "-s", "INT", "40", KCAT, "-b", module_broker.address, "-G", group, "-J", "-u",
         "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", topic],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=u.kcat_env(variant))
    processes.append(proc)
    got = []

    def read_stdout():
        for line in proc.stdout:
            got.extend(u.parse_json_lines(line))

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while len(got) < len(values) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    consumed = len(got) >= len(values)
    proc.send_signal(signal.SIGINT)  # timeout forwards it to kcat: commit + LeaveGroup + exit
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("kcat -G did not exit within 15s of SIGINT")
    reader.join(5)
    stderr = proc.stderr.read()
    assert consumed, f"kcat -G consumed {len(got)} of {len(values)} records; stderr:\n{stderr}"
    assert sorted(m["payload"] for m in got) == sorted(values), stderr
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 6, 1: 6}, stderr
    # kcat left the group on exit: the group is empty.
    admin = u.kp_admin(module_broker.address)
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    assert description["group_state"] == "Empty" and description["members"] == [], description


def produce_round_two(address, topic, per_partition):
    producer = u.kp_producer(address, linger_ms=5)
    values = []
    try:
        for p in range(2):
            for i in range(per_partition):
                values.append(f"v-{p}-{i}")
                producer.send(topic, value=values[-1].encode(), partition=p)
        producer.flush(timeout=15)
    finally:
        producer.close()
    return values


# ---------------------------------------------------------------------------------------------------------------------
# A member killed without LeaveGroup is expelled after its session timeout

KILLED_MEMBER = textwrap.dedent("""
    import sys
    from confluent_kafka import Consumer
    address, group, topic = sys.argv[1:4]
    c = Consumer({"bootstrap.servers": address, "group.id": group, "client.id": "doomed",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 100})
    def on_assign(consumer, partitions):
        print("ASSIGNED " + ",".join(str(p.partition) for p in partitions), flush=True)
    def on_revoke(consumer, partitions):
        print("REVOKED", flush=True)
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while True:
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            print("GOT %d %d" % (m.partition(), m.offset()), flush=True)
""")


def test_killed_member_expelled_after_session_timeout(module_broker, processes):
    topic, group = u.uniq("expel"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    doomed_assignment = []
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MEMBER, module_broker.address, group, topic],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    processes.append(proc)

    def read_doomed():
        for line in proc.stdout:
            if line.startswith("ASSIGNED"):
                parts = line.split()[1] if len(line.split()) > 1 else ""
                doomed_assignment.append({int(p) for p in parts.split(",") if p})
            elif line.startswith("REVOKED"):
                doomed_assignment.append(set())

    threading.Thread(target=read_doomed, daemon=True).start()
    survivor = u.ConfluentMember("survivor", module_broker.address, group, topic)
    survivor.start()
    try:
        def split():
            mine = set(survivor.assignment)
            theirs = doomed_assignment[-1] if doomed_assignment else set()
            return mine and theirs and not (mine & theirs) and (mine | theirs) == {0, 1} and theirs

        theirs = u.wait_until(split, timeout=30, message="survivor and doomed member to split 2 partitions")
        time.sleep(1.0)  # a couple of heartbeats from the doomed member
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        killed_at = time.monotonic()
        u.wait_until(lambda: survivor.assignment == {0, 1}, timeout=25,
                     message="survivor to get the killed member's partition")
        took = time.monotonic() - killed_at
        print(f"[measure] killed member's partitions reassigned after {took:.2f}s (session.timeout.ms=6000)")
        # Expelled after the 6 s session timeout: not (much) earlier, and not a lot later.
        assert 4.5 <= took <= 14, f"killed member's partitions moved after {took:.1f}s (session.timeout.ms=6000)"
        # The survivor consumes what is produced to the dead member's partition.
        [p] = sorted(theirs)
        producer = u.kp_producer(module_broker.address)
        producer.send(topic, b"after-expel", partition=p).get(timeout=15)
        producer.close()
        u.wait_until(lambda: "after-expel" in survivor.values(), timeout=10,
                     message="survivor to consume a record of the taken-over partition")
        assert survivor.error is None, repr(survivor.error)
    finally:
        survivor.stop()


# ---------------------------------------------------------------------------------------------------------------------
# aiokafka group member: join, consume, commit, leave

def test_aiokafka_group_consume_commit_leave(module_broker):
    from aiokafka import AIOKafkaConsumer
    topic, group = u.uniq("aiog"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    values = produce_round_two(module_broker.address, topic, 4)

    async def scenario():
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=module_broker.address, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=100)
        await consumer.start()
        got = []
        try:
            deadline = time.monotonic() + 20
            while len(got) < len(values) and time.monotonic() < deadline:
                for recs in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend(r.value.decode() for r in recs)
            await consumer.commit()
            generation = consumer._coordinator.generation
        finally:
            await consumer.stop()  # LeaveGroup only if generation > 0
        return got, generation

    got, generation = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted(got) == sorted(values)
    assert generation >= 1, f"first stable generation was {generation}; aiokafka skips LeaveGroup at generation <= 0"
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 4, 1: 4}
    admin = u.kp_admin(module_broker.address)
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    assert description["group_state"] == "Empty" and description["members"] == [], description


# ---------------------------------------------------------------------------------------------------------------------
# Raw group protocol: the exact error codes clients act on

def _bytes(b):
    return u.i32(-1) if b is None else u.i32(len(b)) + b


def _join_v5(conn, cid, group, member_id, session_ms=10000, rebalance_ms=10000, metadata=b"meta", protocols=("range",)):
    body = (u.string(group) + u.i32(session_ms) + u.i32(rebalance_ms) + u.string(member_id) + u.string(None)
            + u.string("consumer") + u.array([u.string(p) + _bytes(metadata) for p in protocols]))
    r = u.Reader(conn.request(11, 5, cid, body))
    assert r.i32() == cid
    r.i32()  # throttle
    out = {"error": r.i16(), "generation": r.i32(), "protocol": r.string(), "leader": r.string(),
           "member_id": r.string()}
    out["members"] = r.array(lambda rd: (rd.string(), rd.string(), rd.bytes()))
    return out


def _sync_v3(conn, cid, group, generation, member_id, assignments):
    body = (u.string(group) + u.i32(generation) + u.string(member_id) + u.string(None)
            + u.array([u.string(m) + _bytes(a) for m, a in assignments]))
    r = u.Reader(conn.request(14, 3, cid, body))
    assert r.i32() == cid
    r.i32()
    return r.i16(), r.bytes()


def _heartbeat_v3(conn, cid, group, generation, member_id):
    r = u.Reader(conn.request(12, 3, cid, u.string(group) + u.i32(generation) + u.string(member_id) + u.string(None)))
    assert r.i32() == cid
    r.i32()
    return r.i16()


def _offset_commit_v2(conn, cid, group, generation, member_id, topic, partition, offset):
    body = (u.string(group) + u.i32(generation) + u.string(member_id) + u.i64(-1)
            + u.array([u.string(topic) + u.array([u.i32(partition) + u.i64(offset) + u.string("")])]))
    r = u.Reader(conn.request(8, 2, cid, body))
    assert r.i32() == cid
    [(_, [(_, error)])] = r.array(lambda rd: (rd.string(), rd.array(lambda x: (x.i32(), x.i16()))))
    return error


def test_raw_group_lifecycle_error_codes(module_broker):
    topic, group = u.uniq("rawgrp"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    with u.RawConnection(module_broker.address) as conn:
        too_short = _join_v5(conn, 1, group, "", session_ms=1000)
        assert too_short["error"] == 26, f"session 1000 ms (< group.min.session.timeout.ms 6000): {too_short}"
        too_long = _join_v5(conn, 2, group, "", session_ms=2_000_000)
        assert too_long["error"] == 26, f"session 2000000 ms (> group.max.session.timeout.ms): {too_long}"

        first = _join_v5(conn, 3, group, "", protocols=("roundrobin", "range"))
        assert first["error"] == 79 and first["member_id"], f"JoinGroup v5 with no member id: {first}"
        member = first["member_id"]
        joined = _join_v5(conn, 4, group, member, protocols=("roundrobin", "range"))
        assert joined["error"] == 0, joined
        assert joined["generation"] >= 1 and joined["leader"] == member and joined["member_id"] == member
        assert joined["protocol"] == "roundrobin"
        assert joined["members"] == [(member, None, b"meta")]
        generation = joined["generation"]

        assignment = b"\x00\x00assignment-bytes\xff"
        assert _sync_v3(conn, 5, group, generation, member, [(member, assignment)]) == (0, assignment)
        assert _heartbeat_v3(conn, 6, group, generation, member) == 0
        assert _heartbeat_v3(conn, 7, group, generation + 5, member) == 22  # ILLEGAL_GENERATION
        assert _heartbeat_v3(conn, 8, group, generation, "stranger") == 25  # UNKNOWN_MEMBER_ID

        # Commits: the member's own commit works; a "simple" commit (generation -1, no member) into a group with
        # active members is refused and changes nothing.
        assert _offset_commit_v2(conn, 9, group, generation, member, topic, 0, 5) == 0
        assert _offset_commit_v2(conn, 10, group, -1, "", topic, 0, 99) in (22, 25)
        assert _offset_commit_v2(conn, 11, group, generation - 1 if generation > 1 else generation + 1, member,
                                 topic, 0, 77) == 22
        assert u.committed_offsets(module_broker.address, group, topic) == {0: 5}

        leave = u.Reader(conn.request(13, 3, 12, u.string(group) + u.array([u.string(member) + u.string(None)])))
        assert leave.i32() == 12
        leave.i32()
        assert leave.i16() == 0
        assert leave.array(lambda rd: (rd.string(), rd.string(), rd.i16())) == [(member, None, 0)]
        assert _heartbeat_v3(conn, 13, group, generation, member) == 25
        # Empty group: simple commits are allowed again.
        assert _offset_commit_v2(conn, 14, group, -1, "", topic, 0, 6) == 0
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 6}


def test_raw_rebalance_when_second_member_joins(module_broker):
    """Member A is stable; member B's JoinGroup is held until A learns of the rebalance (Heartbeat -> 27) and
    rejoins; then both get the new generation, only the leader gets the member list, and SyncGroup hands each
    member exactly the bytes the leader assigned to it."""
    group = u.uniq("g")
    with u.RawConnection(module_broker.address) as a, u.RawConnection(module_broker.address) as b:
        member_a = _join_v5(a, 1, group, "", metadata=b"A")["member_id"]
        joined_a = _join_v5(a, 2, group, member_a, metadata=b"A")
        assert joined_a["error"] == 0 and joined_a["leader"] == member_a
        gen1 = joined_a["generation"]
        assert _sync_v3(a, 3, group, gen1, member_a, [(member_a, b"all-for-a")]) == (0, b"all-for-a")

        first_b = _join_v5(b, 10, group, "", metadata=b"B")
        assert first_b["error"] == 79
        member_b = first_b["member_id"]
        assert member_b != member_a
        result_b = {}

        def join_b():
            result_b["join"] = _join_v5(b, 11, group, member_b, metadata=b"B")

        thread = threading.Thread(target=join_b, daemon=True)
        thread.start()
        time.sleep(0.3)
        assert "join" not in result_b, f"B's JoinGroup completed before A rejoined: {result_b}"
        assert u.wait_until(lambda: _heartbeat_v3(a, 4, group, gen1, member_a) == 27, timeout=5,
                            message="A's heartbeat to answer REBALANCE_IN_PROGRESS (27)")
        rejoined_a = _join_v5(a, 5, group, member_a, metadata=b"A")
        thread.join(10)
        joined_b = result_b.get("join")
        assert joined_b is not None, "B's JoinGroup never completed"
        assert rejoined_a["error"] == 0 and joined_b["error"] == 0, (rejoined_a, joined_b)
        gen2 = rejoined_a["generation"]
        assert gen2 == joined_b["generation"] and gen2 > gen1
        leader = rejoined_a["leader"]
        assert leader == joined_b["leader"] and leader in (member_a, member_b)
        leader_view, follower_view = (rejoined_a, joined_b) if leader == member_a else (joined_b, rejoined_a)
        assert sorted(leader_view["members"]) == sorted([(member_a, None, b"A"), (member_b, None, b"B")])
        assert follower_view["members"] == [], "a follower received the member list"

        # The follower's SyncGroup waits for the leader's.
        leader_conn, follower_conn = (a, b) if leader == member_a else (b, a)
        follower_id = member_b if leader == member_a else member_a
        synced = {}

        def follower_sync():
            synced["follower"] = _sync_v3(follower_conn, 20, group, gen2, follower_id, [])

        thread = threading.Thread(target=follower_sync, daemon=True)
        thread.start()
        time.sleep(0.2)
        assert "follower" not in synced, "follower's SyncGroup answered before the leader sent assignments"
        plan = [(member_a, b"\x01for-a"), (member_b, b"\x02for-b" * 100)]
        leader_result = _sync_v3(leader_conn, 21, group, gen2, leader, plan)
        thread.join(10)
        assert leader_result == (0, dict(plan)[leader])
        assert synced.get("follower") == (0, dict(plan)[follower_id])
        # The old generation is now illegal.
        assert _heartbeat_v3(a, 6, group, gen1, member_a) == 22
        assert _heartbeat_v3(a, 7, group, gen2, member_a) == 0
        assert _heartbeat_v3(b, 12, group, gen2, member_b) == 0


def test_orphan_pending_member_does_not_stall_group(module_broker):
    """KIP-394: a JoinGroup without member id gets 79 + an id and a *pending* member. If that client never comes
    back, a real consumer joining the group must still get its partitions (at worst after the pending member's
    session timeout, 6 s here), not stall for good.

    The consumer reads the topic's metadata before it subscribes. Without it kafka-python's leader assigns before
    its metadata lists the topic, assigns nothing, and rejoins once it does: that rebalance waits out the pending
    member (as it should; RebalanceTests covers the wait and the expiry). kafka-python 3.0.12 can then lose the
    completed join: when its poll times out between the leader's SyncGroup and the answer (observed: answered 11 ms
    later by a debug broker), it never applies the assignment nor restarts its heartbeats, so it reads nothing and
    the broker expires it after its session. That client race, not the group, made this test fail once in CI."""
    from kafka import KafkaConsumer
    topic, group = u.uniq("orphan"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    producer = u.kp_producer(module_broker.address)
    producer.send(topic, b"x").get(timeout=15)
    producer.close()
    with u.RawConnection(module_broker.address) as orphan:
        assert _join_v5(orphan, 1, group, "", session_ms=6000, rebalance_ms=6000)["error"] == 79
        started = time.monotonic()
        consumer = KafkaConsumer(bootstrap_servers=module_broker.address, group_id=group,
                                 auto_offset_reset="earliest", fetch_max_wait_ms=100, session_timeout_ms=6000,
                                 heartbeat_interval_ms=500)
        try:
            assert consumer.partitions_for_topic(topic) == {0}
            consumer.subscribe([topic])
            got = []
            # Long polls: fewer poll timeouts that could land inside a join (poll returns as soon as records come).
            while not got and time.monotonic() - started < 20:
                for recs in consumer.poll(timeout_ms=1000).values():
                    got.extend(recs)
            elapsed = time.monotonic() - started
        finally:
            consumer.close()
    print(f"[measure] consumer joined next to an orphan pending member after {elapsed:.2f}s")
    assert got, "consumer never received a record: group stalled by the orphan pending member"
    assert elapsed < 9, f"consumer waited {elapsed:.1f}s for its first record"
