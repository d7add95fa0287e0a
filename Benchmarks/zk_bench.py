#!/usr/bin/env python3
"""Side-by-side measurement of `ledgerstream zookeeper` and Apache ZooKeeper 3.8: kazoo sync and async get/set/create
throughput, server CPU per request and resident memory, in one run on the same machine. Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/zk_bench.py [--bin .build/release/ledgerstream] [--ops 20000] [--sync-ops 2000] [--clients 2]

Each server gets a fresh data directory on a free 127.0.0.1 port (Apache ZooKeeper as in docs/peers.md: minimal
zoo.cfg, admin server off). Every client process keeps `--window` requests in flight with kazoo's *_async calls on its
own 100-byte znode (creates add children under it); sync mode makes one blocking call at a time. Sets are durable on both servers (each fsyncs its transaction log before replying). Memory is
VmRSS from /proc: idle after start, then after the load (plus VmHWM, the peak). Server CPU per request (user + system,
from /proc) shows the server's own cost, since with 2 cores the Python clients are usually the bottleneck.
"""
import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench_util import cpu_seconds, free_port, memory_kib, write_zoo_cfg, zookeeper_serving

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZK_JAR = "/usr/share/java/zookeeper.jar"
SLF4J_NOP = "/usr/share/java/slf4j-nop.jar"


def start_ours(binary, directory):
    port = free_port()
    proc = subprocess.Popen([binary, "zookeeper", "--client-port", str(port), "--data-dir", directory,
                             "--override", "4lw.commands.whitelist=*", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def start_apache(directory):
    port = free_port()
    write_zoo_cfg(directory, port)
    proc = subprocess.Popen(["java", "-cp", f"{directory}:{ZK_JAR}:{SLF4J_NOP}",
                             "org.apache.zookeeper.server.ZooKeeperServerMain", os.path.join(directory, "zoo.cfg")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


KINDS = ("get", "set", "create")


def client_worker(port, index, kind, mode, ops, window, tag, start_barrier, results):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=30)
    zk.start(timeout=30)
    path = f"/bench/c{index}"
    payload = os.urandom(100)
    zk.ensure_path("/bench")
    if not zk.exists(path):
        zk.create(path, payload)
    # create: a new persistent child per request (a fresh name per measurement, so runs never collide).
    children = (f"{path}/{tag}-{i}" for i in range(ops))
    start_barrier.wait()
    started = time.perf_counter()
    if mode == "sync":
        for _ in range(ops):
            if kind == "get":
                zk.get(path)
            elif kind == "set":
                zk.set(path, payload)
            else:
                zk.create(next(children), payload)
    else:
        pending = []
        for _ in range(ops):
            if kind == "get":
                pending.append(zk.get_async(path))
            elif kind == "set":
                pending.append(zk.set_async(path, payload))
            else:
                pending.append(zk.create_async(next(children), payload))
            if len(pending) >= window:
                pending.pop(0).get(timeout=60)
        for result in pending:
            result.get(timeout=60)
    results.put(time.perf_counter() - started)
    zk.stop()
    zk.close()


def measure(port, kind, mode, ops, clients, window, tag):
    """Total ops/s over `clients` processes doing `ops` requests each, timed from a common start."""
    barrier = multiprocessing.Barrier(clients + 1)
    results = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client_worker, args=(port, i, kind, mode, ops, window, tag, barrier, results))
             for i in range(clients)]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.perf_counter()
    durations = [results.get(timeout=600) for _ in procs]
    elapsed = max(time.perf_counter() - started, max(durations))
    for proc in procs:
        proc.join()
    return clients * ops / elapsed


def run(name, start, args):
    directory = tempfile.mkdtemp(prefix=f"zk-bench-{name.split()[0]}-")
    proc, port = start(directory)
    try:
        deadline = time.time() + 60
        while not zookeeper_serving(port):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.1)
        time.sleep(1.0)
        idle = memory_kib(proc.pid)["VmRSS"]
        # Warm up (the JVM compiles hot paths; both servers create their nodes).
        for kind in KINDS:
            measure(port, kind, "async", max(1000, args.ops // 10), args.clients, args.window, f"warm-{kind}")
        row = {"name": name, "idle": idle}
        for mode, ops in (("async", args.ops), ("sync", args.sync_ops)):
            for kind in KINDS:
                cpu = cpu_seconds(proc.pid)
                row[f"{mode} {kind}"] = measure(port, kind, mode, ops, args.clients, args.window, f"{mode}-{kind}")
                # Server CPU per request, in microseconds: what the server costs, apart from the clients' speed.
                row[f"{mode} {kind} cpu"] = (cpu_seconds(proc.pid) - cpu) / (ops * args.clients) * 1e6
        memory = memory_kib(proc.pid)
        row["loaded"], row["peak"] = memory["VmRSS"], memory["VmHWM"]
        return row
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "ledgerstream"))
    parser.add_argument("--ops", type=int, default=20000, help="async requests per client and per kind")
    parser.add_argument("--sync-ops", type=int, default=2000, help="sync (one at a time) requests per client and kind")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--window", type=int, default=200, help="async requests in flight per client")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found; build it: swift build -c release --product ledgerstream")
    ours = run("ledgerstream zookeeper", lambda d: start_ours(args.bin, d), args)
    apache = None
    if shutil.which("java") and os.path.exists(ZK_JAR):
        apache = run("Apache ZooKeeper 3.8", start_apache, args)
    else:
        print("Apache ZooKeeper skipped: needs java and Debian's zookeeper package", file=sys.stderr)
    print(f"\nkazoo, {args.clients} client processes; async: {args.ops} requests each with {args.window} in flight; "
          f"sync: {args.sync_ops} requests each, one at a time; sets and creates are fsynced by both servers; "
          f"{os.cpu_count()} CPUs\n")
    print("| workload | better | ledgerstream zookeeper | Apache ZooKeeper 3.8 | ratio ledgerstream ÷ Apache |")
    print("|---|---|---|---|---|")

    def line(label, key, higher, unit, scale=1.0, fmt="{:,.0f}"):
        a = ours[key] * scale
        b = apache[key] * scale if apache else None
        ratio = f"{a / b:.2f}×" if b else "–"
        other = (fmt.format(b) + unit) if b is not None else "skipped"
        print(f"| {label} | {'higher' if higher else 'lower'} is better | {fmt.format(a)}{unit} | {other} | {ratio} |")

    for mode in ("async", "sync"):
        for kind in KINDS:
            line(f"kazoo {mode} {kind} (ops/s)", f"{mode} {kind}", True, " ops/s")
    for mode in ("async", "sync"):
        for kind in KINDS:
            line(f"server CPU per {mode} {kind} (µs)", f"{mode} {kind} cpu", False, " µs", fmt="{:,.1f}")
    line("RSS idle (MB)", "idle", False, " MB", 1 / 1024, "{:,.1f}")
    line("RSS after the load (MB)", "loaded", False, " MB", 1 / 1024, "{:,.1f}")
    line("peak RSS, VmHWM (MB)", "peak", False, " MB", 1 / 1024, "{:,.1f}")


if __name__ == "__main__":
    main()
