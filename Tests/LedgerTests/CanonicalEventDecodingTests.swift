import Testing

@testable import LedgerDomain

/// The sink's fast reading of the layout `appendJSON` writes never disagrees with the general decoder: on what our
/// encoder writes it decodes the same event, and on every damaged or rearranged value it either gives way (nil) or
/// decodes the same event the general decoder does.
@Suite struct CanonicalEventDecodingTests {
    func general(_ bytes: [UInt8]) -> Result<TransactionEvent, TransactionEvent.DecodeError> {
        bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(TransactionEvent.DecodeError) in try TransactionEvent.decodeGeneral(buffer) }
        }
    }

    func canonical(_ bytes: [UInt8]) -> TransactionEvent? {
        bytes.withUnsafeBufferPointer { TransactionEvent.decodeCanonical($0) }
    }

    /// Events of every shape the encoder meets: accounts plain, with spaces, escaped and non-ASCII; whole, fractional and
    /// extreme amounts; stated balances negative, zero and absent.
    static func events() -> [TransactionEvent] {
        var generator = SystemRandomNumberGenerator()
        let accounts = ["C100", "A", "client 7", "Zoë", "quote\"d", "back\\slash", "tab\there", "x\u{1}y", String(repeating: "L", count: 300)]
        let amounts: [Int64] = [1, 5, 99, 100, 101, 12_345, 100_000, Int64.max]
        var events: [TransactionEvent] = []
        for (index, account) in accounts.enumerated() {
            for amount in amounts {
                let stated: Money? = switch Int.random(in: 0..<4, using: &generator) {
                case 0: nil
                case 1: Money(cents: 0)
                case 2: Money(cents: -Int64.random(in: 1...10_000_000, using: &generator))
                default: Money(cents: Int64.random(in: 1...Int64.max, using: &generator))
                }
                events.append(TransactionEvent(
                    date: TransactionDate(year: 1999 + index, month: 1 + index % 12, day: 1 + index % 28, hour: index % 24,
                                          minute: 59, second: 7),
                    account: account, amount: Money(cents: amount), type: amount % 2 == 0 ? .deposit : .withdrawal,
                    statedBalance: stated))
            }
        }
        return events
    }

    @Test func decodesWhatTheEncoderWritesAsTheGeneralDecoderDoes() throws {
        for event in Self.events() {
            var bytes: [UInt8] = []
            event.appendJSON(to: &bytes)
            let expected = try general(bytes).get()
            #expect(expected == event)
            // Only escaped or non-ASCII accounts leave the layout.
            let plain = !event.account.utf8.contains { $0 >= 0x80 || $0 == 34 || $0 == 92 || $0 < 32 }
            let decoded = canonical(bytes)
            #expect((decoded != nil) == plain, "\(event.jsonText)")
            if let decoded { #expect(decoded == expected) }
        }
    }

    /// Every single-byte deletion, and every substitution by a byte that matters to JSON or to the fields, of a few
    /// encoded events: the fast reading gives way or agrees.
    @Test func neverDisagreesOnDamagedValues() {
        let samples = [
            TransactionEvent(date: TransactionDate(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58),
                             account: "C100", amount: Money(cents: 14_505), type: .withdrawal, statedBalance: Money(cents: -830)),
            TransactionEvent(date: TransactionDate(year: 2024, month: 1, day: 5), account: " C7 ", amount: Money(cents: 100_000),
                             type: .deposit, statedBalance: nil),
        ]
        let substitutes: [UInt8] = Array(#" "\,:{}[]-+.eE019anlt"#.utf8) + [0x01, 0x7F, 0xC3]
        var checked = 0
        for sample in samples {
            var bytes: [UInt8] = []
            sample.appendJSON(to: &bytes)
            var variants: [[UInt8]] = []
            for position in bytes.indices {
                var deleted = bytes
                deleted.remove(at: position)
                variants.append(deleted)
                for byte in substitutes where byte != bytes[position] {
                    var changed = bytes
                    changed[position] = byte
                    variants.append(changed)
                }
            }
            variants.append(bytes + [32])
            variants.append([32] + bytes)
            for variant in variants {
                guard let fast = canonical(variant) else { continue }
                #expect((try? general(variant).get()) == fast, "\(String(decoding: variant, as: UTF8.self))")
                checked += 1
            }
        }
        // Some variants stay in the layout (a changed digit, date or account letter) and are compared.
        #expect(checked > 50)
    }
}
