import KafkaProtocol
import KafkaSecurity
import NIOCore
import Testing

@testable import KafkaBroker

/// SASL, SCRAM credentials and ACLs through the broker's request path (real frames, no sockets).
@Suite struct BrokerSecurityTests {
    static let jaas = #"org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_alice="alice-secret";"#

    /// A broker with a SASL_PLAINTEXT listener first (the harness's session), ACLs on, admin a super user.
    func secured(acls: Bool = true, reauthMs: Int64 = 0) throws -> BrokerHarness {
        let harness = try BrokerHarness { config in
            try! config.apply(key: "listeners", value: "SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0")
            try! config.apply(key: "sasl.jaas.config", value: Self.jaas)
            config.connectionsMaxReauthMs = reauthMs
            if acls {
                try! config.apply(key: "authorizer.class.name", value: "kafka.security.authorizer.AclAuthorizer")
                try! config.apply(key: "super.users", value: "User:admin")
            }
        }
        return harness
    }

    func login(_ harness: BrokerHarness, _ user: String, _ password: String, handshakeVersion: Int16 = 1) throws -> SaslAuthenticateResponse {
        harness.session = try BrokerHarness.session(config: harness.config, listener: harness.config.listeners[0])
        let handshake = try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: handshakeVersion)
        #expect(handshake.errorCode == 0)
        #expect(handshake.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
        return try harness.call(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: PlainSasl.clientMessage(username: user, password: password))),
                                version: 2)
    }

    @Test func nothingButHandshakeIsServedBeforeAuthentication() throws {
        let harness = try secured()
        defer { harness.close() }
        guard case .closed(let reason) = harness.send(MetadataRequest(topics: nil), version: 9) else {
            Issue.record("metadata served before authentication")
            return
        }
        #expect(reason.contains("during SASL authentication"))
        // ApiVersions is allowed, so clients can find SaslHandshake's versions.
        #expect(try harness.call(ApiVersionsRequest(clientSoftwareName: "test", clientSoftwareVersion: "1"), version: 3).errorCode == 0)
    }

    @Test func plainLoginThenRequestsAsThatUser() throws {
        let harness = try secured(acls: false)
        defer { harness.close() }
        let response = try login(harness, "alice", "alice-secret")
        #expect(response.errorCode == 0)
        #expect(harness.session.principal == KafkaPrincipal(name: "alice"))
        #expect(try harness.call(MetadataRequest(topics: nil), version: 9).brokers.count == 1)
        // A second authentication on the same connection is illegal (no session lifetime configured).
        #expect(try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1).errorCode == ErrorCode.illegalSaslState.rawValue)
    }

    @Test func aWrongPasswordIsAnsweredLateThenClosed() throws {
        let harness = try secured()
        defer { harness.close() }
        harness.session = try BrokerHarness.session(config: harness.config, listener: harness.config.listeners[0])
        _ = try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1)
        let outcome = harness.send(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: PlainSasl.clientMessage(username: "alice", password: "nope"))),
                                   version: 1)
        guard case .answeredThenClosed(let frame?, _) = outcome else {
            Issue.record("not refused: \(outcome)")
            return
        }
        let response = try harness.decode(frame, as: SaslAuthenticateRequest.self, version: 1)
        #expect(response.errorCode == ErrorCode.saslAuthenticationFailed.rawValue)
        #expect(response.errorMessage == "Authentication failed: Invalid username or password")
        #expect(harness.session.principal == .anonymous)
    }

    @Test func anUnknownMechanismListsTheEnabledOnes() throws {
        let harness = try secured()
        defer { harness.close() }
        guard case .answeredThenClosed(let frame?, _) = harness.send(SaslHandshakeRequest(mechanism: "GSSAPI"), version: 1) else {
            Issue.record("GSSAPI accepted")
            return
        }
        let response = try harness.decode(frame, as: SaslHandshakeRequest.self, version: 1)
        #expect(response.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue)
        #expect(response.mechanisms.contains("SCRAM-SHA-512"))
    }

    @Test func scramCredentialsThroughTheAdminApisThenALogin() throws {
        let harness = try secured()
        defer { harness.close() }
        #expect(try login(harness, "admin", "admin-secret").errorCode == 0)
        let salt: [UInt8] = [7, 7, 7, 7]
        let salted = ScramMechanism.sha512.saltedPassword("bob-pw", salt: salt, iterations: 4096)
        let alter = try harness.call(AlterUserScramCredentialsRequest(upsertions: [
            .init(name: "bob", mechanism: 2, iterations: 4096, salt: ByteBuffer(bytes: salt), saltedPassword: ByteBuffer(bytes: salted)),
            .init(name: "eve", mechanism: 1, iterations: 100, salt: ByteBuffer(bytes: salt), saltedPassword: ByteBuffer(bytes: salted)),
        ]), version: 0)
        #expect(Dictionary(uniqueKeysWithValues: alter.results.map { ($0.user, $0.errorCode) })
            == ["bob": 0, "eve": ErrorCode.unacceptableCredential.rawValue])
        let described = try harness.call(DescribeUserScramCredentialsRequest(users: [.init(name: "bob"), .init(name: "ghost")]), version: 0)
        #expect(described.results.map(\.errorCode) == [0, ErrorCode.resourceNotFound.rawValue])
        #expect(described.results[0].credentialInfos.map(\.iterations) == [4096])

        // Bob logs in with SCRAM-SHA-512 on a new connection; the credential survives a restart.
        try harness.restart()
        harness.session = try BrokerHarness.session(config: harness.config, listener: harness.config.listeners[0])
        #expect(try harness.call(SaslHandshakeRequest(mechanism: "SCRAM-SHA-512"), version: 1).errorCode == 0)
        var client = ScramClientExchange(mechanism: .sha512, username: "bob", password: "bob-pw")
        let first = try harness.call(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: client.firstMessage())), version: 1)
        #expect(first.errorCode == 0)
        let final = try client.finalMessage(serverFirst: Array(first.authBytes.readableBytesView)).get()
        let last = try harness.call(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: final)), version: 1)
        #expect(last.errorCode == 0)
        #expect(throws: Never.self) { try client.verify(serverFinal: Array(last.authBytes.readableBytesView)).get() }
        #expect(harness.session.principal == KafkaPrincipal(name: "bob"))
        // Bob is not a super user and has no ACL on the cluster.
        let refused = try harness.call(DescribeUserScramCredentialsRequest(users: nil), version: 0)
        #expect(refused.errorCode == ErrorCode.clusterAuthorizationFailed.rawValue)
    }

    @Test func aclsDecideProduceFetchAndMetadata() throws {
        let harness = try secured()
        defer { harness.close() }
        #expect(try login(harness, "admin", "admin-secret").errorCode == 0)
        try harness.createTopic("pay")
        try harness.createTopic("secret")
        let create = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: 2, resourceName: "pay", resourcePatternType: 3, principal: "User:alice", host: "*", operation: 4, permissionType: 3),
        ]), version: 3)
        #expect(create.results.map(\.errorCode) == [0])

        #expect(try login(harness, "alice", "alice-secret").errorCode == 0)
        #expect(try harness.produce("pay", batch: BrokerHarness.batch(["a"])).errorCode == 0)
        #expect(try harness.produce("secret", batch: BrokerHarness.batch(["b"])).errorCode == ErrorCode.topicAuthorizationFailed.rawValue)
        #expect(try harness.fetch("pay", offset: 0).responses[0].partitions[0].errorCode == ErrorCode.topicAuthorizationFailed.rawValue)
        // WRITE implies DESCRIBE: alice sees pay, not secret.
        let metadata = try harness.call(MetadataRequest(topics: nil), version: 9)
        #expect(metadata.topics.map(\.name) == ["pay"])
        let named = try harness.call(MetadataRequest(topics: [.init(name: "secret")], allowAutoTopicCreation: true), version: 9)
        #expect(named.topics.map(\.errorCode) == [ErrorCode.topicAuthorizationFailed.rawValue])
        #expect(try harness.call(DescribeAclsRequest(resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1), version: 3)
            .errorCode == ErrorCode.clusterAuthorizationFailed.rawValue)

        // Nothing denied was written.
        #expect(try login(harness, "admin", "admin-secret").errorCode == 0)
        #expect(try BrokerHarness.values(harness.fetch("secret", offset: 0).responses[0].partitions[0]).isEmpty)
        let listed = try harness.call(DescribeAclsRequest(resourceTypeFilter: 2, resourceNameFilter: "pay", patternTypeFilter: 2,
                                                          operation: 1, permissionType: 1), version: 3)
        #expect(listed.resources.map(\.resourceName) == ["pay"])
        let deleted = try harness.call(DeleteAclsRequest(filters: [
            .init(resourceTypeFilter: 1, patternTypeFilter: 1, principalFilter: "User:alice", operation: 1, permissionType: 1),
        ]), version: 3)
        #expect(deleted.filterResults[0].matchingAcls.count == 1)
        #expect(try login(harness, "alice", "alice-secret").errorCode == 0)
        #expect(try harness.produce("pay", batch: BrokerHarness.batch(["c"])).errorCode == ErrorCode.topicAuthorizationFailed.rawValue)
    }

    @Test func aclApisWithoutAnAuthorizerSaySecurityDisabled() throws {
        let harness = try BrokerHarness()
        defer { harness.close() }
        let response = try harness.call(DescribeAclsRequest(resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1), version: 1)
        #expect(response.errorCode == ErrorCode.securityDisabled.rawValue)
        let created = try harness.call(CreateAclsRequest(creations: [
            .init(resourceType: 2, resourceName: "t", resourcePatternType: 3, principal: "User:a", host: "*", operation: 3, permissionType: 3),
        ]), version: 1)
        #expect(created.results.map(\.errorCode) == [ErrorCode.securityDisabled.rawValue])
    }

    @Test func anExpiredSessionMustReauthenticate() throws {
        let clock = SteppedClock()
        let harness = try BrokerHarness(clock: clock) { config in
            try! config.apply(key: "listeners", value: "SASL_PLAINTEXT://127.0.0.1:0")
            try! config.apply(key: "sasl.jaas.config", value: Self.jaas)
            config.connectionsMaxReauthMs = 5000
        }
        defer { harness.close() }
        let response = try login(harness, "alice", "alice-secret")
        #expect(response.sessionLifetimeMs == 5000)
        clock.advance(by: 6000)
        guard case .closed = harness.send(MetadataRequest(topics: nil), version: 9) else {
            Issue.record("an expired session was served")
            return
        }
        // Re-authenticating as the same user opens the session again; as another user is refused.
        #expect(try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1).errorCode == 0)
        #expect(try harness.call(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: PlainSasl.clientMessage(username: "alice", password: "alice-secret"))),
                                 version: 1).errorCode == 0)
        #expect(try harness.call(MetadataRequest(topics: nil), version: 9).brokers.count == 1)
        clock.advance(by: 2000)
        #expect(try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1).errorCode == 0)
        guard case .answeredThenClosed(let frame?, _) = harness.send(
            SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: PlainSasl.clientMessage(username: "admin", password: "admin-secret"))), version: 1)
        else {
            Issue.record("the principal changed during re-authentication")
            return
        }
        #expect(try harness.decode(frame, as: SaslAuthenticateRequest.self, version: 1).errorMessage?.contains("Cannot change principals") == true)
    }

    @Test func rawTokensAfterAVersion0Handshake() throws {
        let harness = try secured(acls: false)
        defer { harness.close() }
        #expect(try harness.call(SaslHandshakeRequest(mechanism: "PLAIN"), version: 0).errorCode == 0)
        guard case .response(let frame) = harness.sendRaw(ByteBuffer(bytes: PlainSasl.clientMessage(username: "alice", password: "alice-secret")))
        else {
            Issue.record("raw token not answered")
            return
        }
        #expect(Array(frame.readableBytesView) == [0, 0, 0, 0])
        #expect(harness.session.principal == KafkaPrincipal(name: "alice"))
    }
}

/// Listener names, protocols, per-listener settings and certificate principals, from Kafka's properties.
@Suite struct ListenerSecurityConfigTests {
    @Test func customListenerNamesNeedAProtocol() throws {
        var config = BrokerConfig()
        try config.apply(key: "listeners", value: "CLIENT://127.0.0.1:0,INTERNAL://127.0.0.1:0")
        #expect(throws: BrokerConfigError.self) { try config.securityProtocol(of: config.listeners[0]) }
        try config.apply(key: "listener.security.protocol.map", value: "CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT")
        #expect(try config.securityProtocol(of: config.listeners[0]) == .saslPlaintext)
        #expect(try config.securityProtocol(of: config.listeners[1]) == .plaintext)
        try config.apply(key: "sasl.enabled.mechanisms", value: "PLAIN")
        try config.apply(key: "listener.name.client.sasl.enabled.mechanisms", value: "SCRAM-SHA-256")
        #expect(config.securitySetting("sasl.enabled.mechanisms", listener: "CLIENT") == "SCRAM-SHA-256")
        #expect(config.securitySetting("sasl.enabled.mechanisms", listener: "INTERNAL") == "PLAIN")
        #expect(try ListenerSecurity(listener: config.listeners[0], config: config).saslMechanisms == [.scramSha256])
    }

    @Test func certificatePrincipalsFollowTheMappingRules() throws {
        let whole = try PrincipalMappingRules(parsing: "DEFAULT")
        #expect(whole.principalName(forSubject: "CN=client,O=Bank") == "CN=client,O=Bank")
        let rules = try PrincipalMappingRules(parsing: "RULE:^CN=(.*?),O=Bank$/$1/L,DEFAULT")
        #expect(rules.principalName(forSubject: "CN=Teller,O=Bank") == "teller")
        #expect(rules.principalName(forSubject: "CN=x,O=Other") == "CN=x,O=Other")
        let only = try PrincipalMappingRules(parsing: "RULE:^CN=(.*)$/$1/U")
        #expect(only.principalName(forSubject: "O=Nope") == nil)
        #expect(throws: SecurityConfigError.self) { try PrincipalMappingRules(parsing: "SOMETIMES") }
        #expect(throws: SecurityConfigError.self) { try PrincipalMappingRules(parsing: "RULE:^CN=(.*$/$1/,DEFAULT") }
    }
}

extension ListenerSecurityConfigTests {
    @Test func securityKeysLedgerstreamDoesNotReadAreReported() throws {
        var config = BrokerConfig()
        try config.apply(key: "ssl.cipher.suites", value: "TLS_AES_128_GCM_SHA256")
        try config.apply(key: "listener.name.sasl_ssl.plain.sasl.jaas.config", value: "x required;")
        try config.apply(key: "listener.name.sasl_ssl.ssl.keystore.location", value: "/k.pem")
        #expect(config.unknownKeys == ["ssl.cipher.suites"])
    }
}
