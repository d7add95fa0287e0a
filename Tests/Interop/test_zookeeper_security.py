"""`ledgerstream zookeeper` security driven by real clients: ACLs (world, digest, ip, auth) and addauth with kazoo 2.11
and Debian's zkCli 3.8, the super digest, skipACL, SASL DIGEST-MD5 (kazoo with pure-sasl, zkCli with a JAAS Client
section), enforced SASL, and the same scripted kazoo session against Apache ZooKeeper 3.8 with identical outcomes.

Each test starts its own coordinator on an ephemeral 127.0.0.1 port with a fresh data directory. SASL tests need the
PyPI package pure-sasl (kazoo's optional SASL dependency); Java tests need Debian's zookeeper package (docs/peers.md).
"""
import os
import shutil
import subprocess
import tempfile

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (AuthFailedError, BadVersionError, InvalidACLError, NoAuthError,
                              SessionClosedRequireSaslError)
from kazoo.security import make_acl, make_digest_acl, make_digest_acl_credential

from conftest import restart_zookeeper
from interop_util import APACHE_ZK_JAR, SLF4J_NOP_JAR, apache_zookeeper, wait_until

ZK_JAR = APACHE_ZK_JAR
SLF4J_NOP = SLF4J_NOP_JAR
JAVA = shutil.which("java")
needs_java = pytest.mark.skipif(not (JAVA and os.path.exists(ZK_JAR)),
                                reason="needs java and Debian's zookeeper package (/usr/share/java/zookeeper.jar)")
try:
    import puresasl  # noqa: F401  (kazoo imports it lazily for sasl_options)
    HAVE_PURESASL = True
except ImportError:
    HAVE_PURESASL = False
needs_puresasl = pytest.mark.skipif(not HAVE_PURESASL, reason="needs the PyPI package pure-sasl (kazoo's SASL support)")

SUPER_DIGEST = "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="  # super:admin
SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
JAAS = """\
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    user_bob="bobsecret";
};
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="bob"
    password="bobsecret";
};
"""


@pytest.fixture
def jaas_file():
    directory = tempfile.mkdtemp(prefix="ledgerstream-jaas-")
    path = os.path.join(directory, "jaas.conf")
    with open(path, "w") as f:
        f.write(JAAS)
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def kazoo(server_or_hosts, **kwargs):
    hosts = server_or_hosts if isinstance(server_or_hosts, str) else server_or_hosts.address
    client = KazooClient(hosts=hosts, timeout=10.0, **kwargs)
    client.start(timeout=10)
    return client


def sasl(user, password):
    return {"mechanism": "DIGEST-MD5", "username": user, "password": password}


def stop(*clients):
    for client in clients:
        try:
            client.stop()
            client.close()
        except Exception:
            pass


def zkcli(port, commands, jvm_flags=()):
    """zkCli with `commands` piped in; its output without SLF4J noise and blank lines."""
    result = subprocess.run(
        [JAVA, *jvm_flags, "-cp", f"/etc/zookeeper/conf:{ZK_JAR}:{SLF4J_NOP}", "org.apache.zookeeper.ZooKeeperMain",
         "-server", f"127.0.0.1:{port}"],
        input="\n".join(commands + ["quit"]) + "\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=60)
    return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("SLF4J")]


# ---------------------------------------------------------------------------------------------------------------------
# ACLs and digest authentication


def test_kazoo_digest_acls_are_enforced(start_zookeeper):
    server = start_zookeeper()
    owner = kazoo(server, auth_data=[("digest", "bob:bobsecret")])
    stranger = kazoo(server)
    try:
        bob_all = make_digest_acl("bob", "bobsecret", all=True)
        owner.create("/secret", b"s3cr3t", acl=[bob_all])
        data, stat = owner.get("/secret")
        assert data == b"s3cr3t" and stat.aversion == 0
        acls, _ = owner.get_acls("/secret")
        assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "digest", make_digest_acl_credential("bob", "bobsecret"))]

        for call in (lambda: stranger.get("/secret"), lambda: stranger.get_children("/secret"),
                     lambda: stranger.set("/secret", b"x"), lambda: stranger.get_acls("/secret"),
                     lambda: stranger.set_acls("/secret", [make_acl("world", "anyone", all=True)]),
                     lambda: stranger.create("/secret/child")):
            with pytest.raises(NoAuthError):
                call()
        assert stranger.exists("/secret").dataLength == 6, "exists needs no permission"

        # Read for everyone, all for bob: the stranger reads, and sees bob's digest masked.
        owner.set_acls("/secret", [bob_all, make_acl("world", "anyone", read=True)], version=0)
        assert stranger.get("/secret")[0] == b"s3cr3t"
        masked, stat = stranger.get_acls("/secret")
        assert [a.id.id for a in masked] == ["bob:x", "anyone"] and stat.aversion == 1
        with pytest.raises(BadVersionError):
            owner.set_acls("/secret", [bob_all], version=0)

        # The stranger adds bob's credentials and may do everything.
        stranger.add_auth("digest", "bob:bobsecret")
        stranger.set("/secret", b"changed")
        stranger.delete("/secret")
    finally:
        stop(owner, stranger)


def test_auth_scheme_ip_acls_and_invalid_acls(start_zookeeper):
    server = start_zookeeper()
    zk = kazoo(server)
    try:
        auth_all = make_acl("auth", "", all=True)
        with pytest.raises(InvalidACLError):
            zk.create("/a", acl=[auth_all])  # no authenticated id yet
        zk.add_auth("digest", "carol:pw")
        zk.create("/a", acl=[auth_all])
        assert [a.id.id for a in zk.get_acls("/a")[0]] == [make_digest_acl_credential("carol", "pw")]

        zk.create("/lo", acl=[make_acl("ip", "127.0.0.0/8", all=True)])
        zk.create("/far", acl=[make_acl("ip", "10.0.0.1", read=True)])
        assert zk.get("/lo")[0] == b""
        with pytest.raises(NoAuthError):
            zk.get("/far")

        for bad in (make_acl("digest", "no-colon", all=True), make_acl("ip", "999.0.0.1", all=True),
                    make_acl("world", "someone", all=True), make_acl("sasl", "bob", all=True),
                    make_acl("nosuchscheme", "x", all=True)):
            with pytest.raises(InvalidACLError):
                zk.create("/bad", acl=[bad])
        with pytest.raises(InvalidACLError):
            zk.set_acls("/a", [])
        assert zk.exists("/bad") is None
    finally:
        stop(zk)


def test_unknown_auth_scheme_fails_and_closes(start_zookeeper):
    server = start_zookeeper()
    zk = kazoo(server)
    try:
        with pytest.raises(AuthFailedError):
            zk.add_auth("kerberos", "whatever")
        assert not zk.connected
        wait_until(lambda: "no authentication provider for scheme 'kerberos'" in server.log(), message="the log line")
    finally:
        stop(zk)


def test_super_digest_and_skip_acl(start_zookeeper):
    server = start_zookeeper(extra=["--override", f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"])
    owner = kazoo(server, auth_data=[("digest", "bob:bobsecret")])
    admin = kazoo(server, auth_data=[("digest", "super:admin")])
    try:
        owner.create("/locked", b"x", acl=[make_digest_acl("bob", "bobsecret", read=True)])
        admin.set("/locked", b"by super")
        admin.set_acls("/locked", [make_acl("world", "anyone", all=True)])
        admin.delete("/locked")
    finally:
        stop(owner, admin)

    open_server = start_zookeeper(extra=["--override", "skipACL=yes"])
    owner = kazoo(open_server, auth_data=[("digest", "bob:bobsecret")])
    stranger = kazoo(open_server)
    try:
        owner.create("/locked", b"x", acl=[make_digest_acl("bob", "bobsecret", read=True)])
        stranger.set("/locked", b"nobody checks")
        assert owner.get("/locked")[0] == b"nobody checks"
        wait_until(lambda: "skipACL=yes" in open_server.log(), message="the startup warning")
    finally:
        stop(owner, stranger)


def test_acls_survive_a_restart(start_zookeeper):
    server = start_zookeeper()
    zk = kazoo(server, auth_data=[("digest", "bob:bobsecret")])
    zk.create("/kept", b"x", acl=[make_digest_acl("bob", "bobsecret", all=True)])
    zk.set_acls("/kept", [make_digest_acl("bob", "bobsecret", read=True, admin=True)])
    stop(zk)
    restart_zookeeper(server, kill=True)
    stranger = kazoo(server)
    zk = kazoo(server, auth_data=[("digest", "bob:bobsecret")])
    try:
        with pytest.raises(NoAuthError):
            stranger.get("/kept")
        acls, stat = zk.get_acls("/kept")
        assert [(a.perms, a.id.scheme) for a in acls] == [(17, "digest")] and stat.aversion == 1
        with pytest.raises(NoAuthError):
            zk.set("/kept", b"no write permission")
    finally:
        stop(stranger, zk)


@needs_java
def test_zkcli_addauth_setacl_getacl(start_zookeeper):
    server = start_zookeeper()
    digest = make_digest_acl_credential("u", "p")
    out = zkcli(server.port, [
        f"create /x data digest:{digest}:cdrwa",
        "get /x",
        "addauth digest u:p",
        "get /x",
        "getAcl /x",
        "setAcl /x world:anyone:r",
        "getAcl /x",
        "set /x nope",
        "whoami",
    ])
    text = "\n".join(out)
    assert "Created /x" in text
    assert "Insufficient permission : /x" in text  # the get before addauth, and the set after setAcl
    assert text.count("Insufficient permission") == 2
    assert f"'digest,'{digest}" in text and "'world,'anyone\n: r" in text
    assert "digest: u" in text


# ---------------------------------------------------------------------------------------------------------------------
# SASL DIGEST-MD5


def sasl_server(start_zookeeper, jaas_file, *more):
    return start_zookeeper(extra=["--override", f"java.security.auth.login.config={jaas_file}",
                                  "--override", f"authProvider.1={SASL_PROVIDER}", *more])


@needs_puresasl
def test_kazoo_sasl_digest_md5(start_zookeeper, jaas_file):
    server = sasl_server(start_zookeeper, jaas_file)
    bob = kazoo(server, sasl_options=sasl("bob", "bobsecret"))
    anonymous = kazoo(server)
    try:
        bob.create("/bob", b"mine", acl=[make_acl("sasl", "bob", all=True)])
        bob.create("/bob2", acl=[make_acl("auth", "", all=True)])
        assert [(a.id.scheme, a.id.id) for a in bob.get_acls("/bob2")[0]] == [("sasl", "bob")]
        with pytest.raises(NoAuthError):
            anonymous.get("/bob")
    finally:
        stop(bob, anonymous)

    wrong = KazooClient(hosts=server.address, timeout=5.0, sasl_options=sasl("bob", "wrong"))
    try:
        try:
            wrong.start(timeout=5)
        except Exception:
            pass
        # kazoo reports CONNECTED before its SASL exchange; the refusal then closes the connection for good.
        wait_until(lambda: not wrong.connected, timeout=10, message="the refused client to disconnect")
        wait_until(lambda: "wrong password for SASL user 'bob'" in server.log(), message="the log line")
    finally:
        stop(wrong)


@needs_puresasl
def test_required_sasl_refuses_anonymous_clients(start_zookeeper, jaas_file):
    server = sasl_server(start_zookeeper, jaas_file, "--override", "zookeeper.sessionRequireClientSASLAuth=true")
    bob = kazoo(server, sasl_options=sasl("bob", "bobsecret"))
    anonymous = kazoo(server)
    try:
        assert bob.get("/")[1].numChildren >= 1
        with pytest.raises(SessionClosedRequireSaslError):
            anonymous.get("/")
        wait_until(lambda: "requires authentication with sasl" in server.log(), message="the log line")
    finally:
        stop(bob, anonymous)


@needs_java
def test_zkcli_with_a_jaas_client_section(start_zookeeper, jaas_file):
    server = sasl_server(start_zookeeper, jaas_file)
    out = zkcli(server.port, ["create /z data auth::cdrwa", "getAcl /z", "whoami"],
                jvm_flags=[f"-Djava.security.auth.login.config={jaas_file}"])
    text = "\n".join(out)
    assert "state:SaslAuthenticated" in text
    assert "Created /z" in text and "'sasl,'bob" in text and "sasl: bob" in text


# ---------------------------------------------------------------------------------------------------------------------
# The same session against Apache ZooKeeper 3.8

PARITY_SESSION = r"""
import sys
from kazoo.client import KazooClient
from kazoo.security import make_acl, make_digest_acl

hosts, with_sasl = sys.argv[1], sys.argv[2] == "1"
out = []

def attempt(label, call):
    try:
        result = call()
        out.append(f"{label}: ok {describe(result)}")
    except Exception as e:
        out.append(f"{label}: {type(e).__name__}")

def describe(result):
    if isinstance(result, tuple) and len(result) == 2 and hasattr(result[1], "aversion"):
        first = result[0]
        if isinstance(first, list):
            first = [(a.perms, a.id.scheme, a.id.id) for a in first]
        return f"{first!r} aversion={result[1].aversion} version={result[1].version}"
    if hasattr(result, "aversion"):
        return f"aversion={result.aversion} version={result.version}"
    if isinstance(result, list):
        return repr([type(r).__name__ if isinstance(r, Exception) else r for r in result])
    return repr(result)

def client(**kw):
    c = KazooClient(hosts=hosts, timeout=10.0, **kw)
    c.start(timeout=10)
    return c

bob = client(auth_data=[("digest", "bob:bobsecret")])
anon = client()
admin = client(auth_data=[("digest", "super:admin")])
bob_all = make_digest_acl("bob", "bobsecret", all=True)
attempt("create secret", lambda: bob.create("/secret", b"s", acl=[bob_all]))
attempt("anon get", lambda: anon.get("/secret"))
attempt("anon exists", lambda: anon.exists("/secret") is not None)
attempt("anon getacl", lambda: anon.get_acls("/secret"))
attempt("anon children", lambda: anon.get_children("/secret"))
attempt("anon set", lambda: anon.set("/secret", b"x"))
attempt("anon setacl", lambda: anon.set_acls("/secret", [make_acl("world", "anyone", all=True)]))
attempt("anon create child", lambda: anon.create("/secret/c"))
attempt("bob setacl v5", lambda: bob.set_acls("/secret", [bob_all], version=5))
attempt("bob setacl", lambda: bob.set_acls("/secret", [bob_all, make_acl("world", "anyone", read=True)], version=0))
attempt("anon getacl masked", lambda: anon.get_acls("/secret"))
attempt("bob getacl", lambda: bob.get_acls("/secret"))
attempt("anon delete", lambda: anon.delete("/secret"))
attempt("create open", lambda: anon.create("/open"))
attempt("create readonly child", lambda: bob.create("/open/ro", acl=[make_digest_acl("bob", "bobsecret", read=True)]))
attempt("anon delete child via parent", lambda: anon.delete("/open/ro"))
attempt("create p", lambda: bob.create("/p", acl=[make_digest_acl("bob", "bobsecret", read=True, create=True)]))
attempt("bob create p/c", lambda: bob.create("/p/c"))
attempt("bob delete p/c", lambda: bob.delete("/p/c"))
attempt("auth acl anon", lambda: anon.create("/auth1", acl=[make_acl("auth", "", all=True)]))
attempt("auth acl bob", lambda: bob.create("/auth2", acl=[make_acl("auth", "", all=True)]))
attempt("auth acl get", lambda: bob.get_acls("/auth2"))
attempt("bad digest", lambda: bob.create("/bad", acl=[make_acl("digest", "nocolon", all=True)]))
attempt("bad ip", lambda: bob.create("/bad", acl=[make_acl("ip", "1.2.3.4/40", all=True)]))
attempt("ip acl", lambda: bob.create("/ip", acl=[make_acl("ip", "127.0.0.1", all=True)]))
attempt("ip acl get", lambda: anon.get("/ip"))
attempt("other ip acl", lambda: bob.create("/ip2", acl=[make_acl("ip", "10.0.0.0/8", all=True)]))
attempt("other ip get", lambda: bob.get("/ip2"))
attempt("sasl acl", lambda: bob.create("/s", acl=[make_acl("sasl", "bob", all=True)]))
attempt("world other", lambda: bob.create("/w", acl=[make_acl("world", "everyone", all=True)]))
attempt("empty acl", lambda: bob.create("/e", acl=[]))
attempt("setacl missing", lambda: bob.set_acls("/missing", [bob_all]))
def txn():
    t = anon.transaction()
    t.create("/t1")
    t.set_data("/p", b"x")
    return t.commit()
attempt("anon txn", txn)
attempt("super set", lambda: admin.set("/p", b"super"))
attempt("super getacl", lambda: admin.get_acls("/secret"))
attempt("super delete", lambda: admin.delete("/ip2"))
if with_sasl:
    sb = client(sasl_options={"mechanism": "DIGEST-MD5", "username": "bob", "password": "bobsecret"})
    attempt("sasl create", lambda: sb.create("/sb", acl=[make_acl("auth", "", all=True)]))
    attempt("sasl getacl", lambda: sb.get_acls("/sb"))
    attempt("anon get sasl node", lambda: anon.get("/sb"))
    attempt("sasl read bob digest node", lambda: sb.get("/auth2"))
    sb.stop()
attempt("unknown scheme", lambda: anon.add_auth("nosuch", "x"))
for c in (bob, anon, admin):
    try:
        c.stop()
    except Exception:
        pass
print("\n".join(out))
"""


@pytest.fixture
def apache_zookeeper_secure(jaas_file):
    """Apache ZooKeeper 3.8 with the super digest, the SASL provider and the JAAS users; yields its port."""
    flags = [f"-Djava.security.auth.login.config={jaas_file}", f"-Dzookeeper.authProvider.1={SASL_PROVIDER}",
             f"-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"]
    with apache_zookeeper(JAVA, flags) as port:
        yield port


@needs_java
def test_security_outcomes_match_apache_zookeeper(start_zookeeper, apache_zookeeper_secure, jaas_file):
    ours = sasl_server(start_zookeeper, jaas_file, "--override",
                       f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}")
    with_sasl = "1" if HAVE_PURESASL else "0"

    def run(port):
        result = subprocess.run(["python3", "-c", PARITY_SESSION, f"127.0.0.1:{port}", with_sasl],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    theirs, mine = run(apache_zookeeper_secure), run(ours.port)
    assert "anon get: NoAuthError" in theirs
    assert mine.splitlines() == theirs.splitlines()


# ---------------------------------------------------------------------------------------------------------------------
# TLS: secureClientPort


@pytest.fixture(scope="module")
def pki():
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (CN=client,O=ledgerstream), made
    with openssl; server.pem and client.pem hold key and certificate (ssl.keyStore.type=PEM)."""
    if not shutil.which("openssl"):
        pytest.skip("needs openssl")
    directory = tempfile.mkdtemp(prefix="ledgerstream-zk-pki-")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ledgerstream test CA")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(directory, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subject in (("server", "/CN=localhost"), ("client", "/O=ledgerstream/CN=client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
        with open(os.path.join(directory, f"{name}.pem"), "w") as out:
            out.write(open(os.path.join(directory, f"{name}.key")).read())
            out.write(open(os.path.join(directory, f"{name}.crt")).read())
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def secure_port(server):
    for line in server.output:
        if line.startswith("ledgerstream zookeeper: secure client port on 127.0.0.1:"):
            return int(line.rsplit(":", 1)[1])
    raise AssertionError(f"no secure client port line in {server.log()}")


def tls_server(start_zookeeper, pki, client_auth="need", more=()):
    return start_zookeeper(extra=[
        "--override", "secureClientPort=0", "--override", f"ssl.keyStore.location={pki}/server.pem",
        "--override", "ssl.keyStore.type=PEM", "--override", f"ssl.trustStore.location={pki}/ca.pem",
        "--override", "ssl.trustStore.type=PEM", "--override", f"ssl.clientAuth={client_auth}", *more])


def test_kazoo_over_tls_with_a_client_certificate(start_zookeeper, pki):
    server = tls_server(start_zookeeper, pki)
    port = secure_port(server)
    assert server.output.index(next(l for l in server.output if "secure client port" in l)) < \
        server.output.index(next(l for l in server.output if "listening on" in l)), "secure line before readiness"
    zk = kazoo(f"127.0.0.1:{port}", use_ssl=True, ca=f"{pki}/ca.pem", certfile=f"{pki}/client.crt",
               keyfile=f"{pki}/client.key", verify_certs=True)
    plain = kazoo(server)
    try:
        subject = "CN=client,O=ledgerstream"
        zk.create("/cert-only", b"tls", acl=[make_acl("x509", subject, all=True)])
        assert zk.get("/cert-only")[0] == b"tls"
        assert [(a.id.scheme, a.id.id) for a in zk.get_acls("/cert-only")[0]] == [("x509", subject)]
        zk.create("/mine", acl=[make_acl("auth", "", all=True)])
        assert [(a.id.scheme, a.id.id) for a in zk.get_acls("/mine")[0]] == [("x509", subject)]
        with pytest.raises(NoAuthError):
            plain.get("/cert-only")  # the plain port sees the same tree but has no certificate
    finally:
        stop(zk, plain)


def test_tls_client_auth_need_refuses_clients_without_a_certificate(start_zookeeper, pki):
    server = tls_server(start_zookeeper, pki)
    port = secure_port(server)
    client = KazooClient(hosts=f"127.0.0.1:{port}", timeout=3.0, use_ssl=True, ca=f"{pki}/ca.pem", verify_certs=True)
    try:
        with pytest.raises(Exception):
            client.start(timeout=3)
    finally:
        stop(client)
    # clientAuth=none: no certificate needed, and no x509 id.
    relaxed = tls_server(start_zookeeper, pki, client_auth="none")
    zk = kazoo(f"127.0.0.1:{secure_port(relaxed)}", use_ssl=True, ca=f"{pki}/ca.pem", verify_certs=True)
    try:
        zk.create("/n", b"x")
        with pytest.raises(InvalidACLError):
            zk.create("/m", acl=[make_acl("auth", "", all=True)])
    finally:
        stop(zk)


def test_bad_tls_settings_are_one_line(start_zookeeper, pki, tmp_path):
    from conftest import BIN
    result = subprocess.run(
        [BIN, "zookeeper", "--client-port", "0", "--data-dir", str(tmp_path / "d"), "--override", "secureClientPort=0",
         "--override", f"ssl.keyStore.location={tmp_path}/missing.pem"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "missing.pem" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


@needs_puresasl
def test_broker_registers_with_sasl_and_kafkas_acls(start_zookeeper, start_broker, jaas_file):
    """The broker's server.properties (Kafka's names: java.security.auth.login.config with a JAAS Client section,
    zookeeper.set.acl=true) log it in with SASL DIGEST-MD5; its znodes are owned by sasl:bob, readable by the world
    where Kafka's are, and closed to an anonymous client where Kafka's are (/config/users)."""
    zookeeper = sasl_server(start_zookeeper, jaas_file)
    start_broker(extra=["--zookeeper", zookeeper.address, "--override", f"java.security.auth.login.config={jaas_file}",
                        "--override", "zookeeper.set.acl=true"])
    anonymous = kazoo(zookeeper)
    try:
        acls, _ = anonymous.get_acls("/brokers/ids/1")
        assert [(a.id.scheme, a.id.id, a.perms) for a in acls] == [("sasl", "bob", 31), ("world", "anyone", 1)], acls
        assert b'"port"' in anonymous.get("/brokers/ids/1")[0]
        with pytest.raises(NoAuthError):
            anonymous.set("/brokers/ids/1", b"hijacked")
        with pytest.raises(NoAuthError):
            anonymous.get_children("/config/users")
    finally:
        anonymous.stop()
    owner = kazoo(zookeeper, sasl_options=sasl("bob", "bobsecret"))
    try:
        assert owner.get_children("/config/users") == []
    finally:
        owner.stop()
