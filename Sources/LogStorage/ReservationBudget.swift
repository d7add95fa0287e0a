import Synchronization

/// How much disk the active segments of one process may hold reserved past their ends, all together (see
/// ``LogFile``).
///
/// A busy active segment reserves up to 8 MiB ahead of its end, and keeps it until the segment rolls or the log
/// closes: without a bound, a broker with a thousand such partitions would hold 8 GB of disk it has not written, and
/// the disk would fill that much earlier. Past the budget a segment writes without reserving (the file system's
/// delayed allocation, a little more system time per write) until other segments give blocks back.
final class ReservationBudget: Sendable {
    /// The broker's budget: 1 GiB, 128 busy partitions at the largest chunk.
    static let shared = ReservationBudget(limit: 1 << 30)

    let limit: Int
    /// An atomic rather than a lock: every append to a reserved segment gives back what it filled, from whichever
    /// thread writes that partition.
    private let held = Atomic(0)

    init(limit: Int) {
        precondition(limit >= 0, "a reservation budget cannot be negative")
        self.limit = limit
    }

    /// Takes `bytes` from the budget if all of them fit; takes nothing otherwise.
    func claim(_ bytes: Int) -> Bool {
        precondition(bytes >= 0)
        var current = held.load(ordering: .relaxed)
        while bytes <= limit - current {
            let (exchanged, original) = held.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back bytes claimed earlier.
    func release(_ bytes: Int) {
        precondition(bytes >= 0)
        let before = held.wrappingSubtract(bytes, ordering: .relaxed).oldValue
        precondition(bytes <= before, "released more reservation than was claimed")
    }

    /// Bytes currently claimed.
    var outstanding: Int { held.load(ordering: .relaxed) }
}
