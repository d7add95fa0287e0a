#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Deterministic crash injection for durability tests: with `LEDGERSTREAM_CRASH_AT=NAME:N` in the environment, the
/// process kills itself with SIGKILL (exactly what `kill -9` does: no cleanup, no flush) the Nth time it passes the
/// point NAME. Without the variable a point costs one atomic load.
///
/// Points: `transaction-decided` (a commit/abort stored, no marker written yet), `transaction-marker` (after each
/// marker), `transaction-offsets` (after a group's offsets were settled).
enum CrashPoint {
    private static let target: (name: String, count: Int)? = {
        guard let raw = getenv("LEDGERSTREAM_CRASH_AT") else { return nil }
        let parts = String(cString: raw).split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]), count > 0 else { return nil }
        return (String(parts[0]), count)
    }()
    private static let hits = Atomic<Int>(0)

    static func reached(_ name: String) {
        guard let target, target.name == name else { return }
        if hits.add(1, ordering: .relaxed).newValue == target.count { kill(getpid(), SIGKILL) }
    }
}
