import Crypto
import Foundation
import KafkaBroker
import KafkaServer
import KafkaProtocol
import KafkaSecurity
import Logging
import NIOCore
import SwiftASN1
import Synchronization
import Testing
import X509

@testable import KafkaClient

/// Our client against our broker over SSL and SASL_SSL (SCRAM) listeners in this process, with certificates made at
/// test time (no key is committed).
@Suite(.serialized) struct ClientSecurityTests {
    /// A CA and a server certificate for 127.0.0.1 / localhost, as PEM files in `directory`.
    static func makeCertificates(in directory: String) throws -> (ca: String, keystore: String) {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("ledgerstream test CA") }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 86_400, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            }, issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 86_400, issuer: caName, subject: try DistinguishedName { CommonName("localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            }, issuerPrivateKey: .init(caKey))
        func pem(_ certificate: Certificate) throws -> String { try certificate.serializeAsPEM().pemString }
        let caPath = directory + "/ca.pem"
        let keystorePath = directory + "/server.pem"
        try (try pem(ca) + "\n").write(toFile: caPath, atomically: true, encoding: .utf8)
        try (serverKey.pemRepresentation + "\n" + (try pem(server)) + "\n").write(toFile: keystorePath, atomically: true, encoding: .utf8)
        return (caPath, keystorePath)
    }

    func withSecureBroker(_ body: (_ ports: [String: Int], _ ca: String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledgerstream-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (ca, keystore) = try Self.makeCertificates(in: directory)
        var config = BrokerConfig()
        try config.apply(key: "listeners", value: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0")
        try config.apply(key: "ssl.keystore.location", value: keystore)
        try config.apply(key: "sasl.enabled.mechanisms", value: "SCRAM-SHA-512")
        config.logDirs = [directory + "/data"]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let ports = Mutex<[String: Int]>([:])
        let ready = Mutex(false)
        let server = try BrokerServer(config: config, logger: logger, onReady: { _ in ready.withLock { $0 = true } },
                                      onListener: { listener, _, address in ports.withLock { $0[listener.name] = address.port } })
        let serverTask = Task { try await server.run() }
        defer { serverTask.cancel() }
        var waited = 0
        while !ready.withLock({ $0 }) && waited < 300 {
            try await Task.sleep(nanoseconds: 20_000_000)
            waited += 1
        }
        try await body(ports.withLock { $0 }, ca)
    }

    @Test func scramOverTLSRoundTripAndRefusals() async throws {
        try await withSecureBroker { ports, ca in
            let plain = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: try #require(ports["PLAINTEXT"]))])
            try await plain.upsertScramUser("teller", password: "s3cret", mechanism: .sha512, iterations: 4096)
            #expect(try await plain.describeScramUsers(["teller"]).first?.credentials.map(\.mechanism) == [.sha512])
            await plain.close()

            let saslSSL = try #require(ports["SASL_SSL"])
            let good = try ClientSecurity(properties: [
                "security.protocol": "SASL_SSL", "ssl.ca.location": ca, "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": "teller", "sasl.password": "s3cret",
            ])
            let client = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: saslSSL)], security: good)
            try await client.createTopic("deposits", partitions: 1, replicationFactor: 1, configs: [:])
            let producer = KafkaProducer(client: client)
            for i in 0..<20 { try await producer.send(topic: "deposits", key: nil, value: ByteBuffer(string: "d\(i)"), onDelivery: { _ in }) }
            await producer.close()
            #expect(await producer.stats.acknowledged == 20)
            // Fetched over TLS: the segment bytes are copied once instead of sendfile.
            let consumer = KafkaConsumer(client: client, config: ConsumerConfig())
            try await consumer.assign([TopicPartition(topic: "deposits", partition: 0): .beginning])
            var values: [String] = []
            while values.count < 20 { values += try await consumer.poll(timeoutMs: 2000).map { String(buffer: $0.value ?? ByteBuffer()) } }
            #expect(values == (0..<20).map { "d\($0)" })
            await consumer.close()
            await client.close()

            let wrong = try ClientSecurity(properties: [
                "security.protocol": "SASL_SSL", "ssl.ca.location": ca, "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": "teller", "sasl.password": "guess",
            ])
            let refused = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: saslSSL)], security: wrong)
            await #expect(throws: KafkaClientError.authenticationFailed(
                broker: "127.0.0.1:\(saslSSL)",
                reason: "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")) {
                try await refused.listTopics()
            }
            await refused.close()

            // Without the CA the broker is not trusted.
            let untrusting = KafkaClient(bootstrap: [BrokerAddress(host: "127.0.0.1", port: try #require(ports["SSL"]))],
                                         security: try ClientSecurity(properties: ["security.protocol": "SSL"]))
            do {
                _ = try await untrusting.listTopics()
                Issue.record("an untrusted broker was accepted")
            } catch let error as KafkaClientError {
                guard case .tlsFailed(_, let reason) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(reason.contains("not trusted"))
            }
            await untrusting.close()
        }
    }

    /// A refused certificate is a permission failure (not retried); a connection lost while a broker restarts stays a
    /// lost connection, which clients retry.
    @Test func tlsFailuresAreToldApartFromLostConnections() {
        let broker = BrokerAddress(host: "127.0.0.1", port: 9093)
        guard case .tlsFailed(_, let reason) = BrokerConnection.explainTLS(
            .connectionClosed("handshakeFailed(CERTIFICATE_VERIFY_FAILED)"), address: broker)
        else {
            Issue.record("an untrusted certificate was not reported as a TLS failure")
            return
        }
        #expect(reason.contains("not trusted"))
        let lost = BrokerConnection.explainTLS(.connectionClosed("uncleanShutdown"), address: broker)
        #expect(lost == .connectionClosed("uncleanShutdown"))
        #expect(lost.isRetriable)
    }

    @Test func clientPropertiesAreCheckedAndExplained() throws {
        #expect(throws: SecurityConfigError.self) { try ClientSecurity(properties: ["security.protocol": "TLS"]) }
        #expect(throws: SecurityConfigError.self) { try ClientSecurity(properties: ["ssl.ca.locaton": "x"]) }
        #expect(throws: SecurityConfigError.self) {
            try ClientSecurity(properties: ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"])
        }
        #expect(throws: SecurityConfigError.self) {
            try ClientSecurity(properties: ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"])
        }
        let jaas = try ClientSecurity(properties: [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.jaas.config": #"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#,
            "client.id": "ignored: not a security key",
        ])
        #expect(jaas.sasl?.username == "u")
        #expect(jaas.sasl?.password == "p")
        #expect(jaas.sasl?.mechanism == .scramSha256)
    }
}
