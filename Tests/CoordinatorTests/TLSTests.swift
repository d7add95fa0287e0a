import Foundation
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the secure client port speaks TLS with ZooKeeper's `ssl.*` settings (PEM key store and trust store,
/// `ssl.clientAuth`), a verified client certificate gives the session `x509:<subject DN>`, and our client connects
/// over TLS (as the broker's registration does with `zookeeper.ssl.client.enable`). Method: certificates made with
/// openssl; a real server in-process; our client with and without a certificate.
@Suite(.serialized)
struct TLSTests {
    /// CA, server (IP SAN 127.0.0.1) and client (CN=client,O=ledgerstream) certificates; `server.pem` and
    /// `client.pem` hold key and certificate.
    final class PKI: Sendable {
        let directory = TemporaryDirectory("pki")
        var path: String { directory.path }

        init?() throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return nil }
            try run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                    "-subj", "/CN=ledgerstream test CA")
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                .write(toFile: path + "/server.ext", atomically: true, encoding: .utf8)
            try "extendedKeyUsage=clientAuth\n".write(toFile: path + "/client.ext", atomically: true, encoding: .utf8)
            for (name, subject) in [("server", "/CN=localhost"), ("client", "/O=ledgerstream/CN=client")] {
                try run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject)
                try run("x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                        "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext")
                let pem = try String(contentsOfFile: "\(path)/\(name).key", encoding: .utf8)
                    + String(contentsOfFile: "\(path)/\(name).crt", encoding: .utf8)
                try pem.write(toFile: "\(path)/\(name).pem", atomically: true, encoding: .utf8)
            }
        }

        private func run(_ arguments: String...) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
        }
    }

    static func server(_ pki: PKI, clientAuth: ZooKeeperTLSSettings.ClientAuth) async throws -> (ServerHarness, Int) {
        let securePort = try ApacheZooKeeper.freePort()
        let server = try await ServerHarness(configure: { config in
            config.secureClientPort = securePort
            config.tls.keyStoreLocation = pki.path + "/server.pem"
            config.tls.trustStoreLocation = pki.path + "/ca.pem"
            config.tls.clientAuth = clientAuth
            config.security.x509ProviderEnabled = true
        }).start()
        return (server, securePort)
    }

    @Test func clientCertificateBecomesTheX509Id() async throws {
        guard let pki = try PKI() else { return }
        defer { pki.directory.remove() }
        let (server, port) = try await Self.server(pki, clientAuth: .need)
        let tls = ZooKeeperClientTLS(
            trustStore: pki.path + "/ca.pem", certificateChain: pki.path + "/client.pem", privateKey: pki.path + "/client.pem")
        let zk = try await ZooKeeperClient.connect(to: "127.0.0.1:\(port)", tls: tls, logger: quietLogger)
        let subject = "CN=client,O=ledgerstream"
        #expect(try await zk.whoAmI() == [ClientInfo(authScheme: "x509", user: subject), ClientInfo(authScheme: "ip", user: "127.0.0.1")])
        try await zk.create("/x", data: [1], acl: [ACL(perms: .all, id: ZooKeeperID(scheme: "auth", id: ""))])
        #expect(try await zk.getACL("/x").acl == [ACL(perms: .all, id: ZooKeeperID(scheme: "x509", id: subject))])
        let plain = try await server.client()
        await #expect(throws: ZooKeeperClientError.keeper(.noAuth, path: "/x")) { _ = try await plain.getData("/x") }
        await plain.close()
        await zk.close()

        // ssl.clientAuth=need: no certificate, no connection.
        do {
            let anonymous = try await ZooKeeperClient.connect(
                to: "127.0.0.1:\(port)", sessionTimeoutMs: 4000, connectTimeoutMs: 1500,
                tls: ZooKeeperClientTLS(trustStore: pki.path + "/ca.pem"), logger: quietLogger)
            await anonymous.close()
            Issue.record("connected without a client certificate")
        } catch {
            #expect("\(error)".contains("127.0.0.1:\(port)"))
        }
        await server.stop()
        server.directory.remove()
    }

    @Test func clientAuthNoneNeedsNoCertificate() async throws {
        guard let pki = try PKI() else { return }
        defer { pki.directory.remove() }
        let (server, port) = try await Self.server(pki, clientAuth: .none)
        let zk = try await ZooKeeperClient.connect(
            to: "127.0.0.1:\(port)", tls: ZooKeeperClientTLS(trustStore: pki.path + "/ca.pem"), logger: quietLogger)
        #expect(try await zk.whoAmI() == [ClientInfo(authScheme: "ip", user: "127.0.0.1")])
        try await zk.create("/plain-over-tls", data: [2])
        #expect(try await zk.getData("/plain-over-tls").data == [2])
        await zk.close()
        // A server certificate the client does not trust: refused.
        await #expect(throws: ZooKeeperClientError.self) {
            let untrusting = try await ZooKeeperClient.connect(
                to: "127.0.0.1:\(port)", sessionTimeoutMs: 4000, connectTimeoutMs: 1500,
                tls: ZooKeeperClientTLS(trustStore: pki.path + "/client.crt"), logger: quietLogger)
            await untrusting.close()
        }
        await server.stop()
        server.directory.remove()
    }

    @Test func missingKeyStoreIsAStartError() throws {
        var config = ZooKeeperServerConfig()
        config.secureClientPort = 0
        config.tls.keyStoreLocation = "/nonexistent/server.pem"
        let directory = TemporaryDirectory("tls-bad")
        defer { directory.remove() }
        config.dataDir = directory.path
        #expect(throws: (any Error).self) { _ = try ZooKeeperServer(config: config, logger: quietLogger) }
        do {
            _ = try ZooKeeperServer(config: config, logger: quietLogger)
        } catch {
            #expect("\(error)".contains("/nonexistent/server.pem"))
        }
    }
}
