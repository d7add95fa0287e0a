import KafkaProtocol
import NIOCore

/// A decoded SyncGroup request. Only the leader's `assignments` are used; followers send an empty list.
public struct SyncGroupInput: Sendable {
    public var requestId: RequestID
    public var groupId: String
    public var generationId: Int32
    public var memberId: String
    public var groupInstanceId: String?
    /// SyncGroup v5+ echoes what JoinGroup returned; nil for older versions (then not checked).
    public var protocolType: String?
    public var protocolName: String?
    /// For a repeated member id the last entry wins; entries for unknown members are ignored.
    public var assignments: [(memberId: String, assignment: ByteBuffer)]

    public init(
        requestId: RequestID, groupId: String, generationId: Int32, memberId: String, groupInstanceId: String? = nil,
        protocolType: String? = nil, protocolName: String? = nil,
        assignments: [(memberId: String, assignment: ByteBuffer)] = []
    ) {
        self.requestId = requestId
        self.groupId = groupId
        self.generationId = generationId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The body of a SyncGroup response.
public struct SyncGroupOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var protocolType: String?
    public var protocolName: String?
    /// Exactly the bytes the leader sent for this member (empty if it sent none, and on errors).
    public var assignment: ByteBuffer

    public init(errorCode: ErrorCode, protocolType: String?, protocolName: String?, assignment: ByteBuffer) {
        self.errorCode = errorCode
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }

    public static func failure(_ errorCode: ErrorCode) -> SyncGroupOutcome {
        SyncGroupOutcome(errorCode: errorCode, protocolType: nil, protocolName: nil, assignment: ByteBuffer())
    }
}
