/// The life of a transactional id at its coordinator (Kafka's `TransactionState`), named as DescribeTransactions and
/// ListTransactions report them.
///
/// Empty → Ongoing (AddPartitionsToTxn/AddOffsetsToTxn) → PrepareCommit | PrepareAbort (EndTxn, a timeout, or a new
/// producer instance fencing the old one) → CompleteCommit | CompleteAbort once every partition has its marker →
/// Ongoing again with the next transaction, or Empty after InitProducerId. Dead is an id being removed after
/// `transactional.id.expiration.ms`; PrepareEpochFence is Kafka's transient fencing step, which this coordinator
/// folds into PrepareAbort (so neither is ever stored).
public enum TransactionState: String, CaseIterable, Sendable {
    case empty = "Empty"
    case ongoing = "Ongoing"
    case prepareCommit = "PrepareCommit"
    case prepareAbort = "PrepareAbort"
    case completeCommit = "CompleteCommit"
    case completeAbort = "CompleteAbort"
    case dead = "Dead"
    case prepareEpochFence = "PrepareEpochFence"

    /// A decision was made and is being written to the partitions: requests must wait (CONCURRENT_TRANSACTIONS).
    public var isPreparing: Bool { self == .prepareCommit || self == .prepareAbort }

    /// No transaction is open: the id may start one, or expire when idle.
    public var isIdle: Bool { self == .empty || self == .completeCommit || self == .completeAbort }
}
