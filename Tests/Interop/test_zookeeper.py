"""`ledgerstream zookeeper` driven by kazoo 2.11 (PyPI) and raw sockets: CRUD, sequential and ephemeral nodes, watches,
transactions, the Lock recipe across processes, session expiry of a killed client, four-letter words, bad input,
restart durability and the command line.

Each test starts its own coordinator on an ephemeral 127.0.0.1 port with a fresh data directory.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError, NotEmptyError, RolledBackError,
                              NoChildrenForEphemeralsError)
from kazoo.protocol.states import EventType

from conftest import BIN, restart_zookeeper
from interop_util import wait_until


def kazoo(server, timeout=10.0):
    client = KazooClient(hosts=server.address, timeout=timeout)
    client.start(timeout=10)
    return client


def four_letter_word(port, word):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(word.encode())
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(chunks).decode()
            chunks.append(data)


@pytest.fixture
def zk_server(start_zookeeper):
    return start_zookeeper()


def test_crud_and_errors(zk_server):
    zk = kazoo(zk_server)
    try:
        zk.ensure_path("/app/config")
        assert zk.create("/app/config/db", b"postgres://") == "/app/config/db"
        data, stat = zk.get("/app/config/db")
        assert data == b"postgres://" and stat.version == 0 and stat.dataLength == 11
        stat = zk.set("/app/config/db", b"mysql://", version=0)
        assert stat.version == 1
        assert zk.get_children("/app/config") == ["db"]
        path, stat = zk.create("/app/with-stat", b"x", include_data=True)
        assert path == "/app/with-stat" and stat.czxid == stat.mzxid
        with pytest.raises(NodeExistsError):
            zk.create("/app/config/db")
        with pytest.raises(NoNodeError):
            zk.get("/app/missing")
        with pytest.raises(BadVersionError):
            zk.set("/app/config/db", b"x", version=7)
        with pytest.raises(NotEmptyError):
            zk.delete("/app")
        with pytest.raises(NoNodeError):
            zk.create("/no/parent")
        zk.delete("/app/config/db", version=1)
        assert zk.exists("/app/config/db") is None
        assert zk.sync("/app") == "/app"
        zk.delete("/app", recursive=True)
        assert zk.exists("/app") is None
        assert sorted(zk.get_children("/")) == ["zookeeper"]
        assert zk.get_children("/zookeeper") in (["quota", "config"], ["config", "quota"])
    finally:
        zk.stop()
        zk.close()


def test_sequential_nodes_number_from_the_parents_creations(zk_server):
    zk = kazoo(zk_server)
    try:
        zk.ensure_path("/seq")
        zk.create("/seq/plain")
        first = zk.create("/seq/job-", sequence=True)
        second = zk.create("/seq/job-", sequence=True)
        eph = zk.create("/seq/lock-", ephemeral=True, sequence=True)
        assert (first, second, eph) == ("/seq/job-0000000001", "/seq/job-0000000002", "/seq/lock-0000000003")
        zk.delete(first)
        assert zk.create("/seq/job-", sequence=True) == "/seq/job-0000000004"
        with pytest.raises(NoChildrenForEphemeralsError):
            zk.create(eph + "/child")
    finally:
        zk.stop()
        zk.close()


def test_data_and_child_watches(zk_server):
    watcher, writer = kazoo(zk_server), kazoo(zk_server)
    try:
        events = []
        fired = threading.Event()

        def record(event):
            events.append((event.type, event.path))
            fired.set()

        writer.create("/w", b"1")
        watcher.get("/w", watch=record)
        writer.set("/w", b"2")
        assert fired.wait(5)
        fired.clear()
        assert watcher.exists("/w/new", watch=record) is None
        writer.create("/w/new")
        assert fired.wait(5)
        fired.clear()
        watcher.get_children("/w", watch=record)
        writer.create("/w/other")
        assert fired.wait(5)
        fired.clear()
        watcher.get("/w/other", watch=record)
        writer.delete("/w/other")
        assert fired.wait(5)
        assert events == [(EventType.CHANGED, "/w"), (EventType.CREATED, "/w/new"), (EventType.CHILD, "/w"),
                          (EventType.DELETED, "/w/other")]
        # One-shot: later changes fire nothing.
        writer.set("/w", b"3")
        time.sleep(0.3)
        assert len(events) == 4

        # kazoo's recipes on top of watches.
        seen = []
        watcher.DataWatch("/w", lambda data, stat: seen.append(data))
        writer.set("/w", b"4")
        wait_until(lambda: seen[-1:] == [b"4"], timeout=5, message="DataWatch update")
    finally:
        watcher.stop()
        writer.stop()
        watcher.close()
        writer.close()


def test_transactions_are_all_or_nothing(zk_server):
    zk = kazoo(zk_server)
    try:
        zk.create("/tx", b"0")
        t = zk.transaction()
        t.create("/tx/a", b"a")
        t.set_data("/tx", b"1")
        t.check("/tx", 1)
        t.create("/tx/b")
        created, stat, checked, created_b = t.commit()
        # The set's Stat is the node as that operation left it (one child so far), as in ZooKeeper.
        assert (created, stat.version, stat.numChildren, checked, created_b) == ("/tx/a", 1, 1, True, "/tx/b")
        assert zk.exists("/tx/a").czxid == zk.exists("/tx/b").czxid == stat.mzxid
        t = zk.transaction()
        t.create("/tx/c")
        t.check("/tx", 99)
        t.delete("/tx/a")
        results = t.commit()
        assert [type(r) for r in results] == [RolledBackError, BadVersionError, type(results[2])]
        assert zk.exists("/tx/c") is None and zk.exists("/tx/a") is not None
    finally:
        zk.stop()
        zk.close()


def test_ephemeral_node_goes_when_its_session_closes(zk_server):
    owner, observer = kazoo(zk_server), kazoo(zk_server)
    try:
        owner.create("/member", b"x", ephemeral=True)
        assert observer.exists("/member").ephemeralOwner == owner.client_id[0]
        owner.stop()
        assert observer.exists("/member") is None
    finally:
        observer.stop()
        observer.close()
        owner.close()


KILLABLE_CLIENT = textwrap.dedent("""
    import sys, time
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[2]))
    zk.start(timeout=10)
    zk.create("/killed", b"x", ephemeral=True)
    print("ready", zk._session_timeout, flush=True)
    time.sleep(600)
""")


def test_ephemeral_node_goes_when_the_client_process_is_killed(start_zookeeper, processes):
    server = start_zookeeper(extra=["--tick-time", "500"])
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_CLIENT, server.address, "2"], stdout=subprocess.PIPE, text=True)
    processes.append(proc)
    ready = proc.stdout.readline().split()
    assert ready[0] == "ready" and int(ready[1]) == 2000, ready
    observer = kazoo(server)
    try:
        gone = threading.Event()
        assert observer.exists("/killed", watch=lambda event: gone.set()) is not None
        proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert gone.wait(10), "the ephemeral node of a killed client was never deleted"
        elapsed = time.monotonic() - killed_at
        # Expiry lands between the timeout and one tick after it (kazoo may have pinged just before dying).
        assert 1.0 <= elapsed <= 4.0, elapsed
        assert observer.exists("/killed") is None
    finally:
        observer.stop()
        observer.close()


LOCKING_CLIENT = textwrap.dedent("""
    import sys
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=sys.argv[1], timeout=10)
    zk.start(timeout=10)
    lock = zk.Lock("/locks/counter", sys.argv[2])
    for _ in range(int(sys.argv[3])):
        with lock:
            value, stat = zk.get("/counter")
            zk.set("/counter", str(int(value) + 1).encode(), version=stat.version)
    zk.stop()
    zk.close()
""")


def test_lock_recipe_serialises_two_processes(zk_server, processes):
    zk = kazoo(zk_server)
    try:
        zk.create("/counter", b"0")
        rounds = 25
        procs = [subprocess.Popen([sys.executable, "-c", LOCKING_CLIENT, zk_server.address, name, str(rounds)])
                 for name in ("alpha", "beta")]
        processes.extend(procs)
        for proc in procs:
            assert proc.wait(timeout=60) == 0
        # Under the lock no read-modify-write was lost and no version check failed.
        assert zk.get("/counter")[0] == str(2 * rounds).encode()
        assert zk.get_children("/locks/counter") == []
    finally:
        zk.stop()
        zk.close()


def test_lock_recipe_between_threads(zk_server):
    clients = [kazoo(zk_server) for _ in range(2)]
    try:
        inside = []
        overlap = []

        def worker(client, name):
            lock = client.Lock("/locks/threads", name)
            for _ in range(10):
                with lock:
                    inside.append(name)
                    if len(inside) > 1:
                        overlap.append(list(inside))
                    time.sleep(0.005)
                    inside.remove(name)

        threads = [threading.Thread(target=worker, args=(c, f"t{i}")) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert overlap == []
    finally:
        for c in clients:
            c.stop()
            c.close()


def test_four_letter_words(zk_server):
    port = zk_server.port
    assert four_letter_word(port, "ruok") == "imok"
    srvr = four_letter_word(port, "srvr")
    assert srvr.startswith("Zookeeper version: 3.8.0-ledgerstream") and "\nMode: standalone\n" in srvr
    assert "Node count: 5" in srvr
    stat = four_letter_word(port, "stat")
    assert "Clients:\n /127.0.0.1:" in stat and "Mode: standalone" in stat
    mntr = dict(line.split("\t", 1) for line in four_letter_word(port, "mntr").splitlines())
    assert mntr["zk_server_state"] == "standalone" and mntr["zk_znode_count"] == "5"
    for key in ("zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received",
                "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests", "zk_watch_count",
                "zk_ephemerals_count", "zk_approximate_data_size", "zk_open_file_descriptor_count",
                "zk_max_file_descriptor_count"):
        assert key in mntr, key
    conf = dict(line.split("=", 1) for line in four_letter_word(port, "conf").splitlines())
    assert conf["clientPort"] == str(port) and conf["tickTime"] == "2000"
    assert conf["minSessionTimeout"] == "4000" and conf["maxSessionTimeout"] == "40000"
    assert four_letter_word(port, "isro") == "rw"
    zk = kazoo(zk_server)
    try:
        assert zk.command(b"ruok") == "imok"
        assert "Mode: standalone" in zk.command(b"srvr")
    finally:
        zk.stop()
        zk.close()


def test_four_letter_word_whitelist_defaults_to_srvr(start_zookeeper, tmp_path):
    server = start_zookeeper(args=["zookeeper", "--client-port", "0", "--data-dir", str(tmp_path / "zk")])
    assert four_letter_word(server.port, "ruok") == "ruok is not executed because it is not in the whitelist.\n"
    assert "Mode: standalone" in four_letter_word(server.port, "srvr")


def test_bad_frames_close_only_that_connection(zk_server):
    zk = kazoo(zk_server)
    try:
        zk.create("/alive")
        payloads = [struct.pack(">i", 64 * 1024 * 1024), struct.pack(">i", -5), b"GET / HTTP/1.1\r\n\r\n",
                    struct.pack(">i", 3) + b"abc"]
        for payload in payloads:
            with socket.create_connection(("127.0.0.1", zk_server.port), timeout=5) as sock:
                sock.sendall(payload)
                assert sock.recv(100) == b"", payload
        assert zk.exists("/alive") is not None
        zk.create("/alive/still")
    finally:
        zk.stop()
        zk.close()
    assert zk_server.wait_for_log("jute.maxbuffer"), zk_server.log()[-3000:]


def test_restart_keeps_data_versions_and_zxids(zk_server):
    zk = kazoo(zk_server)
    zk.create("/durable", b"v0")
    zk.set("/durable", b"v1")
    zk.create("/durable/s-", sequence=True)
    zk.create("/durable/s-", sequence=True)
    zk.delete("/durable/s-0000000000")
    before = zk.exists("/durable")
    zk.stop()
    zk.close()
    # kill -9: every acknowledged write was fsynced.
    restart_zookeeper(zk_server, kill=True)
    zk = kazoo(zk_server)
    try:
        data, stat = zk.get("/durable")
        assert data == b"v1" and stat == before
        assert zk.get_children("/durable") == ["s-0000000001"]
        assert zk.create("/durable/s-", sequence=True) == "/durable/s-0000000002"
        assert zk.exists("/durable/s-0000000002").czxid > before.pzxid
    finally:
        zk.stop()
        zk.close()
    # A clean stop (SIGTERM) and restart, too.
    assert restart_zookeeper(zk_server).port
    zk = kazoo(zk_server)
    try:
        assert zk.get("/durable")[0] == b"v1"
    finally:
        zk.stop()
        zk.close()


def test_sessions_survive_a_restart_and_dead_ones_expire(start_zookeeper, processes):
    server = start_zookeeper(extra=["--tick-time", "500"])
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_CLIENT, server.address, "2"], stdout=subprocess.PIPE, text=True)
    processes.append(proc)
    assert proc.stdout.readline().startswith("ready")
    survivor = kazoo(server, timeout=10)
    survivor.create("/alive-session", ephemeral=True)
    session = survivor.client_id
    proc.kill()
    restart_zookeeper(server, kill=True, extra=["--tick-time", "500"])
    # The live client reconnects with its session; its ephemeral node is still there.
    wait_until(lambda: survivor.connected, timeout=10, message="reconnection")
    assert survivor.client_id == session
    assert survivor.exists("/alive-session") is not None
    # The killed client's session was restored too, and expires since nobody resumes it.
    wait_until(lambda: survivor.exists("/killed") is None, timeout=10, message="expiry of the dead session")
    survivor.stop()
    survivor.close()


def test_port_in_use_is_one_line_and_exit_69(zk_server, tmp_path):
    result = subprocess.run([BIN, "zookeeper", "--client-port", str(zk_server.port), "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 69
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(zk_server.port) in lines[0] and "in use" in lines[0], result.stderr


def test_properties_file_and_clean_shutdown(start_zookeeper, tmp_path):
    data = tmp_path / "zkdata"
    props = tmp_path / "zookeeper.properties"
    props.write_text(textwrap.dedent(f"""\
        # Kafka's config/zookeeper.properties
        dataDir={data}
        clientPort=0
        maxClientCnxns=0
        admin.enableServer=false
        tickTime=1000
        4lw.commands.whitelist=conf,ruok
        """))
    server = start_zookeeper(args=["zookeeper", str(props)], data_dir=str(data))
    assert f"(data {data})" in server.log()
    assert "tickTime=1000" in four_letter_word(server.port, "conf")
    assert server.stop() == 0
    assert server.wait_for_log("stopped cleanly"), server.log()[-3000:]
