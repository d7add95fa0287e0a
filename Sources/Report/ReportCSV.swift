import Ledger

/// `--format csv`: transactions as RFC 4180 lines (comma-separated, quoted only when needed), amounts as exact
/// decimal text. The command writes the header, then one line per entry as it reads them, so a whole ledger can be
/// exported without holding it in memory.
public enum ReportCSV {
    public static let header = "transaction_date,account,transaction_type,amount,balance,stated_balance,topic,partition,offset"

    public static func line(_ entry: LedgerEntry) -> String {
        [
            entry.date.description, field(entry.account), entry.type.rawValue, entry.amount.description,
            entry.balance.description, entry.statedBalance?.description ?? "", field(entry.topic), String(entry.partition),
            String(entry.offset),
        ].joined(separator: ",")
    }

    /// Quoted (inner quotes doubled) when it holds a comma, a quote or a line break.
    static func field(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}
