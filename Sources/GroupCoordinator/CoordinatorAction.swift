/// The broker's handle for a JoinGroup or SyncGroup request whose answer may come later (the coordinator parks
/// those requests until the rebalance reaches the right phase).
public typealias RequestID = UInt64

/// An answer the broker must send, produced by any input to the coordinator.
///
/// Parked requests are answered when *another* input (or `tick`) moves the group along, which is why every mutating
/// call returns actions, not just the one that carried the request. Every request id handed to the coordinator is
/// answered exactly once.
public enum CoordinatorAction: Sendable, Equatable {
    case joinResponse(RequestID, JoinGroupOutcome)
    case syncResponse(RequestID, SyncGroupOutcome)
}
