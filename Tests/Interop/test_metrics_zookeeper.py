"""`ledgerstream zookeeper` with Apache ZooKeeper's PrometheusMetricsProvider settings: the scrape is parsed by the
Prometheus Python client's own parser, moves with real kazoo traffic, agrees with `mntr`, and uses the metric names of
Apache ZooKeeper 3.8 (Debian's package has no Prometheus provider jar, so the names are checked against its `mntr`,
which lists every metric of its provider: gauges as zk_NAME, summaries as zk_cnt_NAME, zk_sum_NAME, ...).

Each test starts its own coordinator on ephemeral 127.0.0.1 ports (client and metrics) with a fresh data directory.
"""
import os
import shutil
import socket

import pytest
from kazoo.client import KazooClient

import interop_util as u
from interop_util import APACHE_ZK_JAR, apache_zookeeper, wait_until

JAVA = shutil.which("java")

PROMETHEUS_PROVIDER = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
# Gauges whose value must be mntr's zk_<name> at the same moment (nothing changes between the two reads).
SAME_AS_MNTR = ["znode_count", "watch_count", "ephemerals_count", "global_sessions", "local_sessions",
                "approximate_data_size", "outstanding_requests", "max_file_descriptor_count", "auth_failed_count"]


def metrics_base(server):
    """The endpoint's base URL, from the line the server logs when it binds (the port was 0)."""
    return u.metrics_url(server.log, timeout=10)


def get(url):
    return u.http_get(url)


def scrape(base):
    """{family name: family}, parsed by prometheus_client."""
    return {family.name: family for family in u.scrape_families(base)}


def value(families, name, sample=None):
    family = families[name]
    wanted = sample or name
    return next(s.value for s in family.samples if s.name == wanted)


def mntr(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"mntr")
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return dict(line.split("\t", 1) for line in b"".join(chunks).decode().splitlines())


def write_zoo_cfg(directory, *extra):
    path = os.path.join(directory, "zoo.cfg")
    with open(path, "w") as cfg:
        cfg.write("\n".join(["tickTime=2000", "clientPort=0", "clientPortAddress=127.0.0.1",
                             f"dataDir={directory}/data", "4lw.commands.whitelist=*", *extra]) + "\n")
    return path


def test_zookeeper_properties_serve_metrics_that_follow_kazoo_and_agree_with_mntr(start_zookeeper, tmp_path):
    cfg = write_zoo_cfg(str(tmp_path), f"metricsProvider.className={PROMETHEUS_PROVIDER}",
                        "metricsProvider.httpPort=0", "metricsProvider.exportJvmInfo=false")
    server = start_zookeeper(args=["zookeeper", cfg])
    base = metrics_base(server)
    assert base.startswith("http://127.0.0.1:")  # loopback unless metricsProvider.httpHost says otherwise
    assert get(base + "/healthz")[0] == 200
    assert get(base + "/readyz")[:3:2] == (200, "ready\n")

    before = scrape(base)
    for name in SAME_AS_MNTR + ["num_alive_connections", "packets_received", "packets_sent", "avg_latency",
                                "min_latency", "max_latency", "uptime", "open_file_descriptor_count"]:
        assert before[name].type == "gauge", name
        assert before[name].documentation, name
    assert before["fsynctime"].type == "histogram"
    assert "process_open_fds" in before and "process_cpu_seconds" in before
    assert value(before, "num_alive_connections") == 0
    assert value(before, "watch_count") == 0

    zk = KazooClient(hosts=server.address, timeout=10)
    zk.start(timeout=10)
    try:
        zk.ensure_path("/metrics/a")
        zk.create("/metrics/b", b"payload")
        zk.create("/metrics/e", ephemeral=True)
        zk.exists("/metrics/absent", watch=lambda event: None)
        zk.get("/metrics/b", watch=lambda event: None)
        zk.get_children("/metrics", watch=lambda event: None)

        during = scrape(base)
        assert value(during, "znode_count") == value(before, "znode_count") + 4
        assert value(during, "ephemerals_count") == 1
        assert value(during, "watch_count") == 3
        assert value(during, "global_sessions") == 1
        assert value(during, "num_alive_connections") == 1
        assert value(during, "packets_received") >= value(before, "packets_received") + 7
        assert value(during, "packets_sent") >= value(before, "packets_sent") + 7
        assert value(during, "approximate_data_size") > value(before, "approximate_data_size")
        assert value(during, "max_latency") >= value(during, "avg_latency") >= value(during, "min_latency") >= 0
        # Every write (session, 4 creates) was fsynced before it was answered; durations are in milliseconds.
        assert value(during, "fsynctime", "fsynctime_count") >= value(before, "fsynctime", "fsynctime_count") + 4
        assert value(during, "fsynctime", "fsynctime_sum") >= 0
        assert value(during, "dbinittime", "dbinittime_count") == 1

        monitor = mntr(server.port)
        for name in SAME_AS_MNTR:
            assert float(monitor["zk_" + name]) == value(during, name), name
        # mntr's own connection and packet are counted by mntr but came after the scrape.
        assert int(monitor["zk_num_alive_connections"]) in (1, 2)
        assert int(monitor["zk_packets_received"]) >= value(during, "packets_received")
        after_mntr = scrape(base)
        assert value(after_mntr, "packets_received") >= int(monitor["zk_packets_received"])

        zk.delete("/metrics/b")
        assert value(scrape(base), "znode_count") == value(during, "znode_count") - 1
    finally:
        zk.stop()
        zk.close()
    wait_until(lambda: value(scrape(base), "num_alive_connections") == 0, message="the connection closed")
    wait_until(lambda: value(scrape(base), "ephemerals_count") == 0, message="the ephemeral node deleted")


def test_metrics_listener_flag_and_other_providers(start_zookeeper):
    server = start_zookeeper(extra=["--metrics-listener", "127.0.0.1:0"])
    base = metrics_base(server)
    assert get(base + "/readyz")[0] == 200
    assert value(scrape(base), "znode_count") == float(mntr(server.port)["zk_znode_count"])
    assert get(base + "/nothing")[0] == 404

    # ZooKeeper's default providers serve nothing over HTTP; neither does the coordinator without a provider.
    for extra in ([], ["--override", "metricsProvider.className=org.apache.zookeeper.metrics.impl.NullMetricsProvider",
                       "--override", "metricsProvider.httpPort=0"]):
        plain = start_zookeeper(extra=extra)
        assert mntr(plain.port)["zk_server_state"] == "standalone"
        assert "metrics endpoint" not in plain.log()


@pytest.mark.skipif(not (JAVA and os.path.exists(APACHE_ZK_JAR)),
                    reason="needs java and Debian's zookeeper package (/usr/share/java/zookeeper.jar)")
def test_metric_names_are_apache_zookeepers(start_zookeeper):
    server = start_zookeeper(extra=["--metrics-listener", "0"])
    ours = {name: family.type for name, family in scrape(metrics_base(server)).items()
            if not name.startswith("process_")}
    with apache_zookeeper(JAVA) as port:
        theirs = set(mntr(port))
    assert len(ours) >= 20
    for name, kind in ours.items():
        if kind == "gauge":
            assert "zk_" + name in theirs, name
        else:
            assert kind == "histogram" and {"zk_cnt_" + name, "zk_sum_" + name} <= theirs, name
