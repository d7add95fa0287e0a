import Operations
import Testing

@Suite struct OperationsListenerTests {
    @Test func acceptsTheUsualSpellings() throws {
        #expect(try OperationsListener(parsing: "http://0.0.0.0:9404") == OperationsListener(host: "0.0.0.0", port: 9404))
        #expect(try OperationsListener(parsing: "http://127.0.0.1:9404/") == OperationsListener(host: "127.0.0.1", port: 9404))
        #expect(try OperationsListener(parsing: "localhost:0") == OperationsListener(host: "localhost", port: 0))
        #expect(try OperationsListener(parsing: ":9404") == OperationsListener(host: "127.0.0.1", port: 9404))
        #expect(try OperationsListener(parsing: "9404") == OperationsListener(host: "127.0.0.1", port: 9404))
        #expect(try OperationsListener(parsing: "HTTP://[::1]:9404") == OperationsListener(host: "::1", port: 9404))
        #expect(OperationsListener(host: "::1", port: 1).description == "http://[::1]:1")
    }

    @Test func refusesWhatItCannotServe() {
        for spec in ["https://127.0.0.1:9404", "127.0.0.1:99999", "127.0.0.1:port", "http://127.0.0.1:9404/metrics", "[::1]9404", ""] {
            #expect(throws: OperationsListenerError.self, "\(spec)") { try OperationsListener(parsing: spec) }
        }
    }

    @Test func errorsSayWhatToWrite() {
        let error = OperationsListenerError.invalid("x", "reason")
        #expect(error.description.contains("http://127.0.0.1:9404"))
    }
}
