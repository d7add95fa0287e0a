/// The broker settings of the KIP-848 consumer group protocol (Kafka's `group.consumer.*`).
public struct ConsumerGroupConfig: Sendable {
    /// `group.coordinator.rebalance.protocols` contains `consumer`: without it ConsumerGroupHeartbeat and
    /// ConsumerGroupDescribe are neither advertised nor answered.
    public var enabled: Bool
    /// `group.consumer.session.timeout.ms`: a member without a heartbeat for this long is removed.
    public var sessionTimeoutMs: Int32
    /// `group.consumer.heartbeat.interval.ms`: told to every member in each heartbeat answer.
    public var heartbeatIntervalMs: Int32
    /// `group.consumer.max.size`: members beyond it are refused with GROUP_MAX_SIZE_REACHED.
    public var maxSize: Int32
    /// `group.consumer.assignors`: the server assignors members may ask for; the first is the default.
    public var assignors: [ConsumerAssignor]

    public init(
        enabled: Bool = true, sessionTimeoutMs: Int32 = 45_000, heartbeatIntervalMs: Int32 = 5_000,
        maxSize: Int32 = Int32.max, assignors: [ConsumerAssignor] = [.uniform, .range]
    ) {
        precondition(!assignors.isEmpty, "group.consumer.assignors is empty")
        precondition(heartbeatIntervalMs < sessionTimeoutMs, "heartbeat interval must be below the session timeout")
        self.enabled = enabled
        self.sessionTimeoutMs = sessionTimeoutMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.maxSize = maxSize
        self.assignors = assignors
    }
}
