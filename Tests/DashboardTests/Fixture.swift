import Foundation
import KafkaClient
import Ledger
import Logging
import Shell
import Synchronization
import Testing
import Timekeeping

@testable import Dashboard

/// A SQLite ledger the real sink filled, read by a dashboard; with the desk on, its backend applies what it publishes
/// through the same sink at once (as a running `consume --sink sqlite` would).
final class Fixture: Sendable {
    let path: String
    let dashboard: Dashboard
    let desk: DeskTestBackend?
    let time = ManualTimeSource()
    static let token = "a-desk-token-of-32-characters-ok"

    init(_ events: [TransactionEvent] = Fixture.sample, desk: Bool = false, allowedHosts: Set<String>? = nil) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString).db").path
        let sink = try LedgerSink(database: LedgerDatabase.open(path: path))
        _ = try sink.apply(events.enumerated().map { index, event in
            SinkRecord(topic: "transactions", partition: 0, offset: Int64(index), bytes: Array(event.jsonText.utf8))
        })
        let reader = SerialReader(LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true)))
        let backend = desk ? DeskTestBackend(sink: sink, reader: reader, nextOffset: Int64(events.count)) : nil
        dashboard = Dashboard(configuration: .init(location: "test.db", sink: "sqlite", applyTimeoutMs: 100, allowedHosts: allowedHosts), reader: reader,
                              desk: backend, sessions: desk ? DeskSessions(token: Fixture.token) : nil,
                              time: time, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        self.desk = backend
    }

    deinit {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    static func event(_ day: String, _ account: String, _ cents: Int64, stated: Int64? = nil) -> TransactionEvent {
        TransactionEvent(date: TransactionDate(parsing: day)!, account: account, amount: Money(cents: abs(cents)),
                         type: cents > 0 ? .deposit : .withdrawal, statedBalance: stated.map { Money(cents: $0) })
    }

    /// The original sample: C100 ends at 830.00, C200 at 2,300.00.
    static let sample = [
        event("2024-01-01 00:00:00", "C100", 100_000, stated: 100_000), event("2024-01-02 00:00:00", "C200", 250_000, stated: 250_000),
        event("2024-01-03 00:00:00", "C200", -20_000, stated: 230_000), event("2024-01-04 00:00:00", "C100", -2_500, stated: 97_500),
        event("2024-01-05 00:00:00", "C100", -14_500, stated: 83_000),
    ]

    func get(_ uri: String, headers: [(name: String, value: String)] = []) async -> DashboardResponse {
        guard case .response(let response) = await dashboard.handle(DashboardRequest(method: "GET", uri: uri, headers: headers)) else {
            Issue.record("\(uri) answered with an event stream")
            return DashboardResponse(status: 0, contentType: "", body: [])
        }
        return response
    }

    func post(_ uri: String, form: String, headers: [(name: String, value: String)] = []) async -> DashboardResponse {
        let request = DashboardRequest(method: "POST", uri: uri, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                                       body: Array(form.utf8))
        guard case .response(let response) = await dashboard.handle(request) else { return DashboardResponse(status: 0, contentType: "", body: []) }
        return response
    }

    /// Logs in through the form; the cookie header and the anti-forgery token.
    func login() async throws -> (cookie: (name: String, value: String), csrf: String) {
        let response = await post("/desk/login", form: "token=\(Fixture.token)", headers: [("Accept", "application/json")])
        #expect(response.status == 200)
        let setCookie = try #require(response.headers.first { $0.name == "Set-Cookie" }?.value)
        let id = try #require(setCookie.split(separator: ";").first)
        let csrf = try #require(response.text.split(separator: "\"").dropFirst(3).first)
        return (("Cookie", String(id)), String(csrf))
    }
}

extension DashboardResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Publishes by applying the event through the sink straight away.
final class DeskTestBackend: ShellBackend, Sendable {
    private let state: Mutex<(sink: LedgerSink, nextOffset: Int64, published: [TransactionEvent])>
    let reader: SerialReader

    init(sink: sending LedgerSink, reader: SerialReader, nextOffset: Int64) {
        state = Mutex((sink, nextOffset, []))
        self.reader = reader
    }

    var published: [TransactionEvent] { state.withLock { $0.published } }

    func accounts() async throws -> [AccountSummary] { try await reader.accounts() }
    func history(account: String, count: Int) async throws -> [LedgerEntry] { try await reader.history(account: account, count: count) }

    func publish(_ event: TransactionEvent) async throws -> RecordMetadata {
        try state.withLock { state in
            let offset = state.nextOffset
            _ = try state.sink.apply([SinkRecord(topic: "transactions", partition: 0, offset: offset, bytes: Array(event.jsonText.utf8))])
            state.nextOffset += 1
            state.published.append(event)
            return RecordMetadata(topic: "transactions", partition: 0, offset: offset)
        }
    }

    func waitUntilApplied(_ position: RecordMetadata, timeoutMs: Int) async throws -> Bool { true }
    func sinkLag() async -> SinkLag { .caughtUp }
    func now() -> TransactionDate { TransactionDate(year: 2024, month: 6, day: 1, hour: 12, minute: 30, second: 0) }
}
