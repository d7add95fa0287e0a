#!/usr/bin/env python3
"""What Prometheus metrics cost `ledgerstream broker`, and what a scrape costs. Not run by the tests.

    swift build -c release --product ledgerstream
    python3 Benchmarks/metrics_bench.py [--bin .build/release/ledgerstream] [--records 1000000] [--runs 3]
                                        [--partitions 1000] [--scrapes 200]

1. Produce cost: kcat -P of --records 100-byte lines into a fresh broker, with metrics off and with
   --metrics-listener on, alternating the order each run (off/on, on/off, …), in the same run. kcat with its
   default settings first, then a labelled tuned row (linger.ms=5, batch.num.messages=10000, as broker_bench.py).
   A third mode scrapes /metrics every 100 ms during the produce (Prometheus's default interval is 15 s: this is
   150 times harsher), to show a scrape does not slow the Kafka listener.
2. Scrape cost for many partitions: --partitions partitions (topics of 100), one record each, then --scrapes
   scrapes: size, median and p99 time, broker CPU per scrape.
3. Memory: the broker's RSS after 100 warm-up scrapes and after 1,000 more (it must stay flat).
Medians over --runs; the ratio column is on/off throughput.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from bench_util import cpu_seconds, free_port, memory_kib
import broker_bench

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))
import interop_util as u  # noqa: E402

KCAT = shutil.which("kcat") or "/usr/bin/kcat"
TUNED = {"linger.ms": "5", "batch.num.messages": "10000", "batch.size": "1000000",
         "queue.buffering.max.messages": "2000000"}


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in nanoseconds (/proc/PID/task/*/schedstat): /proc/PID/stat counts 10 ms
    ticks, too coarse for a produce of 1M records that takes 0.1 s of broker CPU."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (OSError, ValueError):
            pass  # a thread that ended in between
    return total


class Broker:
    """A release broker on free loopback ports, metrics on or off, stopped by PID."""

    def __init__(self, binary, workdir, metrics):
        self.port = free_port()
        self.metrics_port = free_port() if metrics else None
        self.data_dir = tempfile.mkdtemp(prefix="metrics-bench-", dir=workdir)
        command = [binary, "broker", "--listeners", f"PLAINTEXT://127.0.0.1:{self.port}", "--log-dirs", self.data_dir,
                   "--log-level", "warning"]
        if metrics:
            command += ["--metrics-listener", f"127.0.0.1:{self.metrics_port}"]
        self.log = open(self.data_dir + ".log", "wb")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                u.RawConnection(self.address).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"broker did not start: {open(self.data_dir + '.log').read()[-500:]}")
                time.sleep(0.05)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as response:
            return response.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def produce_rate(args, workdir, records_path, metrics, settings, scrape_every=None):
    broker = Broker(args.bin, workdir, metrics)
    try:
        topic = u.uniq("metrics")
        u.kp_create_topic(broker.address, topic, partitions=1)
        flags = [flag for key, value in settings.items() for flag in ("-X", f"{key}={value}")]
        stop = threading.Event()
        scrapes = []

        def scraper():
            while not stop.wait(scrape_every):
                started = time.perf_counter()
                broker.scrape()
                scrapes.append(time.perf_counter() - started)

        thread = threading.Thread(target=scraper, daemon=True) if scrape_every else None
        if thread:
            thread.start()
        cpu_before = cpu_ns(broker.proc.pid)
        try:
            result = broker_bench.feed_kcat([KCAT, "-P", "-b", broker.address, "-t", topic, *flags], None,
                                            records_path, args.records, args.timeout)
        finally:
            stop.set()
            if thread:
                thread.join()
        cpu = cpu_ns(broker.proc.pid) - cpu_before
        return args.records / result["seconds"], cpu / args.records, len(scrapes)
    finally:
        broker.stop()


def scrape_cost(args, workdir):
    broker = Broker(args.bin, workdir, True)
    try:
        from confluent_kafka import Producer
        topics = [u.uniq("many") for _ in range(max(1, args.partitions // 100))]
        for topic in topics:
            u.kp_create_topic(broker.address, topic, partitions=min(100, args.partitions))
        producer = Producer({"bootstrap.servers": broker.address})
        for topic in topics:
            for partition in range(min(100, args.partitions)):
                producer.produce(topic, value=b"x" * 100, partition=partition)
        producer.flush(60)
        del producer  # disconnects now, not at exit after the broker stopped
        broker.scrape()  # the first scrape creates the per-partition gauges
        times = []
        cpu_before = cpu_seconds(broker.proc.pid)
        size = 0
        for _ in range(args.scrapes):
            started = time.perf_counter()
            size = len(broker.scrape())
            times.append(time.perf_counter() - started)
        cpu = (cpu_seconds(broker.proc.pid) - cpu_before) / args.scrapes
        for _ in range(100):
            broker.scrape()
        rss_warm = memory_kib(broker.proc.pid)["VmRSS"]
        for _ in range(1000):
            broker.scrape()
        rss_after = memory_kib(broker.proc.pid)["VmRSS"]
        times.sort()
        return {"partitions": len(topics) * min(100, args.partitions), "bytes": size,
                "median_ms": statistics.median(times) * 1000, "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
                "cpu_ms": cpu * 1000, "rss_warm_mib": rss_warm / 1024, "rss_after_mib": rss_after / 1024}
    finally:
        broker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(broker_bench.REPO, ".build", "release", "ledgerstream"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="metrics-bench-")
    try:
        records_path = os.path.join(workdir, "records.txt")
        broker_bench.write_records(records_path, args.records)
        print(f"Produce: kcat -P of {args.records:,} records of {broker_bench.RECORD_BYTES} B into one partition, "
              f"median of {args.runs} runs (on/off in the same run, alternating order). Throughput in records/s, and the "
              f"broker's CPU (user + system) in ns per record, which is steadier than the wall clock on 2 cores.",
              flush=True)
        print(f"{'client settings':<22} {'':<9} {'metrics off':>12} {'metrics on':>12} {'on/off':>8} "
              f"{'on + scrape/100ms':>18} {'scraped/off':>11}")
        for label, settings in (("kcat defaults", {}), ("kcat tuned (labelled)", TUNED)):
            rates = {"off": [], "on": [], "scraped": []}
            cpus = {"off": [], "on": [], "scraped": []}
            scrape_counts = []
            for run in range(args.runs):
                order = ["off", "on", "scraped"] if run % 2 == 0 else ["scraped", "on", "off"]
                for mode in order:
                    rate, cpu, scrapes = produce_rate(args, workdir, records_path, mode != "off", settings,
                                                 scrape_every=0.1 if mode == "scraped" else None)
                    rates[mode].append(rate)
                    cpus[mode].append(cpu)
                    if mode == "scraped":
                        scrape_counts.append(scrapes)
            off, on, scraped = (statistics.median(rates[m]) for m in ("off", "on", "scraped"))
            print(f"{label:<22} {'records/s':<9} {off:>12,.0f} {on:>12,.0f} {on / off:>8.3f} {scraped:>18,.0f} {scraped / off:>11.3f}"
                  f"   (runs off {', '.join(f'{r:,.0f}' for r in rates['off'])}; on {', '.join(f'{r:,.0f}' for r in rates['on'])};"
                  f" scraped {', '.join(f'{r:,.0f}' for r in rates['scraped'])}, {statistics.median(scrape_counts):.0f} scrapes)")
            off, on, scraped = (statistics.median(cpus[m]) for m in ("off", "on", "scraped"))
            print(f"{'':<22} {'CPU ns/r':<9} {off:>12,.0f} {on:>12,.0f} {on / off:>8.3f} {scraped:>18,.0f} {scraped / off:>11.3f}"
                  f"   (runs off {', '.join(f'{c:.0f}' for c in cpus['off'])}; on {', '.join(f'{c:.0f}' for c in cpus['on'])};"
                  f" scraped {', '.join(f'{c:.0f}' for c in cpus['scraped'])})", flush=True)
        cost = scrape_cost(args, workdir)
        print(f"\nScrape of {cost['partitions']:,} partitions: {cost['bytes']:,} bytes, median {cost['median_ms']:.2f} ms, "
              f"p99 {cost['p99_ms']:.2f} ms, broker CPU {cost['cpu_ms']:.2f} ms per scrape ({args.scrapes} scrapes).")
        print(f"Broker RSS after 100 warm-up scrapes {cost['rss_warm_mib']:.1f} MiB, after 1,000 more "
              f"{cost['rss_after_mib']:.1f} MiB ({cost['rss_after_mib'] - cost['rss_warm_mib']:+.1f} MiB).")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
