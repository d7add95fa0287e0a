import KafkaProtocol
import NIOCore
import Testing

@testable import GroupCoordinator

/// Randomised client behaviour: whatever happens, every JoinGroup and SyncGroup is answered exactly once, and groups
/// whose clients go silent end up empty.
@Suite struct RequestAccountingTests {
    /// SplitMix64, so the scenario is reproducible.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// What one simulated client believes about its membership.
    struct Client {
        var memberId = ""
        var generation: Int32 = -1
        var instance: String?
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func everyRequestIsAnsweredExactlyOnce(seed: UInt64) throws {
        // Goal: across random joins, syncs, heartbeats, leaves, commits and timeouts no request is lost or doubled.
        var random = Random(state: seed)
        var coordinator = makeCoordinator(initialDelay: seed % 2 == 0 ? 0 : 300)
        var clients: [[Client]] = [[Client](repeating: Client(), count: 5), [Client](repeating: Client(), count: 3)]
        for index in 0..<5 where index % 3 == 0 {
            clients[0][index].instance = "static-\(index)"
        }
        var outstanding: Set<RequestID> = []
        var answers: [String: Int] = [:]
        var nextRequest: RequestID = 0
        var now: Int64 = 0
        let protocolSets: [[(String, String)]] = [
            [("range", "r")], [("range", "r2"), ("roundrobin", "rr")], [("roundrobin", "x")],
        ]

        func absorb(_ actions: [CoordinatorAction]) {
            for action in actions {
                let (id, groupIndex, clientIndex): (RequestID, Int, Int)
                switch action {
                case .joinResponse(let request, let outcome):
                    id = request
                    (groupIndex, clientIndex) = (Int(request >> 32), Int(request >> 16 & 0xFFFF))
                    if outcome.errorCode == .none || outcome.errorCode == .memberIdRequired {
                        clients[groupIndex][clientIndex].memberId = outcome.memberId
                        clients[groupIndex][clientIndex].generation = outcome.generationId
                    } else if outcome.errorCode == .unknownMemberId || outcome.errorCode == .fencedInstanceId {
                        clients[groupIndex][clientIndex].memberId = ""
                    }
                    if outcome.errorCode == .none {
                        #expect(outcome.generationId >= 1)
                    }
                    answers["join \(outcome.errorCode.rawValue)", default: 0] += 1
                case .syncResponse(let request, let outcome):
                    id = request
                    answers["sync \(outcome.errorCode.rawValue)", default: 0] += 1
                }
                #expect(outstanding.remove(id) != nil, "request \(id) answered twice or never asked")
            }
        }

        for _ in 0..<3000 {
            let groupIndex = random.next(2)
            let groupId = "g\(groupIndex)"
            let clientIndex = random.next(clients[groupIndex].count)
            let client = clients[groupIndex][clientIndex]
            nextRequest += 1
            let request = RequestID(groupIndex) << 32 | RequestID(clientIndex) << 16 | (nextRequest & 0xFFFF)
            switch random.next(10) {
            case 0, 1, 2:
                var input = join(
                    request, group: groupId, member: random.next(8) == 0 ? "" : client.memberId,
                    instance: client.instance,
                    client: "c\(clientIndex)", session: Int32(6000 + random.next(10_000)),
                    rebalance: Int32(random.next(20_000)), protocols: protocolSets[random.next(protocolSets.count)],
                    requireKnownMemberId: random.next(4) != 0)
                if random.next(20) == 0 { input.protocolType = "connect" }
                outstanding.insert(request)
                absorb(coordinator.joinGroup(input, now: now))
            case 3, 4:
                let assignments = (0..<clients[groupIndex].count).map { (clients[groupIndex][$0].memberId, "a\($0)") }
                outstanding.insert(request)
                absorb(
                    coordinator.syncGroup(
                        sync(
                            request, group: groupId, generation: client.generation, member: client.memberId,
                            instance: client.instance,
                            assignments: assignments), now: now))
            case 5, 6:
                let result = coordinator.heartbeat(
                    groupId: groupId, memberId: client.memberId, groupInstanceId: client.instance,
                    generationId: client.generation, now: now)
                absorb(result.actions)
            case 7:
                let result = coordinator.leaveGroup(
                    groupId: groupId, members: [(client.memberId, client.instance)], now: now)
                #expect(result.memberErrors.count == 1)
                absorb(result.actions)
            case 8:
                if coordinator.validateOffsetCommit(
                    groupId: groupId, memberId: client.memberId, generationId: client.generation,
                    groupInstanceId: client.instance, now: now) == .none
                {
                    coordinator.storeOffsets(
                        groupId: groupId,
                        offsets: [
                            TopicPartition(topic: "t", partition: 0): CommittedOffset(
                                offset: Int64(nextRequest), leaderEpoch: -1, metadata: nil, commitTimestampMs: now)
                        ])
                }
            default:
                now += Int64(random.next(4000))
            }
            if let deadline = coordinator.nextDeadline, deadline <= now {
                absorb(coordinator.tick(now: now))
            }
            _ = coordinator.describeGroup(groupId)
            coordinator.checkInvariants()
        }

        // Everybody goes silent: the timers must drain every parked request and empty the groups.
        var rounds = 0
        while let deadline = coordinator.nextDeadline, rounds < 10_000 {
            now = max(now, deadline)
            absorb(coordinator.tick(now: now))
            rounds += 1
        }
        // The scenario must actually reach generations and assignments, not only errors.
        #expect(answers["join 0", default: 0] > 100 && answers["sync 0", default: 0] > 10)
        #expect(coordinator.nextDeadline == nil)
        #expect(outstanding.isEmpty, "unanswered: \(outstanding)")
        #expect(coordinator.listGroups(statesFilter: []).allSatisfy { $0.state == "Empty" })
    }
}

extension GroupCoordinator {
    /// The bookkeeping every group must keep consistent, whatever the clients do.
    func checkInvariants() {
        for (groupId, group) in groups {
            #expect(group.groupId == groupId)
            #expect((group.joinDeadline != nil) == (group.state == .preparingRebalance))
            #expect(group.initialJoin == nil || group.state == .preparingRebalance)
            if group.syncDeadline != nil {
                #expect(group.state == .completingRebalance || group.state == .stable)
                #expect(!group.pendingSyncMembers.isEmpty)
            }
            #expect(group.pendingSyncMembers.allSatisfy { group.members[$0] != nil })
            #expect(group.state != .empty || group.members.isEmpty)
            #expect(group.members.isEmpty == (group.leaderId == nil))
            #expect(group.leaderId.map { group.members[$0] != nil } ?? true)
            #expect(group.orderedMembers.count == group.members.count)
            #expect(group.pendingMembers.keys.allSatisfy { group.members[$0] == nil })
            for member in group.members.values {
                if let instance = member.groupInstanceId {
                    #expect(group.staticMemberId(instance) == member.memberId)
                }
                #expect(member.awaitingSync == nil || group.state == .completingRebalance)
                #expect(member.awaitingJoin == nil || group.state == .preparingRebalance)
                #expect(
                    group.state == .empty
                        || group.supportsProtocols(type: member.protocolType, names: member.protocols.map(\.name)))
            }
            if group.state == .completingRebalance || group.state == .stable {
                #expect(
                    group.protocolName.map { name in group.members.values.allSatisfy { $0.supports(name) } } ?? false)
            }
        }
    }
}
