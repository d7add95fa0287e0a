#!/usr/bin/env python3
"""Misbehaving clients in volume against `ledgerstream broker`, side by side with Tansu (the peer broker of
broker_bench.py): what an idle connection costs, and whether a normal client notices the storm. Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/storm_bench.py [--bin .build/release/ledgerstream] [--connections 10000] [--runs 3]

Each run starts a fresh broker of each system and measures, in this order:
  * baseline: a normal client (one raw connection, Produce v3 acks=1 of a one-record batch, one request at a time)
    sends --requests requests; p50/p99/max latency.
  * idle storm: --connections TCP connections are opened and left idle (the benchmark raises its own open-file limit;
    the broker keeps its own). Broker RSS before and after gives the memory per idle connection; the broker's CPU
    over 5 s of the storm says whether idle connections cost anything; the normal client's latency is measured again.
  * slowloris: on top of it, 500 connections each declare a 100 MB frame and send one byte per second for 10 s,
    while the normal client measures again; broker RSS growth is reported.
  * churn: 4 threads connect, send ApiVersions, read the answer and close, as fast as they can for 5 s, while the
    normal client measures again; the churn rate is reported.
The tables give medians over the runs. Both brokers share the 2 cores with the client threads.
"""
import argparse
import os
import resource
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import types

from bench_util import cpu_seconds, memory_kib
import broker_bench

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))
from interop_util import RawConnection, close_sockets, open_sockets, produce_v3_body, record_batch  # noqa: E402


def latencies(conn, count, topic):
    batch = record_batch([(None, b"x" * 100)])
    body = produce_v3_body(topic, 0, batch, acks=1)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        conn.request(0, 3, i + 1, body)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p99": samples[int(len(samples) * 0.99)], "max": samples[-1]}


def churn(port, seconds, threads=4):
    counts = [0] * threads
    stop = time.monotonic() + seconds
    request = struct.pack(">i", 10) + struct.pack(">hhih", 18, 0, 7, 0)

    def work(index):
        while time.monotonic() < stop:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(request)
                    size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
                    sock.recv(size, socket.MSG_WAITALL)
                counts[index] += 1
            except OSError:
                pass

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    return workers, counts


def one_run(system, args, workdir):
    broker = broker_bench.Broker(system, args, workdir).start()
    try:
        pid = broker.proc.pid
        done = broker_bench.subprocess.run([args.bin_copy, "topic", "create", "storm", "-b", broker.address],
                                           capture_output=True, text=True)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise RuntimeError(done.stderr)
        result = {}
        with RawConnection(broker.address) as normal:
            latencies(normal, 200, "storm")  # warm-up
            result["baseline"] = latencies(normal, args.requests, "storm")
            rss_before = memory_kib(pid)["VmRSS"]
            idle = open_sockets(broker.port, args.connections)
            try:
                time.sleep(1)
                cpu_before = cpu_seconds(pid)
                time.sleep(5)
                result["idle_cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000
                rss_idle = memory_kib(pid)["VmRSS"]
                result["bytes_per_idle"] = (rss_idle - rss_before) * 1024 / args.connections
                result["rss_idle_mib"] = rss_idle / 1024
                result["idle"] = latencies(normal, args.requests, "storm")
                slow = open_sockets(broker.port, 500)
                try:
                    for sock in slow:
                        sock.sendall(struct.pack(">i", 104_857_599))
                    stop = threading.Event()

                    def drip():
                        while not stop.is_set():
                            for sock in slow:
                                try:
                                    sock.send(b"\0")
                                except OSError:
                                    pass
                            stop.wait(1)

                    dripper = threading.Thread(target=drip)
                    dripper.start()
                    started = time.monotonic()
                    result["slowloris"] = latencies(normal, args.requests, "storm")
                    time.sleep(max(0, 10 - (time.monotonic() - started)))
                    stop.set()
                    dripper.join()
                    result["slowloris_growth_mib"] = (memory_kib(pid)["VmRSS"] - rss_idle) / 1024
                finally:
                    close_sockets(slow)
                workers, counts = churn(broker.port, 5)
                started = time.monotonic()
                result["churn"] = latencies(normal, args.requests, "storm")
                for worker in workers:
                    worker.join()
                result["churn_per_s"] = sum(counts) / max(time.monotonic() - started, 5)
            finally:
                close_sockets(idle)
        return result
    finally:
        broker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/ledgerstream")
    parser.add_argument("--tansu", default=None)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.tansu = args.tansu or broker_bench.tansu_binary()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.connections + 1024
    if soft < wanted:
        if hard < wanted:
            sys.exit(f"the open-file limit ({hard}) is below the {wanted} this benchmark needs")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    workdir = tempfile.mkdtemp(prefix="storm-bench-")
    try:
        args.bin_copy = os.path.join(workdir, "ledgerstream")
        shutil.copy2(args.bin, args.bin_copy)
        systems = ["ledgerstream"] + (["tansu"] if args.tansu else [])
        results = {system: [] for system in systems}
        for run in range(args.runs):
            for system in systems if run % 2 == 0 else reversed(systems):
                print(f"run {run + 1}/{args.runs}: {system}", flush=True)
                results[system].append(one_run(system, types.SimpleNamespace(**vars(args)), workdir))
        print(f"\n{args.connections} idle connections, 500 slowloris, 4-thread churn; medians of {args.runs} runs")
        print(f"{'':14}{'bytes/idle conn':>16}{'RSS idle MiB':>13}{'idle CPU ms/5s':>15}{'slowloris +MiB':>15}{'churn conn/s':>13}")
        for system, runs in results.items():
            med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
            print(f"{system:14}{med('bytes_per_idle'):16.0f}{med('rss_idle_mib'):13.1f}{med('idle_cpu_ms'):15.0f}"
                  f"{med('slowloris_growth_mib'):15.1f}{med('churn_per_s'):13.0f}")
        print("\nnormal client, Produce acks=1 latency ms (p50 / p99 / max)")
        print(f"{'':14}{'baseline':>22}{f'{args.connections} idle':>22}{'+ slowloris':>22}{'churn':>22}")
        for system, runs in results.items():
            cells = []
            for phase in ("baseline", "idle", "slowloris", "churn"):
                p50 = statistics.median(r[phase]["p50"] for r in runs)
                p99 = statistics.median(r[phase]["p99"] for r in runs)
                worst = statistics.median(r[phase]["max"] for r in runs)
                cells.append(f"{p50:.2f}/{p99:.2f}/{worst:.1f}")
            print(f"{system:14}" + "".join(f"{cell:>22}" for cell in cells))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
