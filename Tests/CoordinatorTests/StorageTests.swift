import FileSystem
import Foundation
import Logging
import NIOCore
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: what the log and snapshots hold comes back exactly after a restart, a torn tail of the newest log is cut
/// off, and damaged or foreign files produce errors or fallbacks but never a crash. Method: drive a core into a real
/// data directory, then reopen it; damage files byte by byte.
struct StorageTests {
    /// A core whose transactions go to a real ``CoordinatorStorage``.
    final class Rig {
        let directory: TemporaryDirectory
        let fileSystem: any FileSystem
        var storage: CoordinatorStorage
        let log = BufferedTxnLog()
        let core: CoordinatorCore
        var nowMs: Int64 = 1_700_000_000_000

        init(directory: TemporaryDirectory = TemporaryDirectory("storage"), fileSystem: any FileSystem = PosixFileSystem()) throws {
            self.directory = directory
            self.fileSystem = fileSystem
            let (storage, recovery) = try CoordinatorStorage.open(dataDir: directory.path, logger: quietLogger, fileSystem: fileSystem)
            self.storage = storage
            core = CoordinatorCore(state: recovery.state, limits: SessionLimits(), secret: recovery.secret, log: log, now: CoreTime(ms: nowMs))
        }

        var time: CoreTime { CoreTime(ms: nowMs) }

        func session(timeoutMs: Int32 = 10_000) -> ConnectionID {
            let id = ConnectionID(UInt64(core.connections.count + 100))
            core.connectionOpened(id, remoteAddress: "127.0.0.1:1", remoteIP: "127.0.0.1")
            _ = core.receive(ConnectRequest(timeOut: timeoutMs).serialized, from: id, at: time)
            return id
        }

        private var xid: Int32 = 0

        func send(_ id: ConnectionID, _ request: ZooKeeperRequest) {
            xid += 1
            nowMs += 1
            _ = core.receive(request.frame(xid: xid), from: id, at: time)
        }

        func create(_ id: ConnectionID, _ path: String, data: [UInt8]? = nil, mode: CreateMode = .persistent) {
            send(id, .create(CreateRequest(path: path, data: data ?? Array(path.utf8), mode: mode)))
        }

        func flush() throws {
            try storage.writeAndSync(log.takePending())
        }

        func reopen(logger: Logger = quietLogger) throws -> CoordinatorStorage.Recovery {
            storage.close()
            let (storage, recovery) = try CoordinatorStorage.open(dataDir: directory.path, logger: logger, fileSystem: fileSystem)
            self.storage = storage
            return recovery
        }

        var logFiles: [String] {
            (try? FileManager.default.contentsOfDirectory(atPath: directory.path + "/coordinator"))?.filter { $0.hasPrefix("log.") }.sorted() ?? []
        }

        func path(_ name: String) -> String { directory.path + "/coordinator/" + name }

        func workload() {
            let a = session()
            let b = session(timeoutMs: 4000)
            create(a, "/app")
            create(a, "/app/config")
            send(a, .setData(path: "/app/config", data: [1, 2, 3], version: -1))
            create(a, "/app/q-", mode: .persistentSequential)
            create(a, "/app/q-", mode: .persistentSequential)
            send(a, .delete(path: "/app/q-0000000002", version: -1))
            create(b, "/app/eph", mode: .ephemeral)
            send(a, .create(CreateRequest(path: "/app", data: [], mode: .persistent)))  // fails, still a zxid
            send(a, .multi([.create(CreateRequest(path: "/app/m", data: [], mode: .persistent)), .setData(path: "/app", data: [7], version: 0)]))
            send(a, .setACL(path: "/app/config", acl: ACL.readUnsafe, version: -1))
        }
    }

    static func assertSameState(_ a: CoordinatorState, _ b: CoordinatorState, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.lastZxid == b.lastZxid, sourceLocation: sourceLocation)
        #expect(a.sessions == b.sessions, sourceLocation: sourceLocation)
        #expect(a.tree.nodes == b.tree.nodes, sourceLocation: sourceLocation)
        #expect(a.tree.ephemerals == b.tree.ephemerals, sourceLocation: sourceLocation)
        #expect(a.tree.approximateDataSize == b.tree.approximateDataSize, sourceLocation: sourceLocation)
    }

    @Test func logReplayRestoresEverything() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        rig.workload()
        try rig.flush()
        let recovery = try rig.reopen()
        Self.assertSameState(recovery.state, rig.core.state)
        #expect(recovery.replayedTransactions == 12)
        #expect(recovery.state.tree.node(at: "/app/q-0000000001") != nil)
        #expect(recovery.state.tree.node(at: "/app")?.childCreations == 5)
        #expect(recovery.state.sessions.count == 2)
    }

    @Test func snapshotPlusTailOfTheLog() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let id = rig.session()
        rig.create(id, "/before")
        try rig.flush()
        try rig.storage.snapshot(rig.core.state)
        rig.create(id, "/after")
        rig.send(id, .setData(path: "/before", data: [9], version: -1))
        try rig.flush()
        let recovery = try rig.reopen()
        Self.assertSameState(recovery.state, rig.core.state)
        #expect(recovery.snapshotZxid == Zxid(2))
        #expect(recovery.replayedTransactions == 2)
        #expect(rig.logFiles == ["log.0000000000000001", "log.0000000000000003"])
    }

    /// Every way a crash can cut the last record: the recovered state is the one before it, and the log is usable.
    @Test func tornTailIsTruncatedAtEveryCut() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let id = rig.session()
        rig.create(id, "/one")
        try rig.flush()
        let before = rig.core.state
        rig.send(id, .setData(path: "/one", data: Array(repeating: 0xAB, count: 40), version: -1))
        try rig.flush()
        let file = rig.path(rig.logFiles.last!)
        let full = try Data(contentsOf: URL(fileURLWithPath: file))
        var record = ByteBuffer()
        TxnRecord(header: TxnHeader(sessionID: .none, cxid: 0, zxid: .zero, time: 0),
                  txn: .setData(path: "/one", data: Array(repeating: 0xAB, count: 40), version: 1)).write(to: &record)
        let lastRecordBytes = 8 + record.readableBytes
        for cut in (full.count - lastRecordBytes)..<full.count {
            try full.prefix(cut).write(to: URL(fileURLWithPath: file))
            let recovery = try rig.reopen()
            Self.assertSameState(recovery.state, before)
            #expect(recovery.truncatedBytes == cut - (full.count - lastRecordBytes), "cut at \(cut)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: file)).count == full.count - lastRecordBytes)
        }
        // Flipping a byte inside the last record's payload fails its CRC: truncated too.
        var flipped = full
        flipped[full.count - 3] ^= 0xFF
        try flipped.write(to: URL(fileURLWithPath: file))
        Self.assertSameState(try rig.reopen().state, before)
    }

    @Test func damageInAnOlderLogIsReported() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let id = rig.session()
        rig.create(id, "/a")
        rig.create(id, "/b")
        try rig.flush()
        rig.storage.writerRollForTests(nextZxid: rig.core.lastZxid.next)
        rig.create(id, "/c")
        try rig.flush()
        let older = rig.path(rig.logFiles.first!)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: older))
        bytes[bytes.count - 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: older))
        #expect {
            _ = try rig.reopen()
        } throws: { error in
            guard case .corruptLog(let path, _, _) = error as? CoordinatorStorageError else { return false }
            return path == older
        }
    }

    @Test func aDamagedSnapshotFallsBackToAnOlderOne() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let id = rig.session()
        rig.create(id, "/a")
        try rig.flush()
        try rig.storage.snapshot(rig.core.state)
        rig.create(id, "/b")
        try rig.flush()
        try rig.storage.snapshot(rig.core.state)
        rig.create(id, "/c")
        try rig.flush()
        let newest = rig.path(SnapshotFormat.fileName(lastZxid: Zxid(3)))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
        bytes[20] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: newest))
        let recovery = try rig.reopen()
        #expect(recovery.snapshotZxid == Zxid(2))
        Self.assertSameState(recovery.state, rig.core.state)
    }

    @Test func foreignAndGarbageFilesNeverCrash() throws {
        let directory = TemporaryDirectory("garbage")
        defer { directory.remove() }
        let folder = directory.path + "/coordinator"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let junk = Data((0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try junk.write(to: URL(fileURLWithPath: folder + "/snapshot.0000000000000005"))
        try Data().write(to: URL(fileURLWithPath: folder + "/log.0000000000000001"))
        // An empty newest log (torn at creation) is removed; the unreadable snapshot is skipped, then refused because
        // the logs cannot stand in for it.
        #expect(throws: CoordinatorStorageError.self) { _ = try CoordinatorStorage.open(dataDir: directory.path, logger: quietLogger) }
        try FileManager.default.removeItem(atPath: folder + "/snapshot.0000000000000005")
        try junk.write(to: URL(fileURLWithPath: folder + "/log.0000000000000001"))
        #expect(throws: CoordinatorStorageError.self) { _ = try CoordinatorStorage.open(dataDir: directory.path, logger: quietLogger) }
        try FileManager.default.removeItem(atPath: folder + "/log.0000000000000001")
        try junk.write(to: URL(fileURLWithPath: folder + "/not-ours.txt"))
        let (_, recovery) = try CoordinatorStorage.open(dataDir: directory.path, logger: quietLogger)
        #expect(recovery.state.lastZxid == .zero)
    }

    @Test func oldSnapshotsAndLogsArePurged() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let id = rig.session()
        for round in 0..<5 {
            rig.create(id, "/n\(round)")
            try rig.flush()
            try rig.storage.snapshot(rig.core.state)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: rig.directory.path + "/coordinator")
        #expect(names.filter { $0.hasPrefix("snapshot.") }.count == 3)
        #expect(rig.logFiles.count <= 3)
        Self.assertSameState(try rig.reopen().state, rig.core.state)
    }

    @Test func theSecretSurvivesAndSessionsExpireAfterARestart() throws {
        let rig = try Rig()
        defer { rig.directory.remove() }
        let owner = rig.session(timeoutMs: 4000)
        rig.create(owner, "/eph", mode: .ephemeral)
        rig.create(owner, "/keep")
        try rig.flush()
        let first = try rig.reopen()
        let second = try rig.reopen()
        #expect(first.secret == second.secret)
        #expect(first.secret.count == 16)
        // A restarted core tracks the persisted session from "now": it expires unless its client comes back.
        let log = InMemoryTxnLog()
        let restarted = CoordinatorCore(state: second.state, limits: SessionLimits(), secret: second.secret, log: log, now: CoreTime(ms: 5_000_000))
        #expect(restarted.expireSessions(at: CoreTime(ms: 5_003_000)).isEmpty)
        _ = restarted.expireSessions(at: CoreTime(ms: 5_006_000))
        #expect(restarted.tree.node(at: "/eph") == nil)
        #expect(restarted.tree.node(at: "/keep") != nil)
        #expect(restarted.lastZxid == second.state.lastZxid.next)
    }
}

extension CoordinatorStorage {
    /// Starts a new log file, as a snapshot does, without writing one.
    func writerRollForTests(nextZxid: Zxid) {
        writer.roll(nextZxid: nextZxid)
    }
}
