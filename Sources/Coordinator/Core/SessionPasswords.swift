import ZooKeeperProtocol

/// Derives a session's 16-byte password from its id and a per-server secret, so nothing per session needs storing
/// and a reconnecting client can be checked (ZooKeeper does the same with `new Random(sessionId ^ superSecret)`).
///
/// The secret is random and kept in the data directory, so passwords stay valid across restarts (sessions are
/// restored too). The mixing is SplitMix64's finalizer: enough to make passwords unguessable without the secret for a
/// single-node development coordinator; it is not a cryptographic MAC.
public struct SessionPasswords: Sendable {
    private let key0: UInt64
    private let key1: UInt64

    /// - Parameter secret: 16 bytes.
    public init(secret: [UInt8]) {
        precondition(secret.count == 16, "the session secret is 16 bytes")
        key0 = secret[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        key1 = secret[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public func password(for session: SessionID) -> [UInt8] {
        let id = UInt64(bitPattern: session.rawValue)
        let high = Self.mix(id ^ key0)
        let low = Self.mix(high ^ key1 ^ (id << 32 | id >> 32))
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
