import KafkaProtocol
import NIOCore

/// One entry of ListGroups.
public struct GroupListing: Sendable, Equatable {
    public var groupId: String
    /// "" for groups that only hold simple commits.
    public var protocolType: String
    /// "Empty", "PreparingRebalance", "CompletingRebalance" or "Stable".
    public var state: String

    public init(groupId: String, protocolType: String, state: String) {
        self.groupId = groupId
        self.protocolType = protocolType
        self.state = state
    }
}

/// One member in DescribeGroups.
public struct GroupMemberDescription: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    /// The metadata for the selected protocol; empty unless the group is Stable (Kafka's `summaryNoMetadata`).
    public var metadata: ByteBuffer
    /// Empty unless the group is Stable.
    public var assignment: ByteBuffer

    public init(
        memberId: String, groupInstanceId: String?, clientId: String, clientHost: String, metadata: ByteBuffer,
        assignment: ByteBuffer
    ) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.metadata = metadata
        self.assignment = assignment
    }
}

/// One group in DescribeGroups.
public struct GroupDescription: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var groupId: String
    public var state: String
    public var protocolType: String
    /// The selected protocol when Stable, else "".
    public var protocolData: String
    public var members: [GroupMemberDescription]

    public init(
        errorCode: ErrorCode, groupId: String, state: String, protocolType: String, protocolData: String,
        members: [GroupMemberDescription]
    ) {
        self.errorCode = errorCode
        self.groupId = groupId
        self.state = state
        self.protocolType = protocolType
        self.protocolData = protocolData
        self.members = members
    }
}

extension GroupCoordinator {
    /// ListGroups, sorted by group id. `statesFilter` empty: all groups; otherwise state names compared
    /// case-insensitively, as Kafka does.
    public func listGroups(statesFilter: [String]) -> [GroupListing] {
        let wanted = Set(statesFilter.map { $0.lowercased() })
        return groups.values
            .filter { wanted.isEmpty || wanted.contains($0.state.rawValue.lowercased()) }
            .filter { consumerGroups[$0.groupId] == nil }  // their offset holders
            .sorted { $0.groupId < $1.groupId }
            .map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType ?? "", state: $0.state.rawValue) }
    }

    /// DescribeGroups for one group. An unknown group is reported as Dead without an error (Kafka before
    /// DescribeGroups v6; for v6+ the broker may turn that into GROUP_ID_NOT_FOUND).
    public func describeGroup(_ groupId: String) -> GroupDescription {
        // Consumer groups are not classic groups: Dead, as Kafka's describeGroups answers them.
        guard let group = groups[groupId], consumerGroups[groupId] == nil else {
            return GroupDescription(
                errorCode: .none, groupId: groupId, state: GroupState.dead.rawValue, protocolType: "", protocolData: "",
                members: [])
        }
        let stableProtocol = group.state == .stable ? group.protocolName : nil
        let members = group.orderedMembers.map { member in
            GroupMemberDescription(
                memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
                clientHost: member.clientHost,
                metadata: stableProtocol.map { member.metadata(for: $0) } ?? ByteBuffer(),
                assignment: stableProtocol == nil ? ByteBuffer() : member.assignment)
        }
        return GroupDescription(
            errorCode: .none, groupId: groupId, state: group.state.rawValue, protocolType: group.protocolType ?? "",
            protocolData: stableProtocol ?? "", members: members)
    }
}
