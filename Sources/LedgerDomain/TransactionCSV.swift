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
        var bytes = input[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var records = CSVRecordReader(bytes: bytes)
        guard let header = records.next() else {
            errors.append(RowError(file: file, line: 1, message: "the file is empty (expected a header: transaction_date;account;transaction_value;balance)"))
            return
        }
        let delimiter = records.delimiter
        let names = header.fields.map { String(decoding: $0, as: UTF8.self).trimmingSpaces().lowercased() }
        var columns: [String: Int] = [:]
        for (index, name) in names.enumerated() where !name.isEmpty { columns[name] = columns[name] ?? index }
        let missing = Self.requiredColumns.filter { columns[$0] == nil }
        if !missing.isEmpty {
            errors.append(RowError(
                file: file, line: header.line,
                message: "missing column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) in the header (found: \(names.joined(separator: String(Character(Unicode.Scalar(delimiter))))); expected transaction_date;account;transaction_value;balance)"))
            return
        }
        let dateColumn = columns["transaction_date"]!
        let accountColumn = columns["account"]!
        let valueColumn = columns["transaction_value"]!
        let balanceColumn = columns["balance"]
        rows.reserveCapacity(input.count / 32)
        while let record = records.next() {
            if let problem = record.problem {
                errors.append(RowError(file: file, line: record.line, message: problem))
                continue
            }
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }  // a blank line
            guard record.fields.count == names.count else {
                errors.append(RowError(file: file, line: record.line,
                                       message: "expected \(names.count) fields, found \(record.fields.count)"))
                continue
            }
            switch Self.event(record.fields, date: dateColumn, account: accountColumn, value: valueColumn, balance: balanceColumn) {
            case .success(let event): rows.append(Row(line: record.line, event: event))
            case .failure(let message): errors.append(RowError(file: file, line: record.line, message: message.text))
            }
        }
        lineCount = records.line
    }

    struct Message: Error {
        var text: String
    }

    static func event(_ fields: [ArraySlice<UInt8>], date: Int, account: Int, value: Int, balance: Int?) -> Result<TransactionEvent, Message> {
        guard let parsedDate = fields[date].withUnsafeBufferPointer({ TransactionDate(bytes: $0) }) else {
            let dateText = String(decoding: fields[date], as: UTF8.self)
            return .failure(Message(text: "transaction_date '\(dateText.trimmingSpaces())' is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)"))
        }
        let accountText = String(decoding: fields[account], as: UTF8.self).trimmingSpaces()
        guard !accountText.isEmpty else { return .failure(Message(text: "account is empty")) }
        let amount: Money
        do {
            amount = try Money(parsing: String(decoding: fields[value], as: UTF8.self))
        } catch {
            return .failure(Message(text: "transaction_value: \(error)"))
        }
        guard amount.cents != 0 else { return .failure(Message(text: "transaction_value is zero")) }
        var stated: Money?
        if let balance {
            let text = String(decoding: fields[balance], as: UTF8.self)
            if !text.trimmingSpaces().isEmpty {
                do {
                    stated = try Money(parsing: text)
                } catch {
                    return .failure(Message(text: "balance: \(error)"))
                }
            }
        }
        return .success(TransactionEvent(date: parsedDate, account: accountText, amount: amount.magnitude,
                                         type: amount.isNegative ? .withdrawal : .deposit, statedBalance: stated))
    }
}

/// Splits CSV bytes into records of fields, honouring quotes (a quoted field may contain the delimiter, line breaks
/// and doubled quotes). The delimiter is decided by the first line: `;` if present there, else `,`.
struct CSVRecordReader {
    struct Record {
        var line: Int
        var fields: [ArraySlice<UInt8>]
        /// Set when the record is malformed (an unterminated quote), with the reason.
        var problem: String?
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int
    private(set) var line = 0
    private(set) var delimiter: UInt8 = UInt8(ascii: ";")
    private var decided = false

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func next() -> Record? {
        guard position < bytes.endIndex else { return nil }
        if !decided {
            let firstLineEnd = bytes[position...].firstIndex(of: 10) ?? bytes.endIndex
            delimiter = bytes[position..<firstLineEnd].contains(UInt8(ascii: ";")) ? UInt8(ascii: ";") : UInt8(ascii: ",")
            decided = true
        }
        line += 1
        let startLine = line
        var fields: [ArraySlice<UInt8>] = []
        var fieldStart = position
        var quoted: [UInt8]?
        while position < bytes.endIndex {
            let byte = bytes[position]
            if byte == 34 && position == fieldStart && quoted == nil {
                // A quoted field: read to the closing quote, unescaping doubled quotes.
                var content: [UInt8] = []
                position += 1
                var closed = false
                while position < bytes.endIndex {
                    let inner = bytes[position]
                    if inner == 34 {
                        if position + 1 < bytes.endIndex && bytes[position + 1] == 34 {
                            content.append(34)
                            position += 2
                            continue
                        }
                        position += 1
                        closed = true
                        break
                    }
                    if inner == 10 { line += 1 }
                    content.append(inner)
                    position += 1
                }
                if !closed {
                    return Record(line: startLine, fields: [], problem: "unterminated quoted field")
                }
                quoted = content
                continue
            }
            if byte == delimiter || byte == 10 {
                fields.append(Self.field(bytes[fieldStart..<position], quoted: quoted))
                quoted = nil
                position += 1
                fieldStart = position
                if byte == 10 { return Record(line: startLine, fields: fields) }
                continue
            }
            if quoted != nil && byte != 13 && byte != 32 {
                // Text after a closing quote: keep it, as most CSV readers do, but it makes the field unquoted.
                quoted = nil
            }
            position += 1
        }
        fields.append(Self.field(bytes[fieldStart..<position], quoted: quoted))
        return Record(line: startLine, fields: fields)
    }

    private static func field(_ raw: ArraySlice<UInt8>, quoted: [UInt8]?) -> ArraySlice<UInt8> {
        if let quoted { return quoted[...] }
        var end = raw.endIndex
        if end > raw.startIndex && raw[end - 1] == 13 { end -= 1 }  // CRLF
        return raw[raw.startIndex..<end]
    }
}
