"""Shared helpers for the ledgerstream interop tests: unique names, polling, kcat, raw Kafka wire requests, and small
wrappers around the real clients (kafka-python, confluent-kafka, aiokafka).

Nothing here talks to the broker implementation: everything goes over TCP like a real client would.
"""
import atexit
import contextlib
import glob
import json
import re
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid

KCAT = shutil.which("kcat") or "/usr/bin/kcat"


# ---------------------------------------------------------------------------------------------------------------------
# Generic helpers

def free_port():
    """A 127.0.0.1 port free right now (another process may still take it first: servers started on it retry)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zookeeper_serving(port):
    """ZooKeeper answers ruok before it serves; srvr tells when it does."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"srvr")
            return sock.recv(64).startswith(b"Zookeeper version")
    except OSError:
        return False


APACHE_ZK_JAR = "/usr/share/java/zookeeper.jar"
SLF4J_NOP_JAR = "/usr/share/java/slf4j-nop.jar"


def write_zoo_cfg(directory, port):
    """`directory`/zoo.cfg for an Apache ZooKeeper on 127.0.0.1:`port` with its data in `directory`/data, every
    four-letter word enabled and no admin server."""
    with open(os.path.join(directory, "zoo.cfg"), "w") as cfg:
        cfg.write(textwrap.dedent(f"""\
            tickTime=2000
            dataDir={directory}/data
            clientPort={port}
            clientPortAddress=127.0.0.1
            admin.enableServer=false
            4lw.commands.whitelist=*
            """))


@contextlib.contextmanager
def apache_zookeeper(java, jvm_flags=()):
    """Apache ZooKeeper 3.8 (Debian's package) on a free loopback port with a temporary dataDir, every four-letter word
    enabled and `jvm_flags` (system properties); yields its port once it serves, kills it on exit."""
    directory = tempfile.mkdtemp(prefix="ledgerstream-apache-zk-")
    port = free_port()
    write_zoo_cfg(directory, port)
    proc = subprocess.Popen(
        [java, "-Xmx128m", *jvm_flags, "-cp", f"{directory}:{APACHE_ZK_JAR}:{SLF4J_NOP_JAR}",
         "org.apache.zookeeper.server.ZooKeeperServerMain", os.path.join(directory, "zoo.cfg")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not zookeeper_serving(port):
            assert time.time() < deadline and proc.poll() is None, "Apache ZooKeeper did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


def uniq(prefix="t"):
    """A topic/group name that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or raises AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


# ---------------------------------------------------------------------------------------------------------------------
# The operations endpoint (/metrics, /healthz, /readyz) of a command started with --metrics-listener 127.0.0.1:0

METRICS_ENDPOINT = re.compile(r"metrics endpoint at (http://([0-9.]+):(\d+))/metrics")


def metrics_url(output, timeout=30.0):
    """The endpoint's base URL (http://HOST:PORT) from the line a command logs once it bound; `output` returns the
    command's output so far (for example `Server.log`)."""
    match = wait_until(lambda: METRICS_ENDPOINT.search(output()), timeout=timeout,
                       message="the 'metrics endpoint at' line")
    return match.group(1)


def http_get(url, timeout=10):
    """(status, Content-Type, body text) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode()


def scrape_families(url):
    """The metric families of one scrape of `url`/metrics, parsed by prometheus_client's text-format parser (imported
    here: the benchmarks share this module and do not need it)."""
    from prometheus_client.parser import text_string_to_metric_families
    status, content_type, text = http_get(url + "/metrics")
    assert status == 200, (status, text)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8", content_type
    return list(text_string_to_metric_families(text))


def log_excerpt(server, pattern=None, lines=30):
    """The broker's log (last lines, or the lines matching `pattern`) for assertion messages."""
    text = server.log().splitlines()
    if pattern:
        text = [line for line in text if pattern in line]
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------------------------------------------------------------
# kcat (system librdkafka 2.0.2, or librdkafka 2.16 from the confluent-kafka wheel)

_RDKAFKA_216_DIR = None


def librdkafka_216_dir():
    """A directory holding `librdkafka.so.1` -> the confluent-kafka wheel's bundled librdkafka 2.16, or None.

    The wheel ships the library as `confluent_kafka.libs/librdkafka-<hash>.so.1`, which the dynamic loader will not
    pick up for kcat's `librdkafka.so.1` dependency, so a symlink with the canonical name goes in a temp directory.
    """
    global _RDKAFKA_216_DIR
    if _RDKAFKA_216_DIR is not None:
        return _RDKAFKA_216_DIR or None
    try:
        import confluent_kafka
    except ImportError:
        _RDKAFKA_216_DIR = ""
        return None
    libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    candidates = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
    if not os.path.isdir(libs) or not candidates:
        _RDKAFKA_216_DIR = ""
        return None
    target = tempfile.mkdtemp(prefix="ledgerstream-rdkafka216-")
    atexit.register(shutil.rmtree, target, True)
    # Every library of the wheel, under its own name, plus the canonical soname kcat asks for.
    for path in glob.glob(os.path.join(libs, "*")):
        os.symlink(path, os.path.join(target, os.path.basename(path)))
    os.symlink(candidates[0], os.path.join(target, "librdkafka.so.1"))
    _RDKAFKA_216_DIR = target
    return target


def kcat_env(variant):
    """Environment for running kcat against the given librdkafka: 'system' (Debian 2.0.2) or '2.16' (wheel)."""
    env = dict(os.environ)
    if variant == "2.16":
        directory = librdkafka_216_dir()
        assert directory, "librdkafka 2.16 not available"
        env["LD_LIBRARY_PATH"] = directory + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def kcat_librdkafka_version(env):
    out = subprocess.run([KCAT, "-V"], capture_output=True, text=True, env=env, timeout=10).stdout
    match = re.search(r"librdkafka (\d+\.\d+\.\d+)", out)
    return match.group(1) if match else None


def parse_json_lines(text):
    """kcat -J prints one JSON document per line (plus, possibly, blank lines)."""
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


# ---------------------------------------------------------------------------------------------------------------------
# Raw Kafka wire protocol (classic, non-flexible encodings are enough for the edge tests)

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    raw = s.encode()
    return i16(len(raw)) + raw


def array(items):
    """Classic array of already-encoded items; None = null array."""
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def uvarint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def request_frame(api_key, version, correlation_id, body=b"", client_id="interop-raw", flexible_header=False):
    """A complete request frame: size prefix + header v1 (or v2 with an empty tag buffer) + body."""
    header = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    if flexible_header:
        header += b"\x00"
    payload = header + body
    return i32(len(payload)) + payload


class Reader:
    """Sequential big-endian reader over a response payload."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"read past end: need {n} at {self.pos}, have {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, item):
        n = self.i32()
        return None if n < 0 else [item(self) for _ in range(n)]

    def remaining(self):
        return len(self.data) - self.pos


class RawConnection:
    """One TCP connection speaking raw Kafka frames."""

    def __init__(self, address, timeout=10.0):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        chunks = []
        while n:
            chunk = self.sock.recv(n)
            if not chunk:
                raise ConnectionError("connection closed by broker")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv_frame(self):
        size = struct.unpack(">i", self.recv_exact(4))[0]
        return self.recv_exact(size)

    def request(self, api_key, version, correlation_id, body=b"", **kw):
        self.send(request_frame(api_key, version, correlation_id, body, **kw))
        return self.recv_frame()

    def is_closed_by_peer(self, timeout=5.0):
        """True once the broker closes the connection (EOF or reset) within `timeout`; False if it stays open."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
            return data == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def api_versions_v0(address):
    """ApiVersions v0 over a fresh connection: (error_code, {api_key: (min, max)})."""
    with RawConnection(address) as conn:
        payload = conn.request(18, 0, 1)
    r = Reader(payload)
    assert r.i32() == 1
    error = r.i16()
    apis = r.array(lambda rd: (rd.i16(), rd.i16(), rd.i16()))
    return error, {k: (lo, hi) for k, lo, hi in apis}


def metadata_v1_body(topics):
    """Metadata v1 request body: topics None = all topics, [] = no topics."""
    return array(None if topics is None else [string(t) for t in topics])


def parse_metadata_v1(payload):
    r = Reader(payload)
    correlation_id = r.i32()
    brokers = r.array(lambda rd: {"node_id": rd.i32(), "host": rd.string(), "port": rd.i32(), "rack": rd.string()})
    controller_id = r.i32()

    def partition(rd):
        return {"error": rd.i16(), "partition": rd.i32(), "leader": rd.i32(),
                "replicas": rd.array(lambda x: x.i32()), "isr": rd.array(lambda x: x.i32())}

    topics = r.array(lambda rd: {"error": rd.i16(), "name": rd.string(), "internal": rd.i8() != 0,
                                 "partitions": rd.array(partition)})
    return {"correlation_id": correlation_id, "brokers": brokers, "controller_id": controller_id,
            "topics": topics, "trailing": r.remaining()}


def fetch_v4_body(topic, partition, offset, max_wait_ms, min_bytes=1, max_bytes=1 << 20):
    return (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0)
            + array([string(topic) + array([i32(partition) + i64(offset) + i32(max_bytes)])]))


def parse_fetch_v4(payload):
    r = Reader(payload)
    correlation_id = r.i32()
    throttle = r.i32()

    def part(rd):
        return {"partition": rd.i32(), "error": rd.i16(), "high_watermark": rd.i64(), "last_stable": rd.i64(),
                "aborted": rd.array(lambda x: (x.i64(), x.i64())), "records": rd.bytes()}

    topics = r.array(lambda rd: {"topic": rd.string(), "partitions": rd.array(part)})
    return {"correlation_id": correlation_id, "throttle": throttle, "topics": topics}


def record_batches(records):
    """Splits a records blob into (base_offset, record_count) per batch header (magic 2)."""
    out = []
    pos = 0
    while records and pos + 61 <= len(records):
        base_offset, length = struct.unpack(">qi", records[pos:pos + 12])
        if pos + 12 + length > len(records):
            break  # truncated trailing batch
        count = struct.unpack(">i", records[pos + 57:pos + 61])[0]
        out.append((base_offset, count))
        pos += 12 + length
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Client wrappers

def kp_admin(address, **kw):
    from kafka import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=15000, **kw)


def kp_producer(address, **kw):
    from kafka import KafkaProducer
    return KafkaProducer(bootstrap_servers=address, request_timeout_ms=15000, **kw)


def kp_read_all(address, topic, expected, partitions=None, timeout=15.0, **kw):
    """Reads a topic from the beginning with kafka-python assign()+seek_to_beginning() until `expected` records
    arrived (then polls a little longer to catch extras). Returns the ConsumerRecords sorted by (partition, offset)."""
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=address, enable_auto_commit=False, request_timeout_ms=15000,
                             fetch_max_wait_ms=100, **kw)
    try:
        if partitions is None:
            parts = wait_until(lambda: consumer.partitions_for_topic(topic), timeout=timeout,
                               message=f"partitions of {topic}")
        else:
            parts = partitions
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        # A short extra poll: anything beyond `expected` is a bug (duplicates) that the caller should see.
        extra_deadline = time.monotonic() + 0.3
        while time.monotonic() < extra_deadline:
            for batch in consumer.poll(timeout_ms=100).values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def ck_read_all(address, topic, expected, partitions, timeout=15.0, **conf):
    """Reads with confluent-kafka assign(OFFSET_BEGINNING) until `expected` records; returns Message objects."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    consumer = Consumer({"bootstrap.servers": address, "group.id": uniq("ck-reader"), "enable.auto.commit": False,
                         "fetch.wait.max.ms": 100, **conf})
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            assert msg.error() is None, f"consumer error: {msg.error()}"
            records.append(msg)
        extra_deadline = time.monotonic() + 0.3
        while time.monotonic() < extra_deadline:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                records.append(msg)
        return sorted(records, key=lambda m: (m.partition(), m.offset()))
    finally:
        consumer.close()


def ck_admin(address):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": address})


def kp_create_topic(address, topic, partitions=1, configs=None):
    admin = kp_admin(address)
    try:
        spec = {"num_partitions": partitions, "replication_factor": 1}
        if configs:
            spec["configs"] = configs
        admin.create_topics({topic: spec})
    finally:
        admin.close()


def committed_offsets(address, group, topic):
    admin = kp_admin(address)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}


# ---------------------------------------------------------------------------------------------------------------------
# Group members running in their own threads (each client object is only touched by its thread).

class Member(threading.Thread):
    """A group member that polls continuously, records what it gets and (while `commit` is set) commits
    synchronously after every non-empty poll."""

    def __init__(self, name):
        super().__init__(daemon=True, name=name)
        self.records = []          # (partition, offset, value) in delivery order
        self.assignment = set()
        self.commit = True
        self.commit_errors = []
        self.error = None
        self.stop_event = threading.Event()
        self.closed_at = None

    def values(self):
        return [v for _, _, v in self.records]

    def stop(self, timeout=20):
        self.stop_event.set()
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not close within {timeout}s"


class KafkaPythonMember(Member):
    def __init__(self, name, address, group, topic, **conf):
        super().__init__(name)
        self.address, self.group, self.topic, self.conf = address, group, topic, conf

    def run(self):
        from kafka import KafkaConsumer
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self.address, group_id=self.group, client_id=self.name,
                auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
                heartbeat_interval_ms=500, fetch_max_wait_ms=100, request_timeout_ms=15000, **self.conf)
            try:
                # Subscribe once this client's metadata knows the topic. kafka-python 3.0.12 joins as soon as it
                # subscribes; a leader without the topic's metadata yet assigns nothing and rebalances again once it
                # arrives, and under load a member sometimes stopped heartbeating after those extra rebalances
                # (seen in CI: no request for 30 s, expired by the broker). The group semantics under test are
                # unchanged.
                wait_until(lambda: consumer.partitions_for_topic(self.topic), timeout=15,
                           message=f"{self.name}'s metadata for {self.topic}")
                consumer.subscribe([self.topic])
                while not self.stop_event.is_set():
                    batches = consumer.poll(timeout_ms=100)
                    for tp, recs in batches.items():
                        self.records.extend((r.partition, r.offset, r.value.decode()) for r in recs)
                    if batches and self.commit:
                        try:
                            consumer.commit()
                        except Exception as exc:  # recorded and asserted on by the test
                            self.commit_errors.append(repr(exc))
                    self.assignment = {tp.partition for tp in consumer.assignment()}
            finally:
                consumer.close()  # LeaveGroup; no commit (auto commit is off)
                self.closed_at = time.monotonic()
        except Exception as exc:
            self.error = exc


class ConfluentMember(Member):
    def __init__(self, name, address, group, topic, **conf):
        super().__init__(name)
        self.address, self.group, self.topic, self.conf = address, group, topic, conf

    def run(self):
        from confluent_kafka import Consumer
        try:
            consumer = Consumer({
                "bootstrap.servers": self.address, "group.id": self.group, "client.id": self.name,
                "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 100, **self.conf})

            def on_assign(c, partitions):
                self.assignment = {p.partition for p in partitions}

            def on_revoke(c, partitions):
                self.assignment = set()

            consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
            try:
                while not self.stop_event.is_set():
                    msgs = consumer.consume(num_messages=100, timeout=0.1)
                    good = [m for m in msgs if m.error() is None]
                    for m in msgs:
                        if m.error() is not None:
                            self.commit_errors.append(f"consume error: {m.error()}")
                    self.records.extend((m.partition(), m.offset(), m.value().decode()) for m in good)
                    if good and self.commit:
                        try:
                            consumer.commit(asynchronous=False)
                        except Exception as exc:
                            self.commit_errors.append(repr(exc))
            finally:
                consumer.close()  # LeaveGroup
                self.closed_at = time.monotonic()
        except Exception as exc:
            self.error = exc


# ---------------------------------------------------------------------------------------------------------------------
# Raw record batches (magic 2) and raw Produce / InitProducerId, for idempotence and validation edges

def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def zigzag_varint(n):
    return uvarint((n << 1) ^ (n >> 63))


def encode_record(offset_delta, key, value, timestamp_delta=0, headers=()):
    body = b"\x00" + zigzag_varint(timestamp_delta) + zigzag_varint(offset_delta)
    body += zigzag_varint(-1) if key is None else zigzag_varint(len(key)) + key
    body += zigzag_varint(-1) if value is None else zigzag_varint(len(value)) + value
    body += zigzag_varint(len(headers))
    for hk, hv in headers:
        body += zigzag_varint(len(hk)) + hk + zigzag_varint(len(hv)) + hv
    return zigzag_varint(len(body)) + body


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp=None, corrupt_crc=False):
    """An uncompressed magic-2 batch of (key, value) pairs, with a correct CRC-32C (unless corrupt_crc)."""
    timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    records = b"".join(encode_record(i, k, v) for i, (k, v) in enumerate(values))
    after_crc = (struct.pack(">hiqqqhii", 0, len(values) - 1, timestamp, timestamp, producer_id, producer_epoch,
                             base_sequence, len(values)) + records)
    crc = crc32c(after_crc) ^ (1 if corrupt_crc else 0)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def produce_v3_body(topic, partition, records, acks=-1, timeout_ms=10000):
    return (string(None) + i16(acks) + i32(timeout_ms)
            + array([string(topic) + array([i32(partition) + i32(len(records)) + records])]))


def parse_produce_v3(payload):
    r = Reader(payload)
    correlation_id = r.i32()
    topics = r.array(lambda rd: (rd.string(), rd.array(lambda x: {"partition": x.i32(), "error": x.i16(),
                                                                   "base_offset": x.i64(), "log_append_time": x.i64()})))
    throttle = r.i32()
    [(topic, [partition])] = topics
    partition["correlation_id"] = correlation_id
    return partition


def init_producer_id_v0(conn, correlation_id=900):
    r = Reader(conn.request(22, 0, correlation_id, string(None) + i32(2147483647)))
    assert r.i32() == correlation_id
    r.i32()  # throttle
    error, producer_id, epoch = r.i16(), r.i64(), r.i16()
    assert error == 0, f"InitProducerId v0 failed with error {error}"
    return producer_id, epoch


def metadata_v4_body(topics, allow_auto_topic_creation):
    return metadata_v1_body(topics) + i8(1 if allow_auto_topic_creation else 0)


def parse_metadata_v4(payload):
    r = Reader(payload)
    correlation_id = r.i32()
    r.i32()  # throttle
    brokers = r.array(lambda rd: {"node_id": rd.i32(), "host": rd.string(), "port": rd.i32(), "rack": rd.string()})
    cluster_id = r.string()
    controller_id = r.i32()

    def partition(rd):
        return {"error": rd.i16(), "partition": rd.i32(), "leader": rd.i32(),
                "replicas": rd.array(lambda x: x.i32()), "isr": rd.array(lambda x: x.i32())}

    topics = r.array(lambda rd: {"error": rd.i16(), "name": rd.string(), "internal": rd.i8() != 0,
                                 "partitions": rd.array(partition)})
    return {"correlation_id": correlation_id, "brokers": brokers, "cluster_id": cluster_id,
            "controller_id": controller_id, "topics": topics, "trailing": r.remaining()}


# ---------------------------------------------------------------------------------------------------------------------
# Added for the transaction suites (test_transactions*.py): helpers both files use.

def ck_txn_producer(address, transactional_id, **conf):
    """A confluent-kafka transactional producer (not yet initialised)."""
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": address, "transactional.id": transactional_id, "linger.ms": 5,
                     "reconnect.backoff.max.ms": 500, **conf})


def describe_transaction(address, transactional_id):
    """kafka-python DescribeTransactions for one id: a TransactionDescription (state is the exact wire name)."""
    admin = kp_admin(address)
    try:
        return admin.describe_transactions([transactional_id])[transactional_id]
    finally:
        admin.close()


def end_offsets(address, topic, partitions, isolation_level):
    """ListOffsets(latest) with the given isolation ('read_committed' → the LSO, 'read_uncommitted' → the log end),
    through kafka-python's consumer: {partition: offset}."""
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=address, isolation_level=isolation_level, request_timeout_ms=15000)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        consumer.close()
    return {tp.partition: offset for tp, offset in ends.items()}


def ck_read_to_end(address, topic, partitions, isolation="read_committed", timeout=15.0, **conf):
    """confluent-kafka assign-from-beginning read until every partition reported end-of-partition (for read_committed
    that is the last stable offset). Returns ({partition: [(offset, value str)]}, {partition: end offset})."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
    consumer = Consumer({"bootstrap.servers": address, "group.id": uniq("ck-eof"), "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 100, "isolation.level": isolation, **conf})
    values, eof = {p: [] for p in partitions}, {}
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + timeout
        while len(eof) < len(values) and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error() is not None:
                assert msg.error().code() == KafkaError._PARTITION_EOF, f"consumer error: {msg.error()}"
                eof[msg.partition()] = msg.offset()
                continue
            eof.pop(msg.partition(), None)
            values[msg.partition()].append((msg.offset(), msg.value().decode()))
        assert len(eof) == len(values), \
            f"{isolation} reader did not reach the end of {topic} within {timeout}s (eof {eof}, read {values})"
    finally:
        consumer.close()
    return values, eof


def open_sockets(port, count):
    """`count` plain TCP connections to 127.0.0.1:port, left idle (connection-storm tests and benchmarks)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def close_sockets(sockets):
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------------------------
# Raw requests for leader epochs and fetch sessions (test_leader_epochs.py, test_fetch_sessions.py).

def metadata_v7_leader_epochs(address, topic):
    """{partition: (error, leader_epoch)} from Metadata v7."""
    with RawConnection(address) as conn:
        payload = conn.request(3, 7, 1, array([string(topic)]) + i8(0))
    r = Reader(payload)
    r.i32(), r.i32()
    r.array(lambda rd: (rd.i32(), rd.string(), rd.i32(), rd.string()))
    r.string(), r.i32()

    def partition(rd):
        error, index, _leader, epoch = rd.i16(), rd.i32(), rd.i32(), rd.i32()
        rd.array(lambda x: x.i32()), rd.array(lambda x: x.i32()), rd.array(lambda x: x.i32())
        return index, (error, epoch)

    topics = r.array(lambda rd: (rd.i16(), rd.string(), rd.i8(), rd.array(partition)))
    return dict(topics[0][3])


def offset_for_leader_epoch_v2(conn, topic, partitions, correlation_id=1):
    """OffsetForLeaderEpoch v2; `partitions` = [(partition, current_leader_epoch, leader_epoch)].
    Returns {partition: (error, leader_epoch, end_offset)}."""
    body = array([string(topic) + array([i32(p) + i32(current) + i32(epoch) for p, current, epoch in partitions])])
    r = Reader(conn.request(23, 2, correlation_id, body))
    assert r.i32() == correlation_id
    r.i32()
    topics = r.array(lambda rd: (rd.string(), rd.array(lambda x: (x.i16(), x.i32(), x.i32(), x.i64()))))
    return {p: (error, epoch, end) for error, p, epoch, end in topics[0][1]}


def list_offsets_v4(conn, topic, partition, timestamp, current_leader_epoch=-1, correlation_id=1):
    """ListOffsets v4 for one partition: (error, offset, leader_epoch)."""
    body = i32(-1) + i8(0) + array([string(topic) + array([i32(partition) + i32(current_leader_epoch) + i64(timestamp)])])
    r = Reader(conn.request(2, 4, correlation_id, body))
    assert r.i32() == correlation_id
    r.i32()
    topics = r.array(lambda rd: (rd.string(), rd.array(lambda x: (x.i32(), x.i16(), x.i64(), x.i64(), x.i32()))))
    _, error, _ts, offset, epoch = topics[0][1][0]
    return error, offset, epoch


def fetch_v11(conn, topics, session_id=0, session_epoch=-1, forgotten=(), max_wait_ms=0, min_bytes=1,
              correlation_id=1):
    """Fetch v11 (the last version naming topics, with sessions and CurrentLeaderEpoch).
    `topics` = {topic: [(partition, fetch_offset, current_leader_epoch)]}, `forgotten` = [(topic, [partitions])].
    Returns (error, session_id, {(topic, partition): {"error", "high_watermark", "records"}})."""
    body = (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(1 << 20) + i8(0) + i32(session_id) + i32(session_epoch)
            + array([string(t) + array([i32(p) + i32(epoch) + i64(offset) + i64(-1) + i32(1 << 20)
                                        for p, offset, epoch in parts]) for t, parts in topics.items()])
            + array([string(t) + array([i32(p) for p in parts]) for t, parts in forgotten])
            + string(""))
    r = Reader(conn.request(1, 11, correlation_id, body))
    assert r.i32() == correlation_id
    r.i32()
    error, session = r.i16(), r.i32()

    def part(rd):
        index, perror, hw = rd.i32(), rd.i16(), rd.i64()
        rd.i64(), rd.i64(), rd.array(lambda x: (x.i64(), x.i64())), rd.i32()
        return index, {"error": perror, "high_watermark": hw, "records": rd.bytes() or b""}

    result = {}
    for name, parts in r.array(lambda rd: (rd.string(), rd.array(part))):
        for index, data in parts:
            result[(name, index)] = data
    return error, session, result
