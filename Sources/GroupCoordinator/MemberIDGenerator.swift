/// Makes member ids of Kafka's shape, `<client.id or group.instance.id>-<uuid>`.
///
/// A value type with explicit state instead of a random UUID per call, so that tests can pin the ids with a seed.
/// The coordinator additionally skips ids already in use in the group, so ids are unique even for a fixed seed.
public struct MemberIDGenerator: Sendable {
    private var state: UInt64

    /// Deterministic: the same seed yields the same ids.
    public init(seed: UInt64) {
        state = seed
    }

    /// Seeded from the system's random source, so ids do not repeat across broker restarts.
    public static func random() -> MemberIDGenerator {
        var rng = SystemRandomNumberGenerator()
        return MemberIDGenerator(seed: rng.next())
    }

    /// The next id: the prefix, a dash and a version-4-shaped UUID.
    public mutating func next(prefix: String) -> String {
        let high = nextWord() & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = nextWord() & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        let uuid = [
            hex(high >> 32, digits: 8), hex(high >> 16 & 0xFFFF, digits: 4), hex(high & 0xFFFF, digits: 4),
            hex(low >> 48, digits: 4), hex(low & 0xFFFF_FFFF_FFFF, digits: 12),
        ].joined(separator: "-")
        return "\(prefix)-\(uuid)"
    }

    /// SplitMix64: a bijective mix of a counter, good enough for ids and free of Foundation.
    private mutating func nextWord() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(digits - text.count, 0)) + text
    }
}
