import Testing
import FoundationEssentials
@testable import KafkaSecurity

/// SCRAM against RFC 7677's test vector (SCRAM-SHA-256) and our client against our server for both mechanisms.
@Suite struct ScramTests {
    static let salt: [UInt8] = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)

    @Test func rfc7677ServerAcceptsTheKnownProofAndSignsIt() throws {
        let credential = ScramCredential(mechanism: .sha256, password: "pencil", salt: Self.salt, iterations: 4096)
        var server = ScramServerExchange(mechanism: .sha256, serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        let first = server.receive(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)) { $0 == "user" ? credential : nil }
        #expect(first == .success(.challenge(Array(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))))
        let final = server.receive(Array(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".utf8)) { _ in nil }
        #expect(final == .success(.success(user: "user", final: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))))
    }

    @Test(arguments: ScramMechanism.allCases)
    func ourClientAndServerAgree(mechanism: ScramMechanism) throws {
        let credential = ScramCredential(mechanism: mechanism, password: "s3cret,=x", salt: [1, 2, 3, 4], iterations: 4096)
        var client = ScramClientExchange(mechanism: mechanism, username: "al,ice=", password: "s3cret,=x")
        var server = ScramServerExchange(mechanism: mechanism)
        let lookup: (String) -> ScramCredential? = { $0 == "al,ice=" ? credential : nil }
        guard case .success(.challenge(let serverFirst)) = server.receive(client.firstMessage(), credential: lookup) else {
            Issue.record("no challenge")
            return
        }
        let clientFinal = try client.finalMessage(serverFirst: serverFirst).get()
        guard case .success(.success(let user, let serverFinal)) = server.receive(clientFinal, credential: lookup) else {
            Issue.record("proof refused")
            return
        }
        #expect(user == "al,ice=")
        #expect(throws: Never.self) { try client.verify(serverFinal: serverFinal).get() }
    }

    @Test func aWrongPasswordIsRefusedWithKafkasMessage() throws {
        let credential = ScramCredential(mechanism: .sha512, password: "right", salt: [9, 9], iterations: 4096)
        var client = ScramClientExchange(mechanism: .sha512, username: "bob", password: "wrong")
        var server = ScramServerExchange(mechanism: .sha512)
        guard case .success(.challenge(let serverFirst)) = server.receive(client.firstMessage(), credential: { _ in credential }) else {
            Issue.record("no challenge")
            return
        }
        let result = server.receive(try client.finalMessage(serverFirst: serverFirst).get()) { _ in credential }
        #expect(result == .failure(.invalidCredentials(mechanism: .scramSha512)))
        #expect("\(SaslFailure.invalidCredentials(mechanism: .scramSha512))"
            == "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
    }

    @Test func unknownUsersTokensAndGarbageAreRefused() {
        var server = ScramServerExchange(mechanism: .sha256)
        #expect(server.receive(Array("n,,n=ghost,r=abc".utf8)) { _ in nil } == .failure(.invalidCredentials(mechanism: .scramSha256)))
        var tokens = ScramServerExchange(mechanism: .sha256)
        let credential = ScramCredential(mechanism: .sha256, password: "p", salt: [1], iterations: 4096)
        guard case .failure = tokens.receive(Array("n,,n=u,r=abc,tokenauth=true".utf8), credential: { _ in credential }) else {
            Issue.record("delegation token accepted")
            return
        }
        for garbage in ["", "n", "p=tls-unique,,n=u,r=a", "n,,r=abc", "n,,n=u", "\u{FF}", "n,a=other,n=u,r=x"] {
            var fresh = ScramServerExchange(mechanism: .sha256)
            guard case .failure = fresh.receive(Array(garbage.utf8), credential: { _ in credential }) else {
                Issue.record("accepted \(garbage)")
                continue
            }
        }
    }
}

@Suite struct PlainAndJaasTests {
    @Test func plainChecksUserPasswordAndAuthzid() {
        let users = ["alice": "secret"]
        #expect(PlainSasl.authenticate(PlainSasl.clientMessage(username: "alice", password: "secret"), users: users) == .success("alice"))
        // kafka-python and aiokafka send the user name as the authorization id.
        #expect(PlainSasl.authenticate(Array("alice\0alice\0secret".utf8), users: users) == .success("alice"))
        #expect(PlainSasl.authenticate(Array("\0alice\0wrong".utf8), users: users) == .failure(.invalidCredentials(mechanism: .plain)))
        #expect(PlainSasl.authenticate(Array("\0bob\0secret".utf8), users: users) == .failure(.invalidCredentials(mechanism: .plain)))
        guard case .failure(.unauthorizedAuthzid) = PlainSasl.authenticate(Array("root\0alice\0secret".utf8), users: users) else {
            Issue.record("another authzid accepted")
            return
        }
        guard case .failure(.malformed) = PlainSasl.authenticate(Array("no-nuls".utf8), users: users) else {
            Issue.record("garbage accepted")
            return
        }
    }

    @Test func jaasConfigGivesOptionsAndPlainUsers() throws {
        let jaas = try JaasConfig(parsing: #"""
            org.apache.kafka.common.security.plain.PlainLoginModule required
              username="admin" password="admin-secret" user_admin="admin-secret" user_alice="a\"b;c";
            """#)
        #expect(jaas.loginModule == "org.apache.kafka.common.security.plain.PlainLoginModule")
        #expect(jaas.options["username"] == "admin")
        #expect(jaas.plainUsers == ["admin": "admin-secret", "alice": "a\"b;c"])
        #expect(throws: SecurityConfigError.self) { try JaasConfig(parsing: "Module required user_a=\"x\"") }
        #expect(throws: SecurityConfigError.self) { try JaasConfig(parsing: "Module sometimes;") }
    }
}

extension ScramTests {
    /// librdkafka before 2.x repeats the client nonce in its final message; Kafka accepts a nonce ending with the
    /// server-first one, and so do we.
    @Test func aNonceEndingWithTheServerNonceIsAccepted() throws {
        let credential = ScramCredential(mechanism: .sha256, password: "pencil", salt: Self.salt, iterations: 4096)
        var server = ScramServerExchange(mechanism: .sha256, serverNonce: "SERVER")
        _ = server.receive(Array("n,,n=user,r=CLIENT".utf8)) { _ in credential }
        let salted = ScramMechanism.sha256.saltedPassword("pencil", salt: Self.salt, iterations: 4096)
        let clientKey = ScramMechanism.sha256.hmac(key: salted, Array("Client Key".utf8))
        let withoutProof = "c=biws,r=CLIENTCLIENTSERVER"
        let authMessage = Array("n=user,r=CLIENT,r=CLIENTSERVER,s=\(ScramText.base64(Self.salt)),i=4096,\(withoutProof)".utf8)
        let signature = ScramMechanism.sha256.hmac(key: ScramMechanism.sha256.hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let result = server.receive(Array("\(withoutProof),p=\(ScramText.base64(proof))".utf8)) { _ in nil }
        guard case .success(.success(let user, _)) = result else {
            Issue.record("refused: \(result)")
            return
        }
        #expect(user == "user")
    }
}
