import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// DescribeGroups and ListGroups.
@Suite struct GroupQueryTests {
    @Test func describeUnknownGroupReportsDead() {
        // Goal: an unknown group is described as Dead with no error and empty fields (Kafka before v6).
        let coordinator = makeCoordinator()
        #expect(
            coordinator.describeGroup("nope")
                == GroupDescription(
                    errorCode: .none, groupId: "nope", state: "Dead", protocolType: "", protocolData: "", members: []))
    }

    @Test func describeStableGroupShowsProtocolMetadataAndAssignments() {
        // Goal: a Stable group reports its protocol and each member's client, metadata and assignment.
        let group = StableGroup(members: 2)
        let description = group.coordinator.describeGroup("g")
        #expect(
            description.state == "Stable" && description.protocolType == "consumer"
                && description.protocolData == "range")
        #expect(
            description.members == [
                GroupMemberDescription(
                    memberId: group.memberIds[0], groupInstanceId: nil, clientId: "c0", clientHost: "/127.0.0.1",
                    metadata: bytes("sub"), assignment: bytes("a0")),
                GroupMemberDescription(
                    memberId: group.memberIds[1], groupInstanceId: nil, clientId: "c1", clientHost: "/127.0.0.1",
                    metadata: bytes("sub"), assignment: bytes("a1")),
            ])
    }

    @Test func describeRebalancingGroupOmitsMetadata() {
        // Goal: outside Stable, DescribeGroups has no protocol and members without metadata or assignment (Kafka).
        var group = StableGroup(members: 2)
        _ = group.coordinator.joinGroup(join(1, member: group.memberIds[0], client: "c0"), now: 1)
        let description = group.coordinator.describeGroup("g")
        #expect(description.state == "PreparingRebalance" && description.protocolData == "")
        #expect(description.members.map(\.memberId) == group.memberIds)
        #expect(description.members.allSatisfy { $0.metadata.readableBytes == 0 && $0.assignment.readableBytes == 0 })
    }

    @Test func listGroupsFiltersByStateCaseInsensitively() {
        // Goal: ListGroups returns all groups sorted, or those in the given states (compared case-insensitively).
        var group = StableGroup(members: 1)
        _ = group.coordinator.validateOffsetCommit(
            groupId: "simple", memberId: "", generationId: -1, groupInstanceId: nil, now: 0)
        _ = group.coordinator.memberId(requestId: 1, group: "pending-only", now: 0)
        #expect(
            group.coordinator.listGroups(statesFilter: []) == [
                GroupListing(groupId: "g", protocolType: "consumer", state: "Stable"),
                GroupListing(groupId: "pending-only", protocolType: "", state: "Empty"),
                GroupListing(groupId: "simple", protocolType: "", state: "Empty"),
            ])
        #expect(group.coordinator.listGroups(statesFilter: ["stable"]).map(\.groupId) == ["g"])
        #expect(
            group.coordinator.listGroups(statesFilter: ["Empty", "Dead"]).map(\.groupId) == ["pending-only", "simple"])
        #expect(group.coordinator.listGroups(statesFilter: ["CompletingRebalance"]).isEmpty)
    }

    @Test func emptiedGroupKeepsItsProtocolType() {
        // Goal: a consumer group that became Empty is still listed with protocol type "consumer", as Kafka does.
        var group = StableGroup(members: 1)
        _ = group.coordinator.leaveGroup(groupId: "g", members: [(group.memberIds[0], nil)], now: 1)
        #expect(
            group.coordinator.listGroups(statesFilter: []) == [
                GroupListing(groupId: "g", protocolType: "consumer", state: "Empty")
            ])
    }
}
