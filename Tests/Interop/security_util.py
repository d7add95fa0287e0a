"""Helpers for the security interop tests (test_security.py): a throw-away PKI made with the openssl command line,
the broker's per-listener readiness lines, one security setting expressed for every real client (librdkafka/kcat,
confluent-kafka, kafka-python, aiokafka, ledgerstream's own CLI and Kafka-tools property files), produce/consume
round trips per client, and hand-encoded SASL requests.

Keys and certificates are generated at test time into a temporary directory (never committed) and removed with it.
Nothing here talks to the broker implementation: everything goes over TCP like a real client would.
"""
import asyncio
import os
import re
import subprocess
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace

import interop_util as u
from interop_util import KCAT, Reader, i32, string

# ---------------------------------------------------------------------------------------------------------------------
# PKI with openssl

KEY_PASSWORD = "server-key-pass"   # the encrypted server key's passphrase (ssl.key.password)
CLIENT_DN = "CN=client,O=Bank"      # RFC 2253 form of the trusted client certificate's subject

_CA_EXT = """\
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_SERVER_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_CLIENT_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def _read(path):
    with open(path) as f:
        return f.read()


def _key(directory, name):
    """A fresh RSA-2048 private key in PKCS#8 PEM (`BEGIN PRIVATE KEY`), as Kafka's PEM keystore expects."""
    path = os.path.join(directory, f"{name}.key")
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path, cwd=directory)
    return path


def _ca(directory, name, subject):
    key = _key(directory, name)
    ext = _write(os.path.join(directory, f"{name}.ext"), _CA_EXT)
    csr = os.path.join(directory, f"{name}.csr")
    cert = os.path.join(directory, f"{name}.pem")
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr, cwd=directory)
    _openssl("x509", "-req", "-in", csr, "-signkey", key, "-days", "3", "-sha256", "-extfile", ext,
             "-set_serial", "1", "-out", cert, cwd=directory)
    return cert, key


def _leaf(directory, name, subject, ext_text, ca_cert, ca_key, serial):
    key = _key(directory, name)
    ext = _write(os.path.join(directory, f"{name}.ext"), ext_text)
    csr = os.path.join(directory, f"{name}.csr")
    cert = os.path.join(directory, f"{name}.crt")
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr, cwd=directory)
    _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial", str(serial), "-days", "3",
             "-sha256", "-extfile", ext, "-out", cert, cwd=directory)
    return cert, key


def make_pki(directory):
    """Creates, in `directory`:

    * ca: a certificate authority (ca.pem, what brokers and clients trust);
    * server: cert signed by ca with SAN IP:127.0.0.1, DNS:localhost; server.crt/server.key, plus server-keystore.pem
      (PKCS#8 key followed by the certificate chain: Kafka's `ssl.keystore.type=PEM` file) and
      server-keystore-enc.pem (the same with the key encrypted under KEY_PASSWORD: `ssl.key.password`);
    * client: cert signed by ca with subject CN=client,O=Bank (client.crt/client.key, client-keystore.pem);
    * rogue_ca + rogue_client: an unrelated authority and a client certificate it signed (same subject), which
      nothing trusts; rogue_server: a server certificate for 127.0.0.1 signed by rogue_ca.

    Returns a SimpleNamespace of the paths (and PEM texts where tests pass content inline)."""
    os.makedirs(directory, exist_ok=True)
    ca_cert, ca_key = _ca(directory, "ca", "/O=Bank/CN=ledgerstream test CA")
    server_cert, server_key = _leaf(directory, "server", "/O=Bank/CN=localhost", _SERVER_EXT, ca_cert, ca_key, 2)
    client_cert, client_key = _leaf(directory, "client", "/O=Bank/CN=client", _CLIENT_EXT, ca_cert, ca_key, 3)
    admin_cert, admin_key = _leaf(directory, "adminclient", "/O=Bank/CN=admin", _CLIENT_EXT, ca_cert, ca_key, 4)
    rogue_ca_cert, rogue_ca_key = _ca(directory, "rogue-ca", "/O=Evil/CN=unrelated CA")
    rogue_client_cert, rogue_client_key = _leaf(directory, "rogue-client", "/O=Bank/CN=client", _CLIENT_EXT,
                                                rogue_ca_cert, rogue_ca_key, 5)
    rogue_server_cert, rogue_server_key = _leaf(directory, "rogue-server", "/O=Evil/CN=localhost", _SERVER_EXT,
                                                rogue_ca_cert, rogue_ca_key, 6)

    server_chain = _read(server_cert) + _read(ca_cert)
    keystore = _write(os.path.join(directory, "server-keystore.pem"), _read(server_key) + server_chain)
    enc_key = os.path.join(directory, "server-enc.key")
    _openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", server_key, "-out", enc_key,
             "-passout", f"pass:{KEY_PASSWORD}", cwd=directory)
    keystore_enc = _write(os.path.join(directory, "server-keystore-enc.pem"), _read(enc_key) + server_chain)
    client_keystore = _write(os.path.join(directory, "client-keystore.pem"),
                             _read(client_key) + _read(client_cert) + _read(ca_cert))

    subject = _openssl("x509", "-in", client_cert, "-noout", "-subject", "-nameopt", "RFC2253", cwd=directory)
    assert subject.strip() == f"subject={CLIENT_DN}", f"unexpected client subject: {subject!r}"
    return SimpleNamespace(
        dir=directory, ca=ca_cert, ca_key=ca_key,
        server_cert=server_cert, server_key=server_key, server_chain_pem=server_chain,
        server_key_pem=_read(server_key), keystore=keystore, keystore_enc=keystore_enc, enc_key=enc_key,
        client_cert=client_cert, client_key=client_key, client_keystore=client_keystore,
        admin_cert=admin_cert, admin_key=admin_key,
        rogue_ca=rogue_ca_cert, rogue_client_cert=rogue_client_cert, rogue_client_key=rogue_client_key,
        rogue_server_cert=rogue_server_cert, rogue_server_key=rogue_server_key)


# ---------------------------------------------------------------------------------------------------------------------
# Broker listeners

LISTENER = re.compile(r"listener (\S+) on ([0-9.]+):(\d+)(?: \((\S+)\))?")


def listeners(server):
    """{listener name: "127.0.0.1:PORT"} from the `ledgerstream broker: listener NAME on HOST:PORT (PROTOCOL)` lines
    the broker prints before its readiness line."""
    found = {}
    for line in server.output:
        match = LISTENER.search(line)
        if match:
            found[match.group(1)] = f"{match.group(2)}:{match.group(3)}"
    return found


def jaas_plain(users, admin=("admin", "admin-secret")):
    """A PlainLoginModule JAAS line: the broker's own credentials plus user_NAME="PASSWORD" for each user."""
    entries = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return (f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{admin[0]}" '
            f'password="{admin[1]}" {entries};')


# ---------------------------------------------------------------------------------------------------------------------
# One security setting, expressed for each client

@dataclass(frozen=True)
class Sec:
    """How a client connects: security.protocol, SASL mechanism and credentials, the CA it trusts (PEM file) and,
    for mutual TLS, its own certificate and key."""
    protocol: str = "PLAINTEXT"
    mechanism: str = None
    username: str = None
    password: str = None
    ca: str = None
    cert: str = None
    key: str = None
    key_password: str = None

    def but(self, **changes):
        return replace(self, **changes)

    def describe(self):
        parts = [self.protocol]
        if self.mechanism:
            parts.append(f"{self.mechanism} {self.username}/{self.password}")
        if self.cert:
            parts.append(f"cert {os.path.basename(self.cert)}")
        return " ".join(parts)


def rdkafka_conf(sec):
    """librdkafka properties (confluent-kafka, kcat -X, ledgerstream -X)."""
    conf = {"security.protocol": sec.protocol}
    if sec.mechanism:
        conf.update({"sasl.mechanism": sec.mechanism, "sasl.username": sec.username, "sasl.password": sec.password})
    if sec.ca:
        conf["ssl.ca.location"] = sec.ca
    if sec.cert:
        conf["ssl.certificate.location"] = sec.cert
        conf["ssl.key.location"] = sec.key
    if sec.key_password:
        conf["ssl.key.password"] = sec.key_password
    return conf


def x_args(sec):
    """`-X key=value` arguments (kcat and ledgerstream's CLI)."""
    return [arg for key, value in rdkafka_conf(sec).items() for arg in ("-X", f"{key}={value}")]


def kafka_python_conf(sec):
    conf = {"security_protocol": sec.protocol}
    if sec.mechanism:
        conf.update({"sasl_mechanism": sec.mechanism, "sasl_plain_username": sec.username,
                     "sasl_plain_password": sec.password})
    if sec.ca:
        conf["ssl_cafile"] = sec.ca
    if sec.cert:
        conf["ssl_certfile"] = sec.cert
        conf["ssl_keyfile"] = sec.key
    if sec.key_password:
        conf["ssl_password"] = sec.key_password
    return conf


def aiokafka_conf(sec):
    from aiokafka.helpers import create_ssl_context
    conf = {"security_protocol": sec.protocol}
    if sec.mechanism:
        conf.update({"sasl_mechanism": sec.mechanism, "sasl_plain_username": sec.username,
                     "sasl_plain_password": sec.password})
    if sec.protocol in ("SSL", "SASL_SSL"):
        conf["ssl_context"] = create_ssl_context(cafile=sec.ca, certfile=sec.cert, keyfile=sec.key,
                                                 password=sec.key_password)
    return conf


def command_config(sec, path, keystore=None):
    """A Kafka tools' --command-config properties file for `sec` (JAAS line for SASL, PEM truststore / keystore)."""
    lines = [f"security.protocol={sec.protocol}"]
    if sec.mechanism:
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if sec.mechanism == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")
        lines += [f"sasl.mechanism={sec.mechanism}",
                  f'sasl.jaas.config={module} required username="{sec.username}" password="{sec.password}";']
    if sec.ca:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={sec.ca}"]
    if keystore:
        lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}"]
    return _write(path, "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------------------------------
# Produce / consume round trips with each client (one partition, so order is defined)

CLIENTS = ["kcat", "confluent", "kafka-python", "aiokafka"]


def produce(client, address, sec, topic, values, timeout=30):
    """Sends `values` (str) in order to partition 0 of `topic`; raises AssertionError if any is not acknowledged."""
    if client == "kcat":
        u_run([KCAT, "-P", "-b", address, "-t", topic, "-p", "0", *x_args(sec)],
              input="".join(v + "\n" for v in values), timeout=timeout)
    elif client == "confluent":
        from confluent_kafka import Producer
        errors = []
        producer = Producer({"bootstrap.servers": address, "linger.ms": 5, **rdkafka_conf(sec),
                             "error_cb": lambda err: errors.append(err)})
        reports = []
        for value in values:
            producer.produce(topic, value.encode(), partition=0,
                             on_delivery=lambda err, msg: reports.append((err, msg.value() if msg else None)))
        remaining = producer.flush(timeout)
        assert remaining == 0, f"confluent-kafka: {remaining} records not delivered; errors: {errors}"
        failed = [(err, value) for err, value in reports if err is not None]
        assert not failed, f"confluent-kafka delivery failures: {failed[:5]}; errors: {errors}"
    elif client == "kafka-python":
        producer = u.kp_producer(address, **kafka_python_conf(sec))
        try:
            futures = [producer.send(topic, value.encode(), partition=0) for value in values]
            for future in futures:
                future.get(timeout=timeout)
        finally:
            producer.close()
    elif client == "aiokafka":
        asyncio.run(_aio_produce(address, sec, topic, values))
    else:
        raise ValueError(client)


async def _aio_produce(address, sec, topic, values):
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(bootstrap_servers=address, request_timeout_ms=15000, **aiokafka_conf(sec))
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value.encode(), partition=0)
    finally:
        await producer.stop()


def consume(client, address, sec, topic, expected, timeout=20):
    """Reads partition 0 of `topic` from the beginning with `client` until `expected` records arrived (then a little
    longer, so duplicates show); returns the values (str) in offset order."""
    if client == "kcat":
        out = u_run([KCAT, "-C", "-b", address, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
                     "-f", "%s\\n", *x_args(sec)], timeout=timeout).stdout
        return out.splitlines()
    if client == "confluent":
        return [m.value().decode() for m in u.ck_read_all(address, topic, expected, [0], timeout=timeout,
                                                          **rdkafka_conf(sec))]
    if client == "kafka-python":
        return [r.value.decode() for r in u.kp_read_all(address, topic, expected, partitions=[0], timeout=timeout,
                                                        **kafka_python_conf(sec))]
    if client == "aiokafka":
        return asyncio.run(_aio_consume(address, sec, topic, expected, timeout))
    raise ValueError(client)


async def _aio_consume(address, sec, topic, expected, timeout):
    from aiokafka import AIOKafkaConsumer, TopicPartition
    consumer = AIOKafkaConsumer(bootstrap_servers=address, enable_auto_commit=False, auto_offset_reset="earliest",
                                request_timeout_ms=15000, fetch_max_wait_ms=100, **aiokafka_conf(sec))
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        for batch in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(batch)
        return [r.value.decode() for r in sorted(records, key=lambda r: r.offset)]
    finally:
        await consumer.stop()


def u_run(cmd, input=None, timeout=30, env=None):
    """Runs a client command; AssertionError with its output if it fails or hangs."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(cmd)} did not finish within {timeout}s\nstdout: {exc.stdout!r}\n"
                             f"stderr: {exc.stderr!r}")
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\nstdout: {result.stdout}\n"
                             f"stderr: {result.stderr}")
    return result


def run_until(cmd, pattern, input=None, timeout=20):
    """Starts `cmd`, feeds `input`, and waits until it exits or its stderr matches `pattern` (case-insensitive),
    whichever comes first (then it is killed). Returns (exit code or None if killed, stderr text, seconds)."""
    import threading
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    matched = threading.Event()

    def drain():
        for line in proc.stderr:
            lines.append(line)
            if re.search(pattern, line, re.I):
                matched.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if input:
            proc.stdin.write(input)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    deadline = started + timeout
    while time.monotonic() < deadline and proc.poll() is None and not matched.is_set():
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    code = proc.poll()
    if code is None:
        proc.kill()
        proc.wait(timeout=10)
    reader.join(timeout=5)
    proc.stdout.close()
    return code, "".join(lines), elapsed


# ---------------------------------------------------------------------------------------------------------------------
# Admin helpers (confluent-kafka AdminClient)

def ck_admin(address, sec):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": address, **rdkafka_conf(sec)})


def ck_create_topics(address, sec, topics, partitions=1):
    from confluent_kafka.admin import NewTopic
    admin = ck_admin(address, sec)
    futures = admin.create_topics([NewTopic(t, partitions, 1) for t in topics], request_timeout=15)
    for topic, future in futures.items():
        future.result(timeout=20)


def acl(principal, operation, resource_type, name, pattern="LITERAL", permission="ALLOW", host="*"):
    """A confluent-kafka AclBinding from names: acl("User:alice", "WRITE", "TOPIC", "pay")."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    return AclBinding(ResourceType[resource_type], name, ResourcePatternType[pattern], principal, host,
                      AclOperation[operation], AclPermissionType[permission])


def ck_create_acls(address, sec, bindings):
    admin = ck_admin(address, sec)
    futures = admin.create_acls(bindings, request_timeout=15)
    for binding, future in futures.items():
        future.result(timeout=20)


def ck_describe_acls(address, sec, resource_type="ANY", name=None, pattern="ANY", principal=None):
    """AclBindings matching the filter, as sorted tuples (principal, host, operation, permission, type, name,
    pattern)."""
    from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType)
    admin = ck_admin(address, sec)
    flt = AclBindingFilter(ResourceType[resource_type], name, ResourcePatternType[pattern], principal, None,
                           AclOperation.ANY, AclPermissionType.ANY)
    bindings = admin.describe_acls(flt, request_timeout=15).result(timeout=20)
    return sorted(binding_tuple(b) for b in bindings)


def binding_tuple(b):
    return (b.principal, b.host, b.operation.name, b.permission_type.name, b.restype.name, b.name,
            b.resource_pattern_type.name)


def end_offset(address, sec, topic, partition=0):
    """The log end offset of a partition (kafka-python, read_uncommitted), asked with `sec`'s credentials."""
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=address, request_timeout_ms=15000, **kafka_python_conf(sec))
    try:
        tp = TopicPartition(topic, partition)
        return consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


# ---------------------------------------------------------------------------------------------------------------------
# Hand-encoded SASL requests (classic, non-flexible versions)

SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36
ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 34, 33, 58


def sasl_handshake(conn, mechanism, version=1, correlation_id=1):
    """SaslHandshake v0/v1: (error_code, enabled mechanisms)."""
    r = Reader(conn.request(SASL_HANDSHAKE, version, correlation_id, string(mechanism)))
    assert r.i32() == correlation_id
    error = r.i16()
    mechanisms = r.array(lambda rd: rd.string())
    return error, mechanisms


def sasl_authenticate(conn, auth_bytes, correlation_id=2):
    """SaslAuthenticate v0: (error_code, error_message, auth_bytes)."""
    r = Reader(conn.request(SASL_AUTHENTICATE, 0, correlation_id, i32(len(auth_bytes)) + auth_bytes))
    assert r.i32() == correlation_id
    return r.i16(), r.string(), r.bytes()


def plain_token(username, password, authzid=""):
    return f"{authzid}\0{username}\0{password}".encode()


# SCRAM (RFC 5802 / 7677) by hand, for the raw tests

def scram_client_first(username, authzid=None, nonce=None):
    """(gs2 header, client-first-message-bare, full client-first-message bytes)."""
    import base64
    nonce = nonce or base64.b64encode(os.urandom(18)).decode()
    gs2 = f"n,{'a=' + authzid if authzid else ''},"
    bare = f"n={username.replace('=', '=3D').replace(',', '=2C')},r={nonce}"
    return gs2, bare, (gs2 + bare).encode()


def scram_client_final(mechanism, password, gs2, client_first_bare, server_first, nonce_suffix=""):
    """The client-final-message for `server_first` (bytes → bytes); nonce_suffix tampers with the nonce."""
    import base64
    import hashlib
    import hmac
    text = server_first.decode()
    attrs = dict(kv.split("=", 1) for kv in text.split(","))
    salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
    name = "sha256" if mechanism.endswith("256") else "sha512"
    salted = hashlib.pbkdf2_hmac(name, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", name).digest()
    stored_key = hashlib.new(name, client_key).digest()
    without_proof = f"c={base64.b64encode(gs2.encode()).decode()},r={attrs['r'] + nonce_suffix}"
    auth_message = f"{client_first_bare},{text},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, name).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


def raw_scram(conn, mechanism, username, password, authzid=None, nonce_suffix=""):
    """SaslHandshake v1 + two SaslAuthenticate v0 rounds: returns (error_code, error_message) of the round that
    failed, or (0, None)."""
    error, _ = sasl_handshake(conn, mechanism, correlation_id=1)
    if error:
        return error, "handshake"
    gs2, bare, first = scram_client_first(username, authzid)
    error, message, server_first = sasl_authenticate(conn, first, correlation_id=2)
    if error:
        return error, message
    final = scram_client_final(mechanism, password, gs2, bare, server_first, nonce_suffix)
    error, message, _ = sasl_authenticate(conn, final, correlation_id=3)
    return error, message
