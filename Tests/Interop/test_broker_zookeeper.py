"""`broker --zookeeper`: the broker registers the way Kafka did, in `ledgerstream zookeeper` and in Apache ZooKeeper
3.8 alike — ephemeral /brokers/ids/<id> with its endpoints, /cluster/id, /controller, each topic's partition
assignment — keeps it in step with topic changes, and leaves when it stops (at once on SIGTERM, at session expiry
after kill -9). Checked with kazoo."""
import json
import subprocess
import time

import pytest
from kazoo.client import KazooClient

from conftest import BIN, run
from test_zookeeper_peers import apache_zookeeper, needs_java  # noqa: F401 (fixture)

SESSION_MS = 4000  # Apache's minimum with tickTime=2000


@pytest.fixture(params=["ledgerstream", pytest.param("apache", marks=needs_java)])
def zookeeper_port(request, start_zookeeper):
    if request.param == "ledgerstream":
        return start_zookeeper().port
    return request.getfixturevalue("apache_zookeeper")


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_registration_follows_the_broker(zookeeper_port, start_broker):
    connect = f"127.0.0.1:{zookeeper_port}/kafka"
    broker = start_broker(extra=["--zookeeper", connect, "--override", f"zookeeper.session.timeout.ms={SESSION_MS}"])
    zk = KazooClient(hosts=f"127.0.0.1:{zookeeper_port}")
    zk.start(timeout=15)
    try:
        assert zk.get_children("/kafka/brokers/ids") == ["1"]
        registered, stat = zk.get("/kafka/brokers/ids/1")
        assert stat.ephemeralOwner != 0
        info = json.loads(registered)
        assert info["host"] == "127.0.0.1" and info["port"] == broker.port
        assert f"PLAINTEXT://127.0.0.1:{broker.port}" in info["endpoints"]
        assert json.loads(zk.get("/kafka/controller")[0])["brokerid"] == 1
        assert json.loads(zk.get("/kafka/cluster/id")[0])["id"]

        run([BIN, "topic", "create", "payments", "--partitions", "3", "-b", broker.address])
        wait_for(lambda: zk.exists("/kafka/brokers/topics/payments"), 10, "the topic's znode")
        assignment = json.loads(zk.get("/kafka/brokers/topics/payments")[0])
        assert assignment["partitions"] == {"0": [1], "1": [1], "2": [1]}
        run([BIN, "topic", "delete", "payments", "-b", broker.address])
        wait_for(lambda: not zk.exists("/kafka/brokers/topics/payments"), 10, "the topic's znode to go")

        # A clean stop deregisters at once.
        assert broker.stop() == 0
        assert not zk.exists("/kafka/brokers/ids/1")

        # After kill -9 the registration goes when the session expires; the restarted broker registers again.
        broker.restart()
        wait_for(lambda: zk.exists("/kafka/brokers/ids/1"), 15, "the re-registration")
        broker.stop(kill=True)
        wait_for(lambda: not zk.exists("/kafka/brokers/ids/1"), SESSION_MS / 1000 * 3 + 5, "the session to expire")
    finally:
        zk.stop()
        zk.close()


def test_unreachable_zookeeper_is_a_clear_startup_error(data_dir):
    result = subprocess.run([BIN, "broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", data_dir,
                             "--zookeeper", "127.0.0.1:1", "--override", "zookeeper.session.timeout.ms=4000"],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 69
    assert "cannot register in ZooKeeper (zookeeper.connect=127.0.0.1:1): no ZooKeeper server reachable at 127.0.0.1:1 (connection refused)" in result.stderr
