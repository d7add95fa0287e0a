#!/usr/bin/env python3
"""Incremental fetch sessions (KIP-227) versus full fetches on `ledgerstream broker`: broker CPU per Fetch for a
consumer of many partitions that is caught up (the steady state of a consumer group). Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/session_bench.py [--bin .build/release/ledgerstream] [--partitions 100] [--fetches 5000] [--runs 3]

One topic of --partitions partitions, one record in each. A raw client (one connection, Fetch v11, MaxWaitMs 0)
sends --fetches requests for every partition at its log end, in two modes:
  * full: SessionId 0 / SessionEpoch -1, every request lists every partition and every answer carries all of them;
  * session: one full fetch opens a session, then incremental requests list nothing and the answers are empty.
Broker CPU (utime + stime from /proc) over the requests gives microseconds per fetch; the request and response sizes
and the client's round trip are reported too. The table gives medians over the runs.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import types

from bench_util import cpu_seconds
import broker_bench

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))
import interop_util as u  # noqa: E402


def measure(broker, topic, partitions, fetches, session):
    positions = {topic: [(p, 1, -1) for p in range(partitions)]}
    with u.RawConnection(broker.address) as conn:
        sid, epoch = 0, -1
        if session:
            error, sid, parts = u.fetch_v11(conn, positions, session_epoch=0)
            assert error == 0 and sid > 0 and len(parts) == partitions, (error, sid, len(parts))
            epoch = 1
        before = cpu_seconds(broker.proc.pid)
        started = time.perf_counter()
        answered = 0
        for i in range(fetches):
            error, _, parts = u.fetch_v11(conn, {} if session else positions, session_id=sid, session_epoch=epoch,
                                          correlation_id=i + 2)
            assert error == 0, error
            answered += len(parts)
            if session:
                epoch += 1
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(broker.proc.pid) - before
    return {"cpu_us": cpu / fetches * 1e6, "rtt_us": elapsed / fetches * 1e6, "partitions_answered": answered / fetches}


def one_run(args, workdir):
    broker = broker_bench.Broker("ledgerstream", args, workdir).start()
    try:
        topic = u.uniq("sessions")
        u.kp_create_topic(broker.address, topic, partitions=args.partitions)
        producer = u.kp_producer(broker.address)
        for p in range(args.partitions):
            producer.send(topic, b"x" * 100, partition=p)
        producer.flush(timeout=30)
        producer.close()
        measure(broker, topic, args.partitions, 200, session=False)  # warm-up
        return {mode: measure(broker, topic, args.partitions, args.fetches, session=(mode == "session"))
                for mode in ("full", "session")}
    finally:
        broker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/ledgerstream")
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--fetches", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="session-bench-")
    try:
        binary = os.path.join(workdir, "ledgerstream")
        shutil.copy(args.bin, binary)
        run_args = types.SimpleNamespace(**vars(args), bin_copy=binary)
        runs = [one_run(run_args, workdir) for _ in range(args.runs)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nFetch v11 for {args.partitions} caught-up partitions, {args.fetches} fetches, median of {args.runs} runs")
    print(f"{'mode':<10}{'broker CPU/fetch':>18}{'round trip':>14}{'partitions/answer':>19}")
    for mode in ("full", "session"):
        cpu = statistics.median(r[mode]["cpu_us"] for r in runs)
        rtt = statistics.median(r[mode]["rtt_us"] for r in runs)
        answered = statistics.median(r[mode]["partitions_answered"] for r in runs)
        print(f"{mode:<10}{cpu:>15.1f} µs{rtt:>11.1f} µs{answered:>19.0f}")


if __name__ == "__main__":
    main()
