/// Where the pipeline's log stage puts transactions. Appending only buffers: making them durable (the group-commit
/// fsync) is the owner's job, and the server holds every reply until the log is flushed past the zxid it depends on.
public protocol TxnLogSink: AnyObject {
    func append(_ record: TxnRecord)
}

/// Keeps transactions in memory: for tests, and for replaying what a run would have logged.
public final class InMemoryTxnLog: TxnLogSink {
    public private(set) var records: [TxnRecord] = []

    public init() {}

    public func append(_ record: TxnRecord) {
        records.append(record)
    }
}
