"""The Grafana dashboard shipped in data/: a well-formed dashboard whose every query names only metrics that
`ledgerstream broker` and `ledgerstream consume --sink` really export, checked against live scrapes after the traffic
that makes each labelled series appear (produce, consume in a group, a refused request, a rejected record, a
reconciliation issue)."""
import json
import os
import re
import sqlite3
import subprocess
import threading
import time

from conftest import BIN, REPO, run
import interop_util as u

DASHBOARD = os.path.join(REPO, "data", "grafana-dashboard.json")
SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")
METRIC = re.compile(r"\b((?:ledgerstream|process)_[a-z0-9_]+)")


def dashboard():
    with open(DASHBOARD) as source:
        return json.load(source)


def queries(board):
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel, target["expr"]


def referenced_metrics(board):
    names = set()
    for _, expr in queries(board):
        for name in METRIC.findall(expr):
            names.add(name)
    return names


def exported(url):
    """Every sample name of one scrape (histograms give _bucket, _sum and _count; counters their _total name)."""
    return {sample.name for family in u.scrape_families(url) for sample in family.samples}


def test_dashboard_is_well_formed():
    board = dashboard()
    assert board["title"] and board["uid"] == "ledgerstream-overview" and board["schemaVersion"] >= 36
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "job", "instance"} <= variables
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    titles = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] not in titles, f"two panels titled {panel['title']!r}"
        titles.add(panel["title"])
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
            # Every series is filtered by the dashboard's job and instance variables.
            for name in METRIC.findall(expr):
                assert re.search(re.escape(name) + r'\{job=~"\$job", instance=~"\$instance"', expr), expr
    # The views the operations issue asks for: throughput, latency percentiles, lag, reconciliation issues.
    joined = " ".join(expr for _, expr in queries(board))
    for needed in ("ledgerstream_broker_topic_records_in_total", "histogram_quantile(0.99",
                   "ledgerstream_sink_lag_records", "ledgerstream_sink_reconciliation_issues_total"):
        assert needed in joined


def test_every_metric_the_dashboard_queries_is_exported(start_broker, data_dir, processes):
    broker = start_broker(extra=["--metrics-listener", "127.0.0.1:0"])
    broker_url = u.metrics_url(broker.log)
    topic = u.uniq("dash")
    # A stated balance that does not reconcile (a reconciliation issue) and a record that is not a transaction (a
    # rejected record), then the sample, all produced by the idempotent `produce` (a producer id).
    csv = os.path.join(data_dir, "inconsistent.csv")
    with open(SAMPLE, "rb") as original:
        data = original.read()
    with open(csv, "wb") as changed:
        changed.write(data[:-3] + b"8305")
    run([BIN, "produce", "--csv", csv, "--topic", topic, "-b", broker.address])
    run([u.KCAT, "-P", "-b", broker.address, "-t", topic, "-k", "C100"], input="not a transaction\n")
    # A refused request: deleting a topic that does not exist (UNKNOWN_TOPIC_OR_PARTITION).
    assert run([BIN, "topic", "delete", u.uniq("missing"), "-b", broker.address], check=False).returncode != 0
    # A consumer group (a rebalance, a group state) reading everything back.
    run([u.KCAT, "-C", "-b", broker.address, "-G", u.uniq("dash-group"), topic, "-e", "-o", "beginning",
         "-X", "auto.offset.reset=earliest"], timeout=60)

    db = os.path.join(data_dir, "ledger.db")
    sink = subprocess.Popen([BIN, "consume", topic, "--sink", "sqlite", "--db", db, "-b", broker.address,
                             "--metrics-listener", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    processes.append(sink)
    lines = []
    threading.Thread(target=lambda: lines.extend(iter(sink.stdout.readline, "")), daemon=True).start()
    sink_url = u.metrics_url(lambda: "".join(lines))
    # Wait until the sink applied everything (lag 0) before the final scrape.
    deadline = time.time() + 60
    while time.time() < deadline:
        names = exported(sink_url)
        if "ledgerstream_sink_lag_records" in names and sqlite_rows(db) == 6:
            break
        time.sleep(0.2)
    time.sleep(1.5)  # a WAL checkpoint and a periodic flush have had their chance
    available = exported(broker_url) | exported(sink_url)
    missing = sorted(referenced_metrics(dashboard()) - available)
    assert not missing, f"the dashboard queries metrics nobody exports: {missing}"


def sqlite_rows(db):
    try:
        connection = sqlite3.connect(db)
        try:
            return connection.execute("SELECT COUNT(*) FROM ledger_entries").fetchone()[0] + \
                connection.execute("SELECT COUNT(*) FROM rejected_records").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0
