import CoreMetrics
import FileSystem
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

#if canImport(Glibc)
import Glibc
#endif

/// A real ``ZooKeeperServer`` on 127.0.0.1 with a temporary data directory, run in-process.
final class ServerHarness: Sendable {
    let directory: TemporaryDirectory
    let config: ZooKeeperServerConfig
    /// The storage's file system (a fault-injecting one in the fault tests).
    let fileSystem: any FileSystem
    /// Where the server's metrics go (a registry in the metrics tests).
    let metrics: any MetricsFactory
    private let state = Mutex<(group: ServiceGroup?, task: Task<Void, any Error>?, port: Int, server: ZooKeeperServer?)>(
        (nil, nil, 0, nil))

    init(
        configure: (inout ZooKeeperServerConfig) -> Void = { _ in }, directory: TemporaryDirectory = TemporaryDirectory("server"),
        fileSystem: any FileSystem = PosixFileSystem(), metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.metrics = metrics
        var config = ZooKeeperServerConfig()
        config.clientPort = 0
        config.dataDir = directory.path
        config.fourLetterWordWhitelist = nil
        configure(&config)
        self.config = config
    }

    var port: Int { state.withLock { $0.port } }
    /// The running server (nil before ``start(port:)``).
    var server: ZooKeeperServer? { state.withLock { $0.server } }
    var connectString: String { "127.0.0.1:\(port)" }

    /// Starts the server (on `port`, or the configured one) and waits until it listens.
    @discardableResult
    func start(port: Int? = nil) async throws -> ServerHarness {
        var config = self.config
        if let port { config.clientPort = port }
        let ready = AsyncStream<Int>.makeStream()
        let server = try ZooKeeperServer(config: config, logger: quietLogger, fileSystem: fileSystem, metrics: metrics) { address in
            ready.continuation.yield(address.port ?? 0)
        }
        let group = ServiceGroup(configuration: .init(services: [server], logger: quietLogger))
        let task = Task { try await group.run() }
        state.withLock { $0.group = group; $0.task = task; $0.server = server }
        let racing = Task {
            try? await task.value
            ready.continuation.finish()
        }
        _ = racing
        guard let bound = await ready.stream.first(where: { _ in true }) else {
            try await task.value
            throw CancellationError()
        }
        state.withLock { $0.port = bound }
        return self
    }

    /// Graceful shutdown (as SIGTERM would do).
    func stop() async {
        let (group, task) = state.withLock { ($0.group, $0.task) }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
        state.withLock { $0.group = nil; $0.task = nil }
    }

    func restart() async throws {
        let port = self.port
        await stop()
        try await start(port: port)
    }

    func client(timeoutMs: Int32 = 10_000) async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(to: connectString, sessionTimeoutMs: timeoutMs, logger: quietLogger)
    }
}

/// A blocking TCP socket for sending malformed bytes and four-letter words.
final class RawSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything until the peer closes (or the 5 s timeout).
    func readToEnd() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }

    func readExactly(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// Whether the peer closed the connection (reads EOF within the timeout).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    static func fourLetterWord(_ word: String, port: Int) throws -> String {
        let socket = try RawSocket(port: port)
        socket.send(Array(word.utf8))
        return String(decoding: socket.readToEnd(), as: UTF8.self)
    }
}
