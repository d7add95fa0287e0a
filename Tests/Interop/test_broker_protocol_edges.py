"""Wire-protocol edges of `ledgerstream broker`, driven with raw sockets: ApiVersions negotiation, bad requests that
must close only their own connection, socket.request.max.bytes, pipelining/ordering, Fetch long-poll wake-up, and a
second broker on a port that is already taken.
"""
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BIN, broker_args
import interop_util as u
from interop_util import RawConnection, Reader, i16, i32, string

pytestmark = pytest.mark.timeout(60)

APIS_CLIENTS_NEED = {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19, 20, 22, 32}


def metadata_v1(correlation_id, topics=()):
    return u.request_frame(3, 1, correlation_id, u.metadata_v1_body(list(topics)))


def assert_broker_serves(address):
    """A fresh connection still gets a correct ApiVersions v0 answer."""
    error, apis = u.api_versions_v0(address)
    assert error == 0 and 18 in apis


# ---------------------------------------------------------------------------------------------------------------------
# ApiVersions

def test_api_versions_unsupported_version_gets_v0_error_35(module_broker):
    with RawConnection(module_broker.address) as conn:
        # v99 with a body the broker cannot know how to parse: it must not try.
        payload = conn.request(18, 99, 4242, b"\x07garbage\x00\xff")
        r = Reader(payload)
        assert r.i32() == 4242  # response header v0: correlation id only, no tag buffer
        assert r.i16() == 35, "expected UNSUPPORTED_VERSION (35)"
        entries = r.array(lambda rd: (rd.i16(), rd.i16(), rd.i16()))
        # v0 body: error + api keys, no throttle time, no tagged fields.
        assert r.remaining() == 0, f"{r.remaining()} unexpected trailing bytes after the v0 ApiVersions body"
        apis = {k: (lo, hi) for k, lo, hi in entries}
        assert APIS_CLIENTS_NEED <= set(apis), f"missing APIs: {sorted(APIS_CLIENTS_NEED - set(apis))}"
        assert apis[18][0] == 0 and apis[18][1] >= 3
        assert all(lo <= hi for lo, hi in apis.values())
        # The connection stays usable: the client retries with v0 on the same socket.
        retry = Reader(conn.request(18, 0, 4243))
        assert retry.i32() == 4243 and retry.i16() == 0
        assert {k for k, _, _ in retry.array(lambda rd: (rd.i16(), rd.i16(), rd.i16()))} == set(apis)
        assert retry.remaining() == 0


def test_api_versions_v3_flexible_has_v0_header_and_no_tagged_fields(module_broker):
    body = (u.uvarint(len("interop") + 1) + b"interop" + u.uvarint(len("1.0") + 1) + b"1.0" + b"\x00")
    with RawConnection(module_broker.address) as conn:
        payload = conn.request(18, 3, 9, body, flexible_header=True)
    r = Reader(payload)
    assert r.i32() == 9
    # No header tag byte: the error code follows the correlation id directly.
    assert r.i16() == 0

    def uv():
        shift = value = 0
        while True:
            b = r.take(1)[0]
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    count = uv() - 1
    keys = set()
    for _ in range(count):
        key, lo, hi = r.i16(), r.i16(), r.i16()
        keys.add(key)
        assert uv() == 0, f"api key {key} entry carries tagged fields"
    r.i32()  # throttle
    assert uv() == 0, "top-level tagged fields present (breaks librdkafka < 2.2)"
    assert r.remaining() == 0
    assert APIS_CLIENTS_NEED <= keys


# ---------------------------------------------------------------------------------------------------------------------
# Bad requests close only their own connection

@pytest.mark.parametrize("frame,why", [
    (u.request_frame(999, 0, 5), "unknown API key 999"),
    (i32(3) + b"abc", "frame too short for a header"),
    (i32(12) + os.urandom(12), "random bytes"),
    (u.request_frame(3, 1, 6, i32(5) + b"\x00"), "truncated Metadata v1 body"),
    (u.request_frame(0, 42, 7, b""), "Produce v42 (unsupported version)"),
], ids=["unknown-api", "short-frame", "random", "truncated-body", "bad-version"])
def test_bad_request_closes_only_that_connection(module_broker, frame, why):
    with RawConnection(module_broker.address) as bystander, RawConnection(module_broker.address) as victim:
        # The bystander is mid-conversation before and after.
        assert u.parse_metadata_v1(bystander.request(3, 1, 1, u.metadata_v1_body([])))["correlation_id"] == 1
        victim.send(frame)
        closed = victim.is_closed_by_peer(timeout=5)
        assert closed, f"broker kept the connection open after: {why}"
        assert u.parse_metadata_v1(bystander.request(3, 1, 2, u.metadata_v1_body([])))["correlation_id"] == 2
    assert module_broker.process.poll() is None, "broker process died"
    assert_broker_serves(module_broker.address)
    # A real client is unaffected too.
    topic = u.uniq("after-bad")
    producer = u.kp_producer(module_broker.address, acks=1)
    try:
        assert producer.send(topic, b"ok").get(timeout=15).offset == 0
    finally:
        producer.close()


def test_unknown_api_key_is_logged(module_broker):
    with RawConnection(module_broker.address) as victim:
        victim.send(u.request_frame(4321, 0, 77))
        assert victim.is_closed_by_peer(timeout=5)
    u.wait_until(lambda: "4321" in module_broker.log(), timeout=5,
                 message="the broker to log the unknown API key 4321")


# ---------------------------------------------------------------------------------------------------------------------
# socket.request.max.bytes

def test_oversized_frame_closes_connection_and_is_logged(start_broker):
    limit = 1048576
    server = start_broker(extra=["--socket-request-max-bytes", str(limit)])
    with RawConnection(server.address) as good:
        # Exactly at the limit is allowed: ApiVersions v0 padded with ignored trailing bytes.
        header = i16(18) + i16(0) + i32(31) + string("edge")
        payload = header + b"\x00" * (limit - len(header))
        good.send(i32(len(payload)) + payload)
        r = Reader(good.recv_frame())
        assert r.i32() == 31 and r.i16() == 0, "a request of exactly socket.request.max.bytes was refused"

    with RawConnection(server.address) as big:
        # Announce one byte over the limit; the broker must refuse from the size prefix alone.
        big.send(i32(limit + 1) + header + b"\x00" * 4096)
        started = time.monotonic()
        assert big.is_closed_by_peer(timeout=5), "broker kept reading a frame larger than socket.request.max.bytes"
        assert time.monotonic() - started < 5

    with RawConnection(server.address) as huge:
        huge.send(i32(200 * 1024 * 1024) + header)
        assert huge.is_closed_by_peer(timeout=5)

    # One log line per refused connection, naming the announced size.
    for size in (limit + 1, 200 * 1024 * 1024):
        u.wait_until(lambda: [l for l in server.log().splitlines() if str(size) in l], timeout=5,
                     message=f"a broker log line about the refused {size}-byte frame")
    assert server.process.poll() is None
    assert_broker_serves(server.address)


# ---------------------------------------------------------------------------------------------------------------------
# Pipelining and ordering

def test_pipelined_requests_answered_in_order(module_broker):
    topic = u.uniq("pipe")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    with RawConnection(module_broker.address) as conn:
        conn.send(b"".join(metadata_v1(100 + i, [topic]) for i in range(10)))
        responses = [u.parse_metadata_v1(conn.recv_frame()) for _ in range(10)]
    assert [r["correlation_id"] for r in responses] == list(range(100, 110))
    assert all([t["name"] for t in r["topics"]] == [topic] for r in responses)


def test_pipelined_requests_behind_parked_fetch_stay_in_order(module_broker):
    """A Fetch that waits (no data, MaxWaitMs 600) in the middle of a pipeline holds back the answers queued behind
    it: responses come back strictly in request order."""
    topic = u.uniq("pipefetch")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    frames = [metadata_v1(1, [topic]), u.request_frame(18, 0, 2),
              u.request_frame(1, 4, 3, u.fetch_v4_body(topic, 0, 0, max_wait_ms=600)),
              metadata_v1(4, [topic]), u.request_frame(18, 0, 5), metadata_v1(6, [])]
    with RawConnection(module_broker.address) as conn:
        started = time.monotonic()
        conn.send(b"".join(frames))
        ids = []
        for _ in frames:
            payload = conn.recv_frame()
            ids.append((struct.unpack(">i", payload[:4])[0], round(time.monotonic() - started, 2)))
    assert [i for i, _ in ids] == [1, 2, 3, 4, 5, 6], ids
    fetch_done = ids[2][1]
    assert 0.5 <= fetch_done < 3.0, f"parked fetch answered after {fetch_done}s (MaxWaitMs 600)"


# ---------------------------------------------------------------------------------------------------------------------
# Fetch long-poll

def test_fetch_long_poll_wakes_on_produce(module_broker):
    topic = u.uniq("longpoll")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    producer = u.kp_producer(module_broker.address, acks=1)
    try:
        producer.send(topic, b"first", partition=0).get(timeout=15)  # also warms up the producer's connections
        result = {}

        def fetcher():
            with RawConnection(module_broker.address) as conn:
                conn.send(u.request_frame(1, 4, 55, u.fetch_v4_body(topic, 0, 1, max_wait_ms=5000)))
                result["sent"] = time.monotonic()
                payload = conn.recv_frame()
                result["answered"] = time.monotonic()
                result["response"] = u.parse_fetch_v4(payload)

        thread = threading.Thread(target=fetcher, daemon=True)
        thread.start()
        time.sleep(0.7)  # the fetch is parked at the log end
        assert "answered" not in result, "Fetch with MinBytes 1 returned before any data arrived"
        produced_at = time.monotonic()
        producer.send(topic, b"wake-up", partition=0).get(timeout=15)
        acked_at = time.monotonic()
        thread.join(10)
    finally:
        producer.close()
    assert "answered" in result, "Fetch long-poll never answered"
    latency = result["answered"] - produced_at
    print(f"[measure] Fetch long-poll answered {latency * 1000:.0f} ms after the produce started "
          f"(produce round trip {(acked_at - produced_at) * 1000:.0f} ms)")
    [t] = result["response"]["topics"]
    [p] = t["partitions"]
    assert p["error"] == 0 and p["high_watermark"] == 2
    assert u.record_batches(p["records"]) == [(1, 1)], p
    assert result["answered"] - result["sent"] < 4.0, "Fetch waited for MaxWaitMs instead of waking up"
    assert latency < 0.2, (f"Fetch answered {latency * 1000:.0f} ms after the produce started "
                           f"(produce took {(acked_at - produced_at) * 1000:.0f} ms)")


def test_fetch_without_data_waits_max_wait(module_broker):
    topic = u.uniq("emptypoll")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    with RawConnection(module_broker.address) as conn:
        started = time.monotonic()
        response = u.parse_fetch_v4(conn.request(1, 4, 8, u.fetch_v4_body(topic, 0, 0, max_wait_ms=1000)))
        elapsed = time.monotonic() - started
    [p] = response["topics"][0]["partitions"]
    assert p["error"] == 0 and p["high_watermark"] == 0 and not p["records"]
    assert 0.9 <= elapsed < 2.5, f"empty Fetch with MaxWaitMs 1000 answered after {elapsed:.2f}s"


def test_fetch_out_of_range_offset(module_broker):
    topic = u.uniq("oor")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    with RawConnection(module_broker.address) as conn:
        response = u.parse_fetch_v4(conn.request(1, 4, 9, u.fetch_v4_body(topic, 0, 5, max_wait_ms=100)))
    [p] = response["topics"][0]["partitions"]
    assert p["error"] == 1, f"expected OFFSET_OUT_OF_RANGE (1) for offset 5 of an empty partition, got {p['error']}"


# ---------------------------------------------------------------------------------------------------------------------
# Raw Produce: idempotence (duplicates, gaps) and validation

def _end_offset(address, topic, partition=0):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=address)
    try:
        tp = TopicPartition(topic, partition)
        return consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


def _produce(conn, topic, batch, correlation_id, partition=0, acks=-1):
    return u.parse_produce_v3(conn.request(0, 3, correlation_id, u.produce_v3_body(topic, partition, batch, acks=acks)))


def test_idempotent_produce_dedups_retries_and_rejects_gaps(module_broker):
    topic = u.uniq("idem")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    with RawConnection(module_broker.address) as conn:
        pid, epoch = u.init_producer_id_v0(conn)
        assert pid >= 0 and epoch == 0
        a = u.record_batch([(b"a", b"0"), (b"a", b"1"), (b"a", b"2")], pid, epoch, base_sequence=0)
        b = u.record_batch([(b"b", b"3"), (b"b", b"4")], pid, epoch, base_sequence=3)
        first = _produce(conn, topic, a, 1)
        assert (first["error"], first["base_offset"]) == (0, 0), first
        retry = _produce(conn, topic, a, 2)  # a retried batch: must not be appended again
        assert retry["error"] in (0, 46), retry
        if retry["error"] == 0:
            assert retry["base_offset"] == 0, f"duplicate batch answered with base offset {retry['base_offset']}"
        second = _produce(conn, topic, b, 3)
        assert (second["error"], second["base_offset"]) == (0, 3), second
        gap = _produce(conn, topic, u.record_batch([(b"c", b"x")], pid, epoch, base_sequence=10), 4)
        assert gap["error"] == 45, f"sequence gap (expected 5, sent 10) answered {gap}; want OUT_OF_ORDER_SEQUENCE_NUMBER (45)"
        older = _produce(conn, topic, b, 5)  # an older (but cached) batch again
        assert older["error"] in (0, 46) and (older["error"] == 46 or older["base_offset"] == 3), older
        after_gap = _produce(conn, topic, u.record_batch([(b"e", b"x")], pid, epoch, base_sequence=5), 6)
        assert (after_gap["error"], after_gap["base_offset"]) == (0, 5), after_gap  # the next sequence still works
    assert _end_offset(module_broker.address, topic) == 6, "duplicates or the rejected batch were appended"
    values = [r.value for r in u.kp_read_all(module_broker.address, topic, 6)]
    assert values == [b"0", b"1", b"2", b"3", b"4", b"x"]


def test_produce_validation_errors(module_broker):
    topic = u.uniq("valid")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    ok = u.record_batch([(None, b"ok")])
    with RawConnection(module_broker.address) as conn:
        corrupt = _produce(conn, topic, u.record_batch([(None, b"bad")], corrupt_crc=True), 1)
        assert corrupt["error"] == 2, f"bad CRC-32C answered {corrupt}; want CORRUPT_MESSAGE (2)"
        unknown = _produce(conn, topic, ok, 2, partition=7)
        assert unknown["error"] == 3, f"partition 7 of a 1-partition topic answered {unknown}; want 3"
        bad_acks = u.Reader(conn.request(0, 3, 3, u.produce_v3_body(topic, 0, ok, acks=2)))
        bad_acks.i32()
        [(_, [p])] = bad_acks.array(lambda rd: (rd.string(), rd.array(lambda x: (x.i32(), x.i16(), x.i64(), x.i64()))))
        assert p[1] == 21, f"acks=2 answered error {p[1]}; want INVALID_REQUIRED_ACKS (21)"
        big = u.record_batch([(None, b"z" * 1_100_000)])
        too_large = _produce(conn, topic, big, 4)
        assert too_large["error"] == 10, f"1.1 MB batch answered {too_large}; want MESSAGE_TOO_LARGE (10)"
        # acks=0: no response at all; the next response on the connection belongs to the next request.
        conn.send(u.request_frame(0, 3, 5, u.produce_v3_body(topic, 0, ok, acks=0)))
        conn.send(u.request_frame(18, 0, 6))
        assert struct.unpack(">i", conn.recv_frame()[:4])[0] == 6, "acks=0 Produce got a response"
        good = _produce(conn, topic, ok, 7)
    assert (good["error"], good["base_offset"]) == (0, 1), good  # only the acks=0 record before it
    assert _end_offset(module_broker.address, topic) == 2


def test_fetch_returns_whole_first_batch_larger_than_max_bytes(module_broker):
    """KIP-74: a consumer must always make progress, even if the first batch exceeds the fetch size limits."""
    topic = u.uniq("kip74")
    u.kp_create_topic(module_broker.address, topic, partitions=1)
    producer = u.kp_producer(module_broker.address, acks=1)
    try:
        producer.send(topic, b"y" * 100_000, partition=0).get(timeout=15)
        producer.send(topic, b"small", partition=0).get(timeout=15)
    finally:
        producer.close()
    with RawConnection(module_broker.address) as conn:
        response = u.parse_fetch_v4(conn.request(1, 4, 3, u.fetch_v4_body(topic, 0, 0, max_wait_ms=100,
                                                                          max_bytes=1000)))
    [p] = response["topics"][0]["partitions"]
    assert p["error"] == 0 and p["high_watermark"] == 2
    batches = u.record_batches(p["records"] or b"")
    assert batches and batches[0] == (0, 1), \
        f"Fetch with max bytes 1000 returned {len(p['records'] or b'')} bytes, complete batches {batches}"


# ---------------------------------------------------------------------------------------------------------------------
# Port already in use

def test_second_broker_on_same_port_exits_with_clear_error(module_broker):
    data_dir = tempfile.mkdtemp(prefix="ledgerstream-interop-portclash-")
    try:
        started = time.monotonic()
        result = subprocess.run([BIN] + broker_args(data_dir, port=module_broker.port), capture_output=True,
                                text=True, timeout=15)
        elapsed = time.monotonic() - started
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"second broker exited 0:\n{output}"
    assert elapsed < 5, f"second broker took {elapsed:.1f}s to give up"
    assert "listening on" not in result.stdout, output
    port = str(module_broker.port)
    error_lines = [line for line in output.splitlines() if port in line and "use" in line.lower()]
    assert len(error_lines) == 1, f"expected one error line naming port {port}:\n{output}"
    assert module_broker.process.poll() is None
    assert_broker_serves(module_broker.address)
