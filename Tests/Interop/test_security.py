"""Security of `ledgerstream broker` with real clients: TLS (SSL listeners, PEM keystores, encrypted keys, mutual TLS),
SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; users created with admin clients and with `ledgerstream user`), ACLs
(AclAuthorizer / StandardAuthorizer, super users, literal and prefixed patterns, DENY over ALLOW, group READ, topic
visibility), KIP-368 re-authentication, and hand-encoded hostile input on the secured ports.

Clients: kcat (Debian, librdkafka 2.0.2), confluent-kafka 2.16.1, kafka-python 3.0.12, aiokafka 0.14.0 and
ledgerstream's own CLI, all with default settings apart from what security needs. Keys and certificates are made with
openssl at test time in a temporary directory (security_util.make_pki).

Brokers (module scope, stopped by PID when the module is done; tests use their own topics, users and groups):
* open_broker: PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners, PLAIN + SCRAM, no authorizer;
* mtls_broker: SSL with ssl.client.auth=required and a SASL_PLAINTEXT admin listener, ACLs on;
* acl_broker: SASL_PLAINTEXT (PLAIN users) and PLAINTEXT (User:ANONYMOUS), ACLs on, super.users=User:admin.
Tests that need other broker settings start their own broker (stopped by PID at teardown).
"""
import asyncio
import os
import collections
import logging
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import interop_util as u
import security_util as su
from conftest import BIN, REPO, Server
from interop_util import KCAT, RawConnection, Reader, i32, string
from security_util import Sec

pytestmark = pytest.mark.timeout(120)

PLAIN_USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret",
               "dave": "dave-secret", "root": "root-secret"}
SCRAM_USERS = {"SCRAM-SHA-256": ("scram256", "scram256-secret"), "SCRAM-SHA-512": ("scram512", "scram512-secret")}
ALL_LISTENERS = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0"
ACL_AUTHORIZER = "kafka.security.authorizer.AclAuthorizer"
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
CLIENT_PRINCIPAL = f"User:{su.CLIENT_DN}"

# Kafka error codes
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="module")
def pki():
    """CA, server cert (+ encrypted-key variant), trusted client cert CN=client,O=Bank, unrelated CA + its certs."""
    directory = tempfile.mkdtemp(prefix="ledgerstream-pki-")
    try:
        yield su.make_pki(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def broker_command(data_dir, listeners=None, overrides=None, properties_file=None):
    args = ["broker"]
    if properties_file:
        args.append(properties_file)
    if listeners:
        args += ["--listeners", listeners]
    if data_dir:
        args += ["--log-dirs", data_dir]
    args += ["--override", "group.initial.rebalance.delay.ms=0"]
    for key, value in (overrides or {}).items():
        args += ["--override", f"{key}={value}"]
    return args


class Brokers:
    """Starts brokers with security settings; stops them all (by PID) and removes their data in close()."""

    def __init__(self):
        self.started = []

    def start(self, listeners=None, overrides=None, properties_file=None, data_dir=None):
        path = data_dir or tempfile.mkdtemp(prefix="ledgerstream-interop-sec-")
        server = Server(broker_command(path, listeners, overrides, properties_file), path)
        self.started.append(server)
        server.start()
        server.listeners = su.listeners(server)
        return server

    def close(self):
        for server in self.started:
            try:
                server.stop()
            except Exception:
                server.stop(kill=True)
            finally:
                shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def brokers():
    """Function-scoped brokers for tests that need their own settings."""
    b = Brokers()
    yield b
    b.close()


def tls_overrides(pki, keystore=None):
    return {"ssl.keystore.type": "PEM", "ssl.keystore.location": keystore or pki.keystore,
            "ssl.truststore.type": "PEM", "ssl.truststore.location": pki.ca}


def crash_excerpt(server):
    """The broker's crash report, shortened: the crash line and the top frames of the crashed thread."""
    lines = server.log().splitlines()
    out = [line for line in lines if "Program crashed" in line or "Fatal error" in line]
    for i, line in enumerate(lines):
        if re.search(r"^Thread \d+ .*crashed:", line):
            out += lines[i:i + 6]
    return "\n".join(out) or "\n".join(lines[-15:])


def assert_alive(server, what=""):
    assert server.process.poll() is None, \
        f"the broker died{(' ' + what) if what else ''} (exit {server.process.returncode}):\n{crash_excerpt(server)}"


def need_listeners(server, *names):
    missing = [n for n in names if n not in server.listeners]
    assert not missing, (f"broker did not print `listener NAME on HOST:PORT (PROTOCOL)` for {missing}; "
                         f"got {server.listeners}; output:\n{server.log()[-3000:]}")
    return [server.listeners[n] for n in names]


@pytest.fixture(scope="module")
def open_broker(pki):
    """Four listeners, PLAIN users per SASL listener (listener.name.<l>.plain.sasl.jaas.config), SCRAM-SHA-256/512
    users created with kafka-python's AlterUserScramCredentials over PLAINTEXT; no authorizer."""
    b = Brokers()
    jaas = su.jaas_plain(PLAIN_USERS)
    overrides = {**tls_overrides(pki), "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                 "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
                 "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas}
    try:
        server = b.start(ALL_LISTENERS, overrides)
        addr = dict(zip(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
                        need_listeners(server, "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")))
        from kafka.admin import UserScramCredentialUpsertion
        admin = u.kp_admin(addr["PLAINTEXT"])
        try:
            result = admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion(user, mech, pw) for mech, (user, pw) in SCRAM_USERS.items()])
        finally:
            admin.close()
        assert all(err is None for err in result.values()), f"AlterUserScramCredentials failed: {result}"

        def sec(protocol, mechanism=None, user=None):
            s = Sec(protocol=protocol, ca=pki.ca if "SSL" in protocol else None)
            if mechanism == "PLAIN":
                user = user or "alice"
                s = s.but(mechanism="PLAIN", username=user, password=PLAIN_USERS[user])
            elif mechanism:
                name, pw = SCRAM_USERS[mechanism]
                s = s.but(mechanism=mechanism, username=name, password=pw)
            return s

        yield SimpleNamespace(server=server, addr=addr, sec=sec, pki=pki, plaintext=Sec())
    finally:
        b.close()


def kp_create(address, topic, partitions=1, sec=Sec()):
    admin = u.kp_admin(address, **su.kafka_python_conf(sec))
    try:
        admin.create_topics({topic: {"num_partitions": partitions, "replication_factor": 1}})
    finally:
        admin.close()


def values_for(label, n=20):
    return [f"{label}-{i:03d}" for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------------
# 1. PKI sanity (the fixture itself): what the broker tests rely on

def test_pki_certificates(pki):
    """The generated certificates are what the other tests assume: server SAN covers 127.0.0.1 and localhost, the
    client subject is CN=client,O=Bank, the unrelated CA's client cert does not verify against our CA, and the
    encrypted key really needs its password."""
    def ossl(*args):
        return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)

    san = ossl("x509", "-in", pki.server_cert, "-noout", "-ext", "subjectAltName").stdout
    assert "IP Address:127.0.0.1" in san and "DNS:localhost" in san, san
    assert ossl("verify", "-CAfile", pki.ca, pki.server_cert, pki.client_cert).returncode == 0
    assert ossl("verify", "-CAfile", pki.ca, pki.rogue_client_cert).returncode != 0
    assert "ENCRYPTED PRIVATE KEY" in open(pki.keystore_enc).read()
    assert ossl("pkey", "-in", pki.enc_key, "-passin", "pass:wrong", "-noout").returncode != 0
    assert ossl("pkey", "-in", pki.enc_key, "-passin", f"pass:{su.KEY_PASSWORD}", "-noout").returncode == 0


# ---------------------------------------------------------------------------------------------------------------------
# 2. Round trips over every secured listener, mechanism and client

ROUTES = {
    "SSL": ("SSL", None),
    "SASL_PLAINTEXT-PLAIN": ("SASL_PLAINTEXT", "PLAIN"),
    "SASL_PLAINTEXT-SCRAM-SHA-256": ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    "SASL_PLAINTEXT-SCRAM-SHA-512": ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
    "SASL_SSL-PLAIN": ("SASL_SSL", "PLAIN"),
    "SASL_SSL-SCRAM-SHA-256": ("SASL_SSL", "SCRAM-SHA-256"),
    "SASL_SSL-SCRAM-SHA-512": ("SASL_SSL", "SCRAM-SHA-512"),
}


@pytest.mark.parametrize("client", su.CLIENTS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_round_trip(open_broker, route, client):
    """Each real client produces 20 records over the secured listener and reads them back over it: every value
    arrives exactly once and in order (checked again over PLAINTEXT: the log holds exactly 20 records)."""
    protocol, mechanism = ROUTES[route]
    sec = open_broker.sec(protocol, mechanism)
    address = open_broker.addr[protocol]
    topic = u.uniq(f"rt-{client}")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    values = values_for(f"{client}-{route}")
    su.produce(client, address, sec, topic, values)
    got = su.consume(client, address, sec, topic, len(values))
    assert got == values, (f"{client} over {sec.describe()}: read back {len(got)} values "
                           f"(first differences: {[(i, a, b) for i, (a, b) in enumerate(zip(got, values)) if a != b][:3]}"
                           f"), expected {len(values)} in order")
    assert su.end_offset(open_broker.addr["PLAINTEXT"], Sec(), topic) == len(values), \
        "log end offset over PLAINTEXT differs from the number of records produced"


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
def test_metadata_advertises_the_listener_the_client_used(open_broker, protocol):
    """Metadata answered on a listener advertises that listener's address (a SASL_SSL client must not be sent to the
    PLAINTEXT port): confluent-kafka list_topics and kafka-python both see the listener's own port."""
    address = open_broker.addr[protocol]
    sec = open_broker.sec(protocol, "PLAIN" if protocol.startswith("SASL") else None)
    md = su.ck_admin(address, sec).list_topics(timeout=15)
    brokers = [(b.host, b.port) for b in md.brokers.values()]
    assert brokers == [("127.0.0.1", int(address.split(":")[1]))], \
        f"Metadata over {protocol} ({address}) advertised {brokers}"
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=address, **su.kafka_python_conf(sec))
    try:
        consumer.topics()
        nodes = [(b.host, b.port) for b in consumer._client.cluster.brokers()]
    finally:
        consumer.close()
    assert nodes == [("127.0.0.1", int(address.split(":")[1]))], f"kafka-python saw brokers {nodes} over {protocol}"


# ---------------------------------------------------------------------------------------------------------------------
# 3. Bad credentials: refused with each client's authentication error, nothing written

FAILURES = [
    ("wrong-password", "SASL_PLAINTEXT", "PLAIN"),
    ("wrong-password", "SASL_SSL", "SCRAM-SHA-256"),
    ("unknown-user", "SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("unknown-user", "SASL_SSL", "PLAIN"),
]


def expect_auth_failure(client, address, sec, topic, caplog, timeout=15, server=None):
    """Runs `client` with bad credentials: asserts it reports an authentication failure (its own error type/text)
    within `timeout` s, i.e. the broker answered SaslAuthenticate with an error rather than hanging up silently."""
    started = time.monotonic()
    if client == "kcat":
        code, stderr, elapsed = su.run_until([KCAT, "-P", "-b", address, "-t", topic, "-p", "0", *su.x_args(sec)],
                                             r"authentication", input="must-not-be-written\n", timeout=timeout)
        assert re.search(r"authentication", stderr, re.I), \
            f"kcat ({sec.describe()}) did not report an authentication error within {timeout}s (exit {code}): {stderr}"
        assert code != 0, f"kcat exited 0 with bad credentials: {stderr}"
        return stderr
    if client == "confluent":
        from confluent_kafka import KafkaError, Producer
        errors = []
        producer = Producer({"bootstrap.servers": address, **su.rdkafka_conf(sec), "error_cb": errors.append})
        producer.produce(topic, b"must-not-be-written", partition=0)
        deadline = started + timeout
        while time.monotonic() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
            producer.poll(0.1)
        producer.purge()
        producer.flush(0)
        auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
        assert auth, f"confluent-kafka ({sec.describe()}) reported no _AUTHENTICATION error in {timeout}s: {errors}"
        return str(auth[0])
    if client == "kafka-python":
        # kafka-python 3.0.12 keeps retrying the bootstrap after an authentication failure and then raises
        # KafkaTimeoutError; the SaslAuthenticationFailedError it got is in its log. It also drops a response that
        # arrives in the same read as the connection's EOF (transport._sock_recv returns the data with the error
        # and the caller discards the data), which on loopback is most of the time, since the broker, like Kafka,
        # closes right after the failure response: then it logs "socket disconnected" instead. So the evidence
        # that authentication (not the network) failed is its log or, failing that, the broker's.
        from kafka.errors import KafkaTimeoutError, SaslAuthenticationFailedError
        caplog.set_level(logging.INFO, logger="kafka")
        started_log = len(server.output) if server else 0
        with pytest.raises((SaslAuthenticationFailedError, KafkaTimeoutError)) as excinfo:
            u.kp_producer(address, bootstrap_timeout_ms=3000, **su.kafka_python_conf(sec)).close()
        text = caplog.text
        if isinstance(excinfo.value, SaslAuthenticationFailedError) or "SaslAuthenticationFailedError" in text:
            return text
        assert "Bootstrap complete" not in text, text[-2000:]
        broker_lines = [line for line in (server.output[started_log:] if server else [])
                        if re.search(r"fail", line, re.I) and re.search(r"auth", line, re.I)]
        assert broker_lines, (f"kafka-python failed ({excinfo.value!r}) with no authentication error in its log nor "
                              f"in the broker's:\n{text[-1500:]}")
        return text + "".join(broker_lines)
    if client == "aiokafka":
        from aiokafka import AIOKafkaProducer
        caplog.set_level(logging.DEBUG, logger="aiokafka")

        async def attempt():
            producer = AIOKafkaProducer(bootstrap_servers=address, request_timeout_ms=timeout * 1000,
                                        **su.aiokafka_conf(sec))
            try:
                await producer.start()
                await producer.send_and_wait(topic, b"must-not-be-written", partition=0)
            except Exception as exc:
                return exc
            finally:
                await producer.stop()
            return None

        exc = asyncio.run(attempt())
        assert exc is not None, f"aiokafka started and produced with bad credentials ({sec.describe()})"
        text = caplog.text
        assert "SaslAuthenticationFailed" in text or "SaslAuthenticationFailed" in repr(exc), \
            f"aiokafka failed ({exc!r}) without an authentication error in its log:\n{text[-2000:]}"
        return text
    raise ValueError(client)


@pytest.mark.parametrize("client", su.CLIENTS)
@pytest.mark.parametrize("case,protocol,mechanism", FAILURES, ids=["-".join(f) for f in FAILURES])
def test_bad_credentials_refused(open_broker, client, case, protocol, mechanism, caplog):
    """A wrong password or an unknown user is refused with the client's authentication error (not a timeout), and
    nothing the client tried to send reaches the log."""
    good = open_broker.sec(protocol, mechanism)
    bad = good.but(password="not-the-password") if case == "wrong-password" else good.but(username=u.uniq("mallory"))
    topic = u.uniq(f"badauth-{client}")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    started = time.monotonic()
    expect_auth_failure(client, open_broker.addr[protocol], bad, topic, caplog, server=open_broker.server)
    assert time.monotonic() - started < 20
    assert su.end_offset(open_broker.addr["PLAINTEXT"], Sec(), topic) == 0, \
        f"records reached {topic} although authentication failed"


# ---------------------------------------------------------------------------------------------------------------------
# 4. Mutual TLS

@pytest.fixture(scope="module")
def mtls_broker(pki):
    """SSL listener with ssl.client.auth=required (trusts our CA only) and a SASL_PLAINTEXT listener for the admin
    (PLAIN, plain sasl.jaas.config); ACLs on, super.users=User:admin."""
    b = Brokers()
    overrides = {**tls_overrides(pki), "ssl.client.auth": "required",
                 "sasl.enabled.mechanisms": "PLAIN", "sasl.jaas.config": su.jaas_plain(PLAIN_USERS),
                 "authorizer.class.name": ACL_AUTHORIZER, "super.users": "User:admin"}
    try:
        server = b.start("SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", overrides)
        ssl_addr, admin_addr = need_listeners(server, "SSL", "SASL_PLAINTEXT")
        admin = Sec(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="admin", password="admin-secret")
        trusted = Sec(protocol="SSL", ca=pki.ca, cert=pki.client_cert, key=pki.client_key)
        yield SimpleNamespace(server=server, ssl=ssl_addr, admin_addr=admin_addr, admin=admin, trusted=trusted,
                              pki=pki)
    finally:
        b.close()


def grant_topic(broker_addr, admin, principal, topic, operations=("WRITE", "READ", "DESCRIBE"), pattern="LITERAL"):
    su.ck_create_acls(broker_addr, admin, [su.acl(principal, op, "TOPIC", topic, pattern) for op in operations])


@pytest.mark.parametrize("client", su.CLIENTS)
def test_mtls_trusted_certificate_round_trip(mtls_broker, client):
    """With ssl.client.auth=required a client presenting a certificate signed by the trusted CA connects; its
    principal is User:CN=client,O=Bank, so ACLs granted to that principal let it produce and consume."""
    m = mtls_broker
    topic = u.uniq(f"mtls-{client}")
    su.ck_create_topics(m.admin_addr, m.admin, [topic])
    grant_topic(m.admin_addr, m.admin, CLIENT_PRINCIPAL, topic)
    su.ck_create_acls(m.admin_addr, m.admin, [su.acl(CLIENT_PRINCIPAL, "READ", "GROUP", "ck-reader-", "PREFIXED")])
    values = values_for(f"mtls-{client}")
    su.produce(client, m.ssl, m.trusted, topic, values)
    got = su.consume(client, m.ssl, m.trusted, topic, len(values))
    assert got == values, f"{client} with the trusted client certificate read back {got[:5]}... ({len(got)} values)"


def test_mtls_principal_is_the_certificate_subject(mtls_broker):
    """ACLs match the certificate's subject DN in RFC 2253 order: before any ACL the trusted certificate is denied
    (TOPIC_AUTHORIZATION_FAILED, nothing written); an ACL for User:CN=client,O=Bank lets it write; a certificate from
    the same CA with another subject (CN=admin,O=Bank, not a super user: super users are SASL's User:admin) is
    still denied."""
    from kafka.errors import TopicAuthorizationFailedError
    m = mtls_broker
    topic = u.uniq("mtls-principal")
    su.ck_create_topics(m.admin_addr, m.admin, [topic])
    conf = su.kafka_python_conf(m.trusted)
    producer = u.kp_producer(m.ssl, **conf, enable_idempotence=False, acks=1)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic, b"denied", partition=0).get(timeout=15)
    finally:
        producer.close(timeout=5)
    assert su.end_offset(m.admin_addr, m.admin, topic) == 0

    grant_topic(m.admin_addr, m.admin, CLIENT_PRINCIPAL, topic, ("WRITE",))
    described = su.ck_describe_acls(m.admin_addr, m.admin, "TOPIC", topic)
    assert [d[0] for d in described] == [CLIENT_PRINCIPAL], described
    su.produce("kafka-python", m.ssl, m.trusted, topic, ["allowed"])

    other = m.trusted.but(cert=m.pki.admin_cert, key=m.pki.admin_key)
    producer = u.kp_producer(m.ssl, **su.kafka_python_conf(other), enable_idempotence=False, acks=1)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic, b"other-subject", partition=0).get(timeout=15)
    finally:
        producer.close(timeout=5)
    assert su.end_offset(m.admin_addr, m.admin, topic) == 1, "only the allowed record may be in the log"


def expect_tls_refusal(client, address, sec, topic, caplog, timeout=8):
    """The client cannot get a working connection (handshake refused): returns what it reported."""
    if client == "kcat":
        code, stderr, elapsed = su.run_until([KCAT, "-P", "-b", address, "-t", topic, "-p", "0", *su.x_args(sec)],
                                             r"ssl|handshake|certificate|disconnect|transport|brokers are down",
                                             input="must-not-be-written\n", timeout=timeout + 5)
        assert code != 0 and stderr.strip(), f"kcat did not fail visibly (exit {code}): {stderr}"
        return stderr
    if client == "confluent":
        from confluent_kafka import Producer
        errors = []
        producer = Producer({"bootstrap.servers": address, **su.rdkafka_conf(sec), "error_cb": errors.append})
        producer.produce(topic, b"must-not-be-written", partition=0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not errors:
            producer.poll(0.1)
        producer.purge()
        producer.flush(0)
        assert errors, f"confluent-kafka ({sec.describe()}) reported no error in {timeout}s"
        return "; ".join(str(e) for e in errors)
    if client == "kafka-python":
        from kafka.errors import KafkaError
        with pytest.raises((KafkaError, OSError)) as excinfo:
            producer = u.kp_producer(address, bootstrap_timeout_ms=timeout * 1000, **su.kafka_python_conf(sec))
            try:
                producer.send(topic, b"must-not-be-written", partition=0).get(timeout=timeout)
            finally:
                producer.close(timeout=2)
        return repr(excinfo.value)
    if client == "aiokafka":
        from aiokafka import AIOKafkaProducer

        async def attempt():
            producer = AIOKafkaProducer(bootstrap_servers=address, request_timeout_ms=timeout * 1000,
                                        **su.aiokafka_conf(sec))
            try:
                await producer.start()
                await asyncio.wait_for(producer.send_and_wait(topic, b"must-not-be-written", partition=0), timeout)
            except Exception as exc:
                return exc
            finally:
                await producer.stop()
            return None

        exc = asyncio.run(attempt())
        assert exc is not None, f"aiokafka produced without a trusted client certificate ({sec.describe()})"
        return repr(exc)
    raise ValueError(client)


@pytest.mark.parametrize("client", su.CLIENTS)
@pytest.mark.parametrize("case", ["no-certificate", "untrusted-ca"])
def test_mtls_refuses_missing_or_untrusted_client_certificate(mtls_broker, client, case, caplog):
    """ssl.client.auth=required: a client without a certificate, or with one signed by an unrelated CA (same
    subject), is refused during the handshake; nothing is written; the broker keeps serving trusted clients."""
    m = mtls_broker
    topic = u.uniq(f"mtls-refused-{client}")
    su.ck_create_topics(m.admin_addr, m.admin, [topic])
    grant_topic(m.admin_addr, m.admin, CLIENT_PRINCIPAL, topic)
    sec = (m.trusted.but(cert=None, key=None) if case == "no-certificate"
           else m.trusted.but(cert=m.pki.rogue_client_cert, key=m.pki.rogue_client_key))
    expect_tls_refusal(client, m.ssl, sec, topic, caplog)
    assert su.end_offset(m.admin_addr, m.admin, topic) == 0, f"{client} wrote to {topic} with {case}"
    su.produce("confluent", m.ssl, m.trusted, topic, ["after"])
    assert su.end_offset(m.admin_addr, m.admin, topic) == 1


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_client_rejects_broker_certificate_from_untrusted_ca(open_broker, client, caplog):
    """The broker presents the configured certificate: a client that trusts only the unrelated CA refuses it
    (certificate verify failed) instead of sending anything."""
    topic = u.uniq("untrusted-broker")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    sec = Sec(protocol="SSL", ca=open_broker.pki.rogue_ca)
    caplog.set_level(logging.DEBUG, logger="kafka")
    text = expect_tls_refusal(client, open_broker.addr["SSL"], sec, topic, caplog, timeout=5)
    text += caplog.text
    assert re.search(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED", text), text[-2000:]
    assert su.end_offset(open_broker.addr["PLAINTEXT"], Sec(), topic) == 0


# ---------------------------------------------------------------------------------------------------------------------
# 4b. Keystore variants, listener names

@pytest.mark.parametrize("variant", ["encrypted-key", "inline-pem", "properties-file"])
def test_ssl_keystore_variants(brokers, pki, tmp_path, variant):
    """The broker's key and chain can come from an encrypted PKCS#8 PEM file with ssl.key.password, from PEM text in
    ssl.keystore.certificate.chain / ssl.keystore.key, or from a server.properties file given as the positional
    argument with per-listener (listener.name.ssl.*) keys; a verifying SSL client round-trips in every case."""
    if variant == "encrypted-key":
        server = brokers.start("SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
                               {**tls_overrides(pki, pki.keystore_enc), "ssl.key.password": su.KEY_PASSWORD})
    elif variant == "inline-pem":
        server = brokers.start("SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
                               {"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": pki.server_chain_pem,
                                "ssl.keystore.key": pki.server_key_pem})
    else:
        data = tmp_path / "data"
        props = tmp_path / "server.properties"
        props.write_text("\n".join([
            "listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
            f"log.dirs={data}",
            "listener.name.ssl.ssl.keystore.type=PEM",
            f"listener.name.ssl.ssl.keystore.location={pki.keystore_enc}",
            f"listener.name.ssl.ssl.key.password={su.KEY_PASSWORD}",
        ]) + "\n")
        server = brokers.start(properties_file=str(props), data_dir=str(data))
    ssl_addr, plain_addr = need_listeners(server, "SSL", "PLAINTEXT")
    topic = u.uniq(f"keystore-{variant}")
    kp_create(plain_addr, topic)
    sec = Sec(protocol="SSL", ca=pki.ca)
    su.produce("kafka-python", ssl_addr, sec, topic, ["a", "b", "c"])
    assert su.consume("confluent", ssl_addr, sec, topic, 3) == ["a", "b", "c"]


def test_wrong_key_password_stops_startup(pki, tmp_path):
    """A wrong ssl.key.password is a startup error that says what is wrong (not a broker that fails every
    handshake later)."""
    data = tmp_path / "data"
    cmd = [BIN] + broker_command(str(data), "SSL://127.0.0.1:0",
                                 {**tls_overrides(pki, pki.keystore_enc), "ssl.key.password": "wrong-password"})
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"broker kept running with a wrong ssl.key.password: {exc.stdout!r} {exc.stderr!r}")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert re.search(r"key|password|decrypt", output, re.I), f"startup error does not say what failed: {output}"


def test_custom_listener_names(brokers, pki):
    """listener.security.protocol.map maps custom names: CLIENT is SASL_SSL with its own JAAS users and keystore
    (listener.name.client.*), INTERNAL is PLAINTEXT; the broker prints both with their protocols, and a SASL_SSL
    PLAIN client round-trips on CLIENT."""
    jaas = su.jaas_plain({"admin": "admin-secret", "erin": "erin-secret"})
    server = brokers.start("INTERNAL://127.0.0.1:0,CLIENT://127.0.0.1:0", {
        "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:SASL_SSL",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.client.plain.sasl.jaas.config": jaas,
        "listener.name.client.ssl.keystore.type": "PEM",
        "listener.name.client.ssl.keystore.location": pki.keystore})
    internal, client_addr = need_listeners(server, "INTERNAL", "CLIENT")
    printed = [line for line in server.output if su.LISTENER.search(line)]
    assert any("CLIENT" in line and "(SASL_SSL)" in line for line in printed), printed
    assert any("INTERNAL" in line and "(PLAINTEXT)" in line for line in printed), printed
    topic = u.uniq("custom-listener")
    kp_create(internal, topic)
    sec = Sec(protocol="SASL_SSL", mechanism="PLAIN", username="erin", password="erin-secret", ca=pki.ca)
    su.produce("confluent", client_addr, sec, topic, ["x", "y"])
    assert su.consume("kafka-python", client_addr, sec, topic, 2) == ["x", "y"]


def test_client_auth_modes_per_listener(brokers, pki):
    """Three SSL listeners with listener.name.<l>.ssl.client.auth = required (MTLS), requested (REQ) and none (TLS),
    ACLs on, WRITE on the topic for User:CN=client,O=Bank only: with the client certificate REQ maps to that
    principal (allowed); without one REQ still connects as User:ANONYMOUS (denied); TLS never asks for the
    certificate (ANONYMOUS, denied even when the client has one); MTLS refuses a client without a certificate."""
    server = brokers.start(
        "ADMIN://127.0.0.1:0,MTLS://127.0.0.1:0,REQ://127.0.0.1:0,TLS://127.0.0.1:0", {
            "listener.security.protocol.map": "ADMIN:SASL_PLAINTEXT,MTLS:SSL,REQ:SSL,TLS:SSL",
            **tls_overrides(pki),
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.req.ssl.client.auth": "requested",
            "listener.name.tls.ssl.client.auth": "none",
            "sasl.enabled.mechanisms": "PLAIN", "sasl.jaas.config": su.jaas_plain(PLAIN_USERS),
            "authorizer.class.name": ACL_AUTHORIZER, "super.users": "User:admin"})
    admin_addr, mtls, req, tls = need_listeners(server, "ADMIN", "MTLS", "REQ", "TLS")
    admin = Sec(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="admin", password="admin-secret")
    topic = u.uniq("client-auth")
    su.ck_create_topics(admin_addr, admin, [topic])
    su.ck_create_acls(admin_addr, admin, [su.acl(CLIENT_PRINCIPAL, "WRITE", "TOPIC", topic)])
    with_cert = Sec(protocol="SSL", ca=pki.ca, cert=pki.client_cert, key=pki.client_key)
    without_cert = Sec(protocol="SSL", ca=pki.ca)

    su.produce("confluent", req, with_cert, topic, ["req-with-cert"])
    expect_produce_denied("confluent", req, without_cert, topic)
    expect_produce_denied("confluent", tls, with_cert, topic)
    su.produce("confluent", mtls, with_cert, topic, ["mtls-with-cert"])
    expect_tls_refusal("confluent", mtls, without_cert, topic, None)
    assert su.consume("kafka-python", admin_addr, admin, topic, 2) == ["req-with-cert", "mtls-with-cert"]


# ---------------------------------------------------------------------------------------------------------------------
# 5. SCRAM users through the admin APIs

def test_scram_user_via_kafka_python_admin(open_broker, caplog):
    """kafka-python's KafkaAdminClient.alter_user_scram_credentials creates a SCRAM-SHA-256 user (8192 iterations);
    describe_user_scram_credentials lists its mechanism and iterations; the user produces over SASL_SSL; after
    deleting the credential a new login fails with SaslAuthenticationFailedError."""
    from kafka.admin import ScramMechanism, UserScramCredentialDeletion, UserScramCredentialUpsertion
    user, password = u.uniq("kp-user"), "kp-user-secret"
    admin_sec = open_broker.sec("SASL_SSL", "PLAIN", "admin")
    admin = u.kp_admin(open_broker.addr["SASL_SSL"], **su.kafka_python_conf(admin_sec))
    try:
        result = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(user, "SCRAM-SHA-256", password, iterations=8192)])
        assert result == {user: None}, f"AlterUserScramCredentials: {result}"
        described = admin.describe_user_scram_credentials([user])
        assert described[user]["error"] is None, described
        assert described[user]["credential_infos"] == [{"mechanism": ScramMechanism.SCRAM_SHA_256,
                                                        "iterations": 8192}], described
        everyone = admin.describe_user_scram_credentials()
        assert user in everyone and SCRAM_USERS["SCRAM-SHA-512"][0] in everyone, sorted(everyone)

        sec = Sec(protocol="SASL_SSL", mechanism="SCRAM-SHA-256", username=user, password=password,
                  ca=open_broker.pki.ca)
        topic = u.uniq("kp-scram")
        kp_create(open_broker.addr["PLAINTEXT"], topic)
        su.produce("kafka-python", open_broker.addr["SASL_SSL"], sec, topic, ["one", "two"])
        assert su.consume("kafka-python", open_broker.addr["SASL_SSL"], sec, topic, 2) == ["one", "two"]

        result = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, "SCRAM-SHA-256")])
        assert result == {user: None}, f"deletion: {result}"
        after = admin.describe_user_scram_credentials()
        assert user not in after or not after[user]["credential_infos"], after.get(user)
    finally:
        admin.close()
    expect_auth_failure("kafka-python", open_broker.addr["SASL_SSL"], sec, topic, caplog, server=open_broker.server)


def test_scram_user_via_confluent_admin(open_broker):
    """confluent-kafka's AdminClient.alter_user_scram_credentials (UserScramCredentialUpsertion with
    ScramCredentialInfo(SCRAM_SHA_512, 10000)) creates a user that produces over SASL_PLAINTEXT with librdkafka;
    describe_user_scram_credentials reports SCRAM_SHA_512/10000; UserScramCredentialDeletion makes login fail."""
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                       UserScramCredentialUpsertion)
    user, password = u.uniq("ck-user"), "ck-user-secret"
    admin_sec = open_broker.sec("SASL_PLAINTEXT", "PLAIN", "admin")
    admin = su.ck_admin(open_broker.addr["SASL_PLAINTEXT"], admin_sec)
    futures = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 10000), password.encode())], request_timeout=15)
    futures[user].result(timeout=20)
    description = admin.describe_user_scram_credentials([user], request_timeout=15)[user].result(timeout=20)
    infos = [(i.mechanism, i.iterations) for i in description.scram_credential_infos]
    assert infos == [(ScramMechanism.SCRAM_SHA_512, 10000)], infos

    sec = Sec(protocol="SASL_PLAINTEXT", mechanism="SCRAM-SHA-512", username=user, password=password)
    topic = u.uniq("ck-scram")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    su.produce("confluent", open_broker.addr["SASL_PLAINTEXT"], sec, topic, ["p", "q", "r"])
    assert su.consume("confluent", open_broker.addr["SASL_PLAINTEXT"], sec, topic, 3) == ["p", "q", "r"]

    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)], request_timeout=15)
    futures[user].result(timeout=20)
    with pytest.raises(Exception) as excinfo:
        admin.describe_user_scram_credentials([user], request_timeout=15)[user].result(timeout=20)
    assert "RESOURCE_NOT_FOUND" in str(excinfo.value) or "not found" in str(excinfo.value).lower(), excinfo.value
    expect_auth_failure("confluent", open_broker.addr["SASL_PLAINTEXT"], sec, topic, None)
    assert su.end_offset(open_broker.addr["PLAINTEXT"], Sec(), topic) == 3


# ---------------------------------------------------------------------------------------------------------------------
# 6. ACLs

@pytest.fixture(scope="module")
def acl_broker():
    """SASL_PLAINTEXT (PLAIN users, plain sasl.jaas.config) + PLAINTEXT (User:ANONYMOUS); AclAuthorizer,
    super.users=User:admin, allow.everyone.if.no.acl.found left at its default (false). alice, bob, carol may read
    through confluent's helper groups (ck-reader-*)."""
    b = Brokers()
    overrides = {"sasl.enabled.mechanisms": "PLAIN", "sasl.jaas.config": su.jaas_plain(PLAIN_USERS),
                 "authorizer.class.name": ACL_AUTHORIZER, "super.users": "User:admin"}
    try:
        server = b.start("SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0", overrides)
        sasl, plain = need_listeners(server, "SASL_PLAINTEXT", "PLAINTEXT")

        def user(name):
            return Sec(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username=name, password=PLAIN_USERS[name])

        admin = user("admin")
        su.ck_create_acls(sasl, admin, [su.acl(f"User:{n}", "READ", "GROUP", "ck-reader-", "PREFIXED")
                                        for n in ("alice", "bob", "carol")])
        yield SimpleNamespace(server=server, addr=sasl, plain=plain, admin=admin, user=user)
    finally:
        b.close()


def expect_produce_denied(client, address, sec, topic):
    """One record to `topic` fails with TOPIC_AUTHORIZATION_FAILED as the client reports it."""
    if client == "confluent":
        from confluent_kafka import KafkaError, Producer
        reports, errors = [], []
        producer = Producer({"bootstrap.servers": address, **su.rdkafka_conf(sec), "error_cb": errors.append,
                             "message.timeout.ms": 15000})
        producer.produce(topic, b"denied", partition=0, on_delivery=lambda err, msg: reports.append(err))
        producer.flush(20)
        assert reports and reports[0] is not None, f"confluent-kafka delivered to {topic}: {reports} {errors}"
        assert reports[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, f"{reports[0]} (errors: {errors})"
    elif client == "kafka-python":
        from kafka.errors import TopicAuthorizationFailedError
        producer = u.kp_producer(address, max_block_ms=15000, **su.kafka_python_conf(sec))
        try:
            with pytest.raises(TopicAuthorizationFailedError):
                producer.send(topic, b"denied", partition=0).get(timeout=15)
        finally:
            producer.close(timeout=5)
    else:
        raise ValueError(client)


def expect_consume_error(client, address, sec, topic, code, group=None, timeout=15):
    """Reading `topic` (assign from the beginning, or subscribe with `group`) fails with Kafka error `code`."""
    if client == "confluent":
        from confluent_kafka import Consumer, OFFSET_BEGINNING, TopicPartition
        consumer = Consumer({"bootstrap.servers": address, **su.rdkafka_conf(sec),
                             "group.id": group or u.uniq("ck-reader"), "enable.auto.commit": False,
                             "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})
        try:
            if group:
                consumer.subscribe([topic])
            else:
                consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            seen, deadline = [], time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                assert msg.error() is not None, f"confluent-kafka read {msg.value()!r} from {topic} (must be denied)"
                seen.append(msg.error())
                if msg.error().code() == code:
                    return str(msg.error())
            pytest.fail(f"confluent-kafka got no error {code} reading {topic} in {timeout}s (errors: {seen})")
        finally:
            consumer.close()
    elif client == "kafka-python":
        import kafka.errors as Errors
        from kafka import KafkaConsumer, TopicPartition
        expected = Errors.for_code(code)
        consumer = KafkaConsumer(bootstrap_servers=address, group_id=group, enable_auto_commit=False,
                                 auto_offset_reset="earliest", request_timeout_ms=15000, fetch_max_wait_ms=100,
                                 **su.kafka_python_conf(sec))
        try:
            if group:
                consumer.subscribe([topic])
            else:
                tp = TopicPartition(topic, 0)
                consumer.assign([tp])
                consumer.seek_to_beginning(tp)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    batches = consumer.poll(timeout_ms=200)
                except expected as exc:
                    return repr(exc)
                records = [r for batch in batches.values() for r in batch]
                assert not records, f"kafka-python read {records[:3]} from {topic} (must be denied)"
            pytest.fail(f"kafka-python raised no {expected.__name__} reading {topic} in {timeout}s")
        finally:
            consumer.close()
    else:
        raise ValueError(client)


def admin_read(acl_broker, topic, expected):
    return su.consume("kafka-python", acl_broker.addr, acl_broker.admin, topic, expected)


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_acl_write_without_read(acl_broker, client):
    """alice has WRITE (which implies DESCRIBE) on `pay-…` but not READ: her producer works, her consumer gets
    TOPIC_AUTHORIZATION_FAILED; the admin (super user) reads exactly what she wrote."""
    a = acl_broker
    topic = u.uniq("pay")
    su.ck_create_topics(a.addr, a.admin, [topic])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TOPIC", topic)])
    values = values_for(f"pay-{client}", 10)
    su.produce(client, a.addr, a.user("alice"), topic, values)
    expect_consume_error(client, a.addr, a.user("alice"), topic, TOPIC_AUTHORIZATION_FAILED)
    assert admin_read(a, topic, len(values)) == values


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_acl_prefixed_allow(acl_broker, client):
    """A PREFIXED allow (WRITE on `ledger-<id>-`) lets bob write to `ledger-<id>-x`; `other-<id>` (no ACL) is
    refused with TOPIC_AUTHORIZATION_FAILED and stays empty."""
    a = acl_broker
    prefix = u.uniq("ledger") + "-"
    allowed, other = prefix + "x", u.uniq("other")
    su.ck_create_topics(a.addr, a.admin, [allowed, other])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:bob", "WRITE", "TOPIC", prefix, "PREFIXED")])
    su.produce(client, a.addr, a.user("bob"), allowed, ["b1", "b2"])
    expect_produce_denied(client, a.addr, a.user("bob"), other)
    assert admin_read(a, allowed, 2) == ["b1", "b2"]
    assert su.end_offset(a.addr, a.admin, other) == 0, f"a denied write reached {other}"


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_acl_deny_overrides_allow(acl_broker, client):
    """carol: ALLOW WRITE on the prefix `deny-<id>-` and DENY WRITE on the literal `deny-<id>-secret`: writing to
    `deny-<id>-ok` works, `deny-<id>-secret` is refused (DENY wins), and nothing reaches it."""
    a = acl_broker
    prefix = u.uniq("deny") + "-"
    ok_topic, secret = prefix + "ok", prefix + "secret"
    su.ck_create_topics(a.addr, a.admin, [ok_topic, secret])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:carol", "WRITE", "TOPIC", prefix, "PREFIXED"),
                                        su.acl("User:carol", "WRITE", "TOPIC", secret, permission="DENY")])
    su.produce(client, a.addr, a.user("carol"), ok_topic, ["fine"])
    expect_produce_denied(client, a.addr, a.user("carol"), secret)
    assert su.end_offset(a.addr, a.admin, secret) == 0
    assert admin_read(a, ok_topic, 1) == ["fine"]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_acl_group_read_needed_to_join(acl_broker, client):
    """dave may READ the topic but has no ACL on his consumer group: joining fails with GROUP_AUTHORIZATION_FAILED;
    after READ on the group is granted, the same group consumes every record."""
    a = acl_broker
    topic, group = u.uniq("grp-topic"), u.uniq("grp")
    su.ck_create_topics(a.addr, a.admin, [topic])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:dave", "READ", "TOPIC", topic)])
    su.produce("kafka-python", a.addr, a.admin, topic, ["g1", "g2", "g3"])
    expect_consume_error(client, a.addr, a.user("dave"), topic, GROUP_AUTHORIZATION_FAILED, group=group)

    su.ck_create_acls(a.addr, a.admin, [su.acl("User:dave", "READ", "GROUP", group)])
    member_cls = u.ConfluentMember if client == "confluent" else u.KafkaPythonMember
    conf = su.rdkafka_conf(a.user("dave")) if client == "confluent" else su.kafka_python_conf(a.user("dave"))
    member = member_cls(f"dave-{client}", a.addr, group, topic, **conf)
    member.start()
    try:
        u.wait_until(lambda: len(member.records) >= 3 or member.error, timeout=30,
                     message=f"dave's {client} consumer in group {group} to read 3 records")
    finally:
        member.stop()
    assert member.error is None, repr(member.error)
    assert member.values() == ["g1", "g2", "g3"], member.records
    assert not member.commit_errors, member.commit_errors


def kp_acl(principal, operation, topic, pattern="LITERAL", permission="ALLOW"):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern,
                             ResourceType)
    return ACL(principal=principal, host="*", operation=ACLOperation[operation],
               permission_type=ACLPermissionType[permission],
               resource_pattern=ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType[pattern]))


def kp_acl_filter(topic=None, pattern="ANY"):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePatternFilter, ResourceType)
    return ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                     resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, topic, ACLResourcePatternType[pattern]))


def kp_tuples(acls):
    return sorted((a.principal, a.host, a.operation.name, a.permission_type.name, a.resource_pattern.resource_type.name,
                   a.resource_pattern.resource_name, a.resource_pattern.pattern_type.name) for a in acls)


def test_describe_and_delete_acls_with_admin_clients(acl_broker):
    """Bindings created with confluent-kafka's create_acls and kafka-python's create_acls are listed identically by
    confluent's describe_acls and kafka-python's describe_acls (principal, host, operation, permission, resource,
    pattern type); delete_acls (each client) removes exactly the matching ones."""
    a = acl_broker
    topic = u.uniq("acl-desc")
    prefix = topic + "-p"
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "READ", "TOPIC", topic),
                                        su.acl("User:bob", "WRITE", "TOPIC", topic, permission="DENY")])
    kp = u.kp_admin(a.addr, **su.kafka_python_conf(a.admin))
    try:
        created = kp.create_acls([kp_acl("User:carol", "DESCRIBE", topic), kp_acl("User:carol", "WRITE", prefix,
                                                                                   "PREFIXED")])
        assert not created["failed"], created
        expected = sorted([
            ("User:alice", "*", "READ", "ALLOW", "TOPIC", topic, "LITERAL"),
            ("User:bob", "*", "WRITE", "DENY", "TOPIC", topic, "LITERAL"),
            ("User:carol", "*", "DESCRIBE", "ALLOW", "TOPIC", topic, "LITERAL"),
        ])
        assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic, "LITERAL") == expected
        kp_listed, error = kp.describe_acls(kp_acl_filter(topic, "LITERAL"))
        assert kp_tuples(kp_listed) == expected, kp_tuples(kp_listed)
        # MATCH: everything that applies to `prefix`+"x"... (the prefixed binding) and nothing else of ours.
        assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", prefix, "PREFIXED") == [
            ("User:carol", "*", "WRITE", "ALLOW", "TOPIC", prefix, "PREFIXED")]
        matched = su.ck_describe_acls(a.addr, a.admin, "TOPIC", prefix + "x", "MATCH")
        assert ("User:carol", "*", "WRITE", "ALLOW", "TOPIC", prefix, "PREFIXED") in matched, matched

        from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType,
                                           ResourceType)
        flt = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", None,
                               AclOperation.ANY, AclPermissionType.ANY)
        ck = su.ck_admin(a.addr, a.admin)  # referenced until the future is done
        deleted = ck.delete_acls([flt], request_timeout=15)[flt].result(timeout=20)
        assert [su.binding_tuple(b) for b in deleted] == [expected[0]], deleted
        results = kp.delete_acls([kp_acl_filter(topic, "LITERAL")])
        [(_, matching, err)] = results
        assert kp_tuples(matching) == expected[1:], kp_tuples(matching)
        kp.delete_acls([kp_acl_filter(prefix, "PREFIXED")])
        assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic, "ANY") == []
        assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", prefix, "ANY") == []
    finally:
        kp.close()


def test_topics_without_describe_are_invisible(acl_broker):
    """bob may DESCRIBE `vis-<id>-a` only: confluent list_topics and kafka-python topics() show it and not
    `vis-<id>-b`; asking for `vis-<id>-b` by name gives TOPIC_AUTHORIZATION_FAILED, not its partitions."""
    from kafka import KafkaConsumer
    a = acl_broker
    base = u.uniq("vis")
    seen, hidden = base + "-a", base + "-b"
    su.ck_create_topics(a.addr, a.admin, [seen, hidden])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:bob", "DESCRIBE", "TOPIC", seen)])
    md = su.ck_admin(a.addr, a.user("bob")).list_topics(timeout=15)
    assert seen in md.topics and hidden not in md.topics, sorted(t for t in md.topics if t.startswith(base))
    named = su.ck_admin(a.addr, a.user("bob")).list_topics(topic=hidden, timeout=15)
    err = named.topics[hidden].error if hidden in named.topics else None
    assert err is not None and err.code() == TOPIC_AUTHORIZATION_FAILED, f"Metadata for {hidden}: {err}"
    assert not named.topics[hidden].partitions, "partitions of a topic bob may not describe were revealed"
    consumer = KafkaConsumer(bootstrap_servers=a.addr, **su.kafka_python_conf(a.user("bob")))
    try:
        topics = consumer.topics()
    finally:
        consumer.close()
    assert seen in topics and hidden not in topics, sorted(t for t in topics if t.startswith(base))
    admin_md = su.ck_admin(a.addr, a.admin).list_topics(timeout=15)
    assert {seen, hidden} <= set(admin_md.topics), "the super user must see every topic"


def test_anonymous_principal_on_plaintext(acl_broker):
    """On the PLAINTEXT listener of an ACL broker the principal is User:ANONYMOUS: denied by default
    (allow.everyone.if.no.acl.found=false), allowed once User:ANONYMOUS has WRITE."""
    a = acl_broker
    topic = u.uniq("anon")
    su.ck_create_topics(a.addr, a.admin, [topic])
    expect_produce_denied("confluent", a.plain, Sec(), topic)
    assert su.end_offset(a.addr, a.admin, topic) == 0
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:ANONYMOUS", "WRITE", "TOPIC", topic)])
    su.produce("confluent", a.plain, Sec(), topic, ["anon-1"])
    assert admin_read(a, topic, 1) == ["anon-1"]


def test_allow_everyone_if_no_acl_found_and_several_super_users(brokers):
    """StandardAuthorizer with allow.everyone.if.no.acl.found=true and super.users=User:admin;User:root: a topic
    without ACLs is open to alice; a topic with an ACL (for bob) is closed to alice; root (second super user) may
    write anywhere."""
    server = brokers.start("SASL_PLAINTEXT://127.0.0.1:0", {
        "sasl.enabled.mechanisms": "PLAIN", "sasl.jaas.config": su.jaas_plain(PLAIN_USERS),
        "authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin;User:root",
        "allow.everyone.if.no.acl.found": "true"})
    [addr] = need_listeners(server, "SASL_PLAINTEXT")

    def user(name):
        return Sec(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username=name, password=PLAIN_USERS[name])

    open_topic, bobs = u.uniq("open"), u.uniq("bobs")
    su.ck_create_topics(addr, user("admin"), [open_topic, bobs])
    su.ck_create_acls(addr, user("admin"), [su.acl("User:bob", "WRITE", "TOPIC", bobs)])
    su.produce("confluent", addr, user("alice"), open_topic, ["free"])
    expect_produce_denied("confluent", addr, user("alice"), bobs)
    su.produce("confluent", addr, user("bob"), bobs, ["bob"])
    su.produce("confluent", addr, user("root"), bobs, ["root"])
    assert su.consume("confluent", addr, user("admin"), bobs, 2) == ["bob", "root"]


def test_transactional_id_acl(acl_broker):
    """A transactional producer needs WRITE on its transactional id: with WRITE on the topic only, alice's
    init_transactions fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED; with WRITE on the transactional id her
    transaction commits and a read_committed reader (admin) sees it."""
    from confluent_kafka import KafkaException, Producer
    a = acl_broker
    topic, txn = u.uniq("txn-acl"), u.uniq("txn-id")
    su.ck_create_topics(a.addr, a.admin, [topic])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TOPIC", topic)])
    conf = {"bootstrap.servers": a.addr, **su.rdkafka_conf(a.user("alice")), "transactional.id": txn}
    producer = Producer(conf)
    with pytest.raises(KafkaException) as excinfo:
        producer.init_transactions(15)
    assert excinfo.value.args[0].code() == 53, f"expected TRANSACTIONAL_ID_AUTHORIZATION_FAILED: {excinfo.value}"
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TRANSACTIONAL_ID", txn)])
    producer = Producer(conf)
    producer.init_transactions(15)
    producer.begin_transaction()
    for v in ("t1", "t2"):
        producer.produce(topic, v.encode(), partition=0)
    producer.commit_transaction(15)
    values, _ = u.ck_read_to_end(a.addr, topic, [0], "read_committed", **su.rdkafka_conf(a.admin))
    assert [v for _, v in values[0]] == ["t1", "t2"], values


def test_topic_creation_and_deletion_need_acls(acl_broker):
    """Without CREATE alice can neither create a topic (CreateTopics → TOPIC_AUTHORIZATION_FAILED) nor get it
    auto-created by producing to it; with CREATE on the prefix she can. Without DELETE she cannot delete a topic."""
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import NewTopic
    a = acl_broker
    prefix = u.uniq("mk") + "-"
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TOPIC", prefix, "PREFIXED")])
    alice_admin = su.ck_admin(a.addr, a.user("alice"))
    future = alice_admin.create_topics([NewTopic(prefix + "a", 1, 1)], request_timeout=15)[prefix + "a"]
    with pytest.raises(KafkaException) as excinfo:
        future.result(timeout=20)
    assert excinfo.value.args[0].code() in (TOPIC_AUTHORIZATION_FAILED, 31), excinfo.value

    producer = Producer({"bootstrap.servers": a.addr, **su.rdkafka_conf(a.user("alice")), "message.timeout.ms": 3000})
    producer.produce(prefix + "b", b"x")
    producer.flush(10)
    existing = set(su.ck_admin(a.addr, a.admin).list_topics(timeout=15).topics)
    assert not {prefix + "a", prefix + "b"} & existing, f"created without CREATE: {sorted(existing)}"

    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "CREATE", "TOPIC", prefix, "PREFIXED")])
    alice_admin.create_topics([NewTopic(prefix + "a", 1, 1)], request_timeout=15)[prefix + "a"].result(timeout=20)
    assert prefix + "a" in su.ck_admin(a.addr, a.admin).list_topics(timeout=15).topics

    future = alice_admin.delete_topics([prefix + "a"], request_timeout=15)[prefix + "a"]
    with pytest.raises(KafkaException) as excinfo:
        future.result(timeout=20)
    assert excinfo.value.args[0].code() == TOPIC_AUTHORIZATION_FAILED, excinfo.value
    assert prefix + "a" in su.ck_admin(a.addr, a.admin).list_topics(timeout=15).topics


def test_only_admins_manage_acls_and_users(acl_broker):
    """A normal user cannot grant herself rights: alice's CreateAcls, DescribeAcls, DeleteAcls and
    AlterUserScramCredentials are refused with CLUSTER_AUTHORIZATION_FAILED and change nothing."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    from kafka.admin import UserScramCredentialUpsertion
    a = acl_broker
    topic = u.uniq("selfgrant")
    alice = a.user("alice")
    with pytest.raises(KafkaException) as excinfo:
        su.ck_create_acls(a.addr, alice, [su.acl("User:alice", "ALL", "TOPIC", "*")])
    assert excinfo.value.args[0].code() == 31, excinfo.value
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:carol", "READ", "TOPIC", topic)])
    from kafka.errors import ClusterAuthorizationFailedError
    kp = u.kp_admin(a.addr, **su.kafka_python_conf(alice))
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            kp.describe_acls(kp_acl_filter())
    finally:
        kp.close()
    # confluent-kafka 2.16 turns the DescribeAcls error into an empty list (checked by hand: the broker answers
    # CLUSTER_AUTHORIZATION_FAILED on v0-v3); either way no binding may leak to alice.
    try:
        leaked = su.ck_describe_acls(a.addr, alice)
    except KafkaException as exc:
        assert exc.args[0].code() == 31, exc
    else:
        assert leaked == [], f"DescribeAcls showed alice other principals' ACLs: {leaked}"
    ck = su.ck_admin(a.addr, alice)
    flt = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    with pytest.raises(KafkaException) as excinfo:
        ck.delete_acls([flt], request_timeout=15)[flt].result(timeout=20)
    assert excinfo.value.args[0].code() == 31, excinfo.value
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic) == [
        ("User:carol", "*", "READ", "ALLOW", "TOPIC", topic, "LITERAL")]
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", "*") == [], "alice granted herself ALL on *"

    kp = u.kp_admin(a.addr, **su.kafka_python_conf(alice))
    try:
        result = kp.alter_user_scram_credentials([UserScramCredentialUpsertion("alice2", "SCRAM-SHA-256", "x")])
    except Exception as exc:  # a top-level authorization error is fine too
        result = {"alice2": repr(exc)}
    finally:
        kp.close()
    assert result.get("alice2"), f"alice created a SCRAM user: {result}"
    kp = u.kp_admin(a.addr, **su.kafka_python_conf(a.admin))
    try:
        described = kp.describe_user_scram_credentials()
    finally:
        kp.close()
    assert "alice2" not in described, described


def test_acl_hosts(acl_broker):
    """Host-specific ACLs: ALLOW WRITE for alice from host 10.9.8.7 does not cover a 127.0.0.1 client; ALLOW from *
    with a DENY from 127.0.0.1 denies her; after the DENY is deleted she may write."""
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    a = acl_broker
    topic = u.uniq("hosts")
    su.ck_create_topics(a.addr, a.admin, [topic])
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TOPIC", topic, host="10.9.8.7")])
    expect_produce_denied("confluent", a.addr, a.user("alice"), topic)
    su.ck_create_acls(a.addr, a.admin, [su.acl("User:alice", "WRITE", "TOPIC", topic),
                                        su.acl("User:alice", "WRITE", "TOPIC", topic, permission="DENY",
                                               host="127.0.0.1")])
    expect_produce_denied("confluent", a.addr, a.user("alice"), topic)
    ck = su.ck_admin(a.addr, a.admin)
    flt = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "127.0.0.1",
                           AclOperation.WRITE, AclPermissionType.DENY)
    assert len(ck.delete_acls([flt], request_timeout=15)[flt].result(timeout=20)) == 1
    su.produce("confluent", a.addr, a.user("alice"), topic, ["from-localhost"])
    assert su.end_offset(a.addr, a.admin, topic) == 1


def test_plain_authorization_id_cannot_impersonate(acl_broker):
    """PLAIN's authorization id: `admin\\0alice\\0alice-secret` (alice's password, asking to act as admin) is
    refused; `alice\\0alice\\0alice-secret` (same id) is accepted."""
    with RawConnection(acl_broker.addr) as conn:
        assert su.sasl_handshake(conn, "PLAIN")[0] == 0
        try:
            error, message, _ = su.sasl_authenticate(conn, su.plain_token("alice", "alice-secret", authzid="admin"))
        except ConnectionError:
            error, message = "closed", None
        assert error in (su.SASL_AUTHENTICATION_FAILED, "closed"), \
            f"PLAIN with authorization id admin and alice's password answered {error} {message!r}"
    with RawConnection(acl_broker.addr) as conn:
        assert su.sasl_handshake(conn, "PLAIN")[0] == 0
        error, message, _ = su.sasl_authenticate(conn, su.plain_token("alice", "alice-secret", authzid="alice"))
        assert error == 0, message


# ---------------------------------------------------------------------------------------------------------------------
# 7. ledgerstream's own CLI

def ls(args, timeout=60, input=None):
    cmd = [BIN] + list(args)
    started = time.monotonic()
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`{' '.join(cmd)}` did not finish within {timeout}s\nstdout: {exc.stdout!r}\n"
                             f"stderr: {exc.stderr!r}")
    result.elapsed = time.monotonic() - started
    result.cmd = " ".join(cmd)
    return result


def ok(result):
    assert result.returncode == 0, (f"`{result.cmd}` exited {result.returncode}\nstdout: {result.stdout[-2000:]}\n"
                                    f"stderr: {result.stderr[-2000:]}")
    return result


def cli_round_trip(address, auth, topic, values, create=True):
    """topic create/list, produce, consume with the CLI (auth = -X ... or --command-config FILE arguments)."""
    if create:
        ok(ls(["topic", "create", topic, "--partitions", "1", "-b", address, *auth]))
        listed = ok(ls(["topic", "list", "-b", address, *auth])).stdout
        assert topic in listed.split() or topic in listed, f"`topic list` lacks {topic}: {listed}"
    ok(ls(["produce", topic, "-b", address, *auth], input="".join(v + "\n" for v in values)))
    out = ok(ls(["consume", topic, "--offset", "beginning", "-e", "--format", r"%s\n", "-b", address, *auth])).stdout
    return out.splitlines()


def test_cli_sasl_ssl_scram_users_and_clients(open_broker, tmp_path):
    """`ledgerstream user add/list/delete` (as admin over SASL_SSL PLAIN), then topic create/list, produce and
    consume as the new SCRAM-SHA-256 user with -X options and with a Kafka-tools --command-config file; a wrong
    password fails fast with an error that says authentication failed; after `user delete` the user cannot log
    in. kafka-python over PLAINTEXT sees exactly the records the CLI wrote."""
    o = open_broker
    address = o.addr["SASL_SSL"]
    admin_x = su.x_args(o.sec("SASL_SSL", "PLAIN", "admin"))
    user, password = u.uniq("cli-user"), "cli-secret"
    ok(ls(["user", "add", user, "--password", password, "--mechanism", "SCRAM-SHA-256", "-b", address, *admin_x]))
    listed = ok(ls(["user", "list", "-b", address, *admin_x])).stdout
    assert user in listed and "SCRAM-SHA-256" in listed, f"`user list` output: {listed}"

    sec = Sec(protocol="SASL_SSL", mechanism="SCRAM-SHA-256", username=user, password=password, ca=o.pki.ca)
    topic = u.uniq("cli-scram")
    first = values_for("x", 10)
    assert cli_round_trip(address, su.x_args(sec), topic, first) == first
    config = su.command_config(sec, str(tmp_path / "client.properties"))
    second = values_for("cc", 5)
    assert cli_round_trip(address, ["--command-config", config], topic, second, create=False) == first + second
    ok(ls(["topic", "describe", topic, "-b", address, "--command-config", config]))
    assert su.consume("kafka-python", o.addr["PLAINTEXT"], Sec(), topic, 15) == first + second

    wrong = ls(["topic", "list", "-b", address, *su.x_args(sec.but(password="wrong"))], timeout=30)
    assert wrong.returncode != 0, f"wrong password accepted: {wrong.stdout}"
    assert re.search(r"authentication failed", wrong.stderr, re.I), f"error does not say so: {wrong.stderr}"
    assert wrong.elapsed < 20, f"took {wrong.elapsed:.1f}s to report a wrong password"

    ok(ls(["user", "delete", user, "--mechanism", "SCRAM-SHA-256", "-b", address, *admin_x]))
    listed = ok(ls(["user", "list", "-b", address, *admin_x])).stdout
    assert user not in listed, f"deleted user still listed: {listed}"
    gone = ls(["topic", "list", "-b", address, *su.x_args(sec)], timeout=30)
    assert gone.returncode != 0 and re.search(r"authentication failed", gone.stderr, re.I), gone.stderr


def test_cli_mutual_tls(mtls_broker, open_broker, tmp_path):
    """The CLI over mutual TLS: -X ssl.certificate.location/ssl.key.location and --command-config with a PEM
    keystore (ssl.keystore.type=PEM) both authenticate as User:CN=client,O=Bank (ACLs granted to that principal
    only); without a certificate the CLI fails; trusting the wrong CA, it says the certificate is not trusted."""
    m = mtls_broker
    prefix = u.uniq("cli-mtls") + "-"
    su.ck_create_acls(m.admin_addr, m.admin, [su.acl(CLIENT_PRINCIPAL, op, "TOPIC", prefix, "PREFIXED")
                                              for op in ("CREATE", "WRITE", "READ", "DESCRIBE")])
    topic = prefix + "t"
    first = values_for("m", 5)
    assert cli_round_trip(m.ssl, su.x_args(m.trusted), topic, first) == first
    keystore_sec = m.trusted.but(cert=None, key=None)
    config = su.command_config(keystore_sec, str(tmp_path / "mtls.properties"), keystore=m.pki.client_keystore)
    second = values_for("k", 3)
    assert cli_round_trip(m.ssl, ["--command-config", config], topic, second, create=False) == first + second
    assert su.consume("kafka-python", m.admin_addr, m.admin, topic, 8) == first + second

    nocert = ls(["topic", "list", "-b", m.ssl, *su.x_args(keystore_sec)], timeout=30)
    assert nocert.returncode != 0, f"listing without a client certificate succeeded: {nocert.stdout}"
    untrusted = ls(["topic", "list", "-b", open_broker.addr["SSL"], *su.x_args(Sec("SSL", ca=m.pki.rogue_ca))],
                   timeout=30)
    assert untrusted.returncode != 0
    assert re.search(r"certificate", untrusted.stderr, re.I) and re.search(r"trust|verif|unknown", untrusted.stderr,
                                                                            re.I), untrusted.stderr


def test_cli_acl_create_list_delete(acl_broker):
    """`ledgerstream acl create/list/delete` with kafka-acls' option names, as admin: the bindings show up in
    `acl list` and in confluent's describe_acls, take effect (alice reads, but her write is refused with an error
    naming the operation and the topic), and `acl delete` removes them."""
    a = acl_broker
    admin_x = su.x_args(a.admin)
    topic, group = u.uniq("cli-acl"), u.uniq("cli-acl-group")
    prefix = u.uniq("cli-pfx") + "-"
    su.ck_create_topics(a.addr, a.admin, [topic])
    ok(ls(["acl", "create", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "Describe",
           "--topic", topic, "-b", a.addr, *admin_x]))
    ok(ls(["acl", "create", "--allow-principal", "User:alice", "--operation", "Read", "--group", group,
           "-b", a.addr, *admin_x]))
    ok(ls(["acl", "create", "--allow-principal", "User:bob", "--operation", "Write", "--topic", prefix,
           "--resource-pattern-type", "prefixed", "-b", a.addr, *admin_x]))
    ok(ls(["acl", "create", "--deny-principal", "User:carol", "--operation", "Write", "--deny-host", "127.0.0.1",
           "--topic", topic, "-b", a.addr, *admin_x]))

    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic) == sorted([
        ("User:alice", "*", "READ", "ALLOW", "TOPIC", topic, "LITERAL"),
        ("User:alice", "*", "DESCRIBE", "ALLOW", "TOPIC", topic, "LITERAL"),
        ("User:carol", "127.0.0.1", "WRITE", "DENY", "TOPIC", topic, "LITERAL")])
    assert su.ck_describe_acls(a.addr, a.admin, "GROUP", group) == [
        ("User:alice", "*", "READ", "ALLOW", "GROUP", group, "LITERAL")]
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", prefix, "PREFIXED") == [
        ("User:bob", "*", "WRITE", "ALLOW", "TOPIC", prefix, "PREFIXED")]
    listed = ok(ls(["acl", "list", "--topic", topic, "-b", a.addr, *admin_x])).stdout
    assert "User:alice" in listed and "User:carol" in listed and re.search(r"read", listed, re.I), listed
    listed_all = ok(ls(["acl", "list", "-b", a.addr, *admin_x])).stdout
    assert prefix in listed_all and group in listed_all, listed_all

    su.produce("kafka-python", a.addr, a.admin, topic, ["r1"])
    assert su.consume("kafka-python", a.addr, a.user("alice"), topic, 1) == ["r1"]
    denied = ls(["produce", topic, "-b", a.addr, *su.x_args(a.user("alice"))], input="nope\n", timeout=60)
    assert denied.returncode != 0, f"alice wrote without WRITE: {denied.stderr}"
    assert topic in denied.stderr and re.search(r"authoriz", denied.stderr, re.I) and \
        re.search(r"write", denied.stderr, re.I), f"the error must name the operation and the topic: {denied.stderr}"
    assert su.end_offset(a.addr, a.admin, topic) == 1

    ok(ls(["acl", "delete", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "Describe",
           "--topic", topic, "-b", a.addr, *admin_x]))
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic) == [
        ("User:carol", "127.0.0.1", "WRITE", "DENY", "TOPIC", topic, "LITERAL")]
    ok(ls(["acl", "delete", "--topic", prefix, "--resource-pattern-type", "prefixed",
           "-b", a.addr, *admin_x]))
    ok(ls(["acl", "delete", "--topic", topic, "-b", a.addr, *admin_x]))
    ok(ls(["acl", "delete", "--group", group, "-b", a.addr, *admin_x]))
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", topic) == []
    assert su.ck_describe_acls(a.addr, a.admin, "TOPIC", prefix, "PREFIXED") == []
    assert su.ck_describe_acls(a.addr, a.admin, "GROUP", group) == []


# ---------------------------------------------------------------------------------------------------------------------
# 8. Hostile and out-of-order input on the secured ports

def still_serving(open_broker):
    """PLAINTEXT ApiVersions answers, and a SASL_PLAINTEXT PLAIN client round-trips: the broker survived."""
    assert open_broker.server.process.poll() is None, f"broker exited:\n{open_broker.server.log()[-3000:]}"
    error, apis = u.api_versions_v0(open_broker.addr["PLAINTEXT"])
    assert error == 0 and 18 in apis
    topic = u.uniq("alive")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    sec = open_broker.sec("SASL_PLAINTEXT", "PLAIN")
    su.produce("confluent", open_broker.addr["SASL_PLAINTEXT"], sec, topic, ["alive"])
    assert su.consume("kafka-python", open_broker.addr["SASL_PLAINTEXT"], sec, topic, 1) == ["alive"]


def closed_without_kafka_response(conn, timeout=10.0):
    """Reads until EOF: True if the broker closed the connection within `timeout`; the bytes it sent are returned
    too (a TLS alert at most, never a Kafka response)."""
    conn.sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = conn.sock.recv(65536)
            if not chunk:
                return True, received
            received += chunk
    except (ConnectionResetError, BrokenPipeError):
        return True, received
    except socket.timeout:
        return False, received
    return False, received


def test_plaintext_client_on_ssl_port(open_broker):
    """Kafka bytes (ApiVersions v0) sent in the clear to the SSL port get no Kafka answer (a TLS alert at most) and
    the connection is closed; kafka-python configured for PLAINTEXT against that port fails instead of hanging;
    the broker keeps serving."""
    with RawConnection(open_broker.addr["SSL"]) as conn:
        conn.send(u.request_frame(18, 0, 1))
        closed, received = closed_without_kafka_response(conn)
    assert closed, f"SSL port kept a plaintext Kafka connection open (received {received[:40]!r})"
    assert received == b"" or received[0] == 0x15, f"SSL port answered plaintext with {received[:40]!r}"
    from kafka.errors import KafkaError
    started = time.monotonic()
    with pytest.raises((KafkaError, OSError)):
        u.kp_producer(open_broker.addr["SSL"], bootstrap_timeout_ms=4000).close()
    assert time.monotonic() - started < 15
    still_serving(open_broker)


GARBAGE = {
    "http": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "negative-size": b"\xff\xff\xff\xfe" + bytes(range(64)),
    "random-frame": i32(252) + random.Random(7).randbytes(252),  # a complete frame of random bytes
    "tls-hello-to-sasl-plaintext": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_on_sasl_port(open_broker, kind):
    """Garbage on the SASL_PLAINTEXT port (HTTP, a negative size, random bytes, a TLS ClientHello) makes the broker
    close that connection; it keeps serving others."""
    data = GARBAGE[kind]
    with RawConnection(open_broker.addr["SASL_PLAINTEXT"]) as conn:
        conn.send(data)
        closed, received = closed_without_kafka_response(conn, timeout=15)
    assert closed, f"connection stayed open after {kind} garbage (received {received[:60]!r})"
    still_serving(open_broker)


def test_truncated_sasl_handshake_then_hang_up(open_broker):
    """Half a SaslHandshake frame followed by a hang-up (and another half frame left open) does not disturb the
    broker."""
    frame = u.request_frame(17, 1, 1, string("PLAIN"))
    with RawConnection(open_broker.addr["SASL_PLAINTEXT"]) as conn:
        conn.send(frame[: len(frame) // 2])
    lingering = RawConnection(open_broker.addr["SASL_PLAINTEXT"])
    try:
        lingering.send(frame[:6])
        still_serving(open_broker)
    finally:
        lingering.close()


def test_raw_sasl_plain_success_control(open_broker):
    """Control for the hand-encoded requests below: ApiVersions, SaslHandshake v1 PLAIN and SaslAuthenticate v0 with
    alice's password succeed, and Metadata then works on the same connection."""
    with RawConnection(open_broker.addr["SASL_PLAINTEXT"]) as conn:
        r = Reader(conn.request(18, 0, 1))
        assert r.i32() == 1 and r.i16() == 0
        error, mechanisms = su.sasl_handshake(conn, "PLAIN", correlation_id=2)
        assert error == 0 and {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} <= set(mechanisms), (error, mechanisms)
        error, message, _ = su.sasl_authenticate(conn, su.plain_token("alice", "alice-secret"), correlation_id=3)
        assert error == 0, f"PLAIN alice failed: {error} {message}"
        md = u.parse_metadata_v1(conn.request(3, 1, 4, u.metadata_v1_body([])))
        assert md["correlation_id"] == 4 and md["brokers"][0]["port"] == int(open_broker.addr["SASL_PLAINTEXT"]
                                                                              .split(":")[1])


def test_raw_sasl_errors(open_broker):
    """Hand-encoded SASL exchanges: an unsupported mechanism (GSSAPI) → UNSUPPORTED_SASL_MECHANISM with the enabled
    list; random bytes as PLAIN or SCRAM tokens → SASL_AUTHENTICATION_FAILED (or a close) and the connection is
    closed; SaslAuthenticate without a handshake → closed."""
    addr = open_broker.addr["SASL_PLAINTEXT"]
    with RawConnection(addr) as conn:
        error, mechanisms = su.sasl_handshake(conn, "GSSAPI")
        assert error == su.UNSUPPORTED_SASL_MECHANISM, error
        assert {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} <= set(mechanisms or []), mechanisms
    rng = random.Random(11)
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        with RawConnection(addr) as conn:
            error, _ = su.sasl_handshake(conn, mechanism)
            assert error == 0, (mechanism, error)
            try:
                error, message, _ = su.sasl_authenticate(conn, rng.randbytes(200))
                assert error in (su.SASL_AUTHENTICATION_FAILED, su.ILLEGAL_SASL_STATE), \
                    f"{mechanism} with random bytes answered error {error} ({message})"
            except ConnectionError:
                pass  # closed without a response is acceptable too
            assert conn.is_closed_by_peer(timeout=10), f"{mechanism}: connection open after a failed authentication"
    with RawConnection(addr) as conn:
        # Kafka closes the connection (IllegalSaslStateException). An ILLEGAL_SASL_STATE answer is tolerable if it
        # does not pretend the connection is authenticated and the connection still cannot be used.
        conn.send(u.request_frame(36, 0, 5, i32(5) + b"hello"))
        closed, received = closed_without_kafka_response(conn, timeout=3)
        if not closed:
            r = Reader(received[4:])
            assert r.i32() == 5
            error, message = r.i16(), r.string()
            assert error == su.ILLEGAL_SASL_STATE, (error, message)
            assert not re.search(r"success", message or "", re.I), \
                f"SaslAuthenticate before any SaslHandshake answered {message!r} (the connection never authenticated)"
            conn.send(u.request_frame(3, 1, 6, u.metadata_v1_body([])))
            closed, received = closed_without_kafka_response(conn)
            assert closed and not received, "an unauthenticated Metadata request was answered"
    still_serving(open_broker)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_raw_scram(open_broker, mechanism):
    """SCRAM by hand: the correct proof authenticates (and Metadata works); a wrong password, an authorization id
    naming another user (a=admin), or a tampered nonce in the final message get SASL_AUTHENTICATION_FAILED and the
    connection closed."""
    user, password = SCRAM_USERS[mechanism]
    addr = open_broker.addr["SASL_PLAINTEXT"]
    with RawConnection(addr) as conn:
        assert su.raw_scram(conn, mechanism, user, password) == (0, None)
        assert u.parse_metadata_v1(conn.request(3, 1, 4, u.metadata_v1_body([])))["correlation_id"] == 4
    for case, kwargs in (("wrong password", {"password": "nope"}), ("authzid admin", {"authzid": "admin"}),
                         ("tampered nonce", {"nonce_suffix": "x"})):
        with RawConnection(addr) as conn:
            args = {"password": password, **kwargs}
            try:
                error, message = su.raw_scram(conn, mechanism, user, **args)
            except ConnectionError:
                error, message = "closed", None
            assert error in (su.SASL_AUTHENTICATION_FAILED, "closed"), f"{case}: {error} {message!r}"
            closed, received = closed_without_kafka_response(conn)
            assert closed, f"{case}: connection still open after the failure"


def test_sasl_handshake_v0_raw_tokens(open_broker):
    """SaslHandshake v0 (legacy framing: the SASL tokens follow as bare size-prefixed frames): a correct PLAIN token
    gets an empty token back and Metadata works; a wrong one gets the connection closed."""
    addr = open_broker.addr["SASL_PLAINTEXT"]
    with RawConnection(addr) as conn:
        assert su.sasl_handshake(conn, "PLAIN", version=0)[0] == 0
        token = su.plain_token("alice", "alice-secret")
        conn.send(i32(len(token)) + token)
        assert conn.recv_frame() == b"", "a successful v0 PLAIN exchange ends with an empty server token"
        assert u.parse_metadata_v1(conn.request(3, 1, 5, u.metadata_v1_body([])))["correlation_id"] == 5
    with RawConnection(addr) as conn:
        assert su.sasl_handshake(conn, "PLAIN", version=0)[0] == 0
        token = su.plain_token("alice", "wrong")
        conn.send(i32(len(token)) + token)
        closed, received = closed_without_kafka_response(conn)
        assert closed and received == b"", f"wrong v0 PLAIN token: closed={closed} received={received[:40]!r}"


def test_oversized_frame_before_authentication(open_broker):
    """Before authentication a client cannot make the broker wait for (and buffer) a huge request: a frame
    announcing 8 MiB on the SASL port (Kafka: sasl.server.max.receive.size, 512 KiB) is refused at once."""
    with RawConnection(open_broker.addr["SASL_PLAINTEXT"]) as conn:
        conn.send(i32(8 * 1024 * 1024) + u.request_frame(17, 1, 1, string("PLAIN"))[4:])
        closed, received = closed_without_kafka_response(conn, timeout=5)
    assert closed, "the broker kept waiting for an 8 MiB unauthenticated request"
    still_serving(open_broker)


@pytest.mark.parametrize("stage", ["first-request", "after-api-versions", "after-handshake"])
def test_produce_before_authentication_is_refused(open_broker, stage):
    """A Produce sent before SASL authentication completed (as the first request, after ApiVersions, or between
    SaslHandshake and SaslAuthenticate) gets the connection closed and writes nothing."""
    topic = u.uniq("unauth")
    kp_create(open_broker.addr["PLAINTEXT"], topic)
    batch = u.record_batch([(None, b"sneaky")])
    with RawConnection(open_broker.addr["SASL_PLAINTEXT"]) as conn:
        if stage in ("after-api-versions", "after-handshake"):
            conn.request(18, 0, 1)
        if stage == "after-handshake":
            assert su.sasl_handshake(conn, "PLAIN", correlation_id=2)[0] == 0
        conn.send(u.request_frame(0, 3, 9, u.produce_v3_body(topic, 0, batch)))
        closed, received = closed_without_kafka_response(conn)
    assert closed, f"unauthenticated Produce ({stage}) did not close the connection; received {received[:60]!r}"
    if received:
        partition = u.parse_produce_v3(received[4:])
        assert partition["error"] != 0, f"unauthenticated Produce was accepted: {partition}"
    assert su.end_offset(open_broker.addr["PLAINTEXT"], Sec(), topic) == 0, "an unauthenticated Produce was written"


def test_authentication_storm(brokers):
    """1,000 failed PLAIN logins (SaslHandshake v1 + SaslAuthenticate v0 with a wrong password, 50 at a time): each
    gets SASL_AUTHENTICATION_FAILED after about connection.failed.authentication.delay.ms (100 ms) and a close; the
    broker stays up, logs the failures with the client's address, and a good client works afterwards."""
    server = brokers.start("SASL_PLAINTEXT://127.0.0.1:0", {
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": su.jaas_plain(PLAIN_USERS)})
    [addr] = need_listeners(server, "SASL_PLAINTEXT")

    def attempt(i):
        try:
            with RawConnection(addr, timeout=20) as conn:
                error, _ = su.sasl_handshake(conn, "PLAIN")
                if error != 0:
                    return f"handshake error {error}", 0.0
                started = time.monotonic()
                try:
                    error, message, _ = su.sasl_authenticate(conn, su.plain_token("alice", f"wrong-{i}"))
                except ConnectionError:
                    return "closed without response", time.monotonic() - started
                closed = conn.is_closed_by_peer(timeout=10)
                return (f"error {error}" + ("" if closed else " (left open)")), time.monotonic() - started
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}", 0.0

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(1000)))
    elapsed = time.monotonic() - started
    outcomes = collections.Counter(r for r, _ in results)
    assert outcomes == {f"error {su.SASL_AUTHENTICATION_FAILED}": 1000}, \
        f"outcomes of 1,000 bad logins: {dict(outcomes)} (in {elapsed:.1f}s)"
    durations = sorted(d for _, d in results)
    assert durations[len(durations) // 2] >= 0.08, \
        f"median failed-auth response+close time {durations[len(durations) // 2]:.3f}s: no failed-auth delay?"
    assert elapsed < 60, f"the storm took {elapsed:.1f}s"
    assert server.process.poll() is None, f"broker died:\n{server.log()[-3000:]}"

    broker_port = int(addr.split(":")[1])
    failures = [line for line in server.output if re.search(r"auth", line, re.I) and re.search(r"fail", line, re.I)]
    with_client = [line for line in failures
                   if any(int(p) != broker_port for p in re.findall(r"127\.0\.0\.1:(\d+)", line))]
    assert with_client, (f"no log line reports a failed authentication with the client's address "
                         f"({len(failures)} failure lines; last lines:\n{''.join(server.output[-10:])})")
    sec = Sec(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="alice", password="alice-secret")
    topic = u.uniq("after-storm")
    su.ck_create_topics(addr, sec, [topic])
    su.produce("kafka-python", addr, sec, topic, ["calm"])
    assert su.consume("confluent", addr, sec, topic, 1) == ["calm"]


# ---------------------------------------------------------------------------------------------------------------------
# 9. Re-authentication (KIP-368)

@pytest.fixture
def reauth_broker(brokers, pki):
    server = brokers.start("SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0", {
        **tls_overrides(pki), "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": su.jaas_plain(PLAIN_USERS),
        "connections.max.reauth.ms": "3000"})
    sasl_ssl, plain = need_listeners(server, "SASL_SSL", "PLAINTEXT")
    from kafka.admin import UserScramCredentialUpsertion
    admin = u.kp_admin(plain)
    try:
        assert admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("reauth", "SCRAM-SHA-256", "reauth-secret")]) == {"reauth": None}
    finally:
        admin.close()
    sec = Sec(protocol="SASL_SSL", mechanism="SCRAM-SHA-256", username="reauth", password="reauth-secret", ca=pki.ca)
    return SimpleNamespace(server=server, addr=sasl_ssl, plain=plain, sec=sec)


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_confluent_producer_reauthenticates(reauth_broker):
    """connections.max.reauth.ms=3000: a confluent-kafka producer keeps producing over SASL_SSL SCRAM-SHA-256 for
    about 8 s; librdkafka re-authenticates (KIP-368: SaslAuthenticate v1 session lifetime) without any error, and
    every record is delivered once and in order."""
    from confluent_kafka import Producer
    r = reauth_broker
    topic = u.uniq("reauth-ck")
    kp_create(r.plain, topic)
    logger = logging.getLogger(f"reauth-{topic}")
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    errors, reports = [], []
    producer = Producer({"bootstrap.servers": r.addr, **su.rdkafka_conf(r.sec), "linger.ms": 5,
                         "debug": "security,broker", "error_cb": errors.append, "logger": logger})
    sent = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        value = f"r-{len(sent):04d}"
        producer.produce(topic, value.encode(), partition=0,
                         on_delivery=lambda err, msg: reports.append((err, msg.value().decode())))
        sent.append(value)
        producer.poll(0.05)
    remaining = producer.flush(15)
    assert_alive(r.server, "while a confluent-kafka producer re-authenticated")
    assert remaining == 0, f"{remaining} records undelivered; errors: {errors[:5]}"
    assert not errors, f"errors while re-authenticating: {errors[:5]}"
    failed = [rep for rep in reports if rep[0] is not None]
    assert not failed, failed[:5]
    assert [v for _, v in reports] == sent
    lifetimes = [line for line in handler.lines if "session lifetime" in line]
    assert lifetimes, ("librdkafka never received a session lifetime (SaslAuthenticate v1 session_lifetime_ms) at "
                       f"connections.max.reauth.ms=3000; log tail: {handler.lines[-8:]}")
    reauths = [line for line in handler.lines if "REAUTH" in line]
    assert reauths, f"librdkafka never re-authenticated within 8 s; lifetimes received: {lifetimes[:3]}"
    assert len(lifetimes) >= 2, f"only {len(lifetimes)} authentication(s) in 8 s with 3 s sessions: {lifetimes}"
    assert su.consume("kafka-python", r.plain, Sec(), topic, len(sent)) == sent


def test_kafka_python_producer_reauthenticates(reauth_broker, caplog):
    """kafka-python 3.0.12 implements KIP-368 too: producing for ~8 s at connections.max.reauth.ms=3000 works and its
    log shows re-authentication being scheduled from the broker's session lifetime."""
    r = reauth_broker
    topic = u.uniq("reauth-kp")
    kp_create(r.plain, topic)
    caplog.set_level(logging.DEBUG, logger="kafka.net.connection")
    producer = u.kp_producer(r.addr, linger_ms=5, **su.kafka_python_conf(r.sec))
    sent = []
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            assert_alive(r.server, "while a kafka-python producer re-authenticated")
            value = f"k-{len(sent):04d}"
            producer.send(topic, value.encode(), partition=0).get(timeout=15)
            sent.append(value)
            time.sleep(0.05)
    finally:
        producer.close(timeout=5)
    assert_alive(r.server)
    assert "re-authentication" in caplog.text.lower() or "reauth" in caplog.text.lower(), caplog.text[-1500:]
    assert su.consume("kafka-python", r.plain, Sec(), topic, len(sent)) == sent


def test_session_lifetime_and_expiry_raw(reauth_broker):
    """The broker announces the session lifetime in SaslAuthenticate v1 (0 < lifetime <= 3000 ms) and enforces it:
    a connection that does not re-authenticate is closed when it sends a request after the session expired."""
    r = reauth_broker
    # A PLAIN login over SASL_SSL needs TLS: the ssl module around the raw socket.
    import ssl
    ctx = ssl.create_default_context(cafile=r.sec.ca)
    host, port = r.addr.split(":")
    raw = socket.create_connection((host, int(port)), timeout=10)
    conn = RawConnection.__new__(RawConnection)
    conn.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        assert su.sasl_handshake(conn, "PLAIN")[0] == 0
        token = su.plain_token("alice", "alice-secret")
        rd = Reader(conn.request(36, 1, 2, i32(len(token)) + token))
        assert rd.i32() == 2
        error, message, _, lifetime = rd.i16(), rd.string(), rd.bytes(), rd.i64()
        assert error == 0, message
        assert 0 < lifetime <= 3000, f"SaslAuthenticate v1 session_lifetime_ms = {lifetime}"
        md = u.parse_metadata_v1(conn.request(3, 1, 3, u.metadata_v1_body([])))
        assert md["correlation_id"] == 3
        time.sleep(lifetime / 1000 + 0.5)
        try:
            conn.send(u.request_frame(3, 1, 4, u.metadata_v1_body([])))
            payload = conn.recv_frame()
            pytest.fail(f"the broker answered a request {lifetime} ms after the session expired: {payload[:20]!r}")
        except (ConnectionError, ssl.SSLError, OSError):
            pass
    finally:
        conn.close()


def test_raw_reauthentication_on_the_same_connection(reauth_broker):
    """KIP-368 by hand over SASL_SSL: authenticate (PLAIN alice), use the connection, then SaslHandshake +
    SaslAuthenticate again on the same connection (as librdkafka and kafka-python do before the session lifetime
    ends): the re-authentication succeeds, the connection keeps working, and the broker stays up."""
    import ssl
    r = reauth_broker
    ctx = ssl.create_default_context(cafile=r.sec.ca)
    host, port = r.addr.split(":")
    conn = RawConnection.__new__(RawConnection)
    conn.sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname="127.0.0.1")
    token = su.plain_token("alice", "alice-secret")
    try:
        for attempt, correlation in ((1, 10), (2, 20)):
            if attempt == 2:
                time.sleep(1.1)  # Kafka allows one re-authentication per second at most
            try:
                assert su.sasl_handshake(conn, "PLAIN", correlation_id=correlation)[0] == 0
                rd = Reader(conn.request(36, 1, correlation + 1, i32(len(token)) + token))
            except (ConnectionError, OSError) as exc:
                assert_alive(r.server, f"on SaslHandshake #{attempt} of one connection")
                raise AssertionError(f"authentication #{attempt} on one connection failed: {exc!r}")
            assert rd.i32() == correlation + 1
            error, message, _, lifetime = rd.i16(), rd.string(), rd.bytes(), rd.i64()
            assert error == 0 and 0 < lifetime <= 3000, (attempt, error, message, lifetime)
            md = u.parse_metadata_v1(conn.request(3, 1, correlation + 2, u.metadata_v1_body([])))
            assert md["correlation_id"] == correlation + 2
    finally:
        conn.close()
    assert_alive(r.server)


def test_ledger_pipeline_over_sasl_ssl_with_acls(brokers, pki, tmp_path):
    """The product's main job secured end to end: an admin (PLAIN) creates a SCRAM-SHA-512 sink user and grants it
    Read on `transactions` and its monitoring group; `produce --csv` (admin, --command-config) and `consume --sink
    sqlite` (sink user, -X) run over SASL_SSL with ACLs on, and the ledger holds the sample's five transactions. The
    sink user may not write to the topic."""
    overrides = {"ssl.keystore.location": pki.keystore, "sasl.jaas.config": su.jaas_plain({"admin": "admin-secret"}),
                 "authorizer.class.name": ACL_AUTHORIZER, "super.users": "User:admin"}
    server = brokers.start("SASL_SSL://127.0.0.1:0", overrides)
    (address,) = need_listeners(server, "SASL_SSL")
    admin = Sec(protocol="SASL_SSL", mechanism="PLAIN", username="admin", password="admin-secret", ca=pki.ca)
    admin_config = su.command_config(admin, str(tmp_path / "admin.properties"))
    ok(ls(["user", "add", "sink", "--password", "sink-pw", "--mechanism", "SCRAM-SHA-512", "-b", address,
           "--command-config", admin_config]))
    ok(ls(["acl", "create", "--allow-principal", "User:sink", "--operation", "Read", "--topic", "transactions",
           "--group", "ledgerstream-sink", "-b", address, "--command-config", admin_config]))
    csv = os.path.join(REPO, "data", "client_transactions.csv")
    ok(ls(["produce", "transactions", "--csv", csv, "-b", address, "--command-config", admin_config]))
    sink = Sec(protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username="sink", password="sink-pw", ca=pki.ca)
    db = str(tmp_path / "ledger.db")
    applied = ok(ls(["consume", "transactions", "--sink", "sqlite", "--db", db, "--exit-at-end", "-b", address,
                     *su.x_args(sink)], timeout=60))
    assert "applied 5 transactions" in applied.stderr, applied.stderr
    with sqlite3.connect(db) as ledger:
        assert ledger.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 5
    refused = ls(["produce", "transactions", "--csv", csv, "-b", address, *su.x_args(sink)], timeout=30)
    assert refused.returncode == 77 and "not authorized" in refused.stderr.lower(), refused.stderr
