/// A group kind and state, as the broker's `groups` gauge labels them.
public struct GroupStateKey: Hashable, Sendable {
    /// "classic" (JoinGroup/SyncGroup) or "consumer" (KIP-848).
    public var groupProtocol: String
    /// Kafka's state name: Empty, PreparingRebalance, CompletingRebalance, Stable; Assigning, Reconciling.
    public var state: String

    public init(groupProtocol: String, state: String) {
        self.groupProtocol = groupProtocol
        self.state = state
    }

    /// Every key a group can have, so a state that empties reads 0 instead of vanishing from the scrape.
    public static let all: [GroupStateKey] =
        GroupState.allCases.filter { $0 != .dead }.map { GroupStateKey(groupProtocol: "classic", state: $0.rawValue) }
        + ConsumerGroupState.allCases.map { GroupStateKey(groupProtocol: "consumer", state: $0.rawValue) }
}

/// Counts for the broker's metrics, read at each scrape rather than kept up to date on every change.
extension GroupCoordinator {
    /// Groups by kind and state. A consumer group's classic record (which only holds its offsets) is not a group of
    /// its own, as in ListGroups.
    public func groupCounts() -> [GroupStateKey: Int] {
        var counts: [GroupStateKey: Int] = [:]
        for group in groups.values where consumerGroups[group.groupId] == nil {
            counts[GroupStateKey(groupProtocol: "classic", state: group.state.rawValue), default: 0] += 1
        }
        for group in consumerGroups.values {
            counts[GroupStateKey(groupProtocol: "consumer", state: group.state.rawValue), default: 0] += 1
        }
        return counts
    }

    /// Rebalances since start, never decreasing: classic join phases completed (generation bumps) plus KIP-848
    /// group epoch bumps, including those of groups removed since.
    public var rebalanceCount: UInt64 {
        removedGroupsRebalances + groups.values.reduce(0) { $0 + $1.completedRebalances }
            + consumerGroups.values.reduce(0) { $0 + $1.epochBumps }
    }

    /// Removes a classic group, keeping its rebalances in ``rebalanceCount``.
    mutating func removeClassicGroup(_ groupId: String) {
        guard let group = groups.removeValue(forKey: groupId) else { return }
        removedGroupsRebalances += group.completedRebalances
    }

    /// Removes a KIP-848 group, keeping its epoch bumps in ``rebalanceCount``.
    mutating func removeConsumerGroup(_ groupId: String) {
        guard let group = consumerGroups.removeValue(forKey: groupId) else { return }
        removedGroupsRebalances += group.epochBumps
    }
}
