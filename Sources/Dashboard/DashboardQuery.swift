import Ledger
import Report

/// What a dashboard view shows, from its URL's query (`?from=2024-01-01&to=2024-01-31&account=C1&sort=amount&dir=desc&page=2`):
/// the same period, account and `top` as `report`'s options, and the table's sort and page. Parsing checks every
/// field and says what is wrong (the server answers 400 with it).
public struct DashboardQuery: Sendable, Hashable {
    public var period = ReportPeriod()
    public var account: String?
    public var top = 8
    public var sort = TransactionSort.newestFirst
    /// 1-based.
    public var page = 1
    public var pageSize = 50

    public static let maxPageSize = 500
    public static let maxTop = 200

    public init() {}

    public init(parsing fields: FormFields) throws(DashboardError) {
        func day(_ name: String) throws(DashboardError) -> String? {
            guard let text = fields[name] else { return nil }
            let bytes = Array(text.utf8)
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                  let date = TransactionDate(parsing: text) else {
                throw .badRequest("\(name) must be a date YYYY-MM-DD, got '\(text.prefix(40))'")
            }
            return date.dayDescription
        }
        func number(_ name: String, in range: ClosedRange<Int>) throws(DashboardError) -> Int? {
            guard let text = fields[name] else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw .badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(40))'")
            }
            return value
        }
        period = ReportPeriod(from: try day("from"), to: try day("to"))
        if let from = period.from, let to = period.to, from > to {
            throw .badRequest("from \(from) is after to \(to)")
        }
        account = fields["account"]
        if let account, account.utf8.count > 200 { throw .badRequest("account is longer than 200 bytes") }
        top = try number("top", in: 0...Self.maxTop) ?? top
        if let column = fields["sort"] {
            guard let parsed = TransactionSort.Column(rawValue: column) else {
                let names = TransactionSort.Column.allCases.map(\.rawValue).joined(separator: ", ")
                throw .badRequest("sort must be one of \(names), got '\(column.prefix(40))'")
            }
            sort = TransactionSort(parsed, descending: parsed == .date)
        }
        if let direction = fields["dir"] {
            guard direction == "asc" || direction == "desc" else { throw .badRequest("dir must be asc or desc, got '\(direction.prefix(40))'") }
            sort.descending = direction == "desc"
        }
        page = try number("page", in: 1...Int(Int32.max)) ?? page
        pageSize = try number("size", in: 1...Self.maxPageSize) ?? pageSize
    }

    /// The query string that gives this view (defaults left out), with `changes` applied, for links.
    public func queryString(_ changes: (inout DashboardQuery) -> Void = { _ in }) -> String {
        var query = self
        changes(&query)
        var pairs: [(String, String)] = []
        if let from = query.period.from { pairs.append(("from", from)) }
        if let to = query.period.to { pairs.append(("to", to)) }
        if let account = query.account { pairs.append(("account", account)) }
        if query.top != 8 { pairs.append(("top", String(query.top))) }
        if query.sort != .newestFirst {
            pairs.append(("sort", query.sort.column.rawValue))
            pairs.append(("dir", query.sort.descending ? "desc" : "asc"))
        }
        if query.page != 1 { pairs.append(("page", String(query.page))) }
        if query.pageSize != 50 { pairs.append(("size", String(query.pageSize))) }
        return pairs.isEmpty ? "" : "?" + pairs.map { "\($0)=\(FormFields.encode($1))" }.joined(separator: "&")
    }

    /// The report's query for the charts and the reconciliation list (the table is paged separately).
    func reportQuery(location: String, sink: String) -> ReportQuery {
        var query = ReportQuery(period: period, account: account, pageSize: 20, top: top, location: location, sink: sink)
        query.listsTransactions = false
        return query
    }
}

/// A request the dashboard refuses, with the status and the message it answers.
public enum DashboardError: Error, Sendable, Equatable, CustomStringConvertible {
    case badRequest(String)
    case notFound(String)
    case methodNotAllowed(allowed: String)
    case unauthorized(String)
    case forbidden(String)
    case payloadTooLarge(String)
    case unsupportedMediaType(String)
    case tooManyRequests(String)
    case unavailable(String)
    case misdirected(String)

    public var description: String {
        switch self {
        case .badRequest(let message), .notFound(let message), .unauthorized(let message), .forbidden(let message),
             .payloadTooLarge(let message), .unsupportedMediaType(let message), .tooManyRequests(let message),
             .unavailable(let message), .misdirected(let message):
            message
        case .methodNotAllowed(let allowed): "method not allowed here (allowed: \(allowed))"
        }
    }

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .misdirected: 421
        case .unsupportedMediaType: 415
        case .tooManyRequests: 429
        case .unavailable: 503
        }
    }
}
