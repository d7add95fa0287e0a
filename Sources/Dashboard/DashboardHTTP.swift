/// A request as the dashboard sees it, without sockets: the server's HTTP layer builds it once the whole request has
/// arrived (the body is bounded there).
public struct DashboardRequest: Sendable {
    public var method: String
    /// The path, without the query.
    public var path: String
    /// The query, without the `?`.
    public var query: Substring
    /// Header names lower-cased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, uri: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "")
        query = parts.count > 1 ? parts[1] : ""
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// Whether the client wants JSON back (the page's script and API clients ask for it).
    var wantsJSON: Bool {
        header("accept")?.contains("application/json") == true || header("content-type")?.hasPrefix("application/json") == true
    }

    /// Whether errors go back as JSON: to the JSON endpoints, to clients that ask for it, and to scripts (which send
    /// the desk token as a bearer).
    var answersInJSON: Bool {
        wantsJSON || path.hasPrefix("/api/") || header("authorization")?.hasPrefix("Bearer ") == true
    }
}

/// A whole response; the server adds the length, `Cache-Control: no-store` and the security headers.
public struct DashboardResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    public init(status: Int = 200, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    static let html = "text/html; charset=utf-8"
    static let json = "application/json"
    static let text = "text/plain; charset=utf-8"

    static func html(_ text: String, status: Int = 200, headers: [(name: String, value: String)] = []) -> DashboardResponse {
        DashboardResponse(status: status, contentType: html, body: Array(text.utf8), headers: headers)
    }

    static func json(_ text: String, status: Int = 200, headers: [(name: String, value: String)] = []) -> DashboardResponse {
        DashboardResponse(status: status, contentType: json, body: Array(text.utf8), headers: headers)
    }

    static func redirect(_ location: String, headers: [(name: String, value: String)] = []) -> DashboardResponse {
        DashboardResponse(status: 303, contentType: text, body: Array("see \(location)\n".utf8), headers: [("Location", location)] + headers)
    }
}

/// What the dashboard answers: a whole response, or the start of an event stream the server keeps open.
public enum DashboardReply: Sendable {
    case response(DashboardResponse)
    case eventStream
}
