import GroupCoordinator

/// The KIP-848 settings (`group.coordinator.rebalance.protocols`, `group.consumer.*`), checked as Kafka checks
/// them: the session timeout and heartbeat interval within their min/max, the interval below the timeout.
public struct ConsumerGroupSettings: Sendable, Equatable {
    /// `consumer` in `group.coordinator.rebalance.protocols` (Kafka 4 default `classic,consumer`).
    public var enabled = true
    public var sessionTimeoutMs: Int32 = 45_000
    public var minSessionTimeoutMs: Int32 = 45_000
    public var maxSessionTimeoutMs: Int32 = 60_000
    public var heartbeatIntervalMs: Int32 = 5_000
    public var minHeartbeatIntervalMs: Int32 = 5_000
    public var maxHeartbeatIntervalMs: Int32 = 15_000
    public var maxSize = Int32.max
    public var assignors: [ConsumerAssignor] = [.uniform, .range]

    public init() {}

    static let keys: Set<String> = [
        "group.coordinator.rebalance.protocols", "group.consumer.session.timeout.ms",
        "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms",
        "group.consumer.heartbeat.interval.ms", "group.consumer.min.heartbeat.interval.ms",
        "group.consumer.max.heartbeat.interval.ms", "group.consumer.max.size", "group.consumer.assignors",
        "group.consumer.migration.policy",
    ]

    /// Kafka's assignor class names, accepted beside the short names.
    private static let assignorClasses: [String: ConsumerAssignor] = [
        "org.apache.kafka.coordinator.group.assignor.UniformAssignor": .uniform,
        "org.apache.kafka.coordinator.group.assignor.RangeAssignor": .range,
    ]

    mutating func apply(key: String, value: String) throws(BrokerConfigError) {
        func int(_ range: ClosedRange<Int32>) throws(BrokerConfigError) -> Int32 {
            guard let number = Int32(value), range.contains(number) else {
                throw .invalid(key: key, value: value, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        let items = value.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        switch key {
        case "group.coordinator.rebalance.protocols":
            let protocols = Set(items.map { $0.lowercased() })
            guard protocols.contains("classic") else {
                throw .invalid(key: key, value: value, reason: "the classic protocol must be enabled")
            }
            guard protocols.isSubset(of: ["classic", "consumer"]) else {
                throw .invalid(key: key, value: value, reason: "supported protocols are classic and consumer")
            }
            enabled = protocols.contains("consumer")
        case "group.consumer.session.timeout.ms": sessionTimeoutMs = try int(1...Int32.max)
        case "group.consumer.min.session.timeout.ms": minSessionTimeoutMs = try int(1...Int32.max)
        case "group.consumer.max.session.timeout.ms": maxSessionTimeoutMs = try int(1...Int32.max)
        case "group.consumer.heartbeat.interval.ms": heartbeatIntervalMs = try int(1...Int32.max)
        case "group.consumer.min.heartbeat.interval.ms": minHeartbeatIntervalMs = try int(1...Int32.max)
        case "group.consumer.max.heartbeat.interval.ms": maxHeartbeatIntervalMs = try int(1...Int32.max)
        case "group.consumer.max.size": maxSize = try int(1...Int32.max)
        case "group.consumer.assignors":
            var chosen: [ConsumerAssignor] = []
            for item in items {
                guard let assignor = ConsumerAssignor(rawValue: item.lowercased()) ?? Self.assignorClasses[item] else {
                    throw .invalid(key: key, value: value, reason: "known assignors are uniform and range")
                }
                chosen.append(assignor)
            }
            guard !chosen.isEmpty else { throw .invalid(key: key, value: value, reason: "expected at least one assignor") }
            assignors = chosen
        case "group.consumer.migration.policy":
            // Online migration between classic and consumer groups is not implemented; `disabled` is what it does.
            guard value.lowercased() == "disabled" else {
                throw .invalid(key: key, value: value, reason: "only 'disabled' is supported")
            }
        default:
            preconditionFailure("\(key) is not a consumer group setting")
        }
    }

    /// Kafka's startup checks (GroupCoordinatorConfig): each value within its bounds, heartbeats more often than
    /// the session timeout.
    func validate() throws(BrokerConfigError) {
        guard minSessionTimeoutMs <= sessionTimeoutMs, sessionTimeoutMs <= maxSessionTimeoutMs else {
            throw .invalid(key: "group.consumer.session.timeout.ms", value: "\(sessionTimeoutMs)",
                           reason: "must be within group.consumer.min/max.session.timeout.ms (\(minSessionTimeoutMs)...\(maxSessionTimeoutMs))")
        }
        guard minHeartbeatIntervalMs <= heartbeatIntervalMs, heartbeatIntervalMs <= maxHeartbeatIntervalMs else {
            throw .invalid(key: "group.consumer.heartbeat.interval.ms", value: "\(heartbeatIntervalMs)",
                           reason: "must be within group.consumer.min/max.heartbeat.interval.ms (\(minHeartbeatIntervalMs)...\(maxHeartbeatIntervalMs))")
        }
        guard heartbeatIntervalMs < sessionTimeoutMs else {
            throw .invalid(key: "group.consumer.heartbeat.interval.ms", value: "\(heartbeatIntervalMs)",
                           reason: "must be less than group.consumer.session.timeout.ms (\(sessionTimeoutMs))")
        }
    }

    /// The settings as DescribeConfigs reports them (Kafka's config types: 3 INT, 7 LIST, 2 STRING).
    var describedEntries: [(name: String, value: String, type: Int8)] {
        [
            ("group.coordinator.rebalance.protocols", enabled ? "classic,consumer" : "classic", 7),
            ("group.consumer.session.timeout.ms", "\(sessionTimeoutMs)", 3),
            ("group.consumer.min.session.timeout.ms", "\(minSessionTimeoutMs)", 3),
            ("group.consumer.max.session.timeout.ms", "\(maxSessionTimeoutMs)", 3),
            ("group.consumer.heartbeat.interval.ms", "\(heartbeatIntervalMs)", 3),
            ("group.consumer.min.heartbeat.interval.ms", "\(minHeartbeatIntervalMs)", 3),
            ("group.consumer.max.heartbeat.interval.ms", "\(maxHeartbeatIntervalMs)", 3),
            ("group.consumer.max.size", "\(maxSize)", 3),
            ("group.consumer.assignors", assignors.map(\.rawValue).joined(separator: ","), 7),
            ("group.consumer.migration.policy", "disabled", 2),
        ]
    }

    var coordinatorConfig: ConsumerGroupConfig {
        ConsumerGroupConfig(
            enabled: enabled, sessionTimeoutMs: sessionTimeoutMs, heartbeatIntervalMs: heartbeatIntervalMs,
            maxSize: maxSize, assignors: assignors)
    }
}
