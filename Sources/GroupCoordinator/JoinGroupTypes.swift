import KafkaProtocol
import NIOCore

/// One protocol a member can speak (for consumers: an assignor name and its subscription bytes). The coordinator
/// never parses the metadata; it only hands the selected protocol's bytes to the leader.
public struct GroupProtocol: Sendable, Equatable {
    public var name: String
    public var metadata: ByteBuffer

    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// A decoded JoinGroup request (any version; the broker fills in what older versions lack).
public struct JoinGroupInput: Sendable {
    public var requestId: RequestID
    public var groupId: String
    /// "" for a member that has no id yet.
    public var memberId: String
    /// KIP-345 static membership (JoinGroup v5+); nil for dynamic members.
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    /// JoinGroup v0 has no rebalance timeout: the broker passes the session timeout, as Kafka does.
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    /// In the member's order of preference. Repeated names are ignored after their first occurrence.
    public var protocols: [GroupProtocol]
    /// True for JoinGroup v4+ (KIP-394): a member without an id first gets MEMBER_ID_REQUIRED and a fresh id.
    public var requireKnownMemberId: Bool

    public init(
        requestId: RequestID, groupId: String, memberId: String, groupInstanceId: String? = nil, clientId: String,
        clientHost: String, sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, protocolType: String,
        protocols: [GroupProtocol], requireKnownMemberId: Bool
    ) {
        self.requestId = requestId
        self.groupId = groupId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.requireKnownMemberId = requireKnownMemberId
    }
}

/// One entry of the member list that only the leader receives: what it needs to compute the assignment.
public struct JoinedMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    /// The member's metadata for the protocol the group selected.
    public var metadata: ByteBuffer

    public init(memberId: String, groupInstanceId: String?, metadata: ByteBuffer) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.metadata = metadata
    }
}

/// The body of a JoinGroup response. `protocolType`/`protocolName` are always filled on success; the broker decides
/// per version whether to send them.
public struct JoinGroupOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode
    /// -1 on errors; at least 1 on success (generation 0 is never handed out: aiokafka skips LeaveGroup at 0).
    public var generationId: Int32
    public var protocolType: String?
    public var protocolName: String?
    /// The leader's member id ("" on errors).
    public var leader: String
    /// The id the member must use from now on (on MEMBER_ID_REQUIRED: the freshly assigned one).
    public var memberId: String
    /// Every member with its metadata for the leader; empty for followers and on errors.
    public var members: [JoinedMember]

    public init(
        errorCode: ErrorCode, generationId: Int32, protocolType: String?, protocolName: String?, leader: String,
        memberId: String, members: [JoinedMember]
    ) {
        self.errorCode = errorCode
        self.generationId = generationId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.leader = leader
        self.memberId = memberId
        self.members = members
    }

    /// Kafka's error shape: no generation, no leader, no protocol.
    public static func failure(_ errorCode: ErrorCode, memberId: String) -> JoinGroupOutcome {
        JoinGroupOutcome(
            errorCode: errorCode, generationId: -1, protocolType: nil, protocolName: nil, leader: "",
            memberId: memberId, members: [])
    }
}
