import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// Choosing the group protocol by member votes.
@Suite struct ProtocolSelectionTests {
    @Test func mostVotedCommonProtocolWins() {
        // Goal: each member votes for its first common protocol and the majority wins over the first member's taste.
        #expect(
            ProtocolSelection.select([["range", "roundrobin"], ["roundrobin", "range"], ["roundrobin"]]) == "roundrobin"
        )
        #expect(ProtocolSelection.select([["sticky", "range"], ["range", "sticky"], ["sticky"]]) == "sticky")
    }

    @Test func protocolsNotSupportedByEveryoneCannotWin() {
        // Goal: only protocols every member supports are candidates, however popular the others are.
        #expect(ProtocolSelection.commonProtocols([["a", "b", "c"], ["c", "a"], ["a", "c"]]) == ["a", "c"])
        #expect(ProtocolSelection.select([["b", "a"], ["b", "a"], ["a"]]) == "a")
        #expect(ProtocolSelection.select([["a"], ["b"]]) == nil)
        #expect(ProtocolSelection.select([]) == nil)
    }

    @Test func tiesGoToTheFirstMembersPreference() {
        // Goal: a tie is broken deterministically by the first member's preference order.
        #expect(ProtocolSelection.select([["a", "b"], ["b", "a"]]) == "a")
        #expect(ProtocolSelection.select([["b", "a"], ["a", "b"]]) == "b")
    }

    @Test func groupUsesTheVotedProtocolAndItsMetadata() throws {
        // Goal: through JoinGroup, the group adopts the voted protocol and the leader gets each member's bytes for it.
        var coordinator = makeCoordinator(initialDelay: 500)
        _ = coordinator.joinGroup(
            join(
                1, client: "a", protocols: [("range", "a-range"), ("roundrobin", "a-rr")], requireKnownMemberId: false),
            now: 0)
        _ = coordinator.joinGroup(
            join(
                2, client: "b", protocols: [("roundrobin", "b-rr"), ("range", "b-range")], requireKnownMemberId: false),
            now: 0)
        _ = coordinator.joinGroup(
            join(3, client: "c", protocols: [("roundrobin", "c-rr"), ("sticky", "c-st")], requireKnownMemberId: false),
            now: 0)
        let done = coordinator.tick(now: 500) + coordinator.tick(now: 1000)  // later joiners extended the delay
        let leader = try #require(done.join(1))
        #expect(leader.protocolName == "roundrobin" && done.join(3)?.protocolName == "roundrobin")
        #expect(leader.members.map(\.metadata) == [bytes("a-rr"), bytes("b-rr"), bytes("c-rr")])
    }
}
