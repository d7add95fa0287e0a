import FileSystem
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import ZooKeeperProtocol

#if canImport(Glibc)
import Glibc
#endif

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the coordinator never acknowledges a transaction its log did not sync, stops taking writes after a failed
/// sync (as ZooKeeper does), and a restart cuts a torn last record with a log line. Method: the storage and the
/// server on a fault-injecting file system.
struct TxnLogFaultTests {
    /// Every message logged at warning or above.
    final class RecordingLogHandler: LogHandler, Sendable {
        let messages = Mutex<[String]>([])
        var logLevel: Logger.Level {
            get { .warning }
            set {}
        }
        var metadata: Logger.Metadata {
            get { [:] }
            set {}
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { nil }
            set {}
        }

        func log(event: LogEvent) {
            let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            messages.withLock { $0.append("\(event.message) \(metadata)") }
        }
    }

    private func scratch() -> TemporaryDirectory {
        let directory = TemporaryDirectory("txnlog-faults")
        return directory
    }

    @Test func aWriteTornAtEveryByteOfTheLastRecordIsCutOnRestartWithALogLine() throws {
        var record = ByteBuffer()
        TxnRecord(header: TxnHeader(sessionID: .none, cxid: 0, zxid: .zero, time: 0),
                  txn: .setData(path: "/one", data: Array(repeating: 0xAB, count: 40), version: 1)).write(to: &record)
        let recordBytes = TxnLogFormat.recordHeaderBytes + record.readableBytes
        for cut in 0..<recordBytes {
            let directory = scratch()
            defer { directory.remove() }
            let disk = try FaultInjectingFileSystem(root: directory.path, seed: UInt64(cut))
            let rig = try StorageTests.Rig(directory: directory, fileSystem: disk)
            let id = rig.session()
            rig.create(id, "/one")
            try rig.flush()
            let before = rig.core.state
            rig.send(id, .setData(path: "/one", data: Array(repeating: 0xAB, count: 40), version: -1))
            disk.inject(FaultRule([.write], pathContains: "/log.", trigger: .nth(1), errno: EIO, tear: .prefix(cut)))
            #expect(throws: CoordinatorStorageError.self) { try rig.flush() }
            disk.removeAllFaults()
            // The failure is final: nothing more is written by this process.
            rig.create(id, "/two")
            #expect(throws: CoordinatorStorageError.self) { try rig.flush() }
            disk.crash()
            let handler = RecordingLogHandler()
            let recovery = try rig.reopen(logger: Logger(label: "test", factory: { _ in handler }))
            StorageTests.assertSameState(recovery.state, before)
            #expect(recovery.truncatedBytes == cut, "cut at \(cut)")
            let logged = handler.messages.withLock { $0 }
            #expect(logged.contains { $0.hasPrefix("truncating the torn tail of the transaction log") && $0.contains("bytes=\(cut)") } == (cut > 0),
                    "cut at \(cut): \(logged)")
        }
    }

    @Test func aFailedSyncIsNeverAcknowledgedAndTheRefusalIsFinal() throws {
        let directory = scratch()
        defer { directory.remove() }
        let disk = try FaultInjectingFileSystem(root: directory.path)
        let rig = try StorageTests.Rig(directory: directory, fileSystem: disk)
        let id = rig.session()
        rig.create(id, "/synced")
        try rig.flush()
        rig.create(id, "/unsynced")
        disk.inject(FaultRule([.sync], pathContains: "/log.", trigger: .nth(1), errno: EIO))
        do {
            try rig.flush()
            Issue.record("a write whose sync failed was reported durable")
        } catch {
            #expect("\(error)".contains("fdatasync failed"))
        }
        disk.removeAllFaults()
        rig.create(id, "/later")
        #expect(throws: CoordinatorStorageError.self) { try rig.flush() }
        // The power goes: what was synced is there, what was not is not.
        try disk.powerCut()
        let recovery = try rig.reopen()
        #expect(recovery.state.tree.node(at: "/synced") != nil)
        #expect(recovery.state.tree.node(at: "/unsynced") == nil && recovery.state.tree.node(at: "/later") == nil)
    }

    @Test func acknowledgedTransactionsSurviveAPowerCut() throws {
        let directory = scratch()
        defer { directory.remove() }
        let disk = try FaultInjectingFileSystem(root: directory.path, seed: 4)
        let rig = try StorageTests.Rig(directory: directory, fileSystem: disk)
        rig.workload()
        try rig.flush()
        try rig.storage.snapshot(rig.core.state)
        let id = rig.session()
        rig.create(id, "/after-snapshot")
        try rig.flush()
        let acknowledged = rig.core.state
        rig.create(id, "/never-synced")
        try disk.powerCut(keepingUnsyncedPrefixes: true)
        StorageTests.assertSameState(try rig.reopen().state, acknowledged)
    }

    /// The server: a sync failure during a create is not answered as success, the server stops taking writes
    /// (it stops, as ZooKeeper does), and a restart on a working disk serves what was acknowledged.
    @Test func theServerNeverAcknowledgesAWriteWhoseSyncFailedAndStops() async throws {
        let directory = TemporaryDirectory("txnlog-server")
        defer { directory.remove() }
        let disk = try FaultInjectingFileSystem(root: directory.path)
        let harness = ServerHarness(directory: directory, fileSystem: disk)
        try await harness.start()
        let client = try await harness.client()
        _ = try await client.create("/acknowledged", data: [1])
        disk.inject(FaultRule([.sync], pathContains: "/log.", trigger: .nth(1), errno: EIO))
        do {
            _ = try await client.create("/lost", data: [2])
            Issue.record("a create whose log sync failed was acknowledged")
        } catch {
            #expect(error != .keeper(.nodeExists, path: "/lost"))
        }
        await harness.stop()
        await client.close()
        try disk.powerCut()
        disk.removeAllFaults()
        try await harness.start()
        let reader = try await harness.client()
        #expect(try await reader.exists("/acknowledged") != nil)
        #expect(try await reader.exists("/lost") == nil)
        await reader.close()
        await harness.stop()
    }

    /// The log keeps room reserved ahead of its end; when the reserve cannot be renewed the storage says so (and the
    /// writes already prepared still land in the reserve), and a renewal after space returns clears it.
    @Test func aFullDiskIsReportedBeforeTheLogRunsOutOfRoom() throws {
        let directory = scratch()
        defer { directory.remove() }
        let disk = try FaultInjectingFileSystem(root: directory.path)
        let rig = try StorageTests.Rig(directory: directory, fileSystem: disk)
        let id = rig.session()
        rig.create(id, "/first")
        try rig.flush()
        #expect(rig.storage.lowOnSpace == nil)
        disk.inject(FaultRule([.reserve], errno: ENOSPC))
        // Fill the reserve past its low-water mark: the renewal fails, the writes do not.
        for i in 0..<40 { rig.create(id, "/big-\(i)", data: [UInt8](repeating: 7, count: 80_000)) }
        try rig.flush()
        #expect(rig.storage.lowOnSpace?.contains("No space left on device") == true)
        rig.create(id, "/still-fits")
        try rig.flush()
        try rig.storage.renewReserve()
        #expect(rig.storage.lowOnSpace != nil)
        disk.removeAllFaults()
        try rig.storage.renewReserve()
        #expect(rig.storage.lowOnSpace == nil)
        #expect(try rig.reopen().state.tree.node(at: "/still-fits") != nil)
    }

    /// The server on a nearly full disk: write requests get NotReadOnly (as from a read-only ZooKeeper), reads and
    /// new sessions go on, and writes are accepted again, without a restart, once the reserve can be renewed.
    @Test func theServerRefusesWritesWhileTheDiskIsFullAndResumes() async throws {
        let directory = TemporaryDirectory("txnlog-full")
        defer { directory.remove() }
        let disk = try FaultInjectingFileSystem(root: directory.path)
        let harness = ServerHarness(directory: directory, fileSystem: disk)
        try await harness.start()
        let client = try await harness.client()
        _ = try await client.create("/before", data: [1])
        disk.inject(FaultRule([.reserve], errno: ENOSPC))
        // Writes that run the reserve below its low-water mark; the last ones may already be refused.
        for i in 0..<40 { _ = try? await client.create("/fill-\(i)", data: [UInt8](repeating: 1, count: 80_000)) }
        await #expect(throws: ZooKeeperClientError.keeper(.notReadOnly, path: "/refused")) {
            _ = try await client.create("/refused", data: [2])
        }
        #expect(try await client.getData("/before").data == [1])
        let second = try await harness.client()
        #expect(try await second.exists("/before") != nil)
        disk.removeAllFaults()
        var accepted = false
        for _ in 0..<50 where !accepted {
            try await Task.sleep(nanoseconds: 100_000_000)
            accepted = (try? await client.create("/after", data: [3])) != nil
        }
        #expect(accepted)
        await second.close()
        await client.close()
        await harness.stop()
    }
}
