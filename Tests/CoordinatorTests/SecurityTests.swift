import JavaProperties
import NIOCore
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: ACLs, authentication and their configuration behave as Apache ZooKeeper 3.8's (PrepRequestProcessor.checkACL
/// and fixupACL, FinalRequestProcessor's read checks, the digest / ip / sasl / x509 providers, DIGEST-MD5, enforced
/// authentication). Method: drive the pure core and its parts directly, no sockets.
struct SecurityTests {
    static let bobDigest = "bob:WGAwC+XYxdw8bJ5K6KcPh8oL58U="  // base64(sha1("bob:bobsecret")), as kazoo computes it

    func digestACL(_ id: String = bobDigest, _ perms: Permissions = .all) -> [ACL] {
        [ACL(perms: perms, id: ZooKeeperID(scheme: "digest", id: id))]
    }

    func addAuth(_ harness: CoreHarness, _ id: ConnectionID, _ credentials: String, scheme: String = "digest") -> [Sent] {
        harness.send(id, xid: SpecialXid.auth, .auth(AuthPacket(scheme: scheme, auth: Array(credentials.utf8))))
    }

    func create(_ harness: CoreHarness, _ id: ConnectionID, _ path: String, acl: [ACL]) -> KeeperErrorCode {
        harness.call(id, .create(CreateRequest(path: path, data: Array("d".utf8), acl: acl, mode: .persistent))).0
    }

    // MARK: - Digest ids

    @Test func digestIdsAreSHA1Base64LikeZooKeepers() {
        #expect(ZooKeeperDigest.id(user: "bob", password: "bobsecret") == Self.bobDigest)
        #expect(ZooKeeperDigest.id(forCredentials: "super:admin") == "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=")
        // Without a colon the whole string is the user (Java's split(":", 2)[0]).
        #expect(ZooKeeperDigest.id(forCredentials: "foo") == "foo:C+7Hteo/D9vJXQ3UfzxbwnXaijM=")
        #expect(Base64.encode([]) == "" && Base64.encode([0xff]) == "/w==" && Base64.encode([1, 2]) == "AQI=")
    }

    // MARK: - Enforcement through the core

    @Test func digestACLGrantsOnlyTheMatchingCredentials() {
        let harness = CoreHarness()
        let (owner, _) = harness.newSession()
        #expect(addAuth(harness, owner, "bob:bobsecret").first?.replyHeader?.err == .ok)
        #expect(create(harness, owner, "/secret", acl: digestACL()) == .ok)
        #expect(harness.call(owner, .getData(path: "/secret", watch: false)).0 == .ok)

        let (stranger, _) = harness.newSession()
        #expect(harness.call(stranger, .getData(path: "/secret", watch: false)).0 == .noAuth)
        #expect(harness.call(stranger, .getChildren(path: "/secret", watch: false)).0 == .noAuth)
        #expect(harness.call(stranger, .getChildren2(path: "/secret", watch: false)).0 == .noAuth)
        #expect(harness.call(stranger, .getAllChildrenNumber(path: "/secret")).0 == .noAuth)
        #expect(harness.call(stranger, .setData(path: "/secret", data: [], version: -1)).0 == .noAuth)
        #expect(harness.call(stranger, .setACL(path: "/secret", acl: ACL.openUnsafe, version: -1)).0 == .noAuth)
        #expect(create(harness, stranger, "/secret/child", acl: ACL.openUnsafe) == .noAuth)
        // exists needs nothing (ZooKeeper 3.8 checks no permission for it).
        #expect(harness.call(stranger, .exists(path: "/secret", watch: false)).0 == .ok)
        // Wrong password: a different id, still no access.
        #expect(addAuth(harness, stranger, "bob:guess").first?.replyHeader?.err == .ok)
        #expect(harness.call(stranger, .getData(path: "/secret", watch: false)).0 == .noAuth)
        #expect(addAuth(harness, stranger, "bob:bobsecret").first?.replyHeader?.err == .ok)
        #expect(harness.call(stranger, .getData(path: "/secret", watch: false)).0 == .ok)
    }

    @Test func deleteNeedsDeleteOnTheParentNotTheNode() {
        let harness = CoreHarness()
        let (owner, _) = harness.newSession()
        _ = addAuth(harness, owner, "bob:bobsecret")
        #expect(create(harness, owner, "/p", acl: digestACL(Self.bobDigest, [.read, .create])) == .ok)
        #expect(create(harness, owner, "/p/c", acl: digestACL(Self.bobDigest, .read)) == .ok)
        #expect(harness.call(owner, .delete(path: "/p/c", version: -1)).0 == .noAuth, "no DELETE on /p")
        #expect(create(harness, owner, "/open", acl: ACL.openUnsafe) == .ok)
        #expect(create(harness, owner, "/open/locked", acl: digestACL(Self.bobDigest, .read)) == .ok)
        let (stranger, _) = harness.newSession()
        #expect(harness.call(stranger, .delete(path: "/open/locked", version: -1)).0 == .ok, "DELETE on the parent suffices")
    }

    @Test func getACLNeedsReadOrAdminAndMasksDigestsWithoutAdmin() {
        let harness = CoreHarness()
        let (owner, _) = harness.newSession()
        _ = addAuth(harness, owner, "bob:bobsecret")
        let acl = digestACL() + [ACL(perms: .read, id: .anyone)]
        #expect(create(harness, owner, "/n", acl: acl) == .ok)
        #expect(create(harness, owner, "/hidden", acl: digestACL()) == .ok)
        guard case .acl(let full, let stat) = harness.call(owner, .getACL(path: "/n")).1 else {
            Issue.record("no ACL")
            return
        }
        #expect(full == acl && stat.aversion == 0)
        let (stranger, _) = harness.newSession()
        guard case .acl(let masked, _) = harness.call(stranger, .getACL(path: "/n")).1 else {
            Issue.record("no ACL")
            return
        }
        #expect(masked == digestACL("bob:x") + [ACL(perms: .read, id: .anyone)])
        #expect(harness.call(stranger, .getACL(path: "/hidden")).0 == .noAuth)
    }

    @Test func authSchemeExpandsToTheRequestersAuthenticatedIds() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        let auth = [ACL(perms: .all, id: ZooKeeperID(scheme: "auth", id: ""))]
        #expect(create(harness, id, "/a", acl: auth) == .invalidACL, "ip ids are not authenticated ids")
        _ = addAuth(harness, id, "bob:bobsecret")
        #expect(create(harness, id, "/a", acl: auth) == .ok)
        guard case .acl(let stored, _) = harness.call(id, .getACL(path: "/a")).1 else {
            Issue.record("no ACL")
            return
        }
        #expect(stored == digestACL())
    }

    @Test func invalidACLs() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        func code(_ acl: [ACL]) -> KeeperErrorCode { create(harness, id, "/x", acl: acl) }
        #expect(code([]) == .invalidACL)
        #expect(code([ACL(perms: .all, id: ZooKeeperID(scheme: "world", id: "everyone"))]) == .invalidACL)
        #expect(code([ACL(perms: .all, id: ZooKeeperID(scheme: "unknown", id: "x"))]) == .invalidACL)
        #expect(code(digestACL("no-colon")) == .invalidACL)
        #expect(code(digestACL("a:b:c")) == .invalidACL)
        #expect(code([ACL(perms: .all, id: ZooKeeperID(scheme: "ip", id: "300.1.1.1"))]) == .invalidACL)
        #expect(code([ACL(perms: .all, id: ZooKeeperID(scheme: "ip", id: "10.0.0.0/33"))]) == .invalidACL)
        #expect(code([ACL(perms: .all, id: ZooKeeperID(scheme: "sasl", id: "bob"))]) == .invalidACL, "sasl provider not enabled")
        #expect(harness.call(id, .setACL(path: "/", acl: [], version: -1)).0 == .invalidACL)
        // A failed create still consumed a zxid, and nothing was created.
        #expect(harness.core.tree.node(at: "/x") == nil)
    }

    @Test func ipACLsMatchAddressesAndPrefixes() {
        let harness = CoreHarness()
        let (local, _) = harness.newSession(ip: "127.0.0.1")
        let (remote, _) = harness.newSession(ip: "10.1.2.3")
        #expect(create(harness, local, "/lo", acl: [ACL(perms: .all, id: ZooKeeperID(scheme: "ip", id: "127.0.0.1"))]) == .ok)
        #expect(create(harness, local, "/net", acl: [ACL(perms: .all, id: ZooKeeperID(scheme: "ip", id: "10.0.0.0/8"))]) == .ok)
        #expect(harness.call(local, .getData(path: "/lo", watch: false)).0 == .ok)
        #expect(harness.call(remote, .getData(path: "/lo", watch: false)).0 == .noAuth)
        #expect(harness.call(remote, .getData(path: "/net", watch: false)).0 == .ok)
        #expect(harness.call(local, .getData(path: "/net", watch: false)).0 == .noAuth)
        #expect(IPv4Pattern.matches(address: "192.168.7.9", pattern: "192.168.0.0/16"))
        #expect(IPv4Pattern.matches(address: "1.2.3.4", pattern: "0.0.0.0/0"))
        #expect(!IPv4Pattern.matches(address: "::1", pattern: "0.0.0.0/0"), "ZooKeeper's ip provider matches IPv4 only")
    }

    @Test func setACLChecksTheACLVersion() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        #expect(create(harness, id, "/v", acl: ACL.openUnsafe) == .ok)
        #expect(harness.call(id, .setACL(path: "/v", acl: ACL.readUnsafe + ACL.openUnsafe, version: 3)).0 == .badVersion)
        guard case .stat(let stat) = harness.call(id, .setACL(path: "/v", acl: ACL.openUnsafe, version: 0)).1 else {
            Issue.record("no Stat")
            return
        }
        #expect(stat.aversion == 1 && stat.version == 0)
        #expect(harness.call(id, .setACL(path: "/v", acl: ACL.openUnsafe, version: 0)).0 == .badVersion)
        #expect(harness.call(id, .setACL(path: "/missing", acl: ACL.openUnsafe, version: -1)).0 == .noNode)
    }

    @Test func multiChecksEveryOperation() {
        let harness = CoreHarness()
        let (owner, _) = harness.newSession()
        _ = addAuth(harness, owner, "bob:bobsecret")
        #expect(create(harness, owner, "/locked", acl: digestACL()) == .ok)
        let (stranger, _) = harness.newSession()
        let ops: [ZooKeeperRequest] = [
            .create(CreateRequest(path: "/free", data: [], mode: .persistent)),
            .setData(path: "/locked", data: [1], version: -1),
        ]
        guard case .multi(let results) = harness.call(stranger, .multi(ops)).1 else {
            Issue.record("no multi reply")
            return
        }
        #expect(results == [.error(.ok), .error(.noAuth)])
        #expect(harness.core.tree.node(at: "/free") == nil)
        #expect(harness.call(stranger, .multi([.check(path: "/locked", version: -1)])).1 == .multi([.error(.noAuth)]))
    }

    @Test func superDigestAndSkipACLBypassChecks() {
        var policy = SecurityPolicy()
        policy.superDigest = "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="
        let harness = CoreHarness(security: policy)
        let (owner, _) = harness.newSession()
        _ = addAuth(harness, owner, "bob:bobsecret")
        #expect(create(harness, owner, "/locked", acl: digestACL(Self.bobDigest, .read)) == .ok)
        let (admin, _) = harness.newSession()
        #expect(harness.call(admin, .setData(path: "/locked", data: [], version: -1)).0 == .noAuth)
        _ = addAuth(harness, admin, "super:admin")
        #expect(harness.call(admin, .setData(path: "/locked", data: [], version: -1)).0 == .ok)
        #expect(harness.call(admin, .whoAmI).1 == .whoAmI([
            ClientInfo(authScheme: "super", user: ""), ClientInfo(authScheme: "digest", user: "super"),
            ClientInfo(authScheme: "ip", user: "127.0.0.1"),
        ]))

        var skip = SecurityPolicy()
        skip.skipACL = true
        let open = CoreHarness(security: skip)
        let (a, _) = open.newSession()
        _ = addAuth(open, a, "bob:bobsecret")
        #expect(create(open, a, "/locked", acl: digestACL(Self.bobDigest, .read)) == .ok)
        let (b, _) = open.newSession()
        #expect(open.call(b, .setData(path: "/locked", data: [], version: -1)).0 == .ok)
    }

    @Test func authPacketsAsZooKeeperAnswersThem() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        // No colon is not malformed for ZooKeeper: the id is "foo:<hash of foo>".
        #expect(addAuth(harness, id, "foo").first?.replyHeader?.err == .ok)
        #expect(addAuth(harness, id, "", scheme: "ip").first?.replyHeader?.err == .ok)
        #expect(harness.core.authFailures == 0)
        for scheme in ["sasl", "world", "x509", "super"] {
            let (other, _) = harness.newSession()
            #expect(addAuth(harness, other, "x", scheme: scheme)
                == [.reply(other, ReplyHeader(xid: SpecialXid.auth, zxid: .zero, err: .authFailed), body: []), .close(other)])
        }
        #expect(harness.core.authFailures == 4)
        var noDigest = SecurityPolicy()
        noDigest.digestEnabled = false
        let disabled = CoreHarness(security: noDigest)
        let (d, _) = disabled.newSession()
        #expect(addAuth(disabled, d, "bob:bobsecret").first?.replyHeader?.err == .authFailed)
    }

    @Test func aclsSurviveTheLogReplay() throws {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = addAuth(harness, id, "bob:bobsecret")
        #expect(create(harness, id, "/kept", acl: digestACL()) == .ok)
        _ = harness.call(id, .setACL(path: "/kept", acl: digestACL(Self.bobDigest, [.read, .admin]), version: 0))
        var replayed = CoordinatorState()
        for record in harness.log.records {
            var buffer = ByteBuffer()
            record.write(to: &buffer)
            var reader = JuteReader(buffer)
            let decoded = try TxnRecord(from: &reader)
            _ = try replayed.apply(decoded.header, decoded.txn)
        }
        #expect(replayed.tree.node(at: "/kept")?.acl == digestACL(Self.bobDigest, [.read, .admin]))
        #expect(replayed.tree.node(at: "/kept")?.aversion == 1)
    }

    // MARK: - SASL DIGEST-MD5

    static func saslPolicy() -> SecurityPolicy {
        var policy = SecurityPolicy()
        policy.saslProviderEnabled = true
        policy.saslUsers = ["bob": "bobsecret"]
        return policy
    }

    func saslLogin(_ harness: CoreHarness, _ id: ConnectionID, user: String, password: String) -> (KeeperErrorCode, [Sent]) {
        let (code, body) = harness.call(id, .sasl(token: []))
        guard code == .ok, case .saslToken(let challenge?) = body else { return (code, []) }
        var client = DigestMD5Client(username: user, password: password)
        let response = try! client.respond(to: challenge)!
        let sent = harness.send(id, .sasl(token: response))
        guard case .reply(_, let header, let reply) = sent.first, header.err == .ok else {
            return (sent.first?.replyHeader?.err ?? .systemError, sent)
        }
        var reader = JuteReader(ByteBuffer(bytes: reply))
        guard case .saslToken(let rspauth?) = try! ZooKeeperResponse.decode(for: .sasl, from: &reader) else { return (.systemError, sent) }
        #expect(try! client.respond(to: rspauth) == nil)
        #expect(client.isComplete)
        return (.ok, sent)
    }

    @Test func rfc2831Example() {
        // RFC 2831 §4: chris / secret at elwood.innosoft.com.
        let response = DigestMD5.responseValue(
            username: "chris", realm: "elwood.innosoft.com", password: "secret", nonce: "OA6MG9tEQGm2hh",
            cnonce: "OA6MHXh6VqTrRk", nc: "00000001", qop: "auth", digestURI: "imap/elwood.innosoft.com", authzid: nil,
            prefix: "AUTHENTICATE")
        #expect(response == "d388dad90d4bbd760a152321f2143af7")
        let rspauth = DigestMD5.responseValue(
            username: "chris", realm: "elwood.innosoft.com", password: "secret", nonce: "OA6MG9tEQGm2hh",
            cnonce: "OA6MHXh6VqTrRk", nc: "00000001", qop: "auth", digestURI: "imap/elwood.innosoft.com", authzid: nil,
            prefix: "")
        #expect(rspauth == "ea40f60335c427b5527b84dbabcdfffd")
        #expect(DigestMD5.directives(Array(#"realm="a\"b",nonce=xyz , qop="auth,auth-int""#.utf8))
            == ["realm": "a\"b", "nonce": "xyz", "qop": "auth,auth-int"])
    }

    @Test func saslLoginGivesTheSaslIdWhichSaslACLsMatch() {
        let harness = CoreHarness(security: Self.saslPolicy())
        let (id, _) = harness.newSession()
        #expect(saslLogin(harness, id, user: "bob", password: "bobsecret").0 == .ok)
        #expect(harness.call(id, .whoAmI).1 == .whoAmI([ClientInfo(authScheme: "sasl", user: "bob"), ClientInfo(authScheme: "ip", user: "127.0.0.1")]))
        let bobOnly = [ACL(perms: .all, id: ZooKeeperID(scheme: "sasl", id: "bob"))]
        #expect(create(harness, id, "/bob", acl: bobOnly) == .ok)
        #expect(create(harness, id, "/mine", acl: [ACL(perms: .all, id: ZooKeeperID(scheme: "auth", id: ""))]) == .ok)
        #expect(harness.core.tree.node(at: "/mine")?.acl == bobOnly)
        let (anonymous, _) = harness.newSession()
        #expect(harness.call(anonymous, .getData(path: "/bob", watch: false)).0 == .noAuth)
        // After completion an empty token is answered with nothing.
        #expect(harness.call(id, .sasl(token: [])) == (.ok, .saslToken(nil)))
    }

    @Test func saslWrongPasswordIsAuthFailedAndCloses() {
        let harness = CoreHarness(security: Self.saslPolicy())
        let (id, _) = harness.newSession()
        let (code, sent) = saslLogin(harness, id, user: "bob", password: "wrong")
        #expect(code == .authFailed)
        #expect(sent.last == .close(id))
        let (other, _) = harness.newSession()
        #expect(saslLogin(harness, other, user: "mallory", password: "x").0 == .authFailed)
        #expect(harness.core.authFailures == 2)
        let unconfigured = CoreHarness()
        let (u, _) = unconfigured.newSession()
        #expect(unconfigured.send(u, .sasl(token: [])).map(\.replyHeader?.err) == [.authFailed, nil])
    }

    @Test func enforcedSaslRefusesUnauthenticatedRequests() {
        var policy = Self.saslPolicy()
        policy.enforcedSchemes = ["sasl"]
        let harness = CoreHarness(security: policy)
        let (anonymous, _) = harness.newSession()
        let refused = harness.send(anonymous, .getData(path: "/", watch: false))
        #expect(refused.first?.replyHeader?.err == .sessionClosedRequireSaslAuth)
        #expect(refused.last == .close(anonymous))
        let (id, _) = harness.newSession()
        #expect(saslLogin(harness, id, user: "bob", password: "bobsecret").0 == .ok)
        #expect(harness.call(id, .getData(path: "/", watch: false)).0 == .ok)
        let (wrong, _) = harness.newSession()
        #expect(saslLogin(harness, wrong, user: "bob", password: "nope").0 == .sessionClosedRequireSaslAuth)
    }

    @Test func x509SubjectIsAnId() {
        var policy = SecurityPolicy()
        policy.x509ProviderEnabled = true
        let harness = CoreHarness(security: policy)
        let (id, _) = harness.newSession()
        harness.core.connectionAuthenticated(id, certificateSubject: "CN=client,O=ledgerstream")
        let acl = [ACL(perms: .all, id: ZooKeeperID(scheme: "x509", id: "CN=client,O=ledgerstream"))]
        #expect(create(harness, id, "/cert", acl: acl) == .ok)
        #expect(harness.call(id, .getData(path: "/cert", watch: false)).0 == .ok)
        #expect(addAuth(harness, id, "", scheme: "x509").first?.replyHeader?.err == .ok)
        let (other, _) = harness.newSession()
        #expect(harness.call(other, .getData(path: "/cert", watch: false)).0 == .noAuth)
        #expect(addAuth(harness, other, "", scheme: "x509").first?.replyHeader?.err == .authFailed)
    }

    // MARK: - Configuration

    @Test func securityProperties() throws {
        let directory = TemporaryDirectory("jaas")
        defer { directory.remove() }
        let jaas = directory.path + "/jaas.conf"
        try """
            /* the server's users */
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_super="adminsecret"
                user_bob="bob\\"secret";   // quoted quote
            };
            Client {
                org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret";
            };
            """.write(toFile: jaas, atomically: true, encoding: .utf8)
        var config = ZooKeeperServerConfig()
        try config.apply(JavaProperties(parsing: """
            skipACL=no
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            authProvider.2=com.example.Custom
            DigestAuthenticationProvider.superDigest=super:xQJmxLMiHGwaqBvst5y6rkB6HQs=
            zookeeper.superUser=admin
            java.security.auth.login.config=\(jaas)
            enforce.auth.enabled=true
            enforce.auth.schemes=sasl,digest
            """))
        #expect(config.security.skipACL == false)
        #expect(config.security.saslProviderEnabled)
        #expect(config.security.superDigest == "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=")
        #expect(config.security.superUsers == ["admin"])
        #expect(config.security.saslUsers == ["super": "adminsecret", "bob": "bob\"secret"])
        #expect(config.security.enforcedSchemes == ["sasl", "digest"])
        #expect(config.warnings.count == 1)
        #expect(config.unknownKeys.isEmpty && config.ignoredKeys.isEmpty)
        let client = try JAASConfiguration(parsing: try String(contentsOfFile: jaas, encoding: .utf8)).options(of: "Client")
        #expect(client == ["username": "bob", "password": "bobsecret"])

        var skip = ZooKeeperServerConfig()
        try skip.apply(JavaProperties(parsing: "zookeeper.skipACL=yes"))
        #expect(skip.security.skipACL)
    }

    @Test func securityConfigurationErrorsNameTheProblem() {
        func error(_ text: String) -> String? {
            var config = ZooKeeperServerConfig()
            do {
                try config.apply(JavaProperties(parsing: text))
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error("java.security.auth.login.config=/nonexistent/jaas.conf")?.contains("/nonexistent/jaas.conf") == true)
        #expect(error("enforce.auth.enabled=true")?.contains("enforce.auth.schemes") == true)
        #expect(error("sessionRequireClientSASLAuth=true")?.contains("sasl is not available") == true)
        #expect(error("secureClientPort=2281")?.contains("ssl.keyStore.location") == true)
        #expect(error("ssl.keyStore.type=JKS")?.contains("PEM") == true)
        #expect(error("ssl.clientAuth=sometimes")?.contains("need, want or none") == true)
        #expect(error("DigestAuthenticationProvider.superDigest=nocolon")?.contains("super:") == true)
        #expect(throws: JAASConfiguration.ParseError.self) { try JAASConfiguration(parsing: "Server { x required a=\"b\" }; ") }
    }
}
