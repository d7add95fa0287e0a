import KafkaProtocol

/// One ConsumerGroupHeartbeat. Optional fields are nil when the member did not send them (unchanged).
public struct ConsumerHeartbeatInput: Sendable, Equatable {
    public var groupId: String
    public var memberId: String
    public var memberEpoch: Int32
    public var instanceId: String?
    public var rackId: String?
    /// -1: unchanged.
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]?
    public var subscribedTopicRegex: String?
    public var serverAssignor: String?
    /// The partitions the member owns, by topic id (nil: unchanged since the last heartbeat).
    public var ownedPartitions: ConsumerAssignment?
    public var clientId: String
    public var clientHost: String
    /// The request version: from v1 the client generates its member id.
    public var apiVersion: Int16

    public init(
        groupId: String, memberId: String, memberEpoch: Int32, instanceId: String? = nil, rackId: String? = nil,
        rebalanceTimeoutMs: Int32 = -1, subscribedTopicNames: [String]? = nil, subscribedTopicRegex: String? = nil,
        serverAssignor: String? = nil, ownedPartitions: ConsumerAssignment? = nil, clientId: String = "",
        clientHost: String = "", apiVersion: Int16 = 1
    ) {
        self.groupId = groupId
        self.memberId = memberId
        self.memberEpoch = memberEpoch
        self.instanceId = instanceId
        self.rackId = rackId
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.subscribedTopicNames = subscribedTopicNames
        self.subscribedTopicRegex = subscribedTopicRegex
        self.serverAssignor = serverAssignor
        self.ownedPartitions = ownedPartitions
        self.clientId = clientId
        self.clientHost = clientHost
        self.apiVersion = apiVersion
    }
}

/// The answer to a ConsumerGroupHeartbeat.
public struct ConsumerHeartbeatOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var errorMessage: String?
    public var memberId: String?
    public var memberEpoch: Int32
    public var heartbeatIntervalMs: Int32
    /// nil: unchanged; otherwise every partition the member may use now.
    public var assignment: ConsumerAssignment?

    static func failure(_ error: ErrorCode, _ message: String) -> ConsumerHeartbeatOutcome {
        ConsumerHeartbeatOutcome(
            errorCode: error, errorMessage: message, memberId: nil, memberEpoch: 0, heartbeatIntervalMs: 0,
            assignment: nil)
    }
}

/// One member in ConsumerGroupDescribe.
public struct ConsumerMemberDescription: Sendable, Equatable {
    public var memberId: String
    public var instanceId: String?
    public var rackId: String?
    public var memberEpoch: Int32
    public var clientId: String
    public var clientHost: String
    public var subscribedTopicNames: [String]
    public var subscribedTopicRegex: String?
    public var assignment: ConsumerAssignment
    public var targetAssignment: ConsumerAssignment
}

/// One group in ConsumerGroupDescribe; `errorCode` GROUP_ID_NOT_FOUND for unknown and classic groups.
public struct ConsumerGroupDescription: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var errorMessage: String?
    public var groupId: String
    public var state: String
    public var groupEpoch: Int32
    public var assignmentEpoch: Int32
    public var assignorName: String
    public var members: [ConsumerMemberDescription]
}
