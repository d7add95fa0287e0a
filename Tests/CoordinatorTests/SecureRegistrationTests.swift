import Foundation
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: with ZooKeeper credentials the broker's registration logs in on every connection (SASL DIGEST-MD5 as Kafka
/// does from a JAAS Client section, or digest), and with `zookeeper.set.acl=true` creates its znodes with Kafka's
/// ACLs (creator-all plus world READ, creator only under the sensitive paths, `/consumers` open) — in
/// `ledgerstream zookeeper` and in a real Apache ZooKeeper 3.8 alike. Method: register, then read the ACLs back and try
/// writes as an anonymous client.
@Suite(.serialized)
struct SecureRegistrationTests {
    static let jaas = """
        Server {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            user_broker="broker-secret";
        };
        """

    /// A SASL-enabled coordinator of either kind (tickTime 250 ms).
    static func start(_ target: RegistrationTests.Target) async throws -> RegistrationTests.Coordinator? {
        switch target {
        case .ledgerstream:
            let server = try await ServerHarness(configure: { config in
                config.tickTimeMs = 250
                config.security.saslProviderEnabled = true
                config.security.saslUsers = ["broker": "broker-secret"]
            }).start()
            return RegistrationTests.Coordinator(connect: server.connectString) {
                await server.stop()
                server.directory.remove()
            }
        case .apache:
            if let reason = ApacheZooKeeper.unavailableReason {
                print("skipping the Apache ZooKeeper half: \(reason)")
                return nil
            }
            let jaasDirectory = TemporaryDirectory("jaas")
            let jaasFile = jaasDirectory.path + "/jaas.conf"
            try jaas.write(toFile: jaasFile, atomically: true, encoding: .utf8)
            let zk = try ApacheZooKeeper(tickTimeMs: 250, jvmFlags: [
                "-Djava.security.auth.login.config=\(jaasFile)",
                "-Dzookeeper.authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            ])
            return RegistrationTests.Coordinator(connect: zk.connectString) {
                zk.stop()
                jaasDirectory.remove()
            }
        }
    }

    @Test(arguments: RegistrationTests.Target.allCases)
    func saslBrokerCreatesKafkasSecureACLs(_ target: RegistrationTests.Target) async throws {
        guard let coordinator = try await Self.start(target) else { return }
        do {
            try await checkSecureRegistration(coordinator.connect)
        } catch {
            await coordinator.stop()
            throw error
        }
        await coordinator.stop()
    }

    private func checkSecureRegistration(_ server: String) async throws {
        let connect = server + "/kafka-secure"
        let registration = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 1, host: "127.0.0.1", port: 9092, clusterId: RegistrationTests.clusterId,
            topics: [.init(name: "payments", id: RegistrationTests.topicId, partitions: 1)], sessionTimeoutMs: 2000,
            credentials: .saslDigestMD5(username: "broker", password: "broker-secret"), secureAcls: true,
            logger: quietLogger)
        let anonymous = try await ZooKeeperClient.connect(to: connect, logger: quietLogger)
        let broker = ZooKeeperID(scheme: "sasl", id: "broker")
        let public_ = [ACL(perms: .all, id: broker), ACL(perms: .read, id: .anyone)]
        for path in ["/brokers/ids/1", "/brokers/ids", "/controller", "/controller_epoch", "/cluster/id",
                     "/brokers/topics/payments", "/brokers/topics/payments/partitions/0/state", "/config/topics/payments"] {
            #expect(try await anonymous.getACL(path).acl == public_, "\(path)")
        }
        await #expect(throws: ZooKeeperClientError.keeper(.noAuth, path: "/config/users")) {
            _ = try await anonymous.getACL("/config/users")  // no READ for the world on sensitive paths
        }
        let brokerClient = try await ZooKeeperClient.connect(
            to: connect, credentials: [.saslDigestMD5(username: "broker", password: "broker-secret")], logger: quietLogger)
        #expect(try await brokerClient.getACL("/config/users").acl == [ACL(perms: .all, id: broker)])
        await brokerClient.close()
        #expect(try await anonymous.getACL("/consumers").acl == ACL.openUnsafe)
        // The chroot itself too, as Kafka creates it.
        let root = try await ZooKeeperClient.connect(to: server, logger: quietLogger)
        #expect(try await root.getACL("/kafka-secure").acl == public_)
        await root.close()

        // Anyone reads the broker registration; nobody else changes anything.
        #expect(try await anonymous.getData("/brokers/ids/1").data.isEmpty == false)
        await #expect(throws: ZooKeeperClientError.keeper(.noAuth, path: "/controller_epoch")) {
            try await anonymous.setData("/controller_epoch", data: Array("99".utf8))
        }
        await #expect(throws: ZooKeeperClientError.keeper(.noAuth, path: "/brokers/ids/2")) {
            try await anonymous.create("/brokers/ids/2", data: [], mode: .ephemeral)
        }
        await #expect(throws: ZooKeeperClientError.keeper(.noAuth, path: "/config/users")) {
            _ = try await anonymous.getChildren("/config/users")
        }
        // The broker still manages its topics.
        await registration.topicCreated(name: "refunds", id: RegistrationTests.topicId, partitions: 1)
        #expect(try await anonymous.getACL("/brokers/topics/refunds/partitions/0/state").acl == public_)
        await registration.topicDeleted(name: "refunds")
        #expect(try await anonymous.exists("/brokers/topics/refunds") == nil)
        await registration.stop()
        #expect(try await anonymous.exists("/brokers/ids/1") == nil)
        await anonymous.close()

        // A wrong password fails the start with a message naming the cause.
        do {
            _ = try await KafkaZooKeeperRegistration.start(
                connect: connect, brokerId: 1, host: "127.0.0.1", port: 9092, clusterId: RegistrationTests.clusterId,
                sessionTimeoutMs: 2000, credentials: .saslDigestMD5(username: "broker", password: "wrong"),
                secureAcls: true, logger: quietLogger)
            Issue.record("a wrong password was accepted")
        } catch {
            guard case .zooKeeper(.authFailed) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect("\(error)".contains("JAAS Client section"))
        }
    }

    @Test func digestCredentialsOwnTheZNodes() async throws {
        let server = try await ServerHarness(configure: { $0.tickTimeMs = 250 }).start()
        defer { server.directory.remove() }
        let registration = try await KafkaZooKeeperRegistration.start(
            connect: server.connectString, brokerId: 7, host: "127.0.0.1", port: 9092, clusterId: RegistrationTests.clusterId,
            sessionTimeoutMs: 2000, credentials: .digest(user: "kafka", password: "pw"), secureAcls: true, logger: quietLogger)
        let anonymous = try await server.client()
        let owner = ZooKeeperID(scheme: "digest", id: ZooKeeperDigest.id(user: "kafka", password: "pw"))
        // Without ADMIN the digest is masked, as ZooKeeper does.
        #expect(try await anonymous.getACL("/brokers/ids/7").acl.first == ACL(perms: .all, id: ZooKeeperID(scheme: "digest", id: "kafka:x")))
        // Another client with the same credentials may change the broker's znodes.
        let admin = try await ZooKeeperClient.connect(
            to: server.connectString, credentials: [.digest(user: "kafka", password: "pw")], logger: quietLogger)
        #expect(try await admin.getACL("/brokers/ids/7").acl == [ACL(perms: .all, id: owner), ACL(perms: .read, id: .anyone)])
        try await admin.setData("/controller_epoch", data: Array("5".utf8))
        #expect(try await admin.whoAmI().map(\.authScheme) == ["digest", "ip"])
        await admin.close()
        await anonymous.close()
        await registration.stop()
        await server.stop()
    }

    @Test func secureACLsNeedAnIdentity() async throws {
        do {
            _ = try await KafkaZooKeeperRegistration.start(
                connect: "127.0.0.1:1", brokerId: 1, host: "127.0.0.1", port: 9092, clusterId: RegistrationTests.clusterId,
                secureAcls: true, logger: quietLogger)
            Issue.record("started without an identity")
        } catch {
            guard case .misconfigured(let why) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(why.contains("zookeeper.set.acl"))
        }
        #expect(KafkaZNodes.defaultACLs(secure: false, path: "/brokers/ids/1") == ACL.openUnsafe)
        #expect(KafkaZNodes.defaultACLs(secure: true, path: "/config/brokers/1").count == 1)
        #expect(KafkaZNodes.defaultACLs(secure: true, path: "/consumers") == ACL.openUnsafe)
    }
}
