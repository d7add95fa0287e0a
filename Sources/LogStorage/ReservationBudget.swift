import Synchronization

/// How much disk the active segments of one process may hold reserved past their ends, all together (see
/// ``LogFile``).
///
/// A busy active segment reserves up to 8 MiB ahead of its end, and keeps it until the segment rolls or the log
/// closes: without a bound, a broker with a thousand such partitions would hold 8 GB of disk it has not written, and
/// the disk would fill that much earlier. Past the budget a segment writes without reserving (the file system's
/// delayed allocation, a little more system time per write) until other segments give blocks back.
///
/// The reservation counts as used space while it lasts, so the budget follows the disk: the `broker` and `demo`
/// commands set it at start from `log.reservation.budget.bytes`, or else to ``defaultLimit(usableBytes:)`` of the log
/// directory's free space. It is the process's, not a broker's: a library user (or a test) running brokers in one
/// process keeps the default unless it sets it.
public final class ReservationBudget: Sendable {
    /// The process's budget, which every log file uses; 1 GiB until the process sets it.
    public static let shared = ReservationBudget(limit: defaultCeiling)

    /// 1 GiB: 128 busy partitions at the largest chunk.
    public static let defaultCeiling = 1 << 30

    /// The budget a broker takes when none is configured: a twentieth of the space its log directory has free at
    /// start, at most 1 GiB. A nearly full disk then gets nearly no reservation, where a fixed gigabyte would take
    /// the last of it from the writes themselves (they would still report a full disk, just earlier).
    public static func defaultLimit(usableBytes: Int64?) -> Int {
        guard let usableBytes else { return defaultCeiling }
        return Int(min(Int64(defaultCeiling), max(0, usableBytes / 20)))
    }

    /// An atomic, as ``held`` is: the process may set it while other threads claim.
    private let limitBytes: Atomic<Int>
    /// An atomic rather than a lock: every append to a reserved segment gives back what it filled, from whichever
    /// thread writes that partition.
    private let held = Atomic(0)

    init(limit: Int) {
        precondition(limit >= 0, "a reservation budget cannot be negative")
        limitBytes = Atomic(limit)
    }

    /// The most that may be reserved at once, in bytes.
    public var limit: Int { limitBytes.load(ordering: .relaxed) }

    /// Sets the budget. Lowering it below what is held takes nothing back: claims fail until enough is released. A
    /// claim already under way may still be judged against the old limit, once.
    public func setLimit(_ bytes: Int) {
        precondition(bytes >= 0, "a reservation budget cannot be negative")
        limitBytes.store(bytes, ordering: .relaxed)
    }

    /// Takes `bytes` from the budget if all of them fit; takes nothing otherwise.
    func claim(_ bytes: Int) -> Bool {
        precondition(bytes >= 0)
        let limit = self.limit
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
