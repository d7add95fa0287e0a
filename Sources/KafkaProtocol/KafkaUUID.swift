/// A Kafka UUID (topic ids): 16 raw bytes on the wire, all zero meaning "no id".
///
/// Shown, as Kafka does, in URL-safe base64 without padding (22 characters).
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public static let zero = KafkaUUID(high: 0, low: 0)

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A random version-4 UUID. Kafka additionally never hands out ids whose base64 form starts with '-'.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> KafkaUUID {
        while true {
            var id = KafkaUUID(high: generator.next(), low: generator.next())
            id.high = (id.high & ~0xF000) | 0x4000
            id.low = (id.low & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000
            if id != .zero && !id.description.hasPrefix("-") { return id }
        }
    }

    public static func random() -> KafkaUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public var isZero: Bool { high == 0 && low == 0 }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public var description: String {
        let input = bytes
        var output: [UInt8] = []
        var index = 0
        while index + 3 <= input.count {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { output.append(Self.alphabet[Int((n >> UInt32(shift)) & 63)]) }
            index += 3
        }
        let n = UInt32(input[index]) << 16
        output.append(Self.alphabet[Int((n >> 18) & 63)])
        output.append(Self.alphabet[Int((n >> 12) & 63)])
        return String(decoding: output, as: UTF8.self)
    }

    public init?(base64 text: String) {
        var bits: UInt32 = 0
        var bitCount = 0
        var out: [UInt8] = []
        for char in text.utf8 {
            guard let value = Self.alphabet.firstIndex(of: char) else { return nil }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                out.append(UInt8(truncatingIfNeeded: bits >> UInt32(bitCount)))
            }
        }
        self.init(bytes: out)
    }
}
