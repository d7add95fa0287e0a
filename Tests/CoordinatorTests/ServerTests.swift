import Foundation
import NIOCore
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the real server on a socket: our client's operations, watches, ephemeral cleanup on close and on expiry,
/// four-letter words, bad input closing one connection only, restarts keeping data and sessions, a port in use.
/// Method: an in-process server on an ephemeral port with a temporary data directory.
@Suite(.serialized)
struct ServerTests {
    @Test func clientOperations() async throws {
        let server = try await ServerHarness().start()
        defer { server.directory.remove() }
        let zk = try await server.client()
        #expect(try await zk.create("/app", data: Array("v1".utf8)) == "/app")
        #expect(try await zk.create("/app/job-", mode: .persistentSequential) == "/app/job-0000000000")
        #expect(try await zk.create("/app/job-", mode: .ephemeralSequential) == "/app/job-0000000001")
        let (data, stat) = try await zk.getData("/app")
        #expect(data == Array("v1".utf8))
        #expect(try await zk.setData("/app", data: [1], version: stat.version).version == 1)
        await #expect(throws: ZooKeeperClientError.keeper(.badVersion, path: "/app")) { try await zk.setData("/app", data: [2], version: 0) }
        await #expect(throws: ZooKeeperClientError.keeper(.nodeExists, path: "/app")) { try await zk.create("/app") }
        await #expect(throws: ZooKeeperClientError.keeper(.notEmpty, path: "/app")) { try await zk.delete("/app") }
        #expect(try await zk.getChildren("/app") == ["job-0000000000", "job-0000000001"])
        #expect(try await zk.exists("/nope") == nil)
        try await zk.multi([.create(path: "/app/a", data: [], mode: .persistent), .check(path: "/app", version: 1)])
        await #expect(throws: ZooKeeperClientError.keeper(.badVersion, path: "/app")) {
            try await zk.multi([.create(path: "/app/b", data: [], mode: .persistent), .check(path: "/app", version: 7)])
        }
        #expect(try await zk.exists("/app/b") == nil)
        try await zk.deleteRecursively("/app")
        #expect(try await zk.exists("/app") == nil)
        await zk.close()
        await server.stop()
    }

    @Test func watchesArriveAsEvents() async throws {
        let server = try await ServerHarness().start()
        defer { server.directory.remove() }
        let watcher = try await server.client()
        let writer = try await server.client()
        #expect(try await watcher.exists("/w", watch: true) == nil)
        var events = watcher.events.makeAsyncIterator()
        #expect(await events.next() == .connected)
        try await writer.create("/w")
        #expect(await events.next() == .watch(type: .nodeCreated, path: "/w"))
        _ = try await watcher.getChildren("/w", watch: true)
        try await writer.create("/w/c")
        #expect(await events.next() == .watch(type: .nodeChildrenChanged, path: "/w"))
        await watcher.close()
        await writer.close()
        await server.stop()
    }

    @Test func ephemeralNodesGoWithTheirSession() async throws {
        let server = try await ServerHarness(configure: { $0.tickTimeMs = 100 }).start()
        defer { server.directory.remove() }
        let observer = try await server.client()
        // Closed: gone at once.
        let closing = try await server.client()
        try await closing.create("/closed", mode: .ephemeral)
        await closing.close()
        #expect(try await observer.exists("/closed") == nil)
        // Crashed: gone once the session (400 ms, the minimum with tickTime 100) expires.
        let crashing = try await server.client(timeoutMs: 400)
        try await crashing.create("/crashed", mode: .ephemeral)
        #expect(try await observer.exists("/crashed", watch: true) != nil)
        await crashing.abandon()
        let started = ContinuousClock.now
        var events = observer.events.makeAsyncIterator()
        #expect(await events.next() == .connected)
        #expect(await events.next() == .watch(type: .nodeDeleted, path: "/crashed"))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(3000), "expired after \(elapsed)")
        await observer.close()
        await server.stop()
    }

    @Test func fourLetterWords() async throws {
        let server = try await ServerHarness().start()
        defer { server.directory.remove() }
        #expect(try RawSocket.fourLetterWord("ruok", port: server.port) == "imok")
        let srvr = try RawSocket.fourLetterWord("srvr", port: server.port)
        #expect(srvr.contains("Mode: standalone\n"))
        #expect(try RawSocket.fourLetterWord("mntr", port: server.port).contains("zk_server_state\tstandalone\n"))
        #expect(try RawSocket.fourLetterWord("conf", port: server.port).contains("clientPort=\(server.port)\n"))
        await server.stop()

        let limited = try await ServerHarness(configure: { $0.fourLetterWordWhitelist = ["srvr"] }).start()
        defer { limited.directory.remove() }
        #expect(try RawSocket.fourLetterWord("ruok", port: limited.port) == "ruok is not executed because it is not in the whitelist.\n")
        await limited.stop()
    }

    @Test func badInputClosesOnlyThatConnection() async throws {
        let server = try await ServerHarness(configure: { $0.juteMaxBuffer = 4096 }).start()
        defer { server.directory.remove() }
        let good = try await server.client()
        try await good.create("/alive")
        let cases: [[UInt8]] = [
            [0x00, 0x10, 0x00, 0x00] + [UInt8](repeating: 0, count: 8),  // a 1 MiB frame: over jute.maxbuffer
            [0xFF, 0xFF, 0xFF, 0xF0],  // negative length
            [0x00, 0x00, 0x00, 0x03, 1, 2, 3],  // a ConnectRequest far too short
            Array("GET / HTTP/1.1\r\n\r\n".utf8),  // not ZooKeeper at all
        ]
        for bytes in cases {
            let socket = try RawSocket(port: server.port)
            socket.send(bytes)
            #expect(socket.isClosedByPeer(), "\(bytes.prefix(8))")
        }
        // A handshake, then a request whose header is cut short.
        let socket = try RawSocket(port: server.port)
        var connect = ByteBuffer()
        connect.writeInteger(Int32(45))
        ConnectRequest(timeOut: 10_000).write(to: &connect)
        socket.send(Array(connect.readableBytesView) + [0, 0, 0, 2, 0, 1])
        let handshake = socket.readExactly(4 + 37)
        #expect(handshake.count == 41)
        #expect(socket.isClosedByPeer())
        #expect(try await good.exists("/alive") != nil)
        try await good.create("/still-serving")
        await good.close()
        await server.stop()
    }

    @Test func restartKeepsDataZxidsAndSessions() async throws {
        let server = try await ServerHarness().start()
        defer { server.directory.remove() }
        let zk = try await server.client(timeoutMs: 10_000)
        try await zk.create("/persist", data: [1])
        try await zk.create("/persist/s-", mode: .persistentSequential)
        try await zk.create("/eph", mode: .ephemeral)
        let session = await zk.sessionID
        let before = try await zk.exists("/persist")!
        try await server.restart()
        // The client reconnects with its session: its ephemeral node is still there.
        #expect(try await zk.exists("/eph") != nil)
        #expect(await zk.sessionID == session)
        #expect(try await zk.exists("/persist") == before)
        #expect(try await zk.create("/persist/s-", mode: .persistentSequential) == "/persist/s-0000000001")
        let after = try await zk.exists("/persist/s-0000000001")!
        #expect(after.czxid > before.pzxid)
        await zk.close()
        await server.stop()
    }

    @Test func portInUseIsReported() async throws {
        let first = try await ServerHarness().start()
        defer { first.directory.remove() }
        let second = ServerHarness()
        defer { second.directory.remove() }
        await #expect {
            try await second.start(port: first.port)
        } throws: { error in
            guard case .portInUse(_, let port) = error as? ZooKeeperStartError else { return false }
            return port == first.port
        }
        await first.stop()
    }
}
