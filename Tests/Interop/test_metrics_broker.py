"""`ledgerstream broker --metrics-listener`: the Prometheus endpoint scraped with prometheus_client's parser while
real clients (kcat, confluent-kafka) and raw frames drive the broker; /healthz and /readyz; the HTTP edges; memory
over 1,000 scrapes; and nothing listening unless asked."""
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest
from conftest import BIN, Server, broker_args, run
import interop_util as u

def metrics_url(server):
    return u.metrics_url(server.log)


def scrape(url):
    """{(sample name, frozenset of labels): value} of one scrape, parsed by prometheus_client."""
    samples = {}
    for family in u.scrape_families(url):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def total(samples, name, **labels):
    """Sum of every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def status(url, method="GET", body=None):
    request = urllib.request.Request(url, method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def metered():
    """A broker with metrics on an ephemeral port and topic auto-creation off (so a produce to a missing topic fails)."""
    path = tempfile.mkdtemp(prefix="ledgerstream-interop-metrics-")
    server = Server(broker_args(path, extra=["--metrics-listener", "127.0.0.1:0",
                                             "--auto-create-topics-enable", "false"]), path).start()
    yield server, metrics_url(server)
    try:
        server.stop()
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_produced_and_consumed_records_are_counted(metered):
    server, url = metered
    topic = u.uniq("metered")
    u.kp_create_topic(server.address, topic)
    count = 500
    lines = "".join(f"record-{i:05d}\n" for i in range(count))
    run(["kcat", "-P", "-b", server.address, "-t", topic, "-p", "0"], input=lines, timeout=60)

    after_produce = scrape(url)
    assert value(after_produce, "ledgerstream_broker_topic_records_in_total", topic=topic) == count
    assert value(after_produce, "ledgerstream_broker_topic_bytes_in_total", topic=topic) > count * 12
    assert value(after_produce, "ledgerstream_broker_log_end_offset", topic=topic, partition="0") == count
    assert value(after_produce, "ledgerstream_broker_log_size_bytes", topic=topic, partition="0") == \
        value(after_produce, "ledgerstream_broker_topic_bytes_in_total", topic=topic)
    assert value(after_produce, "ledgerstream_broker_log_segments", topic=topic, partition="0") == 1
    assert total(after_produce, "ledgerstream_broker_requests_total", api="Produce") >= 1
    assert value(after_produce, "ledgerstream_broker_request_total_time_seconds_count", api="Produce") >= 1
    assert value(after_produce, "ledgerstream_broker_connections", listener="PLAINTEXT") is not None
    fetches_before = total(after_produce, "ledgerstream_broker_requests_total", api="Fetch")

    records = u.ck_read_all(server.address, topic, count, partitions=[0])
    assert len(records) == count
    after_consume = scrape(url)
    assert value(after_consume, "ledgerstream_broker_topic_records_out_total", topic=topic) >= count
    assert value(after_consume, "ledgerstream_broker_topic_bytes_out_total", topic=topic) >= \
        value(after_consume, "ledgerstream_broker_topic_bytes_in_total", topic=topic)
    assert total(after_consume, "ledgerstream_broker_requests_total", api="Fetch") > fetches_before
    assert value(after_consume, "ledgerstream_broker_request_queue_time_seconds_count", api="Fetch") > 0
    assert value(after_consume, "ledgerstream_broker_request_local_time_seconds_count", api="Fetch") > 0
    assert value(after_consume, "ledgerstream_broker_under_min_isr_partitions") == 0
    assert value(after_consume, "process_resident_memory_bytes") > 0


def test_failed_requests_are_counted_by_error(metered):
    server, url = metered
    errors = "ledgerstream_broker_request_errors_total"
    before = scrape(url)
    unknown = dict(api="Produce", version="3", error="UNKNOWN_TOPIC_OR_PARTITION")
    with u.RawConnection(server.address) as conn:
        body = u.produce_v3_body(u.uniq("missing"), 0, u.record_batch([(None, b"x")]))
        answer = u.parse_produce_v3(conn.request(0, 3, 41, body))
    assert answer["error"] == 3

    topic = u.uniq("twice")
    u.kp_create_topic(server.address, topic)
    from confluent_kafka.admin import NewTopic
    admin = u.ck_admin(server.address)  # kept alive until the answer arrives
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    with pytest.raises(Exception, match="already exists"):
        futures[topic].result(timeout=15)

    after = scrape(url)
    assert (value(after, errors, **unknown) or 0) - (value(before, errors, **unknown) or 0) == 1
    assert total(after, errors, api="CreateTopics", error="TOPIC_ALREADY_EXISTS") - \
        total(before, errors, api="CreateTopics", error="TOPIC_ALREADY_EXISTS") == 1
    # NONE is never a label: only failures are counted.
    assert not any(name == errors and ("error", "NONE") in labels for name, labels in after)


def test_health_and_http_edges(metered):
    server, url = metered
    assert status(url + "/healthz") == (200, "ok\n")
    assert status(url + "/readyz") == (200, "ready\n")
    assert status(url + "/metrics", method="POST", body=b"x")[0] == 405
    assert status(url + "/nope")[0] == 404

    # A 10 MB body is refused without being read: 413 as soon as it passes the limit, then the connection closes.
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    refused = None
    try:
        conn.putrequest("POST", "/metrics")
        conn.putheader("Content-Length", str(10 * 1024 * 1024))
        conn.endheaders()
        chunk = b"x" * 65536
        for _ in range(160):
            conn.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        refused = conn.getresponse().status
    except (ConnectionResetError, http.client.RemoteDisconnected):
        refused = "closed"
    finally:
        conn.close()
    assert refused in (413, "closed")
    assert status(url + "/healthz")[0] == 200
    assert "ledgerstream_broker_requests_total" in urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as status_file:
        for line in status_file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_thousand_scrapes_leave_memory_flat(metered):
    server, url = metered
    for _ in range(100):
        scrape(url)
    before = resident_kb(server.process.pid)
    for _ in range(1000):
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
            response.read()
    after = resident_kb(server.process.pid)
    assert after - before < 8 * 1024, f"RSS grew from {before} kB to {after} kB over 1,000 scrapes"


def listening_ports(pid):
    """TCP ports the process listens on, from its socket descriptors and /proc/net/tcp{,6} (state 0A: LISTEN)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as entries:
            next(entries)
            for line in entries:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_off_by_default(broker):
    assert "metrics endpoint" not in broker.log()
    assert listening_ports(broker.process.pid) == {broker.port}


def test_property_form_and_invalid_values(data_dir):
    # metrics.listener through --override (as in server.properties) turns it on too.
    server = Server(broker_args(data_dir, extra=["--override", "metrics.listener=http://127.0.0.1:0"]), data_dir).start()
    try:
        url = metrics_url(server)
        assert listening_ports(server.process.pid) == {server.port, int(url.rsplit(":", 1)[1])}
        assert status(url + "/readyz")[0] == 200
    finally:
        server.stop()
    bad = subprocess.run([BIN, *broker_args(data_dir, extra=["--override", "metrics.listener=http://127.0.0.1:notaport"])],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 78
    assert "metrics.listener" in bad.stderr and "notaport" in bad.stderr


def test_port_in_use_is_a_clear_error(data_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([BIN, *broker_args(data_dir, extra=["--metrics-listener", f"127.0.0.1:{port}"])],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 69
    assert "cannot listen for metrics" in result.stderr
