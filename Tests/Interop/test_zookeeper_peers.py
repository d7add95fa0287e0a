"""`ledgerstream zookeeper` next to the real thing: Debian's zkCli 3.8 against our coordinator, and the same kazoo
session run against our coordinator and against Apache ZooKeeper 3.8 (started here, see docs/peers.md) with the
results compared. Skipped, with the reason, where Java or Debian's zookeeper package is missing.
"""
import os
import re
import shutil
import socket
import subprocess

import pytest
from kazoo.client import KazooClient

from interop_util import APACHE_ZK_JAR, SLF4J_NOP_JAR, apache_zookeeper as apache_zookeeper_server

ZK_JAR = APACHE_ZK_JAR
SLF4J_NOP = SLF4J_NOP_JAR
JAVA = shutil.which("java")
needs_java = pytest.mark.skipif(not (JAVA and os.path.exists(ZK_JAR)),
                                reason="needs java and Debian's zookeeper package (/usr/share/java/zookeeper.jar)")


@pytest.fixture
def apache_zookeeper():
    """Apache ZooKeeper 3.8 on a free port with a temporary dataDir; yields its port; killed at teardown."""
    with apache_zookeeper_server(JAVA) as port:
        yield port


def zkcli(port, commands):
    """Runs zkCli with `commands` piped in; returns its output (zkCli prints "Created …" on stderr) without the SLF4J
    noise and blank lines."""
    result = subprocess.run(
        [JAVA, "-cp", f"/etc/zookeeper/conf:{ZK_JAR}:{SLF4J_NOP}", "org.apache.zookeeper.ZooKeeperMain",
         "-server", f"127.0.0.1:{port}"],
        input="\n".join(commands + ["quit"]) + "\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=60)
    lines = [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("SLF4J")]
    return result.returncode, lines


@needs_java
def test_zkcli_ls_create_get_set_delete(start_zookeeper):
    server = start_zookeeper()
    code, out = zkcli(server.port, [
        "create /cli data1", "create -e /cli/eph e", "create -s /cli/seq- s", "get /cli", "set /cli data2",
        "get -s /cli", "ls /cli", "ls /", "delete /cli/eph", "ls /cli", "deleteall /cli", "ls /",
    ])
    assert code == 0, out
    text = "\n".join(out)
    assert "Created /cli" in out and "Created /cli/eph" in out and "Created /cli/seq-0000000001" in out
    assert "data1" in out and "data2" in out
    assert "dataVersion = 1" in out and "numChildren = 2" in out and "cversion = 2" in out
    listings = [line for line in out if line.startswith("[")]
    assert listings == ["[eph, seq-0000000001]", "[cli, zookeeper]", "[seq-0000000001]", "[zookeeper]"], text


KAZOO_SESSION = """
import json, sys, threading
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10); zk.start(timeout=15)
out = []
def stat(s): return None if s is None else [s.czxid, s.mzxid, s.version, s.cversion, s.aversion, s.dataLength, s.numChildren, s.pzxid, s.ephemeralOwner != 0]
zk.ensure_path("/d/a")
out.append(zk.create("/d/a/p", b"data"))
out.append(zk.create("/d/a/e", b"x", ephemeral=True))
out.append([zk.create("/d/a/s-", sequence=True), zk.create("/d/a/es-", ephemeral=True, sequence=True)])
path, s = zk.create("/d/a/c2", b"z", include_data=True); out.append([path, stat(s)])
events = []; done = threading.Event()
def w(e): events.append([e.type, e.path]); done.set()
data, s = zk.get("/d/a/p", watch=w); out.append([data.decode(), stat(s)])
out.append(stat(zk.set("/d/a/p", b"new"))); done.wait(3); done.clear()
out.append(stat(zk.exists("/d/a/nope", watch=w)))
zk.create("/d/a/nope"); done.wait(3); done.clear()
children, s = zk.get_children("/d/a", watch=w, include_data=True); out.append([sorted(children), stat(s)])
zk.delete("/d/a/nope"); done.wait(3)
t = zk.transaction(); t.create("/d/a/tx", b"1"); t.set_data("/d/a/p", b"tx"); t.check("/d/a/p", 2); t.delete("/d/a/tx")
out.append([type(r).__name__ if isinstance(r, Exception) else (stat(r) if hasattr(r, "czxid") else r) for r in t.commit()])
t = zk.transaction(); t.create("/d/a/tx2"); t.check("/d/a/p", 99)
out.append([type(r).__name__ for r in t.commit()])
for f in [lambda: zk.create("/d/a/p"), lambda: zk.get("/d/none"), lambda: zk.set("/d/a/p", b"x", version=77),
          lambda: zk.delete("/d/a"), lambda: zk.create("/d/none/child"), lambda: zk.create("/d/a/e/child"),
          lambda: zk.delete("/zookeeper")]:
    try: f(); out.append("ok")
    except Exception as e: out.append(type(e).__name__)
out.append(zk.get_acls("/zookeeper/config")[0][0].perms)
out.append(stat(zk.exists("/")))
out.append(stat(zk.exists("/zookeeper")))
out.append(events)
zk.delete("/d", recursive=True)
zk.stop(); zk.close()
print(json.dumps(out))
"""


@needs_java
def test_kazoo_sees_the_same_results_as_from_apache_zookeeper(start_zookeeper, apache_zookeeper):
    """The same kazoo session, replies compared field by field (times and session ids aside: only whether
    ephemeralOwner is set). Both servers start fresh, so even the zxids must agree."""
    ours = start_zookeeper()

    def run(port):
        result = subprocess.run(["python3", "-c", KAZOO_SESSION, f"127.0.0.1:{port}"], capture_output=True, text=True,
                                timeout=90)
        assert result.returncode == 0, result.stderr
        return result.stdout

    theirs_out, ours_out = run(apache_zookeeper), run(ours.port)
    assert ours_out == theirs_out


@needs_java
def test_four_letter_word_formats_match_apache_zookeeper(start_zookeeper, apache_zookeeper):
    ours = start_zookeeper()

    def ask(port, word):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(word.encode())
            chunks = []
            while data := sock.recv(65536):
                chunks.append(data)
            return b"".join(chunks).decode()

    def shape(text):
        # Keys and line structure, with numbers, addresses and versions blanked.
        text = re.sub(r"Zookeeper version: .*", "Zookeeper version: V", text)
        text = re.sub(r"zk_version\t.*", "zk_version\tV", text)
        text = re.sub(r"/127\.0\.0\.1:\d+", "/ADDR", text)
        text = re.sub(r"(dataDir|dataLogDir)=.*", r"\1=DIR", text)
        return re.sub(r"\d+(\.\d+)?", "N", text)

    for word in ("ruok", "srvr", "stat", "conf", "isro", "wchs", "dirs"):
        assert shape(ask(ours.port, word)) == shape(ask(apache_zookeeper, word)), word
    theirs_keys = [line.split("\t")[0] for line in ask(apache_zookeeper, "mntr").splitlines()]
    our_keys = [line.split("\t")[0] for line in ask(ours.port, "mntr").splitlines()]
    # ZooKeeper 3.8 prints ~400 keys; ours are the ones monitoring tools read, in ZooKeeper's order.
    assert our_keys[:8] == theirs_keys[:8]
    assert set(our_keys) - {"zk_last_zxid"} <= set(theirs_keys)
