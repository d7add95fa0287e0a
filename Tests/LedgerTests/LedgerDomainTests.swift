import Testing

@testable import Ledger
@testable import LedgerDomain

/// Money is integer cents, parsed and printed without floating point.
@Suite struct MoneyTests {
    @Test(arguments: [
        ("1000", Int64(100_000)), ("-200", -20_000), ("12.5", 1250), ("12.05", 1205), ("0.01", 1), ("+3", 300),
        ("12,50", 1250), (" 7 ", 700), (".5", 50), ("12.500", 1250), ("92233720368547758.07", Int64.max),
    ])
    func parses(text: String, cents: Int64) throws {
        #expect(try Money(parsing: text).cents == cents)
    }

    @Test func refusesWhatIsNotAnAmount() {
        #expect(throws: Money.ParseError.tooManyDecimals("1.234")) { try Money(parsing: "1.234") }
        #expect(throws: Money.ParseError.notANumber("abc")) { try Money(parsing: "abc") }
        #expect(throws: Money.ParseError.notANumber("1e5")) { try Money(parsing: "1e5") }
        #expect(throws: Money.ParseError.notANumber("1.2.3")) { try Money(parsing: "1.2.3") }
        #expect(throws: Money.ParseError.notANumber("-")) { try Money(parsing: "-") }
        #expect(throws: Money.ParseError.empty) { try Money(parsing: "  ") }
        #expect(throws: Money.ParseError.tooLarge("99999999999999999999")) { try Money(parsing: "99999999999999999999") }
    }

    /// The fast path for plain amounts gives what the general parser gives, and takes the usual forms: checked on every
    /// amount of a small alphabet up to 4 characters, on random ones up to 20, and on the widest it takes.
    @Test func plainAmountsParseAsTheGeneralParserDoes() {
        func check(_ text: String) {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                let input = UnsafeBufferPointer(buffer)
                if let plain = Money.plainAmount(input) {
                    #expect(plain == (try? Money.anyAmount(input)), "\(text)")
                }
            }
        }
        let alphabet = Array("0159.-+, ")
        var texts = [""]
        for _ in 1...4 {
            texts = texts.flatMap { prefix in alphabet.map { prefix + String($0) } }
            texts.forEach(check)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            check(String((0..<Int.random(in: 1...20, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for text in ["999999999999999.99", "-999999999999999.9", "1234567890123456", "0.1", "12.", "-0", "007.50"] { check(text) }
        for (text, cents) in [("2856.88", Int64(285_688)), ("-12.5", -1250), ("7", 700), ("999999999999999.99", 99_999_999_999_999_999)] {
            var bytes = Array(text.utf8)
            #expect(bytes.withUnsafeMutableBufferPointer { Money.plainAmount(UnsafeBufferPointer($0)) }?.cents == cents)
        }
    }

    @Test func prints() {
        #expect(Money(cents: 100_000).description == "1000.00")
        #expect(Money(cents: -1250).description == "-12.50")
        #expect(Money(cents: 5).description == "0.05")
        #expect(Money(cents: 100_000).compactDescription == "1000")
        #expect(Money(cents: 1250).compactDescription == "12.5")
        #expect(Money(cents: -1205).compactDescription == "-12.05")
        #expect(Money(cents: 123_456_789).grouped == "1,234,567.89")
    }
}

/// Dates in the original and ISO forms; impossible dates are refused.
@Suite struct TransactionDateTests {
    @Test func parsesBothForms() throws {
        #expect(TransactionDate(parsing: "05/01/2024")?.description == "2024-01-05 00:00:00")
        #expect(TransactionDate(parsing: "2024-01-05")?.description == "2024-01-05 00:00:00")
        #expect(TransactionDate(parsing: "2024-01-05 13:45:07")?.description == "2024-01-05 13:45:07")
        #expect(TransactionDate(parsing: "2024-01-05T13:45")?.description == "2024-01-05 13:45:00")
        #expect(TransactionDate(parsing: "29/02/2024") != nil)
        // Surrounding blanks, several spaces before the time, one-digit day, month and hour.
        #expect(TransactionDate(parsing: " \t5/1/2024   9:05 \t")?.description == "2024-01-05 09:05:00")
    }

    /// The fast path for fixed layouts gives what the general parser gives, and takes the usual forms: checked on every
    /// day, month and year form of both layouts (padded or not, possible or not), on the event form with times in and
    /// out of range, and on random texts of date characters.
    @Test func plainDatesParseAsTheGeneralParserDoes() {
        var taken = 0
        func check(_ text: String) {
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                let input = UnsafeBufferPointer(buffer)
                if let plain = TransactionDate.plainDate(input) {
                    taken += 1
                    #expect(plain == TransactionDate.anyDate(input), "\(text)")
                }
            }
        }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        for year in ["0000", "0001", "1999", "2024", "2100", "9999", "999", "20245"] {
            for month in 0...13 {
                for day in [0, 1, 9, 10, 28, 29, 30, 31, 32] {
                    for text in ["\(day)/\(month)/\(year)", "\(two(day))/\(two(month))/\(year)", "\(two(day))/\(month)/\(year)",
                                 "\(year)-\(two(month))-\(two(day))", "\(year)-\(month)-\(day)"] { check(text) }
                }
            }
        }
        for time in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1:00:00", "12:00", "12:0:00"] {
            check("2024-02-29 \(time)")
            check("2023-02-29 \(time)")
            check("2024-01-05T\(time)")
        }
        let alphabet = Array("0129/-: T")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50_000 {
            check(String((0..<Int.random(in: 1...20, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        #expect(taken > 1000)
        for (text, expected) in [("1/1/2024", "2024-01-01 00:00:00"), ("05/12/2024", "2024-12-05 00:00:00"),
                                 ("2024-05-05 13:45:07", "2024-05-05 13:45:07"), ("2024-02-29", "2024-02-29 00:00:00")] {
            var bytes = Array(text.utf8)
            #expect(bytes.withUnsafeMutableBufferPointer { TransactionDate.plainDate(UnsafeBufferPointer($0)) }?.description == expected)
        }
    }

    /// The text every store binds, two digits at a time, against a plain formatter: every value of every field, the
    /// extremes, and fields out of their places' range (a date built by hand), which keep their last digits.
    @Test func textMatchesAPlainFormatter() {
        func plain(_ fields: [Int]) -> String {
            zip(fields, [4, 2, 2, 2, 2, 2]).map { value, width in
                String(String(repeating: "0", count: width) + String(value.magnitude)).suffix(width)
            }.enumerated().map { index, digits in (index == 0 ? "" : ["-", "-", " ", ":", ":"][index - 1]) + digits }.joined()
        }
        var dates: [[Int]] = []
        for value in 0...99 {
            dates += [[2024, value, 5, 0, 0, 0], [2024, 1, value, 0, 0, 0], [2024, 1, 5, value, 0, 0], [2024, 1, 5, 0, value, 0],
                      [2024, 1, 5, 0, 0, value], [value * 101, 12, 31, 23, 59, 59], [value, 1, 1, 0, 0, 0]]
        }
        dates += [[9999, 12, 31, 23, 59, 59], [1, 1, 1, 0, 0, 0], [10000, 1, 1, 0, 0, 0], [12345, 123, 1, 0, 0, 0],
                  [2024, 1, 5, 100, 0, 0], [-2024, 1, 5, 0, 0, -7]]
        for fields in dates {
            let date = TransactionDate(year: fields[0], month: fields[1], day: fields[2], hour: fields[3], minute: fields[4],
                                       second: fields[5])
            #expect(date.description == plain(fields), "\(fields)")
        }
    }

    @Test(arguments: ["31/02/2024", "29/02/2023", "2024-13-01", "1/1/24", "yesterday", "", "2024-01-05 25:00", "05-01-2024",
                      "2024-01-05 13:45:07x", "2024-01-05 13:4", "2024-01-05 13:45:7", "2024-01-05x", "12345-01-05", "2024-01-05 13"])
    func refusesImpossibleOrUnknown(text: String) {
        #expect(TransactionDate(parsing: text) == nil)
    }
}

/// Transaction events as JSON record values, compatible with the original producer's format.
@Suite struct TransactionEventTests {
    let event = TransactionEvent(date: TransactionDate(year: 2024, month: 1, day: 5), account: "C100",
                                 amount: Money(cents: 14_500), type: .withdrawal, statedBalance: Money(cents: 83_000))

    @Test func encodesTheOriginalKeys() {
        #expect(event.jsonText == #"{"transaction_date":"2024-01-05 00:00:00","account":"C100","transaction_value":145,"balance":830,"transaction_type":"withdrawal"}"#)
    }

    @Test func roundTripsAndReadsOriginalProducerValues() throws {
        #expect(try TransactionEvent(json: Array(event.jsonText.utf8)) == event)
        // The original Python producer wrote floats and could omit nothing; a signed value without a type also works.
        let original = #"{"transaction_date": "2024-01-01 00:00:00", "account": "C100", "transaction_value": 1000.0, "balance": 1000.0, "transaction_type": "deposit"}"#
        #expect(try TransactionEvent(json: Array(original.utf8)).amount == Money(cents: 100_000))
        let signed = #"{"transaction_date":"2024-01-01","account":"C1","transaction_value":-5,"balance":null}"#
        let decoded = try TransactionEvent(json: Array(signed.utf8))
        #expect(decoded.type == .withdrawal && decoded.amount == Money(cents: 500) && decoded.statedBalance == nil)
    }

    /// Accounts: ASCII and other UTF-8 alike, surrounding spaces trimmed; bytes that are not UTF-8 are refused.
    @Test func accountTextIsUTF8AndTrimmed() throws {
        func event(account: [UInt8]) throws(TransactionEvent.DecodeError) -> TransactionEvent {
            try TransactionEvent(json: Array(#"{"transaction_date":"2024-01-01","account":""#.utf8) + account
                                       + Array(#"","transaction_value":5}"#.utf8))
        }
        #expect(try event(account: Array(" C100 ".utf8)).account == "C100")
        #expect(try event(account: Array(" Zoë ".utf8)).account == "Zoë")
        #expect(throws: TransactionEvent.DecodeError.badField("account", "not valid UTF-8")) { try event(account: [0x43, 0xC3, 0x28]) }
        #expect(throws: TransactionEvent.DecodeError.badField("account", "empty")) { try event(account: Array("  ".utf8)) }
    }

    /// Producers may add members; escapes are resolved; the value survives our own encoder for awkward accounts.
    @Test func readsEscapesAndIgnoresUnknownMembers() throws {
        let json = #"{"id": 7, "source": {"x": 1}, "transaction_date":"2024-01-01","acc\u006funt":"C\"1\u00e9","transaction_value":"12.5","nested":null}"#
        let decoded = try TransactionEvent(json: Array(json.utf8))
        #expect(decoded.account == "C\"1é" && decoded.amount == Money(cents: 1250) && decoded.type == .deposit)
        let awkward = TransactionEvent(date: TransactionDate(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58),
                                       account: "tab\there \\ \u{1}", amount: Money(cents: 5), type: .deposit, statedBalance: nil)
        #expect(try TransactionEvent(json: Array(awkward.jsonText.utf8)) == awkward)
    }

    /// The encoder's exact bytes for escapes, a negative stated balance and the largest amounts; an account made only
    /// of control characters (six bytes each) fits its buffer too.
    @Test func encodesEscapesExactlyWithinItsBound() throws {
        let awkward = TransactionEvent(date: TransactionDate(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58),
                                       account: "a\"b\\c\td\re\nf\u{1}g\u{1F}é", amount: Money(cents: Int64.max), type: .withdrawal,
                                       statedBalance: Money(cents: Int64.min + 1))
        #expect(awkward.jsonText == #"{"transaction_date":"2024-02-29 23:59:58","account":"a\"b\\c\td\re\nf\u0001g\u001fé","transaction_value":92233720368547758.07,"balance":-92233720368547758.07,"transaction_type":"withdrawal"}"#)
        #expect(try TransactionEvent(json: Array(awkward.jsonText.utf8)) == awkward)
        let controls = String(repeating: "\u{2}", count: 1_000)
        let event = TransactionEvent(date: TransactionDate(year: 2024, month: 1, day: 1), account: "x" + controls + "y",
                                     amount: Money(cents: 5), type: .deposit, statedBalance: nil)
        var bytes: [UInt8] = Array("prefix".utf8)
        event.appendJSON(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "prefix" + event.jsonText)
        #expect(event.jsonText.utf8.count == 126 + 6 * 1_000)
        #expect(try TransactionEvent(json: Array(event.jsonText.utf8)) == event)
    }

    @Test(arguments: [
        (#"not json"#, "not a JSON object"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1,"account":"C2"}"#, "field account given twice"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1} x"#, "trailing characters"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1"#, "unterminated object"),
        (#"{"transaction_date":"2024-01-01","account":"C\q","transaction_value":1}"#, "bad escape"),
        (#"{"transaction_date":"2024-01-01","account":5,"transaction_value":1}"#, "field account: expected a string"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":true}"#, "field transaction_value: expected a number"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1,"balance":"x"}"#, "field balance: amount 'x' is not a number"),
        (#"{"account":"C1","transaction_value":1,"transaction_type":"deposit"}"#, "missing field transaction_date"),
        (#"{"transaction_date":"x","account":"C1","transaction_value":1}"#, "field transaction_date: 'x' is not a date"),
        (#"{"transaction_date":"2024-01-01","account":"","transaction_value":1}"#, "field account: empty"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1.001}"#, "more than two decimals"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":0}"#, "must not be zero"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":5,"transaction_type":"refund"}"#, "is not deposit or withdrawal"),
        (#"{"transaction_date":"2024-01-01","account":"C1","transaction_value":1e3}"#, "exponent"),
    ])
    func refusesBadValues(json: String, reason: String) {
        do {
            _ = try TransactionEvent(json: Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }
}

/// The CSV splitter's fast path for lines without quotes, against its general loop.
@Suite struct CSVRecordReaderTests {
    // Goal: lines without quotes, split 8 bytes at a time, give the records the general loop gives: the same fields
    // (CRs dropped at their ends), lines and consumed bytes, for either delimiter, blank lines, a last line without a
    // line break, cuts anywhere, and quotes (which send their line to the general loop) mixed in.
    @Test func unquotedLinesSplitAsTheGeneralLoopDoes() {
        func records(_ bytes: ArraySlice<UInt8>, isLast: Bool, fast: Bool) -> [String] {
            var reader = CSVRecordReader(bytes: bytes, line: 3, isLast: isLast, splitsUnquotedLines: fast)
            var out: [String] = []
            while let record = reader.next() {
                let fields = reader.withFields(of: record) { $0.map { String(decoding: $0, as: UTF8.self) } }
                out.append("\(record.line):\(record.problem ?? "")|\(fields.joined(separator: "|"))")
            }
            out.append("consumed \(reader.consumed) lines \(reader.line) delimiter \(reader.delimiter)")
            return out
        }
        // And bytes a bit away from the separators (":" is ";" + 1, "#" is "\"" + 1, "\u{0B}" is "\n" + 1; the
        // separators with the high bit set), where a word-at-a-time test could mistake one for a separator.
        let separators = Array(";,\n\"".utf8)
        let alphabet = Array(";;,,ab1 .-:#\u{0B}\r\n\n\"".utf8) + [0x80, 0xFF] + separators.map { $0 | 0x80 }
        var generator = SystemRandomNumberGenerator()
        var compared = 0
        for round in 0..<20_000 {
            let count = Int.random(in: 0...(round % 10 == 0 ? 300 : 60), using: &generator)
            var bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            if round % 2 == 0 { bytes.removeAll { $0 == 34 } }  // half without quotes: the fast path throughout
            for isLast in [true, false] {
                let cut = Int.random(in: 0...bytes.count, using: &generator)
                let slice = bytes[cut...]
                #expect(records(slice, isLast: isLast, fast: true) == records(slice, isLast: isLast, fast: false),
                        "\(String(decoding: slice, as: UTF8.self).debugDescription) isLast \(isLast)")
                compared += 1
            }
        }
        #expect(compared == 40_000)
    }
}
