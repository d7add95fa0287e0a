import Testing

@testable import Ledger

/// CSV import: the original file format and its edge cases, with one exact message per kind of bad row.
@Suite struct TransactionCSVTests {
    func parse(_ text: String) -> TransactionCSV { TransactionCSV(bytes: Array(text.utf8), file: "f.csv") }

    /// The repository's sample (byte for byte the original): `;`, dd/mm/yyyy, signed values, CRLF, no final newline.
    @Test func readsTheOriginalSample() {
        let csv = parse("transaction_date;account;transaction_value;balance\r\n01/01/2024;C100;1000;1000\r\n02/01/2024;C200;2500;2500\r\n03/01/2024;C200;-200;2300\r\n04/01/2024;C100;-25;975\r\n05/01/2024;C100;-145;830")
        #expect(csv.errors.isEmpty)
        #expect(csv.rows.map(\.line) == [2, 3, 4, 5, 6])
        #expect(csv.rows.map(\.event.type) == [.deposit, .deposit, .withdrawal, .withdrawal, .withdrawal])
        #expect(csv.rows[4].event.amount == Money(cents: 14_500) && csv.rows[4].event.statedBalance == Money(cents: 83_000))
        #expect(csv.rows[0].event.date.description == "2024-01-01 00:00:00")
    }

    @Test func acceptsCommasIsoDatesBomQuotesAndAnOptionalBalance() {
        let csv = parse("\u{FEFF}account,transaction_value,transaction_date\n\"Smith, J\",\"1,50\",2024-03-01\n\"Q\"\"uote\",-2,2024-03-02 10:00:00\n\nC3,7,2024-03-03\n")
        #expect(csv.errors.isEmpty, "\(csv.errors)")
        #expect(csv.rows.map(\.event.account) == ["Smith, J", "Q\"uote", "C3"])
        #expect(csv.rows[0].event.amount == Money(cents: 150))
        #expect(csv.rows.allSatisfy { $0.event.statedBalance == nil })
        #expect(csv.rows.map(\.line) == [2, 3, 5])
    }

    /// Every field of a row may be quoted, with escapes, delimiters and CRLF inside, and text after a closing quote
    /// keeps the quotes as they are (the field is then not a quoted one).
    @Test func severalQuotedFieldsInOneRow() {
        let csv = parse("transaction_date;account;transaction_value;balance\r\n\"2024-03-01\";\"A;\"\"B\"\"\";\"-1.50\";\"\"\r\n2024-03-02;\"x\"y;\"2\";\" 0.50 \"\r\n")
        #expect(csv.errors.isEmpty, "\(csv.errors)")
        #expect(csv.rows.map(\.event.account) == ["A;\"B\"", "\"x\"y"])
        #expect(csv.rows.map(\.event.amount.cents) == [150, 200])
        #expect(csv.rows.map(\.event.type) == [.withdrawal, .deposit])
        #expect(csv.rows.map { $0.event.statedBalance?.cents } == [nil, 50])
    }

    @Test func aQuotedFieldMaySpanLines() {
        let csv = parse("transaction_date;account;transaction_value\n2024-01-01;\"multi\nline\";5\n2024-01-02;C2;6\n")
        #expect(csv.errors.isEmpty)
        #expect(csv.rows.map(\.line) == [2, 4])
        #expect(csv.rows[0].event.account == "multi\nline")
    }

    @Test func reportsEveryBadRowWithFileLineAndReason() {
        let csv = parse("""
            transaction_date;account;transaction_value;balance
            31/02/2024;C1;5;
            02/01/2024;;5;
            03/01/2024;C2;abc;
            04/01/2024;C2;1.234;
            05/01/2024;C3;0;0
            06/01/2024;C3;5
            07/01/2024;C3;5;x
            08/01/2024;C4;"unterminated;1
            """)
        #expect(csv.rows.isEmpty)
        #expect(csv.errors.map(\.description) == [
            "f.csv:2: transaction_date '31/02/2024' is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)",
            "f.csv:3: account is empty",
            "f.csv:4: transaction_value: amount 'abc' is not a number",
            "f.csv:5: transaction_value: amount '1.234' has more than two decimals",
            "f.csv:6: transaction_value is zero",
            "f.csv:7: expected 4 fields, found 3",
            "f.csv:8: balance: amount 'x' is not a number",
            "f.csv:9: unterminated quoted field",
        ])
    }

    @Test func emptyFilesAndBadHeadersAreErrors() {
        #expect(parse("").errors.map(\.description) == [
            "f.csv:1: the file is empty (expected a header: transaction_date;account;transaction_value;balance)",
        ])
        #expect(parse("\u{FEFF}").errors.count == 1)
        let header = parse("date;account;value\n01/01/2024;C1;5\n")
        #expect(header.errors.count == 1 && header.errors[0].description.hasPrefix("f.csv:1: missing columns transaction_date, transaction_value"))
        #expect(parse("transaction_date;account;transaction_value;balance\n").rows.isEmpty)
        #expect(parse("transaction_date;account;transaction_value;balance\n").errors.isEmpty)
    }
}

/// The block-at-a-time parser `produce --csv` streams files with gives exactly what parsing the whole file gives,
/// wherever the blocks end: inside a record, a quoted field, a CRLF, the header or the BOM.
@Suite struct TransactionCSVParserTests {
    static let files = [
        "\u{FEFF}transaction_date;account;transaction_value;balance\r\n01/01/2024;C100;1000;1000\r\n02/01/2024;C200;2500;2500\r\n"
            + "31/02/2024;C1;5;\r\n03/01/2024;C200;-200;2300\r\n\r\n05/01/2024;C100;-145;830",
        // Spaces, Unicode spaces, a blank account, a zero amount, a bad balance: checked and parsed alike.
        "transaction_date;account;transaction_value;balance\n01/01/2024; ;5;\n01/01/2024;\u{00A0}C1\u{00A0};\u{00A0}5 ;\u{2003}\n"
            + "01/01/2024;C2;0;\n01/01/2024;C3;5; x\n01/01/2024;\u{2003};5;\n01/01/2024;C4; 7 ; 7\n",
        "account,transaction_value,transaction_date\n\"Smith, J\",\"1,50\",2024-03-01\n\"multi\nline\",-2,2024-03-02 10:00:00\nC3,x,2024-03-03\nC4,1\n",
        "transaction_date;account;transaction_value\n2024-01-01;\"unterminated;5\n2024-01-02;C2;6\n",
        "transaction_date;account\n2024-01-01;C1\n",
        "",
        "\u{FEFF}",
        "transaction_date;account;transaction_value",
    ]

    func streamed(_ bytes: [UInt8], blockSize: Int, checkOnly: Bool = false) -> (items: [TransactionCSVParser.Item], lines: Int, valid: Int) {
        var parser = TransactionCSVParser(file: "f.csv", checkOnly: checkOnly)
        var items: [TransactionCSVParser.Item] = []
        var pending: [UInt8] = []
        var offset = 0
        while true {
            let block = bytes[offset..<min(offset + blockSize, bytes.count)]
            offset += block.count
            pending += block
            let isLast = offset == bytes.count
            let consumed = parser.parse(pending[...], isLast: isLast) { items.append($0) }
            pending.removeFirst(consumed)
            if isLast {
                #expect(pending.isEmpty)
                return (items, parser.lineCount, parser.validRows)
            }
        }
    }

    @Test(arguments: files.indices)
    func blocksOfEverySizeGiveWhatTheWholeFileGives(file: Int) {
        let bytes = Array(Self.files[file].utf8)
        let whole = TransactionCSV(bytes: bytes, file: "f.csv")
        let expected = whole.rows.map { TransactionCSVParser.Item.row($0) } + whole.errors.map { .error($0) }
        for blockSize in 1...max(1, bytes.count) {
            let (items, lines, _) = streamed(bytes, blockSize: blockSize)
            let rows = items.filter { if case .row = $0 { true } else { false } }
            let errors = items.filter { if case .error = $0 { true } else { false } }
            #expect(rows + errors == expected, "block size \(blockSize)")
            if !whole.rows.isEmpty { #expect(lines == whole.lineCount, "block size \(blockSize)") }
            // Checking only: the same errors, and the valid rows counted instead of built.
            let (checked, _, valid) = streamed(bytes, blockSize: blockSize, checkOnly: true)
            #expect(checked == whole.errors.map { .error($0) } && valid == whole.rows.count, "block size \(blockSize)")
        }
    }

    @Test func rowsAndErrorsComeInFileOrder() {
        let (items, _, _) = streamed(Array(Self.files[0].utf8), blockSize: 7)
        #expect(items.map { item -> Int in
            switch item {
            case .row(let row): row.line
            case .error(let error): error.line
            }
        } == [2, 3, 4, 5, 7])
    }
}
