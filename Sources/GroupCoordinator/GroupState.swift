/// The classic group state machine. The raw values are the names Kafka reports in ListGroups and DescribeGroups.
public enum GroupState: String, Sendable, CaseIterable {
    /// No members (possibly pending ones, and committed offsets). Only a JoinGroup leaves this state.
    case empty = "Empty"
    /// Collecting JoinGroups; heartbeats answer REBALANCE_IN_PROGRESS so that members rejoin.
    case preparingRebalance = "PreparingRebalance"
    /// Join phase done, waiting for the leader's SyncGroup with the assignment.
    case completingRebalance = "CompletingRebalance"
    /// Everybody has (or can fetch) an assignment for the current generation.
    case stable = "Stable"
    /// Only reported for groups the coordinator does not know; it never holds a dead group.
    case dead = "Dead"

    /// Kafka's `PreparingRebalance.validPreviousStates`: a rebalance can start from these states only.
    var canRebalance: Bool {
        self == .empty || self == .stable || self == .completingRebalance
    }

    /// Kafka's allowed transitions; anything else is a coordinator bug.
    func canTransition(to next: GroupState) -> Bool {
        switch next {
        case .preparingRebalance: canRebalance
        case .completingRebalance: self == .preparingRebalance
        case .stable: self == .completingRebalance
        case .empty: self == .preparingRebalance
        case .dead: false
        }
    }
}
