import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Deposit or withdrawal; derived from the sign of the original CSV value.
public enum TransactionType: String, Sendable, CaseIterable {
    case deposit
    case withdrawal
}

/// One bank transaction as it travels through the topic.
///
/// Record value: a JSON object with the original pipeline's keys, so a consumer of the original format can still
/// read it: `{"transaction_date": "2024-01-01 00:00:00", "account": "C100", "transaction_value": 1000,
/// "balance": 1000, "transaction_type": "deposit"}` (value always positive; balance null when not stated).
/// Record key: the account, so each account's events stay in one partition, in order.
public struct TransactionEvent: Equatable, Sendable {
    public var date: TransactionDate
    public var account: String
    /// Always positive; the type says which way it goes.
    public var amount: Money
    public var type: TransactionType
    /// The balance the source claimed after this transaction (CSV imports, the shell); nil if none.
    public var statedBalance: Money?

    public init(date: TransactionDate, account: String, amount: Money, type: TransactionType, statedBalance: Money?) {
        self.date = date
        self.account = account
        self.amount = amount
        self.type = type
        self.statedBalance = statedBalance
    }

    /// The change this event makes to its account's balance.
    public var signedAmount: Money { type == .deposit ? amount : Money(cents: -amount.cents) }

    public var jsonText: String {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the record value (the JSON object above) as UTF-8.
    public func appendJSON(to out: inout [UInt8]) {
        withJSON { out.append(contentsOf: $0) }
    }

    /// Calls `body` with the record value (the JSON object above) as UTF-8, valid only during the call. Written into a
    /// stack buffer, not through `String` or an append per part: `produce --csv` encodes every row of a file with it,
    /// straight into the records it sends. Not generic: called from another module, a generic function is not
    /// specialised there and looked up its type metadata on every call (measured: 40 million instructions for 200k
    /// rows).
    public func withJSON(_ body: (UnsafeRawBufferPointer) -> Void) {
        var account = self.account
        account.withUTF8 { accountBytes in
            // Literals 140 bytes, the date 19, two amounts at most 24 each, the account at most 6 bytes per byte escaped.
            let capacity = 208 + 6 * accountBytes.count
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                var writer = ByteWriter(buffer)
                writer.write(#"{"transaction_date":""#)
                date.withText { writer.write($0) }
                writer.write(#"","account":"#)
                FlatJSON.writeString(accountBytes, to: &writer)
                writer.write(#","transaction_value":"#)
                amount.withDecimalText(compact: true) { writer.write($0) }
                writer.write(#","balance":"#)
                if let statedBalance {
                    statedBalance.withDecimalText(compact: true) { writer.write($0) }
                } else {
                    writer.write("null")
                }
                writer.write(type == .deposit ? #","transaction_type":"deposit"}"# : #","transaction_type":"withdrawal"}"#)
                body(UnsafeRawBufferPointer(writer.written))
            }
        }
    }

    /// Why a record value is not a valid transaction event.
    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case notJSON(String)
        case missingField(String)
        case badField(String, String)

        public var description: String {
            switch self {
            case .notJSON(let why): return "not a JSON object: \(why)"
            case .missingField(let name): return "missing field \(name)"
            case .badField(let name, let why): return "field \(name): \(why)"
            }
        }
    }

    /// Byte equality with a literal (memcmp: comparing with a String's UTF-8 view goes through a generic iterator).
    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount
            && (bytes.isEmpty || memcmp(bytes.baseAddress!, literal.utf8Start, bytes.count) == 0)
    }

    /// Decodes a record value in the format above. Numbers are read as decimal text (never via floating point);
    /// `transaction_type` may be absent when the value is signed (older producers), then the sign decides. Unknown
    /// members are ignored (newer producers may add some); a member given twice is an error.
    public init(json bytes: [UInt8]) throws(DecodeError) {
        self = try bytes.withUnsafeBufferPointer { buffer throws(DecodeError) in try TransactionEvent(json: buffer) }
    }

    /// Decodes a record value straight from the fetched bytes.
    public init(json buffer: ByteBuffer) throws(DecodeError) {
        self = try buffer.withUnsafeReadableBytes { raw in
            Result { () throws(DecodeError) in try TransactionEvent(json: raw.bindMemory(to: UInt8.self)) }
        }.get()
    }

    public init(json bytes: UnsafeBufferPointer<UInt8>) throws(DecodeError) {
        if let event = Self.decodeCanonical(bytes) {
            self = event
            return
        }
        self = try Self.decodeGeneral(bytes)
    }

    /// The layout ``appendJSON(to:)`` writes — the members in its order, no spaces, strings without escapes or
    /// control characters, an ASCII account, amounts as plain decimals — read without the general scanner (about
    /// half of decoding an event). Nil for anything else, including values ``decodeGeneral(_:)`` refuses, which then
    /// decides: where this returns an event, that one returns the same event.
    static func decodeCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> TransactionEvent? {
        var reader = CanonicalReader(bytes: bytes)
        guard reader.literal(#"{"transaction_date":""#), let dateText = reader.plainText(),
              let date = TransactionDate(bytes: dateText),
              reader.literal(#"","account":""#), let accountText = reader.plainText(), accountText.allSatisfy({ $0 < 0x80 }),
              reader.literal(#"","transaction_value":"#), let valueText = reader.decimal(),
              reader.literal(#","balance":"#)
        else { return nil }
        var statedBalance: Money?
        if !reader.literal("null") {
            guard let text = reader.decimal(), let stated = try? Money(bytes: text) else { return nil }
            statedBalance = stated
        }
        let type: TransactionType
        if reader.literal(#","transaction_type":"deposit"}"#) {
            type = .deposit
        } else if reader.literal(#","transaction_type":"withdrawal"}"#) {
            type = .withdrawal
        } else {
            return nil
        }
        guard reader.atEnd, let value = try? Money(bytes: valueText), !value.isNegative, value.cents != 0 else { return nil }
        let account = String(decoding: accountText, as: UTF8.self).trimmingSpaces()
        guard !account.isEmpty else { return nil }
        return TransactionEvent(date: date, account: account, amount: value, type: type, statedBalance: statedBalance)
    }

    /// Any JSON object with the members above, in any order, with escapes, spaces and unknown members.
    static func decodeGeneral(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodeError) -> TransactionEvent {
        var tokens = EventTokens()
        do {
            try FlatJSON.scanObject(bytes) { key, value throws(FlatJSON.ParseError) in
                guard let field = EventField(key: key, in: bytes) else { return }
                guard tokens[field] == nil else { throw FlatJSON.ParseError(description: "field \(field.name) given twice") }
                tokens[field] = value
            }
        } catch {
            throw .notJSON(error.description)
        }
        func token(_ field: EventField) -> FlatJSON.Token? {
            if case .null? = tokens[field] { return nil }
            return tokens[field]
        }
        /// A string member's content, unescaped only when it has escapes.
        func withText<T>(_ field: EventField, _ body: (UnsafeBufferPointer<UInt8>) throws(DecodeError) -> T) throws(DecodeError) -> T {
            switch token(field) {
            case .string(let range, let escaped)?:
                guard escaped else { return try body(UnsafeBufferPointer(rebasing: bytes[range])) }
                let unescaped: [UInt8]
                do { unescaped = try FlatJSON.unescape(bytes, range) } catch { throw .badField(field.name, error.description) }
                return try unescaped.withUnsafeBufferPointer { buffer throws(DecodeError) in try body(buffer) }
            case nil:
                throw .missingField(field.name)
            default:
                throw .badField(field.name, "expected a string")
            }
        }
        func money(_ field: EventField) throws(DecodeError) -> Money? {
            let range: Range<Int>
            switch token(field) {
            case nil: return nil
            case .number(let number)?:
                if bytes[number].contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                    throw .badField(field.name, "exponent numbers are not accepted for money")
                }
                range = number
            case .string(let text, escaped: false)?: range = text
            default: throw .badField(field.name, "expected a number")
            }
            do { return try Money(bytes: UnsafeBufferPointer(rebasing: bytes[range])) } catch { throw .badField(field.name, error.description) }
        }
        let date = try withText(.date) { text throws(DecodeError) in
            guard let date = TransactionDate(bytes: text) else {
                throw .badField("transaction_date", "'\(String(decoding: text, as: UTF8.self))' is not a date")
            }
            return date
        }
        let account = try withText(.account) { text throws(DecodeError) in
            // ASCII, as account ids are in practice, is valid UTF-8 as it stands: `String(decoding:)` takes it about
            // three times faster than `String(validating:)`, which every other text still goes through.
            if text.allSatisfy({ $0 < 0x80 }) { return String(decoding: text, as: UTF8.self).trimmingSpaces() }
            guard let account = String(validating: text, as: UTF8.self) else { throw .badField("account", "not valid UTF-8") }
            return account.trimmingSpaces()
        }
        guard !account.isEmpty else { throw .badField("account", "empty") }
        guard let value = try money(.value) else { throw .missingField(EventField.value.name) }
        let type: TransactionType
        if token(.type) != nil {
            type = try withText(.type) { text throws(DecodeError) in
                if Self.equals(text, "deposit") { return .deposit }
                if Self.equals(text, "withdrawal") { return .withdrawal }
                throw .badField("transaction_type", "'\(String(decoding: text, as: UTF8.self))' is not deposit or withdrawal")
            }
            guard !value.isNegative else { throw .badField("transaction_value", "must be positive when transaction_type is given") }
        } else {
            type = value.isNegative ? .withdrawal : .deposit
        }
        guard value.cents != 0 else { throw .badField("transaction_value", "must not be zero") }
        return TransactionEvent(date: date, account: account, amount: value.magnitude, type: type, statedBalance: try money(.balance))
    }
}

/// Reads ``TransactionEvent/decodeCanonical(_:)``'s layout: literals, and the texts and numbers between them.
private struct CanonicalReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var atEnd: Bool { index == bytes.count }

    /// Consumes `text` if the bytes continue with it.
    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - index >= count, memcmp(bytes.baseAddress! + index, text.utf8Start, count) == 0 else { return false }
        index += count
        return true
    }

    /// The bytes up to the next quote (not consumed); nil at a backslash, a control character or the end.
    mutating func plainText() -> UnsafeBufferPointer<UInt8>? {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 34 { return UnsafeBufferPointer(rebasing: bytes[start..<index]) }
            if byte == 92 || byte < 32 { return nil }
            index += 1
        }
        return nil
    }

    /// One or more of `0-9 . -`: what the general scanner would read as the same number token, up to a byte that
    /// ends it there too (the literal after it checks which).
    mutating func decimal() -> UnsafeBufferPointer<UInt8>? {
        let start = index
        while index < bytes.count, (48...57).contains(bytes[index]) || bytes[index] == 46 || bytes[index] == 45 { index += 1 }
        return index > start ? UnsafeBufferPointer(rebasing: bytes[start..<index]) : nil
    }
}

/// The scanned value of each known member (a fixed struct, not an array: no allocation per record).
private struct EventTokens {
    var date, account, value, balance, type: FlatJSON.Token?

    subscript(field: EventField) -> FlatJSON.Token? {
        get {
            switch field {
            case .date: return date
            case .account: return account
            case .value: return value
            case .balance: return balance
            case .type: return type
            }
        }
        set {
            switch field {
            case .date: date = newValue
            case .account: account = newValue
            case .value: value = newValue
            case .balance: balance = newValue
            case .type: type = newValue
            }
        }
    }
}

/// The members of an event's JSON object.
private enum EventField {
    case date, account, value, balance, type

    var name: String {
        switch self {
        case .date: return "transaction_date"
        case .account: return "account"
        case .value: return "transaction_value"
        case .balance: return "balance"
        case .type: return "transaction_type"
        }
    }

    /// The field a key names; nil for unknown keys. Compared as bytes: this runs for every member of every record.
    init?(key: FlatJSON.Token, in bytes: UnsafeBufferPointer<UInt8>) {
        guard case .string(let range, let escaped) = key else { return nil }
        let keyBytes: [UInt8]
        if escaped {
            guard let unescaped = try? FlatJSON.unescape(bytes, range) else { return nil }
            keyBytes = unescaped
        } else {
            keyBytes = []
        }
        func named(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { literal in
                if escaped { return keyBytes.elementsEqual(literal) }
                return range.count == literal.count && memcmp(bytes.baseAddress! + range.lowerBound, literal.baseAddress!, literal.count) == 0
            }
        }
        // The key's length picks the one or two names it can be.
        switch escaped ? keyBytes.count : range.count {
        case 16:
            if named("transaction_date") { self = .date } else if named("transaction_type") { self = .type } else { return nil }
        case 7:
            if named("account") { self = .account } else if named("balance") { self = .balance } else { return nil }
        case 17:
            if named("transaction_value") { self = .value } else { return nil }
        default:
            return nil
        }
    }
}
