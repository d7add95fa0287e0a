import Synchronization

/// One ledger reader shared by every request of the web dashboard, used by one request at a time.
///
/// A ``LedgerReading`` is one connection (SQLite or PostgreSQL) meant for one command in order; the server has many
/// viewers. Every call here waits its turn at a FIFO gate, so the connection still sees one caller at a time — and a
/// caller inside ``withSnapshot(_:)`` (the same task) passes the gate it already holds, so a report's reads all run
/// in its one snapshot. `@unchecked Sendable` because the gate, not the type system, keeps the reader to one caller.
public final class SerialReader: LedgerReading, @unchecked Sendable {
    private let reader: any LedgerReading
    private let gate = AsyncGate()

    public init(_ reader: any LedgerReading) {
        self.reader = reader
    }

    private func serially<T>(_ body: () async throws -> T) async throws -> T {
        let id = ObjectIdentifier(self)
        if Self.holder == id { return try await body() }
        try await gate.acquire()
        defer { gate.release() }
        return try await Self.$holder.withValue(id) { try await body() }
    }

    /// The reader whose gate the current task holds, and the one whose snapshot it is in.
    @TaskLocal private static var holder: ObjectIdentifier?
    @TaskLocal private static var snapshotHolder: ObjectIdentifier?

    /// A snapshot inside a snapshot is the outer one: the reads of a page and of the report in it agree.
    public func withSnapshot<T>(_ body: () async throws -> T) async throws -> T {
        let id = ObjectIdentifier(self)
        if Self.snapshotHolder == id { return try await body() }
        return try await serially { try await reader.withSnapshot { try await Self.$snapshotHolder.withValue(id) { try await body() } } }
    }
    public func changeCounter() async throws -> Int64 { try await serially { try await reader.changeCounter() } }
    public func ledgerSize() async throws -> (entries: Int, accounts: Int) { try await serially { try await reader.ledgerSize() } }
    public func rejectedCount() async throws -> Int { try await serially { try await reader.rejectedCount() } }
    public func sinkPositions() async throws -> [SinkPosition] { try await serially { try await reader.sinkPositions() } }
    public func issueCounts() async throws -> IssueCounts { try await serially { try await reader.issueCounts() } }
    public func latestIssues(limit: Int?) async throws -> [ReconciliationIssue] {
        try await serially { try await reader.latestIssues(limit: limit) }
    }
    public func latestTransactions(from: String?, to: String?, limit: Int?) async throws -> [LedgerEntry] {
        try await serially { try await reader.latestTransactions(from: from, to: to, limit: limit) }
    }
    public func forEachTransaction(from: String?, to: String?, _ body: (LedgerEntry) throws -> Void) async throws {
        try await serially { try await reader.forEachTransaction(from: from, to: to, body) }
    }
    public func transactionCount(from: String?, to: String?) async throws -> Int {
        try await serially { try await reader.transactionCount(from: from, to: to) }
    }
    public func transactionPage(from: String?, to: String?, sort: TransactionSort, offset: Int, limit: Int) async throws -> [LedgerEntry] {
        try await serially { try await reader.transactionPage(from: from, to: to, sort: sort, offset: offset, limit: limit) }
    }
    public func totals(from: String?, to: String?) async throws -> [AccountTotals] {
        try await serially { try await reader.totals(from: from, to: to) }
    }
    public func balanceSeries(accounts: [String]?, from: String?, to: String?, slices: Int) async throws -> [BalanceSeries] {
        try await serially { try await reader.balanceSeries(accounts: accounts, from: from, to: to, slices: slices) }
    }
    public func accounts() async throws -> [AccountSummary] { try await serially { try await reader.accounts() } }
    public func history(account: String, count: Int) async throws -> [LedgerEntry] {
        try await serially { try await reader.history(account: account, count: count) }
    }
    public func close() async {
        _ = try? await serially { await reader.close() }
    }
}

/// A first-come, first-served lock for async code: ``acquire()`` suspends (without blocking a thread) until the
/// holder calls ``release()``. A waiter whose task is cancelled leaves the queue and throws `CancellationError`, so a
/// request whose client went away does not keep its place in line.
public final class AsyncGate: Sendable {
    private struct State {
        var held = false
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func acquire() async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock the cancellation handler takes: a task cancelled before this point is refused
                // here, one cancelled after finds its entry in the queue (or was let in, and goes on).
                enum Decision { case granted, queued, cancelled }
                let decision = state.withLock { state -> Decision in
                    if Task.isCancelled { return .cancelled }
                    if state.held {
                        state.waiting.append((id, continuation))
                        return .queued
                    }
                    state.held = true
                    return .granted
                }
                switch decision {
                case .granted: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Hands the gate to the longest waiter, or opens it.
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            precondition(state.held, "AsyncGate released without being held")
            guard !state.waiting.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume()
    }
}
