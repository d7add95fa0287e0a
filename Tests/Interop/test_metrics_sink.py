"""The SQLite sink's metrics endpoint (`consume --sink sqlite --metrics-listener`, `demo --keep-running
--metrics-listener`), scraped with prometheus_client's parser: the counters agree with the database, the lag gauge
goes to 0 once the sink has caught up (also after transactional producers, whose commit markers are never applied),
rejected records and reconciliation issues are counted by kind, and /readyz follows the lag."""
import os
import re
import signal
import subprocess
import threading
import time

from conftest import BIN, REPO, run
import interop_util as u
from interop_util import KCAT, free_port, wait_until
from test_ledger_pipeline import cli, rows

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")


class Background:
    """A ledgerstream process whose output is collected by a thread; its metrics URL is read from the log line."""

    def __init__(self, args, cwd=None):
        self.lines = []
        self.process = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        cwd=cwd)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self):
        return "".join(self.lines)

    def wait_for(self, pattern, timeout=60):
        found = []

        def seen():
            match = re.search(pattern, self.output())
            if match:
                found.append(match)
            return bool(match) or self.process.poll() is not None

        wait_until(seen, timeout=timeout, message=f"{pattern!r} in the output")
        assert found, f"exited {self.process.returncode} before {pattern!r}:\n{self.output()}"
        return found[0]

    def stop(self):
        """SIGTERM (a clean stop: the last batch commits); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def scrape(url):
    """{(sample name, sorted labels): value} of one scrape, and each family's type."""
    values, types = {}, {}
    for family in u.scrape_families(url):
        types[family.name] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values, types


def total(values, name, **labels):
    """The sum of a metric's samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, l), v in values.items() if n == name and wanted <= set(l))


def series(values, name):
    return {l: v for (n, l), v in values.items() if n == name}


def readyz(url):
    status, _, body = u.http_get(url + "/readyz")
    return status, body


def start_sink(broker, db, *extra, topics=("transactions",)):
    sink = Background(["consume", *topics, "--sink", "sqlite", "--db", db, "-b", broker.address,
                       "--metrics-listener", "127.0.0.1:0", *extra])
    return sink, sink.wait_for(u.METRICS_ENDPOINT).group(1)


def caught_up(url, applied):
    values, _ = scrape(url)
    lags = series(values, "ledgerstream_sink_lag_records")
    return total(values, "ledgerstream_sink_records_applied_total") == applied and lags and all(v == 0 for v in lags.values())


def write_csv(path, count, start_day=0):
    with open(path, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(count):
            day = start_day + i
            out.write(f"2024-{1 + day % 12:02d}-{1 + day % 28:02d};A{i % 17};{(i % 50) + 1}.25;\n")


def test_sink_metrics_follow_the_ledger(broker, data_dir):
    cli("topic", "create", "transactions", "--partitions", "3", broker=broker)
    cli("produce", "--csv", SAMPLE, broker=broker)
    db = os.path.join(data_dir, "ledger.db")
    sink, url = start_sink(broker, db, "--ready-max-lag", "0")
    try:
        wait_until(lambda: caught_up(url, 5), timeout=60, message="the sample applied with lag 0")
        assert rows(db, "SELECT COUNT(*) FROM ledger_entries") == [(5,)]
        values, types = scrape(url)
        assert types["ledgerstream_sink_records_applied"] == "counter"
        assert types["ledgerstream_sink_lag_records"] == "gauge"
        assert types["ledgerstream_sink_batch_duration_seconds"] == "histogram"
        assert types["ledgerstream_sink_sqlite_commit_seconds"] == "histogram"
        assert types["ledgerstream_sink_sqlite_checkpoint_seconds"] == "histogram"
        assert total(values, "ledgerstream_sink_batches_total") >= 1
        assert total(values, "ledgerstream_sink_batch_duration_seconds_count") == total(values, "ledgerstream_sink_batches_total")
        assert total(values, "ledgerstream_sink_sqlite_commit_seconds_count") == total(values, "ledgerstream_sink_batches_total")
        # One lag, offset and end series per partition; the applied offsets are the database's.
        assert sorted(series(values, "ledgerstream_sink_lag_records")) == [
            (("partition", str(p)), ("topic", "transactions")) for p in range(3)]
        stored = dict(((("partition", str(p)), ("topic", t)), n)
                      for t, p, n in rows(db, "SELECT topic, partition, next_offset FROM sink_offsets"))
        applied = series(values, "ledgerstream_sink_applied_offset")
        assert {k: v for k, v in applied.items() if k in stored} == stored
        assert total(values, "ledgerstream_sink_log_end_offset") == 5
        assert total(values, "process_resident_memory_bytes") > 0 and total(values, "process_open_fds") > 0
        assert readyz(url) == (200, "ready\n")
        assert u.http_get(url + "/healthz")[0] == 200

        # More rows in one Kafka transaction: the records move, and the lag still reaches 0 although each partition
        # now ends with a commit marker the sink never applies.
        more = os.path.join(data_dir, "more.csv")
        write_csv(more, 3000)
        cli("produce", "--csv", more, "--transactional-id", "metrics-more", broker=broker)
        wait_until(lambda: caught_up(url, 3005), timeout=120, message="3,005 records applied with lag 0")
        values, _ = scrape(url)
        assert rows(db, "SELECT COUNT(*) FROM ledger_entries") == [(3005,)]
        assert total(values, "ledgerstream_sink_log_end_offset") > 3005, "the ends include the commit markers"
        assert readyz(url) == (200, "ready\n")
    finally:
        assert sink.stop() == 0, sink.output()


def test_lag_is_seen_while_a_backlog_is_applied(broker, data_dir):
    """A sink started behind a large backlog shows a positive lag and is not ready until it has caught up."""
    cli("topic", "create", "backlog", "--partitions", "2", broker=broker)
    backlog = os.path.join(data_dir, "backlog.csv")
    write_csv(backlog, 60_000)
    cli("produce", "--csv", backlog, "--topic", "backlog", broker=broker, timeout=300)
    db = os.path.join(data_dir, "ledger.db")
    sink, url = start_sink(broker, db, "--ready-max-lag", "100", topics=("backlog",))
    try:
        lags, reasons = [], set()
        deadline = time.time() + 180
        while time.time() < deadline:
            values, _ = scrape(url)
            lag = series(values, "ledgerstream_sink_lag_records")
            status, body = readyz(url)
            if status != 200:
                reasons.add(body.strip())
            if lag:
                lags.append(sum(lag.values()))
            if status == 200 and total(values, "ledgerstream_sink_records_applied_total") == 60_000:
                break
            time.sleep(0.02)
        assert lags and max(lags) > 100, f"no lag seen: {lags[:20]}"
        assert lags[0] > 0, "no lag series reads 0 before the partition's end is known"
        assert lags[-1] == 0
        assert any(re.fullmatch(r"not ready: lag \d+ records > 100", reason) for reason in reasons), reasons
        assert rows(db, "SELECT COUNT(*) FROM ledger_entries") == [(60_000,)]
    finally:
        assert sink.stop() == 0, sink.output()


def test_rejected_records_and_reconciliation_issues_by_kind(broker, data_dir):
    cli("topic", "create", "kinds", "--partitions", "1", broker=broker)
    # A stated balance that disagrees with the history, then a withdrawal below zero.
    csv = os.path.join(data_dir, "issues.csv")
    with open(csv, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n"
                  "01/01/2024;C1;100;100\n02/01/2024;C1;-30;99\n03/01/2024;C2;-5;\n")
    cli("produce", "--csv", csv, "--topic", "kinds", broker=broker)
    # Values that are not transaction events, from kcat: not JSON, a missing field, a bad field (twice).
    bad = "\n".join([
        "not json at all",
        '{"account":"C3","transaction_value":1}',
        '{"transaction_date":"yesterday","account":"C3","transaction_value":1}',
        '{"transaction_date":"2024-01-04","account":"C3","transaction_value":"lots"}',
    ]) + "\n"
    run([KCAT, "-P", "-b", broker.address, "-t", "kinds", "-p", "0"], input=bad)
    db = os.path.join(data_dir, "ledger.db")
    sink, url = start_sink(broker, db, topics=("kinds",))
    try:
        wait_until(lambda: caught_up(url, 3), timeout=60, message="3 applied, lag 0")
        values, _ = scrape(url)
        rejected = {dict(l)["kind"]: v for l, v in series(values, "ledgerstream_sink_rejected_records_total").items()}
        assert rejected == {"not_json": 1, "missing_field": 1, "bad_field": 2}
        assert sum(rejected.values()) == rows(db, "SELECT COUNT(*) FROM rejected_records")[0][0]
        reasons = [r for (r,) in rows(db, "SELECT reason FROM rejected_records ORDER BY offset")]
        assert reasons[0].startswith("not a JSON object") and reasons[1].startswith("missing field")
        assert all(r.startswith("field ") for r in reasons[2:])
        issues = {dict(l)["kind"]: v for l, v in series(values, "ledgerstream_sink_reconciliation_issues_total").items()}
        in_db = dict(rows(db, "SELECT kind, COUNT(*) FROM reconciliation_issues GROUP BY kind"))
        assert issues == {"balance_mismatch": 1, "negative_balance": 1} == in_db
        # Rejected records are not applied, but the sink is past them: nothing left to do.
        assert total(values, "ledgerstream_sink_applied_offset") == 7
    finally:
        assert sink.stop() == 0, sink.output()


def test_demo_keep_running_serves_sink_and_broker_metrics(tmp_path):
    demo = Background(["demo", "--keep-running", "--port", str(free_port()), "--metrics-listener", "127.0.0.1:0"],
                      cwd=tmp_path)
    try:
        url = demo.wait_for(u.METRICS_ENDPOINT).group(1)
        demo.wait_for("sink running")
        wait_until(lambda: caught_up(url, 5), timeout=60, message="the demo's 5 transactions applied with lag 0")
        values, types = scrape(url)
        assert types["ledgerstream_sink_records_applied"] == "counter"
        assert total(values, "process_cpu_seconds_total") > 0
        # The embedded broker shares the registry: one scrape shows what it took in and what the sink applied.
        assert total(values, "ledgerstream_broker_topic_records_in_total") == 5
        assert types["ledgerstream_broker_request_total_time_seconds"] == "histogram"
        assert readyz(url) == (200, "ready\n")
    finally:
        if demo.process.poll() is None:
            demo.process.send_signal(signal.SIGINT)
        code = demo.process.wait(timeout=30)
    assert code == 0, demo.output()


def test_metrics_listener_needs_a_long_running_sink():
    plain = subprocess.run([BIN, "consume", "t", "--metrics-listener", "127.0.0.1:0"], capture_output=True, text=True,
                           timeout=30)
    assert plain.returncode == 64
    assert "--metrics-listener serves the sink's metrics: use it with --sink sqlite or --sink postgres" in plain.stderr
    demo = subprocess.run([BIN, "demo", "--metrics-listener", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert demo.returncode == 64
    assert "--metrics-listener needs --keep-running" in demo.stderr
    bad = subprocess.run([BIN, "consume", "--sink", "sqlite", "--metrics-listener", "127.0.0.1:http"], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 64 and "is not a port" in bad.stderr
