import Foundation
import KafkaBroker
import KafkaServer
import Logging
import Synchronization
import Testing

/// A broker server in this process on 127.0.0.1, serving `directory` until its task is cancelled (see ``stop()``).
struct TestBroker {
    let task: Task<Void, any Error>
    let port: Int

    /// Starts one on `port` (0: any free port) and waits until it listens.
    static func start(directory: String, port: Int = 0) async throws -> TestBroker {
        var config = BrokerConfig()
        config.listeners = [Listener(host: "127.0.0.1", port: port)]
        config.logDirs = [directory]
        config.groupInitialRebalanceDelayMs = 0
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_TRACE"] != nil ? .trace : .critical
        let bound = Mutex<Int?>(nil)
        let server = try BrokerServer(config: config, logger: logger) { address in bound.withLock { $0 = address.port } }
        let task = Task { try await server.run() }
        for _ in 0..<500 where bound.withLock({ $0 }) == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        return TestBroker(task: task, port: try #require(bound.withLock { $0 }))
    }

    /// Shuts it down (as SIGTERM would) and waits until it has.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// A fresh temporary directory path (not created).
    static func temporaryDirectory(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ledgerstream-\(prefix)-\(UUID().uuidString)").path
    }
}
