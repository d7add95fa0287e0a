import NIOCore

/// A member of a group: what it joined with, what it was assigned, and which of its requests are parked.
struct Member: Sendable {
    /// Mutable only for static members, whose id is replaced when the same instance rejoins without it.
    var memberId: String
    let groupInstanceId: String?
    let clientId: String
    let clientHost: String
    var rebalanceTimeoutMs: Int32
    var sessionTimeoutMs: Int32
    let protocolType: String
    /// Preference order, names unique.
    var protocols: [GroupProtocol]
    /// The leader's assignment for the current generation (empty until the leader's SyncGroup).
    var assignment = ByteBuffer()
    /// A JoinGroup waiting for the join phase to complete.
    var awaitingJoin: RequestID?
    /// A SyncGroup waiting for the leader's assignment.
    var awaitingSync: RequestID?
    /// Joined during the current rebalance and not yet answered: such a member cannot heartbeat, so it is bounded by
    /// the new-member join timeout instead of its session.
    var isNew: Bool
    /// When the member is considered dead unless it heartbeats (or joins, syncs, commits) before.
    var heartbeatDeadline: Int64

    var isStatic: Bool { groupInstanceId != nil }

    /// When the session expiry applies, if it does: members with a parked JoinGroup or SyncGroup cannot heartbeat
    /// (most clients block on the request), so they are exempt — the rebalance timeout bounds them instead (Kafka's
    /// `hasSatisfiedHeartbeat`). New members are never exempt.
    var expiryDeadline: Int64? {
        isNew || (awaitingJoin == nil && awaitingSync == nil) ? heartbeatDeadline : nil
    }

    mutating func refreshSession(now: Int64) {
        heartbeatDeadline = now + Int64(sessionTimeoutMs)
    }

    func supports(_ protocolName: String) -> Bool {
        protocols.contains { $0.name == protocolName }
    }

    /// The member's bytes for the group's protocol. Every member supports the selected protocol (join validation
    /// guarantees a common one), so a miss is a coordinator bug.
    func metadata(for protocolName: String) -> ByteBuffer {
        guard let found = protocols.first(where: { $0.name == protocolName }) else {
            preconditionFailure("member \(memberId) does not support the selected protocol \(protocolName)")
        }
        return found.metadata
    }

    /// Kafka's `MemberMetadata.matches`: same names, same order, same bytes. A member rejoining with identical
    /// metadata just wants the current generation again; anything else needs a rebalance.
    func matches(_ protocols: [GroupProtocol]) -> Bool {
        self.protocols == protocols
    }
}
