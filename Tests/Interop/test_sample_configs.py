"""The sample data/server.properties and data/zookeeper.properties: each server starts from its sample (with options
for an ephemeral port and a temporary data directory, which win over the file) without printing a single warning, and
each sample holds exactly the command's defaults.

Every server is started here and stopped by PID (SIGTERM, then checked for a clean exit).
"""
import os
import re
import shutil
import socket
import tempfile
import time

import pytest

import interop_util as u
from conftest import BIN, REPO, Server, run

SERVER_PROPERTIES = os.path.join(REPO, "data", "server.properties")
ZOOKEEPER_PROPERTIES = os.path.join(REPO, "data", "zookeeper.properties")

# A log line at warning level or above (swift-log's "… warning label: …"), or either command's notes about keys it
# does not use ("ignoring unknown property", "property has no effect on a single ledgerstream node").
COMPLAINT = re.compile(r"\b(warning|error|critical)\b|unknown propert|no effect|ignor", re.IGNORECASE)


def properties(path):
    """The active key=value lines of a sample (its comments are '#' lines; no continuations are used)."""
    entries = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                key, _, value = line.partition("=")
                entries[key.strip()] = value.strip()
    return entries


def complaints(server):
    time.sleep(0.3)  # anything logged just after the readiness line is in the output too
    return [line for line in server.log().splitlines() if COMPLAINT.search(line)]


@pytest.fixture
def servers():
    """Starts `ledgerstream ARGS…` servers with fresh data directories; stops each by PID at teardown."""
    started = []

    def start(name, make_args):
        path = tempfile.mkdtemp(prefix=f"ledgerstream-sample-{name}-")
        server = Server(make_args(path), path, name=name)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        try:
            server.stop(kill=True)
        finally:
            shutil.rmtree(server.data_dir, ignore_errors=True)


def stop_cleanly(server):
    assert server.stop() == 0, server.log()


# ---------------------------------------------------------------------------------------------------------------------
# Broker

def sample_broker_args(extra=()):
    return lambda path: ["broker", SERVER_PROPERTIES, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", path, *extra]


def test_broker_starts_from_its_sample_without_warnings(servers):
    broker = servers("broker", sample_broker_args())
    assert f"(node 1, data {broker.data_dir})" in broker.log(), broker.log()  # the options won over the file
    assert complaints(broker) == [], broker.log()
    # It works: a topic gets the sample's partition count and lands in the overriding data directory.
    run([BIN, "topic", "create", "sampled", "-b", broker.address])
    assert os.path.isdir(os.path.join(broker.data_dir, "sampled-0"))
    stop_cleanly(broker)
    assert complaints(broker) == [], broker.log()


def test_the_warning_check_sees_an_unknown_broker_property(servers):
    """The check above would notice: an unknown key is reported in a line it matches."""
    broker = servers("broker", sample_broker_args(["--override", "no.such.property=1"]))
    assert any("no.such.property" in line for line in complaints(broker)), broker.log()
    stop_cleanly(broker)


def broker_configs(address):
    from kafka.admin import ConfigResource, ConfigResourceType
    admin = u.kp_admin(address)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")], config_filter="all")
        return {name: entry["value"] for name, entry in described["broker"]["1"].items()}
    finally:
        admin.close()


def test_broker_sample_holds_the_defaults(servers):
    sample = properties(SERVER_PROPERTIES)
    assert sample["listeners"] == "PLAINTEXT://127.0.0.1:9092" and sample["log.dirs"] == "ledgerstream-data"
    from_sample = servers("broker", sample_broker_args())
    from_defaults = servers("broker", lambda path: ["broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", path])
    with_sample, without = broker_configs(from_sample.address), broker_configs(from_defaults.address)
    for varies in ("listeners", "advertised.listeners", "log.dirs"):
        with_sample.pop(varies), without.pop(varies)
    assert with_sample == without
    # Every reported setting the sample sets, it sets to the reported default.
    assert {k: v for k, v in sample.items() if k in without and k not in ("listeners", "log.dirs")} == \
        {k: without[k] for k in sample if k in without and k not in ("listeners", "log.dirs")}
    stop_cleanly(from_sample)
    stop_cleanly(from_defaults)


# ---------------------------------------------------------------------------------------------------------------------
# ZooKeeper

def sample_zookeeper_args(extra=()):
    return lambda path: ["zookeeper", ZOOKEEPER_PROPERTIES, "--client-port", "0", "--data-dir", path, *extra]


def four_letter_word(port, word):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(word.encode())
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks).decode()


def test_zookeeper_starts_from_its_sample_without_warnings(servers):
    zookeeper = servers("zookeeper", sample_zookeeper_args())
    assert f"(data {zookeeper.data_dir})" in zookeeper.log(), zookeeper.log()  # the options won over the file
    assert complaints(zookeeper) == [], zookeeper.log()
    # It works, with the sample's four-letter-word whitelist (srvr only).
    assert "Mode: standalone" in four_letter_word(zookeeper.port, "srvr")
    assert "not in the whitelist" in four_letter_word(zookeeper.port, "ruok")
    from kazoo.client import KazooClient
    client = KazooClient(hosts=zookeeper.address, timeout=10)
    client.start(timeout=10)
    try:
        client.create("/sampled", b"yes")
        assert client.get("/sampled")[0] == b"yes"
    finally:
        client.stop()
        client.close()
    assert os.path.isdir(os.path.join(zookeeper.data_dir, "coordinator"))
    stop_cleanly(zookeeper)
    assert complaints(zookeeper) == [], zookeeper.log()


def test_the_warning_check_sees_an_unknown_zookeeper_property(servers):
    zookeeper = servers("zookeeper", sample_zookeeper_args(["--override", "noSuchProperty=1"]))
    assert any("noSuchProperty" in line for line in complaints(zookeeper)), zookeeper.log()
    stop_cleanly(zookeeper)


def test_zookeeper_sample_holds_the_defaults(servers):
    sample = properties(ZOOKEEPER_PROPERTIES)
    assert (sample["clientPort"], sample["clientPortAddress"], sample["dataDir"]) == \
        ("2181", "127.0.0.1", "ledgerstream-zookeeper")
    # `conf` shows the effective settings; the whitelist is widened to ask for it (options win over the file).
    conf = ["--override", "4lw.commands.whitelist=conf"]
    from_sample = servers("zookeeper", sample_zookeeper_args(conf))
    from_defaults = servers("zookeeper", lambda path: ["zookeeper", "--client-port", "0", "--data-dir", path, *conf])

    def settings(server):
        lines = four_letter_word(server.port, "conf").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith(("clientPort=", "dataDir", "dataLog")))

    with_sample, without = settings(from_sample), settings(from_defaults)
    assert with_sample == without and without["tickTime"] == sample["tickTime"], (with_sample, without)
    assert without["maxClientCnxns"] == sample["maxClientCnxns"]
    stop_cleanly(from_sample)
    stop_cleanly(from_defaults)
