"""The ledger sink into PostgreSQL against the SQLite sink, in one run (`bash Benchmarks/run --only postgres`).

A release broker and a PostgreSQL server from Debian's packages (initdb into a temporary directory, default
settings: fsync and synchronous_commit on) on loopback. A bank-shaped CSV (1,000 accounts, stated running
balances; 1,000,000 rows by default) is produced with `ledgerstream produce --csv`, then:

- drain: the topic already full, `consume --sink … -e` applies it, from start to exit;
- end to end: the sinks already running when the file starts going out, from the first row sent until the last
  one is committed (the ledger's stored offsets reach the end).

Each with the SQLite sink, and with one, two and three PostgreSQL sinks in one consumer group (six partitions).
Every run checks that the ledger holds every row exactly once. Rows per second, and the CPU seconds the sinks and
the PostgreSQL server used, are printed as a table. This machine has 2 cores: one sink and its server already use
both, so more sinks mostly share the same cores.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))

from bench_util import cpu_seconds, write_csv  # noqa: E402
from postgres_util import PostgresServer  # noqa: E402

PARTITIONS = 6


class Bench:
    def __init__(self, binary, work, rows):
        self.binary = binary
        self.work = work
        self.rows = rows
        self.broker = None
        self.bootstrap = None
        os.makedirs(os.path.join(work, "pg"))
        self.postgres = PostgresServer(os.path.join(work, "pg"), durable=True)
        self.databases = 0

    def start(self):
        self.postgres.start()
        self.broker = subprocess.Popen(
            [self.binary, "broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", os.path.join(self.work, "broker")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.broker.stdout:
            match = re.search(r"listening on ([0-9.]+):(\d+)", line)
            if match:
                self.bootstrap = f"127.0.0.1:{match.group(2)}"
                break
        subprocess.Popen(["cat"], stdin=self.broker.stdout, stdout=subprocess.DEVNULL)

    def stop(self):
        if self.broker:
            self.broker.terminate()
            self.broker.wait()
        self.postgres.stop()

    def run(self, *args):
        subprocess.run([self.binary, *args, "-b", self.bootstrap], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def topic(self, name):
        self.run("topic", "create", name, "--partitions", str(PARTITIONS))

    def produce(self, csv, topic):
        self.run("produce", "--csv", csv, "--topic", topic, "-q")

    def new_database(self):
        self.databases += 1
        name = f"bench{self.databases}"
        self.postgres.psql(f"CREATE DATABASE {name}", database="postgres")
        return name, self.postgres.url(database=name)

    def sink(self, topic, store, location, group=None, exit_at_end=False):
        args = [self.binary, "consume", topic, "--sink", store, "--db", location, "-b", self.bootstrap]
        if group:
            args += ["--group", group, "--session-timeout-ms", "10000"]
        if exit_at_end:
            args.append("-e")
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def query(self, store, location, database, sql):
        """One number from the ledger (0 before the sink created its tables)."""
        if store == "sqlite":
            out = subprocess.run(["sqlite3", location, sql], capture_output=True, text=True).stdout.split()
        else:
            try:
                out = self.postgres.psql(sql, database=database).split()
            except RuntimeError:
                out = []
        return int(out[0]) if out else 0

    def applied(self, store, location, database):
        """The ledger's stored next offsets summed: the records applied (a few rows read, so polling it costs the
        server next to nothing, unlike counting the growing table)."""
        return self.query(store, location, database, "SELECT COALESCE(SUM(next_offset), 0) FROM sink_offsets")

    def server_pids(self):
        """The PostgreSQL server's processes: the postmaster (first line of postmaster.pid) and its children."""
        with open(os.path.join(self.postgres.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster] + [int(pid) for pid in children]

    def sample_server_cpu(self, seen):
        """Records each server process's CPU seconds so far in `seen` (backends end with their connections)."""
        for pid in self.server_pids():
            try:
                seen[pid] = cpu_seconds(pid)
            except OSError:
                pass

    def measure(self, csv, store, sinks, mode, tag):
        topic = f"{tag}-{store}-{sinks}-{mode}"
        if store == "sqlite":
            database, location = None, os.path.join(self.work, topic + ".db")
        else:
            database, location = self.new_database()
        self.topic(topic)
        group = "bench-" + topic if sinks > 1 else None
        before, seen = {}, {}
        if store == "postgres":
            self.sample_server_cpu(before)
        if mode == "drain":
            self.produce(csv, topic)
            start = time.time()
            processes = [self.sink(topic, store, location, group=group, exit_at_end=True) for _ in range(sinks)]
        else:
            processes = [self.sink(topic, store, location, group=group) for _ in range(sinks)]
            # Every sink joined and claimed its partitions before the file goes out.
            time.sleep(2 + 2 * sinks)
            start = time.time()
            self.produce(csv, topic)
        deadline = start + 600
        sink_cpu = {}

        def sample():
            if store == "postgres":
                self.sample_server_cpu(seen)
            for p in processes:
                try:
                    sink_cpu[p.pid] = cpu_seconds(p.pid)
                except OSError:
                    pass  # exited (with -e, once its partitions are done)

        while self.applied(store, location, database) < self.rows:
            sample()
            if time.time() > deadline:
                raise RuntimeError(f"{topic}: not every row applied after 600 s")
            time.sleep(0.05)
        seconds = time.time() - start
        sample()
        cpu = sum(sink_cpu.values())
        for p in processes:
            p.terminate()
            p.wait()
        server = sum(value - before.get(pid, 0.0) for pid, value in seen.items())
        stored = self.query(store, location, database, "SELECT COUNT(*) FROM ledger_postings")
        if stored != self.rows:
            raise RuntimeError(f"{topic}: {stored} rows in the ledger, expected exactly {self.rows}")
        return seconds, cpu, server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="release ledgerstream binary")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per row; the median is shown")
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="postgres-bench-")
    os.chmod(work, 0o755)
    bench = Bench(os.path.abspath(options.bin), work, options.rows)
    try:
        bench.start()
        csv = os.path.join(work, "ledger.csv")
        write_csv(csv, options.rows)
        cases = [("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 3)]
        print(f"\nledger sink, {options.rows:,} bank-shaped rows, {PARTITIONS} partitions, medians of {options.runs} runs "
              f"(release build; PostgreSQL server with default settings)\n")
        print("| sink | mode | rows/s | s | sink CPU s | PostgreSQL CPU s | vs one PostgreSQL sink |")
        print("|---|---|---|---|---|---|---|")
        for mode in ("end to end", "drain"):
            key = "e2e" if mode == "end to end" else "drain"
            base = None
            for store, sinks in cases:
                samples = [bench.measure(csv, store, sinks, key, f"r{run}") for run in range(options.runs)]
                seconds = statistics.median(s[0] for s in samples)
                cpu = statistics.median(s[1] for s in samples)
                server = statistics.median(s[2] for s in samples)
                rate = options.rows / seconds
                if store == "postgres" and sinks == 1:
                    base = rate
                ratio = f"{rate / base:.2f}x" if base and store == "postgres" else ""
                name = "SQLite" if store == "sqlite" else f"PostgreSQL, {sinks} sink{'s' if sinks > 1 else ''}"
                server_text = f"{server:.1f}" if store == "postgres" else ""
                print(f"| {name} | {mode} | {rate:,.0f} | {seconds:.2f} | {cpu:.1f} | {server_text} | {ratio} |", flush=True)
    finally:
        bench.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
