import Foundation
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the broker registers exactly as a ZooKeeper-mode Kafka broker does, in `ledgerstream zookeeper` and in a
/// real Apache ZooKeeper 3.8 alike; ephemeral nodes go on stop (at once) and on a crash (when the session expires);
/// an expired session is replaced and everything registered again. Method: each test runs against both servers
/// (Apache ZooKeeper started as a Java process, skipped with the reason if Java or the package is missing); the
/// result is read back with our client and independently with kazoo.
@Suite(.serialized)
struct RegistrationTests {
    enum Target: String, CaseIterable, CustomTestStringConvertible {
        case ledgerstream, apache
        var testDescription: String { rawValue }
    }

    /// A running coordinator of either kind, with tickTime 250 ms (session timeouts 0.5–5 s).
    struct Coordinator {
        let connect: String
        let stop: () async -> Void

        static func start(_ target: Target) async throws -> Coordinator? {
            switch target {
            case .ledgerstream:
                let server = try await ServerHarness(configure: { $0.tickTimeMs = 250 }).start()
                return Coordinator(connect: server.connectString) {
                    await server.stop()
                    server.directory.remove()
                }
            case .apache:
                if let reason = ApacheZooKeeper.unavailableReason {
                    print("skipping the Apache ZooKeeper half: \(reason)")
                    return nil
                }
                let zk = try ApacheZooKeeper(tickTimeMs: 250)
                return Coordinator(connect: zk.connectString) { zk.stop() }
            }
        }
    }

    static let clusterId = "Q1w2E3r4T5y6U7i8O9p0Aa"
    static let topicId = "AAAAAAAAAAAAAAAAAAAAAQ"

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    static func waitUntil(seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test(arguments: Target.allCases)
    func registersLikeKafka(_ target: Target) async throws {
        guard let coordinator = try await Coordinator.start(target) else { return }
        let connect = coordinator.connect + "/kafka-test"
        let registration = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 1, host: "127.0.0.1", port: 9092, clusterId: Self.clusterId,
            topics: [.init(name: "payments", id: Self.topicId, partitions: 2)], sessionTimeoutMs: 2000, logger: quietLogger)
        let session = await registration.sessionID
        let zk = try await ZooKeeperClient.connect(to: connect, logger: quietLogger)

        for path in KafkaZNodes.persistentPaths { #expect(try await zk.exists(path) != nil, "\(path)") }
        let (brokerData, brokerStat) = try await zk.getData("/brokers/ids/1")
        #expect(brokerStat.ephemeralOwner == session)
        let broker = try Self.json(brokerData)
        #expect(broker["version"] as? Int == 5)
        #expect(broker["host"] as? String == "127.0.0.1")
        #expect(broker["port"] as? Int == 9092)
        #expect(broker["endpoints"] as? [String] == ["PLAINTEXT://127.0.0.1:9092"])
        #expect(broker["listener_security_protocol_map"] as? [String: String] == ["PLAINTEXT": "PLAINTEXT"])
        #expect(broker["jmx_port"] as? Int == -1)
        #expect(Int64(broker["timestamp"] as? String ?? "") ?? 0 > 1_600_000_000_000)

        let (controllerData, controllerStat) = try await zk.getData("/controller")
        #expect(controllerStat.ephemeralOwner == session)
        let controller = try Self.json(controllerData)
        #expect(controller["version"] as? Int == 2)
        #expect(controller["brokerid"] as? Int == 1)
        #expect(controller["kraftControllerEpoch"] as? Int == -1)
        #expect(try await zk.getData("/controller_epoch").data == Array("1".utf8))
        #expect(try Self.json(try await zk.getData("/cluster/id").data) as NSDictionary == ["version": "1", "id": Self.clusterId])

        let topic = try Self.json(try await zk.getData("/brokers/topics/payments").data)
        #expect(topic["version"] as? Int == 3)
        #expect(topic["partitions"] as? [String: [Int]] == ["0": [1], "1": [1]])
        #expect(topic["topic_id"] as? String == Self.topicId)
        #expect((topic["adding_replicas"] as? [String: Any])?.isEmpty == true)
        #expect(try await zk.getChildren("/brokers/topics/payments/partitions") == ["0", "1"])
        let state = try Self.json(try await zk.getData("/brokers/topics/payments/partitions/1/state").data)
        #expect(state["leader"] as? Int == 1)
        #expect(state["isr"] as? [Int] == [1])
        #expect(state["controller_epoch"] as? Int == 1)
        #expect(try Self.json(try await zk.getData("/config/topics/payments").data)["version"] as? Int == 1)

        await registration.topicCreated(name: "refunds", id: Self.topicId, partitions: 1)
        #expect(try await zk.exists("/brokers/topics/refunds/partitions/0/state") != nil)
        await registration.topicDeleted(name: "payments")
        #expect(try await zk.exists("/brokers/topics/payments") == nil)
        #expect(try await zk.exists("/config/topics/payments") == nil)
        // From synchronous code: queued and applied in order, so once "queued" is there, "transient" is gone again.
        registration.enqueueTopicCreated(name: "transient", id: Self.topicId, partitions: 1)
        registration.enqueueTopicDeleted(name: "transient")
        registration.enqueueTopicCreated(name: "queued", id: Self.topicId, partitions: 3)
        #expect(try await Self.waitUntil { try await zk.exists("/brokers/topics/queued/partitions/2/state") != nil })
        #expect(try await zk.exists("/brokers/topics/transient") == nil)
        #expect(try await zk.exists("/config/topics/transient") == nil)

        if let reason = KazooInspector.unavailableReason {
            print("skipping the kazoo cross-check: \(reason)")
        } else {
            let tree = try KazooInspector.dump(connect)
            #expect(tree["/brokers/ids/1"]?.ephemeralOwner == session.rawValue)
            #expect(tree["/controller"]?.data.contains("\"brokerid\":1") == true)
            #expect(tree["/cluster/id"]?.data == KafkaZNodes.clusterIdInfo(Self.clusterId))
            #expect(tree["/brokers/topics/refunds"]?.data == KafkaZNodes.topicAssignment(partitions: 1, brokerId: 1, topicId: Self.topicId))
            #expect(tree["/brokers/topics/payments"] == nil)
            #expect(tree["/brokers/topics/transient"] == nil)
        }

        // A clean stop closes the session: the ephemeral nodes vanish at once.
        await registration.stop()
        #expect(try await zk.exists("/brokers/ids/1") == nil)
        #expect(try await zk.exists("/controller") == nil)
        #expect(try await zk.exists("/brokers/topics/refunds") != nil, "topics are persistent")

        // Another cluster's broker on the same chroot is refused.
        await #expect(throws: KafkaRegistrationError.clusterIdMismatch(ours: "another", registered: Self.clusterId)) {
            _ = try await KafkaZooKeeperRegistration.start(
                connect: connect, brokerId: 2, host: "h", port: 1, clusterId: "another", sessionTimeoutMs: 2000, logger: quietLogger)
        }
        await zk.close()
        await coordinator.stop()
    }

    @Test(arguments: Target.allCases)
    func crashedBrokerDisappearsWhenItsSessionExpires(_ target: Target) async throws {
        guard let coordinator = try await Coordinator.start(target) else { return }
        let connect = coordinator.connect + "/crash"
        let zk = try await ZooKeeperClient.connect(to: connect, logger: quietLogger)
        let crashing = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 7, host: "127.0.0.1", port: 9093, clusterId: Self.clusterId, sessionTimeoutMs: 1000,
            logger: quietLogger)
        #expect(try await zk.exists("/brokers/ids/7") != nil)
        await crashing.simulateCrash()
        // The node stays until the session times out (1 s, checked every tick), then goes.
        #expect(try await zk.exists("/brokers/ids/7") != nil)
        #expect(try await Self.waitUntil(seconds: 6) { try await zk.exists("/brokers/ids/7") == nil })
        #expect(try await zk.exists("/controller") == nil)

        // A restarted broker whose previous session is still alive waits for it to expire, then registers.
        let first = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 8, host: "127.0.0.1", port: 9094, clusterId: Self.clusterId, sessionTimeoutMs: 1000,
            logger: quietLogger)
        await first.simulateCrash()
        let started = ContinuousClock.now
        let second = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 8, host: "127.0.0.1", port: 9094, clusterId: Self.clusterId, sessionTimeoutMs: 1000,
            logger: quietLogger)
        #expect(ContinuousClock.now - started > .milliseconds(500))
        #expect(try await zk.exists("/brokers/ids/8")?.ephemeralOwner == (await second.sessionID))
        await second.stop()
        await zk.close()
        await coordinator.stop()
    }

    @Test(arguments: Target.allCases)
    func reRegistersAfterTheSessionExpires(_ target: Target) async throws {
        guard let coordinator = try await Coordinator.start(target) else { return }
        let connect = coordinator.connect + "/expiry"
        let registration = try await KafkaZooKeeperRegistration.start(
            connect: connect, brokerId: 3, host: "127.0.0.1", port: 9095, clusterId: Self.clusterId,
            topics: [.init(name: "t", id: Self.topicId, partitions: 1)], sessionTimeoutMs: 2000, logger: quietLogger)
        let client = await registration.currentClient
        let oldSession = await client.sessionID
        let password = await client.sessionPassword
        // The classic way to expire a session on purpose: attach to it from another client, then close it.
        let thief = try await ZooKeeperClient.connect(to: connect, session: (oldSession, password), logger: quietLogger)
        await thief.close()
        let zk = try await ZooKeeperClient.connect(to: connect, logger: quietLogger)
        // Registration writes the broker node, then /controller: wait for the last of them.
        let reRegistered = try await Self.waitUntil(seconds: 15) {
            guard let broker = try await zk.exists("/brokers/ids/3"), let controller = try await zk.exists("/controller") else {
                return false
            }
            return broker.ephemeralOwner != oldSession && controller.ephemeralOwner == broker.ephemeralOwner
        }
        #expect(reRegistered)
        let newSession = await registration.sessionID
        #expect(newSession != oldSession)
        #expect(try await zk.exists("/brokers/ids/3")?.ephemeralOwner == newSession)
        #expect(try await zk.getData("/controller_epoch").data == Array("2".utf8))
        #expect(try await zk.exists("/brokers/topics/t/partitions/0/state") != nil)
        await registration.stop()
        #expect(try await zk.exists("/brokers/ids/3") == nil)
        await zk.close()
        await coordinator.stop()
    }
}

/// `/brokers/ids/<id>` lists every listener the way Kafka writes it.
@Suite struct BrokerInfoTests {
    @Test func everyListenerIsAnEndpointWithItsProtocol() throws {
        let text = KafkaZNodes.brokerInfo(endpoints: [
            BrokerEndpoint(listenerName: "CLIENT", securityProtocol: "SASL_SSL", host: "10.0.0.5", port: 9094),
            BrokerEndpoint(listenerName: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: "::1", port: 9092),
        ], rack: nil, timestampMs: 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["endpoints"] as? [String] == ["CLIENT://10.0.0.5:9094", "PLAINTEXT://[::1]:9092"])
        #expect(json["listener_security_protocol_map"] as? [String: String] == ["CLIENT": "SASL_SSL", "PLAINTEXT": "PLAINTEXT"])
        #expect(json["host"] as? String == "::1")
        #expect(json["port"] as? Int == 9092)
        let secureOnly = KafkaZNodes.brokerInfo(endpoints: [
            BrokerEndpoint(listenerName: "SASL_SSL", securityProtocol: "SASL_SSL", host: "h", port: 1),
        ], rack: "r1", timestampMs: 1)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(secureOnly.utf8)) as? [String: Any])
        #expect(parsed["host"] is NSNull)
        #expect(parsed["port"] as? Int == -1)
        #expect(parsed["rack"] as? String == "r1")
    }
}
