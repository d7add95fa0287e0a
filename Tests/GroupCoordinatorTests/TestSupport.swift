import KafkaProtocol
import NIOCore

@testable import GroupCoordinator

/// Shorthand for the byte payloads the coordinator passes through untouched.
func bytes(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

/// A coordinator with predictable member ids and the given initial delay.
func makeCoordinator(
    initialDelay: Int64 = 0, minSession: Int32 = 6000, maxSession: Int32 = 1_800_000
) -> GroupCoordinator {
    GroupCoordinator(
        config: GroupCoordinatorConfig(
            initialRebalanceDelayMs: initialDelay, minSessionTimeoutMs: minSession, maxSessionTimeoutMs: maxSession),
        memberIds: MemberIDGenerator(seed: 42))
}

/// A JoinGroup as a v5 consumer sends it, with protocols given as (name, metadata text).
func join(
    _ requestId: RequestID, group: String = "g", member: String = "", instance: String? = nil, client: String = "c",
    session: Int32 = 10_000, rebalance: Int32 = 30_000, type: String = "consumer",
    protocols: [(String, String)] = [("range", "sub")], requireKnownMemberId: Bool = true
) -> JoinGroupInput {
    JoinGroupInput(
        requestId: requestId, groupId: group, memberId: member, groupInstanceId: instance, clientId: client,
        clientHost: "/127.0.0.1", sessionTimeoutMs: session, rebalanceTimeoutMs: rebalance, protocolType: type,
        protocols: protocols.map { GroupProtocol(name: $0.0, metadata: bytes($0.1)) },
        requireKnownMemberId: requireKnownMemberId)
}

func sync(
    _ requestId: RequestID, group: String = "g", generation: Int32, member: String, instance: String? = nil,
    type: String? = nil, name: String? = nil, assignments: [(String, String)] = []
) -> SyncGroupInput {
    SyncGroupInput(
        requestId: requestId, groupId: group, generationId: generation, memberId: member, groupInstanceId: instance,
        protocolType: type, protocolName: name, assignments: assignments.map { ($0.0, bytes($0.1)) })
}

extension Array where Element == CoordinatorAction {
    /// The JoinGroup answer for `requestId`, if among these actions.
    func join(_ requestId: RequestID) -> JoinGroupOutcome? {
        for case .joinResponse(let id, let outcome) in self where id == requestId { return outcome }
        return nil
    }

    /// The SyncGroup answer for `requestId`, if among these actions.
    func sync(_ requestId: RequestID) -> SyncGroupOutcome? {
        for case .syncResponse(let id, let outcome) in self where id == requestId { return outcome }
        return nil
    }

    /// The request ids answered, in order.
    var answered: [RequestID] {
        map {
            switch $0 {
            case .joinResponse(let id, _), .syncResponse(let id, _): id
            }
        }
    }
}

extension GroupCoordinator {
    /// The KIP-394 handshake: a JoinGroup without id, answered MEMBER_ID_REQUIRED, returns the assigned id.
    mutating func memberId(
        requestId: RequestID, group: String = "g", client: String = "c", session: Int32 = 10_000, now: Int64
    ) -> String {
        let actions = joinGroup(join(requestId, group: group, client: client, session: session), now: now)
        guard let outcome = actions.join(requestId), outcome.errorCode == .memberIdRequired else {
            preconditionFailure("expected MEMBER_ID_REQUIRED, got \(actions)")
        }
        return outcome.memberId
    }

    /// Test-only view of a group's state.
    func state(_ groupId: String = "g") -> GroupState? {
        groups[groupId]?.state
    }

    func generation(_ groupId: String = "g") -> Int32? {
        groups[groupId]?.generationId
    }
}

/// A group "g" with `count` members that is Stable (initial delay 0: the first member joins alone, reaching
/// generation 1, then each further member makes everybody rejoin). Assignment of member i is "a<i>".
struct StableGroup {
    var coordinator: GroupCoordinator
    var memberIds: [String]
    var generation: Int32
    var leader: String
    var now: Int64
    private var nextRequest: RequestID = 1000

    init(members count: Int, session: Int32 = 10_000, rebalance: Int32 = 30_000, now: Int64 = 0) {
        coordinator = makeCoordinator()
        memberIds = []
        generation = 0
        leader = ""
        self.now = now
        for index in 0..<count {
            let id = coordinator.memberId(requestId: nextId(), client: "c\(index)", session: session, now: now)
            memberIds.append(id)
            rejoinAll(session: session, rebalance: rebalance)
        }
    }

    mutating func nextId() -> RequestID {
        nextRequest += 1
        return nextRequest
    }

    /// Every known member (re)joins, then everybody syncs; the group ends Stable with a new generation.
    mutating func rejoinAll(session: Int32 = 10_000, rebalance: Int32 = 30_000) {
        var outcomes: [String: JoinGroupOutcome] = [:]
        var collected: [CoordinatorAction] = []
        var requests: [String: RequestID] = [:]
        for (index, id) in memberIds.enumerated() {
            let request = nextId()
            requests[id] = request
            collected += coordinator.joinGroup(
                join(request, member: id, client: "c\(index)", session: session, rebalance: rebalance), now: now)
        }
        for id in memberIds {
            guard let outcome = collected.join(requests[id]!) else { preconditionFailure("no join answer for \(id)") }
            precondition(outcome.errorCode == .none, "join failed: \(outcome)")
            outcomes[id] = outcome
        }
        generation = outcomes[memberIds[0]]!.generationId
        leader = outcomes[memberIds[0]]!.leader
        var syncActions: [CoordinatorAction] = []
        for id in memberIds where id != leader {
            syncActions += coordinator.syncGroup(sync(nextId(), generation: generation, member: id), now: now)
        }
        let assignments = memberIds.enumerated().map { ($0.element, "a\($0.offset)") }
        syncActions += coordinator.syncGroup(
            sync(nextId(), generation: generation, member: leader, assignments: assignments), now: now)
        precondition(syncActions.count == memberIds.count, "every sync must be answered: \(syncActions)")
        precondition(coordinator.state() == .stable)
    }
}
