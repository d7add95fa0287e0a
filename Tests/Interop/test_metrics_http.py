"""The operations HTTP endpoint's edges, over raw sockets against a real broker with `--metrics-listener`: keep-alive,
HEAD, oversized headers and bodies, garbage, the connection cap, and that none of it stops the endpoint or the Kafka
listener from serving."""
import socket
import time

import pytest

import interop_util as u

MAX_CONNECTIONS = 64


@pytest.fixture
def metrics_broker(start_broker):
    broker = start_broker(extra=["--metrics-listener", "127.0.0.1:0"])
    host, port = u.metrics_url(broker.log).removeprefix("http://").rsplit(":", 1)
    broker.metrics = (host, int(port))
    return broker


def read_response(sock):
    """One HTTP/1.1 response: (status, headers, body), reading exactly Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def request(address, raw, timeout=10):
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_keep_alive_head_and_content_type(metrics_broker):
    with socket.create_connection(metrics_broker.metrics, timeout=10) as sock:
        for _ in range(3):  # several requests on one connection
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = read_response(sock)
            assert status == 200 and headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert b"# TYPE process_resident_memory_bytes gauge" in body
        # HEAD: a Content-Length but no body, so read only the head; the next answer must follow it directly.
        sock.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n")
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[:1] == (200,)
    status, headers, _ = request(metrics_broker.metrics, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert status == 200 and headers.get("connection") == "close"


def test_bad_requests_are_refused_and_the_endpoint_keeps_serving(metrics_broker):
    address = metrics_broker.metrics
    # A header block far beyond any real scraper's: refused, not buffered without bound.
    huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * (1 << 20) + b"\r\n\r\n"
    with socket.create_connection(address, timeout=10) as sock:
        try:
            sock.sendall(huge)
            status, _, _ = read_response(sock)
            assert status in (400, 431)
        except (ConnectionError, BrokenPipeError):
            pass  # closed without an answer: also a refusal
    # A large body on a path that takes none.
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
        try:
            sock.sendall(b"x" * (1 << 20))
        except (ConnectionError, BrokenPipeError):
            pass
        status, _, _ = read_response(sock)
        assert status in (405, 413)
    # Not HTTP at all.
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"\x00\x00\x00\x10not http at all\r\n\r\n")
        try:
            status, _, _ = read_response(sock)
            assert status == 400
        except ConnectionError:
            pass
    assert request(address, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200


def test_connections_beyond_the_cap_are_closed_and_kafka_keeps_serving(metrics_broker):
    address = metrics_broker.metrics
    sockets = [socket.create_connection(address, timeout=10) for _ in range(MAX_CONNECTIONS + 20)]
    try:
        time.sleep(0.5)
        closed = sum(1 for sock in sockets if closed_by_peer(sock, timeout=0.05))
        assert closed >= 20, f"only {closed} of {len(sockets)} connections were refused"
        # The Kafka listener is not affected by a flood on the metrics port (this raises if the broker does not answer).
        u.kp_create_topic(metrics_broker.address, u.uniq("flood"))
    finally:
        u.close_sockets(sockets)
    # Once they are gone the endpoint serves again.
    deadline = time.time() + 10
    while True:
        try:
            if request(address, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200:
                break
        except ConnectionError:
            pass
        assert time.time() < deadline
        time.sleep(0.1)
