import Synchronization

/// Rendered views and report JSON, per ledger version and query. A request finds the rendering it needs done, or in
/// progress (and waits for that one), or starts it; renderings of older versions are dropped as newer ones arrive,
/// and at most ``capacity`` are kept. A failed rendering is forgotten, so the next request tries again.
final class RenderCache: Sendable {
    enum Kind: Hashable, Sendable {
        case views
        case report(limit: Int?)
    }

    struct Key: Hashable, Sendable {
        var version: Int64
        var kind: Kind
        var query: DashboardQuery
    }

    static let capacity = 64

    private struct Entry {
        var task: Task<[UInt8], any Error>
        var used: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var tick: UInt64 = 0
    }

    private let state = Mutex(State())

    func value(for key: Key, render: @escaping @Sendable () async throws -> [UInt8]) async throws -> [UInt8] {
        let task = state.withLock { state -> Task<[UInt8], any Error> in
            state.tick += 1
            if var entry = state.entries[key] {
                entry.used = state.tick
                state.entries[key] = entry
                return entry.task
            }
            state.entries = state.entries.filter { $0.key.version >= key.version }
            if state.entries.count >= Self.capacity, let oldest = state.entries.min(by: { $0.value.used < $1.value.used }) {
                state.entries[oldest.key] = nil
            }
            // Detached: a rendering shared by many requests belongs to none of them (nor inherits their task-locals,
            // such as a reader gate one of them holds), and goes on when the first of them leaves.
            let task = Task.detached { try await render() }
            state.entries[key] = Entry(task: task, used: state.tick)
            return task
        }
        do {
            return try await task.value
        } catch {
            state.withLock { state in
                if state.entries[key]?.task == task { state.entries[key] = nil }
            }
            throw error
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
