/// Reads bank transaction CSV files: the original format (`;`-separated, header
/// `transaction_date;account;transaction_value;balance`, dates `dd/mm/yyyy`, signed values, CRLF, no final newline)
/// and also `,`-separated files and ISO dates, with quoted fields ("a;b", doubled "" inside), a UTF-8 BOM, and blank
/// lines ignored. The balance column is optional.
///
/// Every row becomes either an event or an error naming its line: `FILE:LINE: what is wrong`. The type comes from the
/// sign (> 0 deposit, < 0 withdrawal) and the amount is stored positive, as the original producer did.
public struct TransactionCSV: Sendable {
    public struct Row: Sendable, Equatable {
        /// 1-based line number of the row in the file.
        public var line: Int
        public var event: TransactionEvent
    }

    public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String

        public var description: String { "\(file):\(line): \(message)" }
    }

    public var rows: [Row] = []
    public var errors: [RowError] = []
    /// Physical lines read (header included).
    public var lineCount = 0

    static let requiredColumns = ["transaction_date", "account", "transaction_value"]

    /// Parses a whole file's bytes. `file` is the name used in error messages.
    public init(bytes input: [UInt8], file: String) {
        var parser = TransactionCSVParser(file: file)
        rows.reserveCapacity(input.count / 32)
        _ = parser.parse(input[...], isLast: true) { item in
            switch item {
            case .row(let row): rows.append(row)
            case .error(let error): errors.append(error)
            }
        }
        lineCount = parser.lineCount
    }

    struct Message: Error {
        var text: String
    }

    /// An amount field: read from its bytes when it starts and ends with a visible ASCII character (nearly always),
    /// else through ``Money/init(parsing:)``, which also trims Unicode spaces.
    static func money(_ field: UnsafeBufferPointer<UInt8>) throws(Money.ParseError) -> Money {
        guard hasVisibleEdges(field) else {
            return try Money(parsing: String(decoding: field, as: UTF8.self))
        }
        return try Money(bytes: field)
    }

    static func event(_ fields: [UnsafeBufferPointer<UInt8>], date: Int, account: Int, value: Int, balance: Int?) -> Result<TransactionEvent, Message> {
        event(fields, date: date, account: account, value: value, balance: balance, build: true).map { $0! }
    }

    /// Whether a row is valid, deciding exactly as ``event(_:date:account:value:balance:)`` does without building the
    /// event (the check pass of a streamed import).
    static func check(_ fields: [UnsafeBufferPointer<UInt8>], date: Int, account: Int, value: Int, balance: Int?) -> Message? {
        if case .failure(let message) = event(fields, date: date, account: account, value: value, balance: balance, build: false) {
            return message
        }
        return nil
    }

    /// Whether a field starts and ends with a visible ASCII character (then no trimming can change it).
    static func hasVisibleEdges(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = field.first, let last = field.last else { return false }
        return first > 32 && first < 128 && last > 32 && last < 128
    }

    /// One decision for both: `build` false checks every field and returns nil for a valid row.
    private static func event(_ fields: [UnsafeBufferPointer<UInt8>], date: Int, account: Int, value: Int, balance: Int?,
                              build: Bool) -> Result<TransactionEvent?, Message> {
        guard let parsedDate = TransactionDate(bytes: fields[date]) else {
            let dateText = String(decoding: fields[date], as: UTF8.self)
            return .failure(Message(text: "transaction_date '\(dateText.trimmingSpaces())' is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)"))
        }
        var accountText = ""
        if build || !hasVisibleEdges(fields[account]) {
            accountText = String(decoding: fields[account], as: UTF8.self).trimmingSpaces()
            guard !accountText.isEmpty else { return .failure(Message(text: "account is empty")) }
        }
        let amount: Money
        do {
            amount = try money(fields[value])
        } catch {
            return .failure(Message(text: "transaction_value: \(error)"))
        }
        guard amount.cents != 0 else { return .failure(Message(text: "transaction_value is zero")) }
        var stated: Money?
        if let balance, !fields[balance].isEmpty {
            // Blank (spaces only) means no stated balance.
            let startsVisible = fields[balance].first.map { $0 > 32 && $0 < 128 } ?? false
            if startsVisible || !String(decoding: fields[balance], as: UTF8.self).trimmingSpaces().isEmpty {
                do {
                    stated = try money(fields[balance])
                } catch {
                    return .failure(Message(text: "balance: \(error)"))
                }
            }
        }
        guard build else { return .success(nil) }
        return .success(TransactionEvent(date: parsedDate, account: accountText, amount: amount.magnitude,
                                         type: amount.isNegative ? .withdrawal : .deposit, statedBalance: stated))
    }
}

/// The same parsing, a block of a file at a time: a file of any size is checked and sent in constant memory
/// (`produce --csv` reads it twice, to check every row before sending any). Feed it the file's bytes in order; each
/// call parses the complete records at the start of what it is given and says how many bytes that was; the rest (a
/// record cut by the block's end) is given again, followed by the next block.
public struct TransactionCSVParser: Sendable {
    /// A row, or the reason a row (or the header) is not one.
    public enum Item: Sendable, Equatable {
        case row(TransactionCSV.Row)
        case error(TransactionCSV.RowError)
    }

    private struct Header: Sendable {
        var fieldCount: Int
        var date: Int
        var account: Int
        var value: Int
        var balance: Int?
        var delimiter: UInt8
    }

    public let file: String
    /// Checking only: valid rows are counted (``validRows``), not built, and only errors reach the caller.
    public let checkOnly: Bool
    public private(set) var validRows = 0
    private var header: Header?
    /// The header was wrong (or missing): nothing after it is read.
    private var failed = false
    private var started = false
    /// Physical lines read (header included).
    public private(set) var lineCount = 0

    public init(file: String, checkOnly: Bool = false) {
        self.file = file
        self.checkOnly = checkOnly
    }

    /// A parser for the records after a line break of the same file, which another thread reads while this one
    /// goes on: the header as read here, lines and valid rows counted from zero (the caller adds the lines before
    /// the break to the lines it reports). Only where no quoted field can span the break: a file without `"`.
    public func continuing() -> TransactionCSVParser {
        var next = TransactionCSVParser(file: file, checkOnly: checkOnly)
        next.header = header
        next.failed = failed
        next.started = true
        return next
    }

    /// Parses the complete records at the start of `bytes` (every record, if `isLast`), handing each row or error to
    /// `body` in file order. Returns how many bytes were consumed.
    public mutating func parse(_ block: ArraySlice<UInt8>, isLast: Bool, _ body: (Item) throws -> Void) rethrows -> Int {
        var bytes = block
        if failed { return block.count }
        if !started {
            if bytes.count < 3 && !isLast && [0xEF, 0xBB, 0xBF].starts(with: bytes) { return 0 }
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        }
        var records = CSVRecordReader(bytes: bytes, line: lineCount, delimiter: header?.delimiter, isLast: isLast)
        defer { lineCount = records.line }
        if header == nil {
            guard let first = records.next() else {
                guard isLast else { return 0 }
                failed = true
                try body(.error(TransactionCSV.RowError(file: file, line: 1, message: "the file is empty (expected a header: transaction_date;account;transaction_value;balance)")))
                return block.count
            }
            started = true
            let names = records.withFields(of: first) { fields in
                fields.map { String(decoding: $0, as: UTF8.self).trimmingSpaces().lowercased() }
            }
            var columns: [String: Int] = [:]
            for (index, name) in names.enumerated() where !name.isEmpty { columns[name] = columns[name] ?? index }
            let missing = TransactionCSV.requiredColumns.filter { columns[$0] == nil }
            if !missing.isEmpty {
                failed = true
                try body(.error(TransactionCSV.RowError(
                    file: file, line: first.line,
                    message: "missing column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) in the header (found: \(names.joined(separator: String(Character(Unicode.Scalar(records.delimiter))))); expected transaction_date;account;transaction_value;balance)")))
                return block.count
            }
            header = Header(fieldCount: names.count, date: columns["transaction_date"]!, account: columns["account"]!,
                            value: columns["transaction_value"]!, balance: columns["balance"], delimiter: records.delimiter)
        }
        let header = header!
        while let record = records.next() {
            if let problem = record.problem {
                try body(.error(TransactionCSV.RowError(file: file, line: record.line, message: problem)))
                continue
            }
            if record.fields.count == 1 && record.fields[0].range.isEmpty { continue }  // a blank line
            guard record.fields.count == header.fieldCount else {
                try body(.error(TransactionCSV.RowError(file: file, line: record.line,
                                                       message: "expected \(header.fieldCount) fields, found \(record.fields.count)")))
                continue
            }
            if checkOnly {
                if let message = records.withFields(of: record, { fields in
                    TransactionCSV.check(fields, date: header.date, account: header.account, value: header.value, balance: header.balance)
                }) {
                    try body(.error(TransactionCSV.RowError(file: file, line: record.line, message: message.text)))
                } else {
                    validRows += 1
                }
                continue
            }
            let decided = records.withFields(of: record) { fields in
                TransactionCSV.event(fields, date: header.date, account: header.account, value: header.value, balance: header.balance)
            }
            switch decided {
            case .success(let event): try body(.row(TransactionCSV.Row(line: record.line, event: event)))
            case .failure(let message): try body(.error(TransactionCSV.RowError(file: file, line: record.line, message: message.text)))
            }
        }
        return records.consumed + (block.count - bytes.count)
    }
}

/// Splits CSV bytes into records of fields, honouring quotes (a quoted field may contain the delimiter, line breaks
/// and doubled quotes). The delimiter is decided by the first line: `;` if present there, else `,`.
///
/// Fields are positions, not slices: a slice of the file's bytes is retained and released each time it is stored or
/// read, four times a row, which was a fifth of `produce --csv`'s CPU. ``withFields(of:_:)`` lends their bytes.
struct CSVRecordReader {
    /// Where a field's bytes are: in the input, or (unescaped) in the reader's store of quoted fields.
    struct Field {
        var range: Range<Int>
        var isQuoted: Bool
    }

    struct Record {
        var line: Int
        var fields: [Field]
        /// Set when the record is malformed (an unterminated quote), with the reason.
        var problem: String?
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int
    private(set) var line: Int
    private(set) var delimiter: UInt8 = UInt8(ascii: ";")
    private var decided = false
    /// Whether `bytes` run to the end of the file: if not, a record the bytes end in the middle of is not returned.
    private let isLast: Bool
    private var spareFields: [Field] = []
    /// The last record's quoted fields, unescaped.
    private var quotedBytes: [UInt8] = []
    private var fieldBytes: [UnsafeBufferPointer<UInt8>] = []

    /// Whether lines without quotes take ``splitUnquotedLine(into:)`` (off only in the test that compares it with the
    /// general loop).
    let splitsUnquotedLines: Bool

    /// `line`: lines before `bytes`; `delimiter`: as decided by the file's first line (nil: decide it from `bytes`).
    init(bytes: ArraySlice<UInt8>, line: Int = 0, delimiter: UInt8? = nil, isLast: Bool = true, splitsUnquotedLines: Bool = true) {
        self.bytes = bytes
        self.splitsUnquotedLines = splitsUnquotedLines
        position = bytes.startIndex
        self.line = line
        self.isLast = isLast
        if let delimiter {
            self.delimiter = delimiter
            decided = true
        }
    }

    /// Bytes of the complete records returned so far.
    var consumed: Int { position - bytes.startIndex }

    /// Calls `body` with the bytes of each field of `record`, the last record read (valid only during the call).
    mutating func withFields<T>(of record: Record, _ body: ([UnsafeBufferPointer<UInt8>]) throws -> T) rethrows -> T {
        var pointers = fieldBytes
        fieldBytes = []
        pointers.removeAll(keepingCapacity: true)
        defer { fieldBytes = pointers }
        return try bytes.withUnsafeBufferPointer { input in
            try quotedBytes.withUnsafeBufferPointer { quoted in
                for field in record.fields {
                    pointers.append(field.isQuoted
                        ? UnsafeBufferPointer(rebasing: quoted[field.range])
                        : UnsafeBufferPointer(rebasing: input[(field.range.lowerBound - bytes.startIndex)..<(field.range.upperBound - bytes.startIndex)]))
                }
                return try body(pointers)
            }
        }
    }

    mutating func next() -> Record? {
        guard position < bytes.endIndex else { return nil }
        if !decided {
            guard let firstLineEnd = bytes[position...].firstIndex(of: 10) ?? (isLast ? bytes.endIndex : nil) else { return nil }
            delimiter = bytes[position..<firstLineEnd].contains(UInt8(ascii: ";")) ? UInt8(ascii: ";") : UInt8(ascii: ",")
            decided = true
        }
        let (recordStart, lineBefore) = (position, line)
        guard let record = read() else {
            // The bytes end inside this record: it is read again with the rest of the file.
            (position, line) = (recordStart, lineBefore)
            return nil
        }
        return record
    }

    /// The record at `position`; nil if it is cut by the end of `bytes` and more are to come.
    private mutating func read() -> Record? {
        line += 1
        let startLine = line
        // The last record's array, unique again once the caller dropped that record: no allocation per record.
        var fields = spareFields
        spareFields = []
        fields.removeAll(keepingCapacity: true)
        defer { spareFields = fields }
        if splitsUnquotedLines, let end = splitUnquotedLine(into: &fields) {
            position = end
            return Record(line: startLine, fields: fields)
        }
        fields.removeAll(keepingCapacity: true)
        quotedBytes.removeAll(keepingCapacity: true)
        var fieldStart = position
        var quoted: Range<Int>?
        while position < bytes.endIndex {
            let byte = bytes[position]
            if byte == 34 && position == fieldStart && quoted == nil {
                // A quoted field: read to the closing quote, unescaping doubled quotes.
                let contentStart = quotedBytes.count
                position += 1
                var closed = false
                while position < bytes.endIndex {
                    let inner = bytes[position]
                    if inner == 34 {
                        if position + 1 < bytes.endIndex && bytes[position + 1] == 34 {
                            quotedBytes.append(34)
                            position += 2
                            continue
                        }
                        position += 1
                        closed = true
                        break
                    }
                    if inner == 10 { line += 1 }
                    quotedBytes.append(inner)
                    position += 1
                }
                if !closed {
                    return isLast ? Record(line: startLine, fields: [], problem: "unterminated quoted field") : nil
                }
                quoted = contentStart..<quotedBytes.count
                continue
            }
            if byte == delimiter || byte == 10 {
                fields.append(field(fieldStart..<position, quoted: quoted))
                quoted = nil
                position += 1
                fieldStart = position
                if byte == 10 { return Record(line: startLine, fields: fields) }
                continue
            }
            if quoted != nil {
                // Text after a closing quote: keep it, as most CSV readers do, but it makes the field unquoted.
                if byte != 13 && byte != 32 { quoted = nil }
                position += 1
                continue
            }
            // Inside an unquoted field: nothing but its end matters.
            position = Self.endOfField(bytes, from: position + 1, delimiter: delimiter)
        }
        guard isLast else { return nil }
        fields.append(field(fieldStart..<position, quoted: quoted))
        return Record(line: startLine, fields: fields)
    }

    /// Splits the record at `position` when its line has no quote (nearly every line): the same fields as the general
    /// loop in ``read()``, found 8 bytes at a time (measured: that loop, a byte and a branch at a time, was about 700
    /// instructions a row of a bank export, a ninth of `produce --csv`). Returns where the next record starts; nil
    /// when the line has a quote (the general loop reads it) or is cut by the end of bytes that are not the file's last.
    private func splitUnquotedLine(into fields: inout [Field]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let start = buffer.baseAddress else { return nil }
            let base = bytes.startIndex
            let delimiter = delimiter
            let ones: UInt64 = 0x0101_0101_0101_0101
            let (delimiters, newlines, quotes) = (ones &* UInt64(delimiter), ones &* 10, ones &* 34)
            var index = position - base
            var fieldStart = index
            /// Handles the byte at `at`, one of the three: nil to go on, else the result.
            func separator(at: Int) -> Int?? {
                let byte = start[at]
                if byte == 34 { return .some(nil) }
                fields.append(field(fieldStart + base..<at + base, quoted: nil))
                if byte == 10 { return .some(at + 1 + base) }
                fieldStart = at + 1
                return nil
            }
            while index + 8 <= buffer.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(start + index).loadUnaligned(as: UInt64.self))
                var found = Self.zeroBytes(word ^ delimiters) | Self.zeroBytes(word ^ newlines) | Self.zeroBytes(word ^ quotes)
                while found != 0 {
                    if let result = separator(at: index + found.trailingZeroBitCount / 8) { return result }
                    found &= found - 1
                }
                index += 8
            }
            while index < buffer.count {
                let byte = start[index]
                if byte == delimiter || byte == 10 || byte == 34, let result = separator(at: index) { return result }
                index += 1
            }
            guard isLast else { return nil }
            fields.append(field(fieldStart + base..<buffer.count + base, quoted: nil))
            return buffer.count + base
        }
    }

    /// 0x80 in every byte of `word` that is zero, and nothing else (no borrow crosses bytes: each byte's low seven
    /// bits plus 0x7F stay below 0x100).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((word & low7) &+ low7) | word | low7)
    }

    /// The index of the first delimiter or newline at or after `start` (the end of `bytes` if none).
    private static func endOfField(_ bytes: ArraySlice<UInt8>, from start: Int, delimiter: UInt8) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var index = start - bytes.startIndex
            while index < buffer.count, buffer[index] != delimiter, buffer[index] != 10 { index += 1 }
            return index + bytes.startIndex
        }
    }

    private func field(_ raw: Range<Int>, quoted: Range<Int>?) -> Field {
        if let quoted { return Field(range: quoted, isQuoted: true) }
        var end = raw.upperBound
        if end > raw.lowerBound && bytes[end - 1] == 13 { end -= 1 }  // CRLF
        return Field(range: raw.lowerBound..<end, isQuoted: false)
    }
}
