"""`ledgerstream report --serve`: the live web dashboard and its transaction desk over plain HTTP (http.client and raw
sockets, no browser), on ledgers the real pipeline filled (`produce --csv` -> broker -> `consume --sink sqlite`).

Covered: the JSON endpoints show the sample file's values and /api/report is the very object `report --format json`
prints (with a period, an account, top and limit too); /api/transactions sorts and pages as computed here from the
sample; the page and the /views fragment, HEAD, the security headers (the CSP's hashes are those of the page's only
script and style sheet); bad parameters (400), unknown paths (404), wrong methods (405 with Allow), a body over 16 KiB
(413) and a target over 8 KiB (414) sent on raw sockets, malformed requests answered 4xx rather than hanging; the
event stream announcing a transaction the sink applied (and its HEAD ending); the 1024-connection cap; 100 viewers following at once (every
stream gets the new event; the server's RSS is logged and bounded); the desk: `--desk` refusing to start without a
token of 16 characters, logins and their rate limit, every refusal (401, 403, 404, 415, 422 with the shell's own
messages) producing nothing, deposits and withdrawals applied by bearer and by cookie + anti-forgery token, the
no-script form flow (303 and a one-time message), logout, a 503 at once when its broker is down; the desk's routes
are 404 when it is off; a PostgreSQL ledger
served like `report --format json --db URL`.

One broker and one ledger of the sample for the module; tests that change a ledger work on a copy of it, fed by a sink
of their own from a topic of their own. Every process is stopped by PID (conftest's Server and `processes`).
"""
import base64
import csv
import decimal
import hashlib
import http.client
import io
import json
import os
import re
import resource
import selectors
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

import interop_util as u
from conftest import BIN, REPO, Server, run

pytestmark = pytest.mark.timeout(60)

SAMPLE = os.path.join(REPO, "data", "client_transactions.csv")
TOKEN = "interop-desk-token-5f2b9c0e7a"
ARTIFACTS = os.path.join(os.environ.get("LEDGERSTREAM_TEST_ARTIFACTS", os.path.join(REPO, ".build", "test-artifacts")),
                         "dashboard")
NOT_AN_AMOUNT = "'{}' is not an amount (use digits with at most two decimals, for example 125.50)"


# ---------------------------------------------------------------------------------------------------------------------
# The sample, as the ledger holds it

def sample_entries():
    """The sample file's rows as ledger entries (the JSON API's field names), in file order: the offset is the row's."""
    entries, balances = [], {}
    with open(SAMPLE, newline="") as file:
        for offset, row in enumerate(csv.DictReader(file, delimiter=";")):
            day, month, year = row["transaction_date"].split("/")
            cents = int(decimal.Decimal(row["transaction_value"]) * 100)
            balances[row["account"]] = balances.get(row["account"], 0) + cents
            entries.append({"transaction_date": f"{year}-{month}-{day} 00:00:00", "account": row["account"],
                            "transaction_type": "deposit" if cents > 0 else "withdrawal", "amount_cents": abs(cents),
                            "balance_cents": balances[row["account"]], "offset": offset})
    return entries


ENTRIES = sample_entries()
BALANCES = {"C100": 83000, "C200": 230000}
assert {e["account"]: e["balance_cents"] for e in ENTRIES} == BALANCES, "the sample file changed"


def projected(rows):
    """The fields of API rows that `sample_entries` models."""
    return [{key: row[key] for key in ENTRIES[0]} for row in rows]


def copy_ledger(source, target):
    """A consistent copy of a SQLite ledger (SQLite's backup API, so a write-ahead log is included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def load_sample(broker, directory):
    """Applies the sample through the real pipeline and a topic of its own to directory/sample.db: (path, topic)."""
    topic = u.uniq("dash-sample")
    db = os.path.join(directory, "sample.db")
    run([BIN, "produce", "--csv", SAMPLE, "--topic", topic, "-b", broker.address])
    run([BIN, "consume", topic, "--sink", "sqlite", "--db", db, "-e", "-b", broker.address])
    return db, topic


@pytest.fixture(scope="module")
def sample(module_broker):
    """The sample ledger for the module: (path, topic)."""
    directory = tempfile.mkdtemp(prefix="ledgerstream-interop-dashboard-")
    yield load_sample(module_broker, directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def viewer(sample):
    """A dashboard (desk off) of the sample ledger, shared by the tests that only read."""
    db, _ = sample
    server = Server(["report", "--db", db, "--serve", "127.0.0.1:0"], os.path.dirname(db), name="dashboard").start()
    yield server
    server.stop()


class LiveLedger:
    """A copy of the sample ledger that a running sink keeps applying a fresh topic to; `add` produces a transaction
    there (JSON lines through `produce TOPIC`) stating the balance it leads to."""

    def __init__(self, broker, sample_db, directory, processes):
        self.broker = broker
        self.db = os.path.join(directory, "live.db")
        copy_ledger(sample_db, self.db)
        self.topic = u.uniq("dash-live")
        self.balances = dict(BALANCES)
        run([BIN, "topic", "create", self.topic, "--partitions", "1", "-b", broker.address])
        self.sink = subprocess.Popen([BIN, "consume", self.topic, "--sink", "sqlite", "--db", self.db,
                                      "-b", broker.address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(self.sink)
        # Running once it claimed the topic's partition in the ledger: its first commit, done before any dashboard
        # starts (else that commit would be a change of version the tests did not make).
        u.wait_until(self.claimed, timeout=20, message=f"the sink claiming {self.topic}")

    def claimed(self):
        assert self.sink.poll() is None, "the sink exited"
        connection = sqlite3.connect(self.db)
        try:
            return connection.execute("SELECT 1 FROM sink_partition_owners WHERE topic = ?", (self.topic,)).fetchone()
        finally:
            connection.close()

    def add(self, account, cents, date="2024-02-01 12:00:00"):
        """Produces a deposit (cents > 0) or a withdrawal (cents < 0) for `account`."""
        self.balances[account] = self.balances.get(account, 0) + cents
        event = {"transaction_date": date, "account": account, "transaction_value": abs(cents) / 100,
                 "balance": self.balances[account] / 100, "transaction_type": "deposit" if cents > 0 else "withdrawal"}
        run([BIN, "produce", self.topic, "--key", account, "-q", "-b", self.broker.address], input=json.dumps(event) + "\n")

    def records(self):
        """How many records the ledger's topic holds."""
        out = run([BIN, "consume", self.topic, "-e", "--offset", "beginning", "-b", self.broker.address]).stdout
        return len(u.parse_json_lines(out))


def sqlite_balance(db, account):
    """An account's balance in cents as the SQLite ledger holds it (None for no such account)."""
    connection = sqlite3.connect(db)
    try:
        row = connection.execute("SELECT balance_cents FROM account_balances WHERE account = ?", (account,)).fetchone()
    finally:
        connection.close()
    return row[0] if row else None


@pytest.fixture
def live(module_broker, sample, data_dir, processes):
    return LiveLedger(module_broker, sample[0], data_dir, processes)


def serve(db, *extra, name="dashboard"):
    """A started `report --serve` of `db` on an ephemeral port (stop it when done)."""
    return Server(["report", "--db", db, "--serve", "127.0.0.1:0", *extra], os.path.dirname(db), name=name).start()


@pytest.fixture
def dashboard(live):
    """A dashboard (desk off) of the live ledger."""
    server = serve(live.db)
    yield server
    server.stop()


@pytest.fixture
def desk(live, module_broker, data_dir):
    """A dashboard with the desk on (token from --desk-token-file), producing to the live ledger's topic."""
    token_file = os.path.join(data_dir, "desk.token")
    with open(token_file, "w") as file:
        file.write(TOKEN + "\n")
    server = serve(live.db, "--desk", "--desk-token-file", token_file, "--topic", live.topic,
                   "-b", module_broker.address, "--apply-timeout", "3", name="desk")
    yield server
    server.stop()


# ---------------------------------------------------------------------------------------------------------------------
# HTTP helpers

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.headers.get('Content-Type')} {self.body[:300]!r}>"


def request(server, method, path, body=None, headers=None, form=None, payload=None):
    """One request on a fresh connection: `form` is sent urlencoded, `payload` as JSON."""
    headers = dict(headers or {})
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if payload is not None:
        body = json.dumps(payload)
        headers.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def get(server, path, **kw):
    return request(server, "GET", path, **kw)


def get_json(server, path):
    reply = get(server, path)
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == "application/json"
    return reply.json()


def assert_security_headers(headers):
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, headers
    assert "unsafe" not in policy, policy
    assert headers.get("X-Content-Type-Options") == "nosniff", headers
    assert headers.get("Cache-Control") == "no-store", headers
    assert headers.get("Referrer-Policy") == "same-origin", headers


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes on a fresh connection and reads until the server closes it or `timeout` passes.
    Returns (bytes received, whether the server closed the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received, deadline = b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                return received, True
            if not chunk:
                return received, True
            received += chunk
        return received, False


def read_head(sock, timeout=5.0):
    """Reads one response's status line and headers (and whatever follows in the same reads): (status, head, rest)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return int(head.split(b" ", 2)[1]), head.decode("latin-1"), rest


def status_of(response_bytes):
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", response_bytes)
    assert match, f"not an HTTP response: {response_bytes[:200]!r}"
    return int(match.group(1))


class EventStream:
    """A GET /events on a raw socket, de-chunked as it arrives; `events()` are the `ledger` events' data so far."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        self.raw = b""
        self.head = None
        self.body = b""

    def feed(self, data):
        assert data, "the server closed an event stream"
        self.raw += data
        if self.head is None:
            if b"\r\n\r\n" not in self.raw:
                return
            head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            self.head = head.decode("latin-1")
        while True:  # whole chunks: SIZE\r\nDATA\r\n
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end], 16)
            if len(self.raw) < line_end + 2 + size + 2:
                return
            self.body += self.raw[line_end + 2:line_end + 2 + size]
            self.raw = self.raw[line_end + 2 + size + 2:]

    def read(self, timeout):
        """Feeds whatever arrives within `timeout` (at least one read)."""
        self.sock.settimeout(timeout)
        try:
            self.feed(self.sock.recv(65536))
        except socket.timeout:
            pass

    def events(self):
        events = []
        for block in self.body.decode().split("\n\n"):
            lines = block.split("\n")
            if "event: ledger" in lines:
                events.append(json.loads(next(line[6:] for line in lines if line.startswith("data: "))))
        return events

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not predicate(self.events()):
            assert time.monotonic() < deadline, f"no such event within {timeout}s: {self.body!r}"
            self.read(max(0.01, deadline - time.monotonic()))
        return self.events()

    def close(self):
        self.sock.close()


def rss_kib(process):
    with open(f"/proc/{process.pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1))


def log_measure(name, line):
    """A measurement for the CI log (pytest shows it with -s) and the artefacts directory."""
    print(line)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, f"{name}.txt"), "a") as file:
        file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


# ---------------------------------------------------------------------------------------------------------------------
# Reading: the JSON API, the page, the views

def test_api_report_is_the_report_commands_json(viewer, sample):
    db, _ = sample
    for query, options in [
        ("", []),
        ("?from=2024-01-02&to=2024-01-04", ["--from", "2024-01-02", "--to", "2024-01-04"]),
        ("?account=C200", ["--account", "C200"]),
        ("?top=1&limit=2", ["--top", "1", "--limit", "2"]),
        ("?limit=0&to=2024-01-03", ["--limit", "0", "--to", "2024-01-03"]),
    ]:
        expected = json.loads(run([BIN, "report", "--db", db, "--format", "json", *options]).stdout)
        assert get_json(viewer, "/api/report" + query) == expected, query
    report = get_json(viewer, "/api/report")
    assert report["header"]["entries"] == 5 and report["header"]["accounts"] == 2
    assert projected(report["transactions"]["rows"]) == ENTRIES


def test_api_accounts_history_and_health(viewer):
    assert get_json(viewer, "/api/accounts") == [
        {"account": "C100", "balance_cents": 83000, "entries": 3, "last_transaction_date": "2024-01-05 00:00:00"},
        {"account": "C200", "balance_cents": 230000, "entries": 2, "last_transaction_date": "2024-01-03 00:00:00"},
    ]
    history = get_json(viewer, "/api/history?account=C100&count=2")
    assert (history["account"], history["balance_cents"], history["entries"]) == ("C100", 83000, 3)
    assert projected(history["rows"]) == [e for e in ENTRIES if e["account"] == "C100"][-2:]  # oldest first
    assert projected(get_json(viewer, "/api/history?account=C200")["rows"]) == [e for e in ENTRIES if e["account"] == "C200"]
    health = get(viewer, "/healthz")
    assert (health.status, health.text, health.headers["Content-Type"]) == (200, "ok\n", "text/plain; charset=utf-8")


@pytest.mark.parametrize("column", ["date", "account", "type", "amount", "balance"])
def test_api_transactions_sorts_and_pages(viewer, column):
    field = {"date": "transaction_date", "account": "account", "type": "transaction_type", "amount": "amount_cents",
             "balance": "balance_cents"}[column]
    for direction in ("asc", "desc"):
        # Ties go by date, then by the order applied, in the same direction.
        expected = sorted(ENTRIES, key=lambda e: (e[field], e["transaction_date"], e["offset"]), reverse=direction == "desc")
        for page in (1, 2, 3, 4):
            got = get_json(viewer, f"/api/transactions?sort={column}&dir={direction}&size=2&page={page}")
            assert {k: got[k] for k in ("from", "to", "sort", "dir", "page", "pages", "size", "total")} == {
                "from": None, "to": None, "sort": column, "dir": direction, "page": page, "pages": 3, "size": 2, "total": 5}
            assert projected(got["rows"]) == expected[(page - 1) * 2:page * 2], (column, direction, page)


def test_api_transactions_defaults_and_periods(viewer):
    newest_first = get_json(viewer, "/api/transactions")
    assert (newest_first["sort"], newest_first["dir"], newest_first["size"], newest_first["pages"]) == ("date", "desc", 50, 1)
    assert projected(newest_first["rows"]) == ENTRIES[::-1]
    # A column alone sorts ascending, but the date newest first.
    assert get_json(viewer, "/api/transactions?sort=amount")["dir"] == "asc"
    assert get_json(viewer, "/api/transactions?sort=date")["dir"] == "desc"
    # The period's days are inclusive at both ends.
    period = get_json(viewer, "/api/transactions?from=2024-01-02&to=2024-01-04&sort=amount&dir=desc")
    assert (period["from"], period["to"], period["total"]) == ("2024-01-02", "2024-01-04", 3)
    assert [r["amount_cents"] for r in period["rows"]] == [250000, 20000, 2500]
    assert get_json(viewer, "/api/transactions?from=2024-01-06")["rows"] == []
    beyond = get_json(viewer, "/api/transactions?size=2&page=9")
    assert (beyond["page"], beyond["pages"], beyond["total"], beyond["rows"]) == (9, 3, 5, [])


def test_page_views_and_head(viewer):
    page = get(viewer, "/")
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_security_headers(page.headers)
    html = page.text
    for section in ("transactions", "heatmap", "bars", "balances", "reconciliation"):
        assert f'<section id="{section}"' in html, section
    for value in ("830.00", "2,300.00", "1,000.00", "2,500.00", "145.00", "C100 · 3 entries · 1,000.00 → 830.00",
                  "C200 · 2 entries · 2,500.00 → 2,300.00", "5 entries, 2 accounts", "rows 1–5 of 5",
                  "No balance mismatches and no negative balances."):
        assert value in html, value
    assert 'id="desk"' not in html and 'href="#desk"' not in html  # the desk is off
    # The only script and style sheet are inline and allowed by their hashes; nothing else inline is.
    policy = page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1 and html.count("<script") == 1 and html.count("<style") == 1

    def digest(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
    assert f"script-src {digest(scripts[0])};" in policy and f"style-src {digest(styles[0])};" in policy, policy
    assert not re.search(r"\son[a-z]+=", html) and " style=" not in html and "javascript:" not in html
    # The views fragment the script swaps in: the same views, at the version the event stream announces.
    views = get(viewer, "/views?sort=amount&dir=desc")
    assert views.status == 200 and views.text.startswith('<div id="views" data-version="')
    assert "<html" not in views.text and "<script" not in views.text
    assert "sorted by amount descending" in views.text
    stream = EventStream(viewer.port)
    try:
        first = stream.wait_for(lambda events: events)[0]
    finally:
        stream.close()
    assert f'data-version="{first["version"]}"' in views.text
    assert (first["entries"], first["accounts"]) == (5, 2)
    # HEAD: the same head, no body.
    head = request(viewer, "HEAD", "/")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(page.body))


def test_page_links_sort_and_page(viewer):
    html = get(viewer, "/?sort=amount&dir=desc&size=2&page=2").text
    assert "rows 3–4 of 5" in html and "Page 2 of 3" in html
    # Sorting links keep the page size and go back to page 1; the current column's link reverses it.
    assert 'aria-sort="descending"><a href="/?sort=amount&amp;dir=asc&amp;size=2#transactions">Amount ▼</a>' in html
    assert '<a href="/?sort=balance&amp;dir=asc&amp;size=2#transactions">Balance</a>' in html
    assert '<a href="/?size=2#transactions">Date</a>' in html  # newest first is the default
    assert 'href="/?sort=amount&amp;dir=desc&amp;size=2#transactions" rel="first"' in html
    assert 'href="/?sort=amount&amp;dir=desc&amp;page=3&amp;size=2#transactions" rel="next"' in html
    table = html[html.index("<tbody>"):html.index("</tbody>")]
    rows = re.findall(r'<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td class="num">([^<]*)</td>', table)
    assert rows == [("2024-01-03 00:00:00", "C200", "withdrawal", "200.00"),
                    ("2024-01-05 00:00:00", "C100", "withdrawal", "145.00")]


# ---------------------------------------------------------------------------------------------------------------------
# Refusals: parameters, paths, methods, sizes, malformed requests

@pytest.mark.parametrize("query, message", [
    ("from=2024-13-01", "from must be a date YYYY-MM-DD, got '2024-13-01'"),
    ("to=2024-02-30", "to must be a date YYYY-MM-DD, got '2024-02-30'"),
    ("from=2024-1-1", "from must be a date YYYY-MM-DD, got '2024-1-1'"),
    ("from=2024-01-05&to=2024-01-01", "from 2024-01-05 is after to 2024-01-01"),
    ("sort=colour", "sort must be one of date, account, type, amount, balance, got 'colour'"),
    ("sort=amount&dir=up", "dir must be asc or desc, got 'up'"),
    ("page=0", "page must be a whole number from 1 to 2147483647, got '0'"),
    ("size=0", "size must be a whole number from 1 to 500, got '0'"),
    ("size=501", "size must be a whole number from 1 to 500, got '501'"),
    ("size=ten", "size must be a whole number from 1 to 500, got 'ten'"),
    ("top=201", "top must be a whole number from 0 to 200, got '201'"),
    ("account=" + "x" * 201, "account is longer than 200 bytes"),
])
def test_bad_parameters_are_400_with_the_reason(viewer, query, message):
    for path in ("/", "/views", "/api/transactions", "/api/report"):
        reply = get(viewer, f"{path}?{query}")
        assert reply.status == 400, (path, reply)
        assert_security_headers(reply.headers)
        if path.startswith("/api/"):
            assert reply.headers["Content-Type"] == "application/json"
            assert reply.json() == {"error": message, "status": 400}
        else:
            assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert reply.text == message + "\n"


def test_bad_parameters_of_report_and_history(viewer):
    for path, message in [
        ("/api/report?limit=-1", "limit must be a whole number from 0 (all) to 10000, got '-1'"),
        ("/api/history", "account is required: /api/history?account=NAME"),
        ("/api/history?account=C100&count=0", "count must be a whole number from 1 to 1000, got '0'"),
    ]:
        reply = get(viewer, path)
        assert (reply.status, reply.json()) == (400, {"error": message, "status": 400}), path
    unknown = get(viewer, "/api/history?account=C999")
    assert (unknown.status, unknown.json()) == (404, {"error": "unknown account 'C999'", "status": 404})


def test_unknown_paths_404_and_wrong_methods_405(viewer):
    for path in ("/nope", "/index.html", "/views/", "/API/report", "/api/nope", "/api/report/x"):
        reply = get(viewer, path)
        assert reply.status == 404, (path, reply)
        assert_security_headers(reply.headers)
        expected = f"no such page: {path} — the dashboard is at /, its data at /api/report"
        assert (reply.json()["error"] if path.startswith("/api/") else reply.text.rstrip("\n")) == expected
    for method, path, allowed in [("POST", "/", "GET, HEAD"), ("PUT", "/api/report", "GET, HEAD"),
                                  ("DELETE", "/events", "GET, HEAD"), ("POST", "/healthz", "GET, HEAD"),
                                  ("GET", "/desk/transaction", "POST"), ("GET", "/desk/login", "POST")]:
        reply = request(viewer, method, path)
        assert reply.status == 405, (method, path, reply)
        assert reply.headers["Allow"] == allowed
        assert_security_headers(reply.headers)


def test_desk_routes_are_404_when_the_desk_is_off(viewer):
    for path in ("/desk/login", "/desk/logout", "/desk/transaction", "/api/desk/transactions"):
        reply = request(viewer, "POST", path, form={"token": TOKEN, "account": "C100", "type": "deposit", "amount": "1"},
                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status == 404, (path, reply)
    assert get(viewer, "/desk/panel?account=C100").status == 404
    assert 'id="desk-panel"' not in get(viewer, "/?desk=C100").text


def test_oversized_target_414_and_body_413(viewer):
    port = viewer.port
    # The target: 8 KiB is served, a byte more is refused and the connection closed.
    at_limit = b"/?" + b"a" * (8 * 1024 - 2)
    answer, _ = raw_exchange(port, b"GET " + at_limit + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200
    answer, closed = raw_exchange(port, b"GET " + at_limit + b"a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status_of(answer) == 414 and closed
    assert answer.endswith(b"the request target is longer than 8192 bytes\n")
    assert_security_headers(http.client.parse_headers(_header_stream(answer)))
    # The body, by Content-Length: 16 KiB is read (and, the desk being off, answered 404); a byte more is refused at
    # once, before any of it is sent.
    body = b"a" * (16 * 1024)
    answer, _ = raw_exchange(port, b"POST /desk/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                   b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16384\r\n\r\n" + body)
    assert status_of(answer) == 404
    answer, closed = raw_exchange(port, b"POST /desk/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 16385\r\n\r\n")
    assert status_of(answer) == 413 and closed
    assert answer.endswith(b"the request body is larger than 16384 bytes\n")
    # The body, chunked (no length announced): refused once more than 16 KiB arrived.
    answer, closed = raw_exchange(port, b"POST /desk/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        b"4001\r\n" + b"a" * 0x4001 + b"\r\n")
    assert status_of(answer) == 413 and closed


def _header_stream(response_bytes):
    """The header lines of a raw response as a file for http.client.parse_headers."""
    head = response_bytes.split(b"\r\n\r\n", 1)[0]
    return io.BytesIO(head.split(b"\r\n", 1)[1] + b"\r\n\r\n")


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32) + b"\r\n\r\n",  # a TLS ClientHello's start
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
], ids=["not-http", "version", "header-without-colon", "tls", "huge-header"])
def test_malformed_requests_get_a_4xx_not_a_hang(viewer, data):
    with socket.create_connection(("127.0.0.1", viewer.port), timeout=5) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, head, _ = read_head(sock)
    assert 400 <= status < 500, head
    # The server still serves.
    assert get(viewer, "/healthz").status == 200


def test_malformed_request_connection_is_closed(viewer):
    """A malformed request gets its 400 and the connection is closed at once, not left to the idle timeout."""
    with socket.create_connection(("127.0.0.1", viewer.port), timeout=5) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        status, head, _ = read_head(sock)
        assert status == 400 and "Connection: close" in head
        sock.settimeout(2)
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
    assert closed, "still open 2 s after answering `Connection: close`"


def test_malformed_request_reply_has_the_security_headers(viewer):
    with socket.create_connection(("127.0.0.1", viewer.port), timeout=5) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        status, head, _ = read_head(sock)
    assert status == 400
    assert_security_headers(http.client.parse_headers(_header_stream(head.encode() + b"\r\n\r\n")))


def test_head_of_the_event_stream_ends(viewer):
    """HEAD /events answers the stream's head and ends there: the connection serves the next request."""
    with socket.create_connection(("127.0.0.1", viewer.port), timeout=5) as sock:
        sock.sendall(b"HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, head, rest = read_head(sock)
        assert status == 200 and "Content-Type: text/event-stream" in head and rest == b""
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, rest = read_head(sock, timeout=3)
        assert status == 200 and rest == b"ok\n"


# ---------------------------------------------------------------------------------------------------------------------
# Live: the event stream, many viewers, the connection cap

def test_event_stream_announces_applied_transactions(live, dashboard):
    stream = EventStream(dashboard.port)
    try:
        first = stream.wait_for(lambda events: events)[0]
        assert "HTTP/1.1 200" in stream.head and "Content-Type: text/event-stream" in stream.head
        assert_security_headers(http.client.parse_headers(_header_stream(stream.head.encode() + b"\r\n\r\n")))
        assert stream.body.startswith(b"retry: 2000\n\nevent: ledger\n")
        assert (first["entries"], first["accounts"]) == (5, 2)
        # A new account whose name needs escaping in HTML.
        name = "<b>Zoë & \"Co\"</b>'"
        live.add(name, 12345)
        events = stream.wait_for(lambda events: events[-1]["entries"] == 6, timeout=10)
        assert events[-1] == {"version": events[-1]["version"], "entries": 6, "accounts": 3}
        assert events[-1]["version"] > first["version"]
        views = get(dashboard, "/views").text
        assert f'data-version="{events[-1]["version"]}"' in views
        assert "&lt;b&gt;Zoë &amp; &quot;Co&quot;&lt;/b&gt;&#39;" in views and name not in views
        assert "123.45" in views
        assert {"account": name, "balance_cents": 12345} in [
            {k: a[k] for k in ("account", "balance_cents")} for a in get_json(dashboard, "/api/accounts")]
    finally:
        stream.close()


def test_a_hundred_viewers_follow_the_ledger(live, dashboard):
    """100 event streams and 100 page loads at once: all served, every stream gets the next event."""
    selector = selectors.DefaultSelector()
    streams = [EventStream(dashboard.port) for _ in range(100)]
    pages, errors = [], []

    def load_page():
        try:
            reply = get(dashboard, "/")
            pages.append((reply.status, "830.00" in reply.text))
        except Exception as error:  # reported below
            errors.append(repr(error))

    try:
        threads = [threading.Thread(target=load_page) for _ in range(100)]
        for thread in threads:
            thread.start()
        for stream in streams:
            stream.sock.setblocking(False)
            selector.register(stream.sock, selectors.EVENT_READ, stream)

        def pump(done, timeout):
            deadline = time.monotonic() + timeout
            while not done() and time.monotonic() < deadline:
                for key, _ in selector.select(0.1):
                    try:
                        key.data.feed(key.fileobj.recv(65536))
                    except BlockingIOError:
                        pass
            return done()

        assert pump(lambda: all(s.events() for s in streams), 20), "not every stream got its first event"
        for thread in threads:
            thread.join(30)
        assert not errors and pages == [(200, True)] * 100, (errors, pages[:3])
        version = max(s.events()[-1]["version"] for s in streams)
        started = time.monotonic()
        live.add("C200", -5000)
        assert pump(lambda: all(s.events()[-1]["version"] > version for s in streams), 10), \
            f"{sum(s.events()[-1]['version'] > version for s in streams)} of 100 streams got the new event"
        assert {s.events()[-1]["entries"] for s in streams} == {6}
        elapsed = time.monotonic() - started
        rss = rss_kib(dashboard.process)
        log_measure("viewers", f"report --serve with 100 event streams after 100 page loads: VmRSS {rss} KiB; "
                               f"new transaction reached all 100 streams {elapsed:.2f} s after produce")
        assert rss < 200 * 1024
    finally:
        selector.close()
        for stream in streams:
            stream.close()


def test_connections_beyond_the_cap_are_refused_and_their_slots_come_back(viewer):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        if hard != resource.RLIM_INFINITY and hard < 1200:
            pytest.skip(f"needs 1200 file descriptors (hard limit {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    held = u.open_sockets(viewer.port, 1024)
    try:
        # Every one admitted: the last answers.
        held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_head(held[-1])[0] == 200
        # The 1025th is closed at once, without an answer.
        answer, closed = raw_exchange(viewer.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=5)
        assert (answer, closed) == (b"", True)
        u.close_sockets(held[:10])

        def healthy():
            answer, _ = raw_exchange(viewer.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return answer.startswith(b"HTTP/1.1 200 ")
        u.wait_until(healthy, timeout=10, message="a slot freed by closing connections")
    finally:
        u.close_sockets(held)
    u.wait_until(lambda: get(viewer, "/healthz").status == 200, timeout=10, message="the dashboard after the storm")


# ---------------------------------------------------------------------------------------------------------------------
# The desk

def test_desk_needs_a_token_of_16_characters(sample, data_dir):
    db, _ = sample
    command = [BIN, "report", "--db", db, "--serve", "127.0.0.1:0", "--desk", "-b", "127.0.0.1:1"]
    environment = {k: v for k, v in os.environ.items() if k != "LEDGERSTREAM_DESK_TOKEN"}
    short_file = os.path.join(data_dir, "short.token")
    with open(short_file, "w") as file:
        file.write("  0123456789abcde  \n")  # 15 characters once trimmed
    for extra, env, message in [
        ([], environment, "--desk needs a token, so that only agents who have it can enter transactions: set "
                          "LEDGERSTREAM_DESK_TOKEN or give --desk-token-file FILE"),
        ([], {**environment, "LEDGERSTREAM_DESK_TOKEN": "tooshort"},
         "the desk token must be at least 16 characters (got 8)"),
        (["--desk-token-file", short_file], environment, "the desk token must be at least 16 characters (got 15)"),
        (["--desk-token-file", os.path.join(data_dir, "none")], environment, "cannot read --desk-token-file"),
    ]:
        result = run(command + extra, env=env, check=False, timeout=30)
        assert result.returncode == 64, (extra, result)
        assert message in result.stderr, (extra, result.stderr)
        assert "listening on" not in result.stdout
    without_serve = run([BIN, "report", "--db", db, "--desk"], check=False, timeout=30)
    assert without_serve.returncode == 64 and "--desk and --desk-token-file go with --serve" in without_serve.stderr


def login(server, token=TOKEN, **headers):
    """Logs in for JSON: (reply, cookie header value or None, csrf or None)."""
    reply = request(server, "POST", "/desk/login", form={"token": token},
                    headers={"Accept": "application/json", **headers})
    cookie = reply.headers.get("Set-Cookie")
    session = cookie.split(";", 1)[0] if cookie else None
    return reply, session, reply.json().get("csrf") if reply.status == 200 else None


def transact(server, account="C100", type="deposit", amount="1.00", csrf=None, session=None, bearer=None, accept_json=True,
             extra_headers=None, as_json=False):
    fields = {"account": account, "type": type, "amount": amount}
    if csrf is not None:
        fields["csrf"] = csrf
    headers = dict(extra_headers or {})
    if session:
        headers["Cookie"] = session
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    if accept_json:
        headers["Accept"] = "application/json"
    if as_json:
        return request(server, "POST", "/desk/transaction", payload=fields, headers=headers)
    return request(server, "POST", "/desk/transaction", form=fields, headers=headers)


def test_desk_refusals_produce_nothing(desk, live):
    # Not authorised.
    anonymous = transact(desk)
    assert (anonymous.status, anonymous.json()) == (401, {
        "error": "log in to the desk first (or send Authorization: Bearer with the desk token)", "status": 401})
    assert transact(desk, bearer="not-the-token-at-all").status == 401
    assert transact(desk, extra_headers={"Authorization": f"Basic {TOKEN}"}).status == 401
    wrong, wrong_session, _ = login(desk, token="not-the-token-at-all")
    assert (wrong.status, wrong.json()["error"], wrong_session) == (401, "wrong desk token", None)
    # Logged in: an HttpOnly, SameSite=Strict session cookie and an anti-forgery token.
    reply, session, csrf = login(desk)
    assert reply.status == 200 and re.fullmatch(r"[0-9a-f]{64}", csrf)
    cookie = reply.headers["Set-Cookie"]
    assert re.match(r"ledgerstream_desk=[0-9a-f]{64}; ", cookie)
    assert {"Path=/", "HttpOnly", "SameSite=Strict"} <= set(cookie.split("; "))
    # A login form posted without the script: 303 back to the desk, with the cookie.
    plain = request(desk, "POST", "/desk/login", form={"token": TOKEN})
    assert (plain.status, plain.headers["Location"]) == (303, "/#desk")
    assert plain.headers["Set-Cookie"].startswith("ledgerstream_desk=")
    assert transact(desk, session=session).status == 403  # the cookie alone
    forged = transact(desk, session=session, csrf="0" * 64)
    assert (forged.status, forged.json()["error"]) == (
        403, "refused: the form's anti-forgery token does not match (reload the page)")
    # From another site, even with cookie and token; a form posted without the script gets the reason as text.
    cross = transact(desk, session=session, csrf=csrf, extra_headers={"Origin": "http://evil.example"}, accept_json=False)
    assert (cross.status, cross.text) == (403, "refused: the request came from http://evil.example, not from this dashboard\n")
    fetched = transact(desk, session=session, csrf=csrf, extra_headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status == 403
    assert login(desk, Origin="http://evil.example")[0].status == 403
    # Authorised, but refused with the shell's own words (status 422), by bearer and by cookie + token alike.
    for auth in ({"bearer": TOKEN}, {"session": session, "csrf": csrf}, {"session": session, "csrf": None,
                                                                        "extra_headers": {"X-CSRF-Token": csrf}}):
        for type, amount, message in [
            ("deposit", "abc", NOT_AN_AMOUNT.format("abc")),
            ("deposit", "", NOT_AN_AMOUNT.format("")),
            ("deposit", "0", "the amount must be greater than zero (got 0)"),
            ("deposit", "1.234", "'1.234' has more than two decimals (cents are the smallest unit)"),
            ("withdrawal", "5000", "refused: withdrawing 5,000.00 would take C100 below zero (balance 830.00)"),
        ]:
            reply = transact(desk, type=type, amount=amount, **auth)
            assert reply.status == 422, (auth, amount, reply)
            assert reply.json() == {"outcome": "refused", "message": message, "note": None, "balance_cents": None}
    # Requests that are not transactions at all.
    unknown = transact(desk, account="C999", bearer=TOKEN)
    assert (unknown.status, unknown.json()["error"]) == (404, "unknown account 'C999'")
    assert transact(desk, type="steal", bearer=TOKEN).status == 400
    assert transact(desk, amount=5, bearer=TOKEN, as_json=True).status == 400  # amounts are decimal strings
    # The scripts' route answers JSON whatever the client accepts, refusals included.
    scripted = request(desk, "POST", "/api/desk/transactions", form={"account": "C999", "type": "deposit", "amount": "1"},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert (scripted.status, scripted.json()) == (404, {"error": "unknown account 'C999'", "status": 404})
    scripted = request(desk, "POST", "/api/desk/transactions", form={"account": "C200", "type": "withdrawal",
                                                                    "amount": "2300.01"},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert (scripted.status, scripted.json()["message"]) == (
        422, "refused: withdrawing 2,300.01 would take C200 below zero (balance 2,300.00)")
    text = request(desk, "POST", "/desk/transaction", body="deposit 5", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"})
    assert text.status == 415
    # The panel needs the session.
    assert get(desk, "/desk/panel?account=C100").status == 401
    panel = get(desk, "/desk/panel?account=C100", headers={"Cookie": session})
    assert panel.status == 200 and '<strong id="desk-balance">830.00</strong>' in panel.text
    assert f'name="csrf" value="{csrf}"' in panel.text
    # Nothing reached the topic, nothing changed.
    assert live.records() == 0
    assert {a["account"]: a["balance_cents"] for a in get_json(desk, "/api/accounts")} == BALANCES


def test_desk_applies_deposits_and_withdrawals(desk, live):
    before = get_json(desk, "/api/report")  # renders (and caches) the views of this version
    # A script with the bearer token, JSON both ways.
    deposit = transact(desk, amount="100.25", bearer=TOKEN, as_json=True)
    assert deposit.status == 200, deposit
    assert deposit.json() == {"outcome": "applied", "message": "deposit of 100.25 applied — C100 balance 930.25",
                              "note": None, "balance_cents": 93025}
    # A page's script: the session cookie and its anti-forgery token.
    _, session, csrf = login(desk)
    withdrawal = transact(desk, type="withdrawal", amount="30", session=session, csrf=csrf)
    assert withdrawal.status == 200, withdrawal
    assert withdrawal.json() == {"outcome": "applied", "message": "withdrawal of 30.00 applied — C100 balance 900.25",
                                 "note": None, "balance_cents": 90025}
    # A form posted without the script: 303 back to the desk, the outcome shown once on the next page.
    plain = transact(desk, amount="0.75", session=session, csrf=csrf, accept_json=False)
    assert (plain.status, plain.headers["Location"]) == (303, "/?desk=C100#desk")
    page = get(desk, "/?desk=C100", headers={"Cookie": session}).text
    assert ('<p id="desk-message" role="status" aria-live="polite" class="applied">'
            "deposit of 0.75 applied — C100 balance 901.00</p>") in page
    assert '<strong id="desk-balance">901.00</strong>' in page
    assert "deposit of 0.75 applied" not in get(desk, "/?desk=C100", headers={"Cookie": session}).text
    # The ledger agrees: balances, history (stated balances matched: no reconciliation issue), the report.
    accounts = {a["account"]: a for a in get_json(desk, "/api/accounts")}
    assert (accounts["C100"]["balance_cents"], accounts["C100"]["entries"]) == (90100, 6)
    history = get_json(desk, "/api/history?account=C100&count=3")["rows"]
    assert [(r["transaction_type"], r["amount_cents"], r["balance_cents"], r["stated_balance_cents"], r["topic"])
            for r in history] == [("deposit", 10025, 93025, 93025, live.topic), ("withdrawal", 3000, 90025, 90025, live.topic),
                                  ("deposit", 75, 90100, 90100, live.topic)]
    report = u.wait_until(lambda: (r := get_json(desk, "/api/report"))["header"]["entries"] == 8 and r,
                          timeout=5, message="/api/report showing the three transactions")
    assert report["header"]["entries"] != before["header"]["entries"]
    assert report["reconciliation"]["balance_mismatches"] == 0 and report["reconciliation"]["negative_balances"] == 0
    assert live.records() == 3
    # Logging out ends the session: the cookie is cleared and no longer accepted.
    logout = request(desk, "POST", "/desk/logout", form={"csrf": csrf}, headers={"Cookie": session})
    assert logout.status == 303 and "Max-Age=0" in logout.headers["Set-Cookie"]
    assert transact(desk, session=session, csrf=csrf).status == 401


def test_desk_logins_are_rate_limited(desk):
    for attempt in range(10):
        assert login(desk, token=f"wrong-token-number-{attempt}")[0].status == 401, attempt
    blocked = login(desk, token="wrong-token-number-10")[0]
    assert (blocked.status, blocked.json()["error"]) == (429, "too many failed logins: wait a minute")
    # For everyone, the right token too, until the minute is over.
    assert login(desk)[0].status == 429


def test_desk_bearer_guesses_are_rate_limited(desk):
    """Wrong bearer tokens count towards the login's limit: after 10 in a minute even the right one waits."""
    for attempt in range(10):
        assert transact(desk, bearer=f"wrong-token-number-{attempt}", amount="abc").status == 401, attempt
    assert transact(desk, bearer="wrong-token-number-10", amount="abc").status == 429
    assert transact(desk, bearer=TOKEN, amount="abc").status == 429


@pytest.fixture
def desk_without_broker(sample, data_dir, monkeypatch):
    """The desk on, its cluster unreachable (nothing listens on port 1)."""
    db = os.path.join(data_dir, "ledger.db")
    copy_ledger(sample[0], db)
    monkeypatch.setenv("LEDGERSTREAM_DESK_TOKEN", TOKEN)
    server = serve(db, "--desk", "-b", "127.0.0.1:1", "--apply-timeout", "3", name="desk")
    yield server
    server.stop()


def test_desk_without_a_broker_answers_503_at_once(desk_without_broker):
    started = time.monotonic()
    reply = transact(desk_without_broker, account="C200", amount="5", bearer=TOKEN)
    assert time.monotonic() - started < 10
    assert reply.status == 503, reply
    # It says what is unknown and why, without blaming the ledger (which reads fine).
    error = reply.json()["error"]
    assert error.startswith("the deposit was not confirmed: broker not reachable at 127.0.0.1:1"), error
    assert error.endswith("the balance shown on the desk says whether it arrived"), error
    # Reading still works, and nothing changed.
    assert {a["account"]: a["balance_cents"] for a in get_json(desk_without_broker, "/api/accounts")} == BALANCES


# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL

def test_postgres_ledger_is_served_like_report_json(postgres, module_broker, sample):
    _, topic = sample
    url = postgres.url()
    run([BIN, "consume", topic, "--sink", "postgres", "--db", url, "-e", "-b", module_broker.address])
    server = Server(["report", "--db", url, "--serve", "127.0.0.1:0"], None, name="dashboard-postgres").start()
    try:
        for query, options in [("", []), ("?from=2024-01-03&account=C100", ["--from", "2024-01-03", "--account", "C100"])]:
            expected = json.loads(run([BIN, "report", "--db", url, "--format", "json", *options]).stdout)
            assert get_json(server, "/api/report" + query) == expected, query
        assert [(a["account"], a["balance_cents"]) for a in get_json(server, "/api/accounts")] == list(BALANCES.items())
        page = get(server, "/?sort=balance&dir=desc")
        assert page.status == 200
        assert "C100 · 3 entries · 1,000.00 → 830.00" in page.text and "2,300.00" in page.text
        ranked = get_json(server, "/api/transactions?sort=balance&dir=desc&size=2&page=2")
        assert [r["balance_cents"] for r in ranked["rows"]] == [100000, 97500]  # 2,500, 2,300 | 1,000, 975 | 830
    finally:
        server.stop()


def test_postgres_restart_is_ridden_through(postgres, module_broker, sample):
    """The server stopping answers 503 saying so (it used to hang every request and the shutdown: postgres-nio waits
    forever on a query written to a closed connection); once it is back the dashboard reconnects by itself, and
    SIGTERM stops it promptly either way."""
    _, topic = sample
    url = postgres.url()
    run([BIN, "consume", topic, "--sink", "postgres", "--db", url, "-e", "-b", module_broker.address])
    server = Server(["report", "--db", url, "--serve", "127.0.0.1:0"], None, name="dashboard-postgres").start()
    try:
        assert get(server, "/api/accounts").status == 200
        postgres.stop(mode="fast")  # a clean stop: the test server does not sync, so an immediate one may lose the ledger
        down = get(server, "/api/accounts")
        assert down.status == 503, down
        assert "cannot reach PostgreSQL" in down.json()["error"]
        postgres.start()
        u.wait_until(lambda: get(server, "/api/accounts").status == 200, timeout=15, message="the dashboard reconnects")
        assert [(a["account"], a["balance_cents"]) for a in get_json(server, "/api/accounts")] == list(BALANCES.items())
        postgres.stop()
        started = time.monotonic()
        server.process.send_signal(15)
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        server.stop()


def test_report_follow_on_postgres_stops_when_asked_after_the_server_went(postgres, module_broker, sample):
    _, topic = sample
    url = postgres.url()
    run([BIN, "consume", topic, "--sink", "postgres", "--db", url, "-e", "-b", module_broker.address])
    follow = subprocess.Popen([BIN, "report", "--db", url, "--follow", "--format", "json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(follow.stdout.readline())["header"]["entries"] == 5
        postgres.stop()
        time.sleep(1.2)  # at least two polls of the change counter on the closed connection
        follow.send_signal(15)
        follow.wait(timeout=10)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()


def test_a_loopback_dashboard_answers_to_loopback_names_only(viewer):
    """DNS rebinding: a page whose name an attacker re-points at 127.0.0.1 reaches the server with its own name in
    Host; the server answers to 127.0.0.1, localhost and [::1] only."""
    for host in ("127.0.0.1", "localhost", f"127.0.0.1:{viewer.port}"):
        answer, _ = raw_exchange(viewer.port, f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200"), (host, answer[:200])
    answer, _ = raw_exchange(viewer.port, b"GET /api/accounts HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 421"), answer[:200]
    assert b"answers to 127.0.0.1, [::1], localhost only" in answer



def test_a_client_that_does_not_read_gets_no_more_answers(sample):
    """Requests pipelined by a client that never reads its answers are held back, not answered into memory: the
    server's RSS stays flat while thousands of page requests wait, and it answers them once the client reads."""
    server = serve(sample[0])
    try:
        get(server, "/")  # rendered and cached
        before = rss_kib(server.process)
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.setblocking(False)
            sent = 0
            deadline = time.monotonic() + 3
            while sent < 4000 and time.monotonic() < deadline:
                try:
                    sock.send(request)
                    sent += 1
                except BlockingIOError:
                    time.sleep(0.01)
            time.sleep(1.0)
            grown = rss_kib(server.process) - before
            page = len(get(server, "/").body)
            # Answered into memory, the pages would take sent × page bytes (over 30 MB for 2,000 requests).
            assert sent >= 500, sent
            assert grown < 16 * 1024, (sent, page, grown)
            # Reading again, the client gets its answers.
            sock.setblocking(True)
            sock.settimeout(10)
            received = b""
            while received.count(b"HTTP/1.1 200") < 50:
                chunk = sock.recv(1 << 20)
                assert chunk, "closed before answering"
                received += chunk
    finally:
        server.stop()
