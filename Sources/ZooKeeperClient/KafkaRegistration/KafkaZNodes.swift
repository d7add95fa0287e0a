import Coordinator
import ZooKeeperProtocol

/// The znodes a ZooKeeper-mode Kafka broker writes, with Kafka's JSON documents (`kafka.zk.ZkData`).
///
/// Paths are relative to the connect string's chroot. Field order follows what Kafka writes, so the documents read
/// the same in zkCli; consumers parse them as JSON, so order is not load-bearing.
public enum KafkaZNodes {
    public static let brokerIds = "/brokers/ids"
    public static let brokerTopics = "/brokers/topics"
    public static let controller = "/controller"
    public static let controllerEpoch = "/controller_epoch"
    public static let clusterId = "/cluster/id"
    public static let configTopics = "/config/topics"

    /// Created by every broker at startup (`ZkData.PersistentZkPaths`), empty.
    public static let persistentPaths = [
        "/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes", "/config/topics",
        "/config/clients", "/config/users", "/config/brokers", "/config/ips", "/admin/delete_topics",
        "/isr_change_notification", "/latest_producer_id_block", "/log_dir_event_notification",
    ]

    /// Paths whose content is secret (SCRAM credentials, broker configs, delegation tokens): no world READ even with
    /// secure ACLs (`ZkData.SensitiveRootPaths`).
    public static let sensitiveRootPaths = ["/config/users", "/config/brokers", "/delegation_token"]

    /// The ACL Kafka gives a znode it creates (`ZkData.defaultAcls`): open unless `zookeeper.set.acl=true`; then
    /// everything for the creator (`auth`, i.e. the broker's SASL user or digest, or its certificate) and READ for
    /// everyone except under the sensitive paths. `/consumers` (the old consumers write there) always stays open.
    public static func defaultACLs(secure: Bool, path: String) -> [ACL] {
        guard secure, path != "/consumers" else { return ACL.openUnsafe }
        let creatorAll = ACL(perms: .all, id: ZooKeeperID(scheme: "auth", id: ""))
        if sensitiveRootPaths.contains(where: { path.hasPrefix($0) }) { return [creatorAll] }
        return [creatorAll] + ACL.readUnsafe
    }

    public static func broker(_ id: Int32) -> String { "\(brokerIds)/\(id)" }
    public static func topic(_ name: String) -> String { "\(brokerTopics)/\(name)" }
    public static func partitions(_ topic: String) -> String { "\(brokerTopics)/\(topic)/partitions" }
    public static func partition(_ topic: String, _ partition: Int32) -> String { "\(partitions(topic))/\(partition)" }
    public static func partitionState(_ topic: String, _ partition: Int32) -> String { "\(self.partition(topic, partition))/state" }
    public static func topicConfig(_ name: String) -> String { "\(configTopics)/\(name)" }

    /// `/brokers/ids/<id>` (version 5): how clients and tools find the broker. Every listener is an endpoint
    /// (`SASL_SSL://host:port`) with its security protocol in `listener_security_protocol_map`; the old `host`/`port`
    /// fields are the PLAINTEXT listener's (null and -1 without one), as Kafka writes them.
    public static func brokerInfo(endpoints: [BrokerEndpoint], rack: String?, timestampMs: Int64) -> String {
        let plaintext = endpoints.first { $0.securityProtocol == "PLAINTEXT" }
        let shown = endpoints.map { endpoint in
            let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
            return JSONText.quote("\(endpoint.listenerName)://\(host):\(endpoint.port)")
        }
        let protocols = endpoints.map { "\(JSONText.quote($0.listenerName)):\(JSONText.quote($0.securityProtocol))" }
        var json = "{\"version\":5,\"host\":\(plaintext.map { JSONText.quote($0.host) } ?? "null"),\"port\":\(plaintext?.port ?? -1),"
        json += "\"endpoints\":[\(shown.joined(separator: ","))],"
        json += "\"listener_security_protocol_map\":{\(protocols.joined(separator: ","))},\"jmx_port\":-1,"
        json += "\"timestamp\":\(JSONText.quote(String(timestampMs))),\"features\":{}"
        if let rack { json += ",\"rack\":\(JSONText.quote(rack))" }
        return json + "}"
    }

    /// The PLAINTEXT-only form (one listener named PLAINTEXT).
    public static func brokerInfo(host: String, port: Int, rack: String?, timestampMs: Int64) -> String {
        brokerInfo(endpoints: [BrokerEndpoint(listenerName: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: host, port: port)],
                   rack: rack, timestampMs: timestampMs)
    }

    /// `/controller`: which broker is the controller.
    public static func controllerInfo(brokerId: Int32, timestampMs: Int64) -> String {
        "{\"version\":2,\"brokerid\":\(brokerId),\"timestamp\":\(JSONText.quote(String(timestampMs))),\"kraftControllerEpoch\":-1}"
    }

    /// `/cluster/id`.
    public static func clusterIdInfo(_ id: String) -> String {
        "{\"version\":\"1\",\"id\":\(JSONText.quote(id))}"
    }

    /// `/brokers/topics/<topic>` (version 3): every partition's replicas (this single broker) and the topic id.
    public static func topicAssignment(partitions: Int32, brokerId: Int32, topicId: String) -> String {
        let assignment = (0..<max(partitions, 0)).map { "\"\($0)\":[\(brokerId)]" }.joined(separator: ",")
        return "{\"version\":3,\"partitions\":{\(assignment)},\"adding_replicas\":{},\"removing_replicas\":{},"
            + "\"topic_id\":\(JSONText.quote(topicId))}"
    }

    /// `/brokers/topics/<topic>/partitions/<p>/state`: leader and ISR (this broker).
    public static func partitionStateInfo(brokerId: Int32, controllerEpoch: Int32) -> String {
        "{\"controller_epoch\":\(controllerEpoch),\"leader\":\(brokerId),\"version\":1,\"leader_epoch\":0,"
            + "\"isr\":[\(brokerId)],\"leader_recovery_state\":0}"
    }

    /// `/config/topics/<topic>`: no overrides.
    public static let emptyTopicConfig = "{\"version\":1,\"config\":{}}"
}

/// One of the broker's listeners as `/brokers/ids/<id>` lists it.
public struct BrokerEndpoint: Sendable, Equatable {
    public var listenerName: String
    public var securityProtocol: String
    public var host: String
    public var port: Int

    public init(listenerName: String, securityProtocol: String, host: String, port: Int) {
        self.listenerName = listenerName
        self.securityProtocol = securityProtocol
        self.host = host
        self.port = port
    }
}
