"""The web dashboard (`report --serve`) on a ledger of 1,000,000 entries (`bash Benchmarks/run --only dashboard`).

A release broker; a bank-shaped CSV (1,000 accounts, stated running balances) produced with `produce --csv` and
drained into a SQLite ledger with `consume --sink sqlite -e`; then `report --serve` on it, and:

- page weight: the bytes of `/` (one self-contained response: HTML, the style sheet, the script, SVG charts);
- time to first render: a fresh server (nothing cached) asked for `/` — the whole ledger, a month, and the
  table sorted by amount at page 1,000 — timed to the last byte; and, when Debian's chromium and selenium are
  installed, the browser's first contentful paint of `/` on a fresh server;
- 100 live viewers: 100 event streams held open, each having loaded `/`; then one transaction is produced while a
  sink runs, and the time until all 100 streams carry the new version and all 100 have fetched the new views (as
  the page's script does), with the server's RSS before, with the viewers, and its peak.

Each figure is the median of --runs fresh servers.
"""
import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_util import memory_kib, write_csv  # noqa: E402


def started(args, pattern=r"listening on ([0-9.]+):(\d+)"):
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        match = re.search(pattern, line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, int(match.group(2))
    raise SystemExit(f"{args[1]} did not start")


def get(port, path, headers=None):
    """(status, body bytes, seconds to the last byte)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    begin = time.perf_counter()
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - begin
    connection.close()
    return response.status, body, elapsed


class EventStream(threading.Thread):
    """One viewer: loads the page, holds /events open, and on each new version fetches /views like the script."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.versions = []
        self.refetched = {}
        self.ready = threading.Event()
        self.stop = False

    def run(self):
        get(self.port, "/")
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        buffer = b""
        while not self.stop:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            for version in re.findall(rb'"version":(\d+)', buffer):
                version = int(version)
                if version not in self.versions:
                    self.versions.append(version)
                    if len(self.versions) == 1:
                        self.ready.set()
                    else:
                        get(self.port, "/views")
                        self.refetched[version] = time.perf_counter()
            buffer = buffer[-200:]
        sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--viewers", type=int, default=100)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="ledgerstream-dashboard-bench-")
    processes = []
    try:
        broker, port = started([options.bin, "broker", "--listeners", "PLAINTEXT://127.0.0.1:0", "--log-dirs", os.path.join(work, "broker")])
        processes.append(broker)
        bootstrap = f"127.0.0.1:{port}"
        csv = os.path.join(work, "bank.csv")
        write_csv(csv, options.rows)
        db = os.path.join(work, "ledger.db")
        subprocess.run([options.bin, "topic", "create", "transactions", "--partitions", "3", "-b", bootstrap], check=True, capture_output=True)
        begin = time.perf_counter()
        subprocess.run([options.bin, "produce", "--csv", csv, "-b", bootstrap], check=True, capture_output=True)
        subprocess.run([options.bin, "consume", "--sink", "sqlite", "--db", db, "-e", "-b", bootstrap], check=True, capture_output=True)
        print(f"ledger of {options.rows:,} entries loaded in {time.perf_counter() - begin:.1f} s ({os.path.getsize(db) / 1e6:.0f} MB)")

        paths = {"whole ledger": "/", "one month": "/?from=2024-03-01&to=2024-03-31",
                 "sorted by amount, page 1,000": "/?sort=amount&dir=desc&page=1000"}
        cold = {name: [] for name in paths}
        warm = {name: [] for name in paths}
        weight = []
        paint = []
        for _ in range(options.runs):
            for name, path in paths.items():
                server, server_port = started([options.bin, "report", "--db", db, "--serve", "127.0.0.1:0"])
                status, body, seconds = get(server_port, path)
                assert status == 200, (status, body[:200])
                cold[name].append(seconds)
                warm[name].append(get(server_port, path)[2])
                if path == "/":
                    weight.append(len(body))
                server.terminate()
                server.wait()
            first_paint = browser_first_paint(options.bin, db)
            if first_paint is not None:
                paint.append(first_paint)
        print(f"\npage weight of / : {statistics.median(weight) / 1024:.1f} KiB (one response: HTML, CSS, script, SVG)")
        print(f"{'time to the last byte, fresh server':44} {'cold':>9} {'cached':>9}")
        for name in paths:
            print(f"  {name:42} {statistics.median(cold[name]) * 1000:7.0f} ms {statistics.median(warm[name]) * 1000:7.1f} ms")
        if paint:
            print(f"  browser first contentful paint of /        {statistics.median(paint):7.0f} ms (headless chromium, fresh server)")
        else:
            print("  browser first contentful paint: skipped (needs chromium, chromium-driver and selenium)")

        sink = subprocess.Popen([options.bin, "consume", "--sink", "sqlite", "--db", db, "-b", bootstrap],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(sink)
        results = []
        for run in range(options.runs):
            server, server_port = started([options.bin, "report", "--db", db, "--serve", "127.0.0.1:0"])
            idle = memory_kib(server.pid)["VmRSS"]
            viewers = [EventStream(server_port) for _ in range(options.viewers)]
            for viewer in viewers:
                viewer.start()
            for viewer in viewers:
                viewer.ready.wait(120)
            connected = memory_kib(server.pid)["VmRSS"]
            one = os.path.join(work, f"one-{run}.csv")
            with open(one, "w") as out:
                out.write(f"transaction_date;account;transaction_value;balance\n1/6/2025;NEW{run};10.00;10.00\n")
            begin = time.perf_counter()
            subprocess.run([options.bin, "produce", "--csv", one, "-b", bootstrap], check=True, capture_output=True)
            deadline = time.time() + 60
            while time.time() < deadline and not all(len(viewer.versions) >= 2 and viewer.refetched for viewer in viewers):
                time.sleep(0.01)
            done = [min(viewer.refetched.values()) for viewer in viewers if viewer.refetched]
            assert len(done) == len(viewers), f"only {len(done)} of {len(viewers)} viewers saw the change"
            memory = memory_kib(server.pid)
            results.append((idle, connected, memory["VmHWM"], (max(done) - begin) * 1000))
            for viewer in viewers:
                viewer.stop = True
            server.terminate()
            server.wait()
        idle, connected, peak, seconds = (statistics.median(column) for column in zip(*results))
        print(f"\n{options.viewers} live viewers (each loaded /, holds /events, refetches /views on a change)")
        print(f"  server RSS idle {idle / 1024:.1f} MB, with the viewers {connected / 1024:.1f} MB, peak {peak / 1024:.1f} MB")
        print(f"  one transaction produced -> all {options.viewers} viewers have the new views: {seconds:.0f} ms"
              " (includes the sink applying it and the 0.5 s version poll)")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def browser_first_paint(binary, db):
    """First contentful paint of / in headless chromium on a fresh server, in ms; None without a browser."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    server, port = started([binary, "report", "--db", db, "--serve", "127.0.0.1:0"])
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        deadline = time.time() + 10
        while time.time() < deadline:  # the paint entry is recorded a little after the load event
            paint = driver.execute_script(
                "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null;")
            if paint is not None:
                return paint
            time.sleep(0.05)
        return None
    finally:
        driver.quit()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
