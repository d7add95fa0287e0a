/// The broker settings the classic group protocol depends on (Kafka's `group.*` and `offset.metadata.max.bytes`).
public struct GroupCoordinatorConfig: Sendable {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits, so that consumers
    /// started together land in one generation instead of rebalancing once per arrival.
    public var initialRebalanceDelayMs: Int64
    /// `group.min.session.timeout.ms`: stops clients from asking for heartbeat intervals the broker cannot honour.
    public var minSessionTimeoutMs: Int32
    /// `group.max.session.timeout.ms`: bounds how long a dead consumer can keep its partitions.
    public var maxSessionTimeoutMs: Int32
    /// `offset.metadata.max.bytes`: longer commit metadata is refused with OFFSET_METADATA_TOO_LARGE.
    public var maxMetadataBytes: Int
    /// How long a member that joined but never completed a JoinGroup may stay (Kafka's fixed 5 minutes): a client that
    /// timed out and retried would otherwise leave a defunct member behind in a long rebalance.
    public var newMemberJoinTimeoutMs: Int64
    /// The KIP-848 consumer group protocol's settings.
    public var consumer = ConsumerGroupConfig()

    public init(
        initialRebalanceDelayMs: Int64 = 3000,
        minSessionTimeoutMs: Int32 = 6000,
        maxSessionTimeoutMs: Int32 = 1_800_000,
        maxMetadataBytes: Int = 4096,
        newMemberJoinTimeoutMs: Int64 = 300_000
    ) {
        self.initialRebalanceDelayMs = initialRebalanceDelayMs
        self.minSessionTimeoutMs = minSessionTimeoutMs
        self.maxSessionTimeoutMs = maxSessionTimeoutMs
        self.maxMetadataBytes = maxMetadataBytes
        self.newMemberJoinTimeoutMs = newMemberJoinTimeoutMs
    }
}
