#!/usr/bin/env python3
"""How long a consumer group of 3 takes to stabilise with the KIP-848 consumer protocol versus the classic one, on
the same broker, topic size and machine. Not run by the tests.

    python3 Benchmarks/group_bench.py [--bin .build/release/ledgerstream] [--runs 3] [--partitions 6]

Method. One `ledgerstream broker` per setting on a free 127.0.0.1 port and a fresh --log-dirs. Per run: a new topic
with --partitions partitions holding 10 records each, and a new group id; three confluent-kafka (librdkafka 2.16)
consumers are created and subscribed back to back (group.protocol=consumer or classic; otherwise librdkafka's
defaults) and polled round-robin from one thread. The time is from the first subscribe() until the group is stable:
every partition is assigned to exactly one member, every member has partitions, and every member has consumed a
record from each of its partitions. Reported: the median of --runs runs, and min-max.

Settings: Kafka's broker defaults (classic: group.initial.rebalance.delay.ms=3000; consumer:
group.consumer.heartbeat.interval.ms=5000), then "fast" (classic: initial delay 0; consumer: heartbeat interval 500 ms),
which shows the protocols' own cost without the waits Kafka builds in.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid

from bench_util import free_port

SETTINGS = {
    "defaults": {"classic": [], "consumer": []},
    "fast": {"classic": ["group.initial.rebalance.delay.ms=0"],
             "consumer": ["group.consumer.min.heartbeat.interval.ms=500", "group.consumer.heartbeat.interval.ms=500"]},
}


def start_broker(binary, overrides, workdir):
    port = free_port()
    data = tempfile.mkdtemp(prefix="group-bench-", dir=workdir)
    args = [binary, "broker", "--listeners", f"PLAINTEXT://127.0.0.1:{port}", "--log-dirs", data,
            "--log-level", "warning"]
    for override in overrides:
        args += ["--override", override]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("broker did not start")


def prepare_topic(address, partitions):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    topic = f"gb-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": address})  # kept alive until the result arrives
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(20)
    producer = Producer({"bootstrap.servers": address})
    for p in range(partitions):
        for i in range(10):
            producer.produce(topic, value=str(i).encode(), partition=p)
    assert producer.flush(20) == 0
    return topic


def time_to_stable(address, topic, partitions, protocol, timeout=120.0):
    from confluent_kafka import Consumer
    group = f"gb-{uuid.uuid4().hex[:8]}"
    consumers, seen = [], []
    started = time.monotonic()
    for i in range(3):
        consumer = Consumer({"bootstrap.servers": address, "group.id": group, "group.protocol": protocol,
                             "client.id": f"m{i}", "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topic])
        consumers.append(consumer)
        seen.append(set())
    try:
        while time.monotonic() - started < timeout:
            for consumer, partitions_seen in zip(consumers, seen):
                msg = consumer.poll(0.01)
                if msg is not None and msg.error() is None:
                    partitions_seen.add(msg.partition())
            owned = [{tp.partition for tp in c.assignment()} for c in consumers]
            if (sum(map(len, owned)) == partitions and set().union(*owned) == set(range(partitions))
                    and all(owned) and all(o <= s for o, s in zip(owned, seen))):
                return time.monotonic() - started
        raise RuntimeError(f"{protocol}: not stable after {timeout} s: {owned}")
    finally:
        for consumer in consumers:
            consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=".build/release/ledgerstream")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="group-bench-")
    print(f"{'setting':<10} {'protocol':<9} {'median s':>9} {'min-max s':>13}")
    try:
        for setting, per_protocol in SETTINGS.items():
            for protocol in ("classic", "consumer"):
                proc, address = start_broker(os.path.abspath(args.bin), per_protocol[protocol], workdir)
                try:
                    times = [time_to_stable(address, prepare_topic(address, args.partitions), args.partitions, protocol)
                             for _ in range(args.runs)]
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
                print(f"{setting:<10} {protocol:<9} {statistics.median(times):>9.2f} "
                      f"{min(times):>6.2f}-{max(times):<6.2f}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
