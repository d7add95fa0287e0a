import Synchronization

/// Where fetches that found too little data wait (Kafka's fetch purgatory).
///
/// A waiter watches some partitions; an append to any of them calls its `wake` closure at once, on the appending
/// thread, after removing the waiter, so each waiter is woken at most once per `watch`. This is what keeps
/// end-to-end latency at the cost of one append instead of a poll interval.
final class FetchPurgatory: Sendable {
    struct Key: Hashable, Sendable {
        var topic: String
        var partition: Int32
    }

    private struct Waiter {
        var keys: [Key]
        var wake: @Sendable () -> Void
    }

    private struct State: ~Copyable {
        var waiters: [UInt64: Waiter] = [:]
        var byKey: [Key: Set<UInt64>] = [:]
        var nextId: UInt64 = 1
    }

    private let state = Mutex(State())

    /// Registers `wake` for the next append to any of `keys`. Returns an id for ``cancel(_:)``.
    func watch(_ keys: [Key], wake: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { state in
            let id = state.nextId
            state.nextId += 1
            state.waiters[id] = Waiter(keys: keys, wake: wake)
            for key in keys { state.byKey[key, default: []].insert(id) }
            return id
        }
    }

    /// Removes a waiter; true if it was still waiting (it had not been woken).
    @discardableResult
    func cancel(_ id: UInt64) -> Bool {
        state.withLock { state in Self.remove(id, from: &state) != nil }
    }

    private static func remove(_ id: UInt64, from state: inout State) -> Waiter? {
        guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
        for key in waiter.keys {
            state.byKey[key]?.remove(id)
            if state.byKey[key]?.isEmpty == true { state.byKey[key] = nil }
        }
        return waiter
    }

    /// Wakes every fetch waiting on the partition (called after an append to it).
    func notify(topic: String, partition: Int32) {
        let key = Key(topic: topic, partition: partition)
        let woken = state.withLock { state -> [@Sendable () -> Void] in
            guard let ids = state.byKey[key] else { return [] }
            return ids.compactMap { Self.remove($0, from: &state)?.wake }
        }
        for wake in woken { wake() }
    }

    /// Wakes the waiters of every partition of a topic (the topic was deleted or changed).
    func notify(topic: String, partitions: Int32) {
        for partition in 0..<partitions { notify(topic: topic, partition: partition) }
    }

    /// Wakes everyone (shutdown): each fetch answers with what it has.
    func completeAll() {
        let woken = state.withLock { state -> [@Sendable () -> Void] in
            let all = state.waiters.values.map(\.wake)
            state.waiters = [:]
            state.byKey = [:]
            return all
        }
        for wake in woken { wake() }
    }

    var waitingCount: Int { state.withLock { $0.waiters.count } }
}
