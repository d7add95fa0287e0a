#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (Fuzz/Corpus/<target>/).

    python3 Fuzz/make-seeds.py [CAPTURES]      CAPTURES: the captured client frames (default ../shared/captures)

- kafka-request: every distinct request frame the real clients sent (size prefix removed), one per client, API key
  and version; every request of Fuzz/extra-frames (real clients' frames to ledgerstream itself, for the APIs added
  after the captures; see its README); and frames built here from the .def field layouts at every version of those
  APIs (OffsetForLeaderEpoch, AlterConfigs, DescribeLogDirs, DeleteGroups, OffsetDelete, ConsumerGroupHeartbeat,
  ConsumerGroupDescribe, GetTelemetrySubscriptions, DescribeTopicPartitions), so that versions no client sends have
  seeds too. record-batch: the record batches of the captured Produce requests, plus batches built here for each codec
  (gzip, snappy raw and xerial-framed, lz4 and zstd through their command-line tools when present) and for the
  idempotent, transactional and multi-batch cases; zookeeper-request: every request frame of kazoo and zkCli
  (ConnectRequests included).
- ledger-csv and ledger-event: data/client_transactions.csv and hand-written files and record values covering the
  formats the parsers accept and the errors they report.

The output is deterministic; run it again after the captures, Fuzz/extra-frames or the formats change, then commit
Fuzz/Corpus.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "Corpus")
EXTRA_FRAMES = os.path.join(HERE, "extra-frames")


def write_seeds(target, seeds):
    """seeds: (name, bytes) pairs; the same bytes are written once."""
    directory = os.path.join(CORPUS, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    seen = set()
    for name, data in seeds:
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        with open(os.path.join(directory, f"{name}-{digest[:8]}"), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seen)} seeds, {sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory))} bytes")


def frames(captures, prefix):
    for file in sorted(os.listdir(captures)):
        if file.endswith(".frames") and file.startswith(prefix):
            with open(os.path.join(captures, file)) as f:
                for line in f:
                    yield file[: -len(".frames")], json.loads(line)


# MARK: Kafka

# First flexible version of the APIs whose Produce parsing needs it (Produce only) and of the request header.
PRODUCE_FIRST_FLEXIBLE = 9


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated")
        self.pos += n
        return chunk

    def int(self, fmt):
        return struct.unpack(">" + fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def length(self, compact, wide):
        if compact:
            return self.uvarint() - 1
        return self.int("i" if wide else "h")

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def produce_batches(frame, version):
    """The records field of every partition of a Produce request (header included in `frame`)."""
    flexible = version >= PRODUCE_FIRST_FLEXIBLE
    r = Reader(frame)
    r.take(8)
    client_id = r.int("h")
    if client_id > 0:
        r.take(client_id)
    if flexible:
        r.skip_tags()
    if version >= 3:
        n = r.length(flexible, False)
        if n > 0:
            r.take(n)
    r.take(6)  # acks, timeout
    for _ in range(r.length(flexible, True)):
        r.take(r.length(flexible, False))
        for _ in range(r.length(flexible, True)):
            r.take(4)
            n = r.length(flexible, True)
            if n > 0:
                yield r.take(n)
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()


def client_label(name):
    """ck_admin -> ck; the variants nf_ck_admin, fb_ck_admin and ls_ck_admin -> nf_ck, fb_ck, ls_ck."""
    return name.split("_")[0] if not name.startswith(("nf_", "fb_", "ls_")) else "_".join(name.split("_")[:2])


def kafka_seeds(captures):
    requests, batches = [], []
    kept = set()
    for name, d in frames(captures, ""):
        if name.startswith("zk_") or d["d"] != "req":
            continue
        data = bytes.fromhex(d["hex"])
        client = client_label(name)
        label = f"{client}-k{d['k']}v{d['v']}"
        if label not in kept:
            kept.add(label)
            requests.append((label, data))
        if d["k"] == 0:
            for batch in produce_batches(data, d["v"]):
                batches.append((f"{name}-produce", batch))
    return requests, batches


def extra_request_seeds():
    """Every request of Fuzz/extra-frames: already one per distinct frame, so none is left out."""
    return [(f"{client_label(name)}-k{d['k']}v{d['v']}", bytes.fromhex(d["hex"]))
            for name, d in frames(EXTRA_FRAMES, "") if d["d"] == "req"]


# Request frames built from Sources/KafkaProtocol/Definitions/NN_*.def: request header v1 (non-flexible versions) or
# v2 (flexible: a tag buffer after the client id, which stays an int16-length string), then the body, where flexible
# versions use compact strings and arrays (unsigned varint length + 1, 0 for null) and end every struct with an empty
# tag buffer.

def i8(value):
    return struct.pack(">b", value)


def i16(value):
    return struct.pack(">h", value)


def i32(value):
    return struct.pack(">i", value)


def uvarint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def kstring(value, flexible):
    """A (nullable) string: compact or int16-length."""
    if value is None:
        return uvarint(0) if flexible else i16(-1)
    data = value.encode()
    return (uvarint(len(data) + 1) if flexible else i16(len(data))) + data


def karray(items, flexible, encode):
    """A (nullable) array: compact or int32-length, each item through `encode`."""
    if items is None:
        return uvarint(0) if flexible else i32(-1)
    return (uvarint(len(items) + 1) if flexible else i32(len(items))) + b"".join(encode(item) for item in items)


def tags(flexible):
    return b"\x00" if flexible else b""


def request_frame(key, version, flexible, body, correlation_id=7, client_id="ledgerstream-seeds"):
    return struct.pack(">hhi", key, version, correlation_id) + kstring(client_id, False) + tags(flexible) + body


TOPIC_ID = bytes.fromhex("6c6564676572737472650000000000a1")
MEMBER_ID = "Zm9vYmFyYmF6cXV4MTIzNA"


def offset_for_leader_epoch(v, f):
    def partition(p):
        index, current, epoch = p
        return i32(index) + (i32(current) if v >= 2 else b"") + i32(epoch) + tags(f)

    def topic(t):
        return kstring(t[0], f) + karray(t[1], f, partition) + tags(f)

    topics = [("transactions", [(0, 3, 2), (1, -1, 0)]), ("ledger-events", [(0, 1, 1)])]
    yield "validate", (i32(-1) if v >= 3 else b"") + karray(topics, f, topic) + tags(f)


def alter_configs(v, f):
    def config(c):
        return kstring(c[0], f) + kstring(c[1], f) + tags(f)

    def resource(r):
        return i8(r[0]) + kstring(r[1], f) + karray(r[2], f, config) + tags(f)

    resources = [(2, "transactions", [("retention.ms", "604800000"), ("cleanup.policy", None)]),
                 (4, "1", [("log.retention.ms", "86400000")])]
    yield "set", karray(resources, f, resource) + i8(0) + tags(f)
    yield "validate-empty", karray([(2, "ledger-events", [])], f, resource) + i8(1) + tags(f)


def describe_log_dirs(v, f):
    def topic(t):
        return kstring(t[0], f) + karray(t[1], f, i32) + tags(f)

    yield "all", karray(None, f, topic) + tags(f)
    yield "some", karray([("transactions", [0, 1, 2]), ("ledger-events", [])], f, topic) + tags(f)


def delete_groups(v, f):
    yield "two", karray(["ledger-sink", "ledger-audit"], f, lambda g: kstring(g, f)) + tags(f)


def offset_delete(v, f):
    def topic(t):
        return kstring(t[0], f) + karray(t[1], f, i32) + tags(f)

    yield "two-topics", kstring("ledger-sink", f) + karray([("transactions", [0, 2]), ("ledger-events", [0])], f, topic) + tags(f)


def consumer_group_heartbeat(v, f):
    def owned(t):
        return t[0] + karray(t[1], f, i32) + tags(f)

    def body(member, epoch, instance, rack, timeout, names, regex, assignor, partitions):
        return (kstring("ledger-sink", f) + kstring(member, f) + i32(epoch) + kstring(instance, f) + kstring(rack, f)
                + i32(timeout) + karray(names, f, lambda n: kstring(n, f)) + (kstring(regex, f) if v >= 1 else b"")
                + kstring(assignor, f) + karray(partitions, f, owned) + tags(f))

    yield "join", body(MEMBER_ID, 0, "sink-1", "rack-a", 300000, ["transactions", "ledger-events"],
                       "ledger-.*", "uniform", [])
    yield "heartbeat", body(MEMBER_ID, 3, None, None, -1, None, None, None, [(TOPIC_ID, [0, 1])])
    yield "leave", body(MEMBER_ID, -1, None, None, -1, None, None, None, None)


def consumer_group_describe(v, f):
    yield "two", karray(["ledger-sink", "missing-group"], f, lambda g: kstring(g, f)) + i8(1) + tags(f)


def get_telemetry_subscriptions(v, f):
    yield "first", bytes(16) + tags(f)
    yield "assigned", TOPIC_ID + tags(f)


def describe_topic_partitions(v, f):
    def topic(name):
        return kstring(name, f) + tags(f)

    def cursor(c):
        return i8(-1) if c is None else i8(1) + kstring(c[0], f) + i32(c[1]) + tags(f)

    yield "first-page", karray(["transactions", "ledger-events"], f, topic) + i32(2000) + cursor(None) + tags(f)
    yield "next-page", karray(["transactions", "ledger-events"], f, topic) + i32(1) + cursor(("transactions", 1)) + tags(f)
    yield "every-topic", karray([], f, topic) + i32(2000) + cursor(None) + tags(f)


# key: (name, versions, first flexible version or None, body builder yielding (variant, body) for a version).
BUILT_REQUESTS = {
    23: ("OffsetForLeaderEpoch", range(0, 5), 4, offset_for_leader_epoch),
    33: ("AlterConfigs", range(0, 3), 2, alter_configs),
    35: ("DescribeLogDirs", range(0, 5), 2, describe_log_dirs),
    42: ("DeleteGroups", range(0, 3), 2, delete_groups),
    47: ("OffsetDelete", range(0, 1), None, offset_delete),
    68: ("ConsumerGroupHeartbeat", range(0, 2), 0, consumer_group_heartbeat),
    69: ("ConsumerGroupDescribe", range(0, 2), 0, consumer_group_describe),
    71: ("GetTelemetrySubscriptions", range(0, 1), 0, get_telemetry_subscriptions),
    75: ("DescribeTopicPartitions", range(0, 1), 0, describe_topic_partitions),
}


def built_requests():
    seeds = []
    for key, (_, versions, first_flexible, build) in sorted(BUILT_REQUESTS.items()):
        for version in versions:
            flexible = first_flexible is not None and version >= first_flexible
            for variant, body in build(version, flexible):
                seeds.append((f"built-k{key}v{version}-{variant}", request_frame(key, version, flexible, body)))
    return seeds


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def zigzag(value):
    return (value << 1) ^ (value >> 63)


def varint(value):
    return uvarint(zigzag(value))


def field(data):
    return varint(-1) if data is None else varint(len(data)) + data


def record(offset_delta, key, value, headers=()):
    body = b"\x00" + varint(offset_delta * 10) + varint(offset_delta) + field(key) + field(value)
    body += varint(len(headers)) + b"".join(field(k) + field(v) for k, v in headers)
    return varint(len(body)) + body


def batch(records, count, codec=0, producer_id=-1, epoch=-1, sequence=-1, transactional=False, base_offset=0):
    attributes = codec | (0x10 if transactional else 0)
    timestamp = 1795605017949
    after_crc = struct.pack(">hiqqqhii", attributes, count - 1, timestamp, timestamp + 10 * (count - 1),
                            producer_id, epoch, sequence, count) + records
    return struct.pack(">qiib", base_offset, 4 + 1 + 4 + len(after_crc), 0, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc


def snappy_raw(data):
    """A valid snappy stream of literals only."""
    out = bytearray()
    n = len(data)
    while True:
        out.append(n & 0x7F | (0x80 if n >= 0x80 else 0))
        n >>= 7
        if n == 0:
            break
    for start in range(0, len(data), 60):
        chunk = data[start : start + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def compressed_with(tool, data):
    if shutil.which(tool) is None:
        print(f"  ({tool} not installed: no {tool} seed)")
        return None
    return subprocess.run([tool, "-c", "-q"], input=data, stdout=subprocess.PIPE, check=True).stdout


def built_batches():
    events = [
        b'{"transaction_date":"2024-01-01 00:00:00","account":"C100","transaction_value":1000,"balance":1000,"transaction_type":"deposit"}',
        b'{"transaction_date":"2024-01-03 00:00:00","account":"C200","transaction_value":200,"balance":2300,"transaction_type":"withdrawal"}',
        b'{"transaction_date":"2024-01-04 00:00:00","account":"C100","transaction_value":25,"balance":null,"transaction_type":"withdrawal"}',
    ]
    source = (b"ledgerstream.source", b"0123456789abcdef0123456789abcdef:2")
    plain = b"".join(record(i, b"C100", e, [source] if i == 0 else []) for i, e in enumerate(events))
    seeds = [
        ("plain", batch(plain, 3)),
        ("null-key-value", batch(record(0, None, None), 1)),
        ("idempotent", batch(plain, 3, producer_id=4000, epoch=0, sequence=0)),
        ("transactional", batch(plain, 3, producer_id=4001, epoch=2, sequence=7, transactional=True)),
        ("two-batches", batch(record(0, b"k", b"v"), 1) + batch(plain, 3, base_offset=1)),
        ("gzip", batch(zlib.compress(plain, 9, wbits=31), 3, codec=1)),
        ("snappy-raw", batch(snappy_raw(plain), 3, codec=2)),
    ]
    raw = snappy_raw(plain)
    xerial = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1) + struct.pack(">i", len(raw)) + raw
    seeds.append(("snappy-xerial", batch(xerial, 3, codec=2)))
    for codec, tool in ((3, "lz4"), (4, "zstd")):
        compressed = compressed_with(tool, plain)
        if compressed is not None:
            seeds.append((tool, batch(compressed, 3, codec=codec)))
    return seeds


# MARK: ZooKeeper

def zookeeper_seeds(captures):
    seeds = []
    for name, d in frames(captures, "zk_"):
        if d["d"] == "req":
            seeds.append((name, bytes.fromhex(d["hex"])))
    return seeds


# MARK: Ledger

CSV_SEEDS = {
    "iso-comma": b"transaction_date,account,transaction_value,balance\n2024-01-01,C100,1000.50,1000.50\n2024-01-02T10:30:00,C200,-20,\n",
    "quoted": b'transaction_date;account;transaction_value;balance\r\n"01/02/2024";"C;1";"12,5";"12,50"\r\n"02/02/2024";"C ""2""";-1;\r\n',
    "quoted-newline": b'transaction_date,account,transaction_value\n2024-03-01,"C\n1",7\n',
    "bom-blank-lines": b"\xef\xbb\xbftransaction_date;account;transaction_value\n\n01/01/2024 09:15;C100;5\n\n",
    "reordered-columns": b"account;balance;transaction_value;transaction_date;note\nC100;;-3.10;29/02/2024;x\n",
    "row-errors": b"transaction_date;account;transaction_value;balance\n31/02/2024;C1;1;1\n01/01/2024;;1;1\n01/01/2024;C1;0;0\n"
                  b"01/01/2024;C1;1.234;1\n01/01/2024;C1;99999999999999999999;1\n01/01/2024;C1;1e3;1\n01/01/2024;C1;1\n"
                  b'01/01/2024;"C1;1;1\n',
    "missing-column": b"date;account;value\n01/01/2024;C1;1\n",
    "header-only": b"transaction_date;account;transaction_value;balance",
    "utf8-account": "transaction_date;account;transaction_value\n2024-05-01;  Zoë Ångström ;+42,00\n".encode(),
}

EVENT_SEEDS = {
    "full": b'{"transaction_date":"2024-01-01 00:00:00","account":"C100","transaction_value":1000,"balance":1000,"transaction_type":"deposit"}',
    "null-balance": b'{"transaction_date": "2024-01-04 00:00:00", "account": "C100", "transaction_value": 25.5, "balance": null, "transaction_type": "withdrawal"}',
    "signed-no-type": b'{"transaction_date":"2024-02-29 23:59:59","account":"C200","transaction_value":-200}',
    "escapes": b'{"transaction_date":"2024-01-01 00:00:00","account":"C\\u00e9\\"\\\\\\/\\n\\ud83d\\ude00","transaction_value":"12.50"}',
    "escaped-key": b'{"transaction_\\u0064ate":"2024-01-01 00:00:00","account":"C1","transaction_value":1}',
    "unknown-members": b'{"extra":{"a":[1,2,{"b":null}]},"transaction_date":"2024-01-01 00:00:00","account":"C1","transaction_value":1,"flag":true,"x":-1.5e3}',
    "duplicate": b'{"transaction_date":"2024-01-01 00:00:00","account":"C1","account":"C2","transaction_value":1}',
    "exponent": b'{"transaction_date":"2024-01-01 00:00:00","account":"C1","transaction_value":1e2}',
    "bad-type": b'{"transaction_date":"2024-01-01 00:00:00","account":"C1","transaction_value":-1,"transaction_type":"deposit"}',
    "not-object": b'[1,2,3]',
}


def main():
    captures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "captures")
    if not os.path.isdir(captures):
        sys.exit(f"no captures at {captures}")
    requests, batches = kafka_seeds(captures)
    write_seeds("kafka-request", requests + extra_request_seeds() + built_requests())
    write_seeds("record-batch", batches + built_batches())
    write_seeds("zookeeper-request", zookeeper_seeds(captures))
    with open(os.path.join(REPO, "data", "client_transactions.csv"), "rb") as f:
        csv = [("client-transactions", f.read())]
    write_seeds("ledger-csv", csv + sorted(CSV_SEEDS.items()))
    write_seeds("ledger-event", sorted(EVENT_SEEDS.items()))


if __name__ == "__main__":
    main()
