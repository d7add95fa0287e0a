import Foundation
import KafkaProtocol
import SQLiteStore
import Testing

@testable import Ledger

/// Several sinks on one SQLite ledger: each claim bumps the partitions' owner generation, and a sink whose
/// generation is stale commits nothing (the fence), while the claimer resumes from what was committed.
@Suite struct PartitionOwnershipTests {
    func withDatabase(_ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("owners-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try body(path)
    }

    func records(_ rows: [(account: String, cents: Int)], partition: Int32, from offset: Int64) -> [SinkRecord] {
        rows.enumerated().map { index, row in
            let json = #"{"transaction_date":"2024-01-0\#(1 + index % 9) 10:00:00","account":"\#(row.account)","transaction_value":\#(Double(row.cents) / 100),"balance":null}"#
            return SinkRecord(topic: "t", partition: partition, offset: offset + Int64(index), bytes: Array(json.utf8))
        }
    }

    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    @Test func aSinkThatLostItsPartitionCommitsNothing() throws {
        try withDatabase { path in
            let first = try LedgerSink(database: LedgerDatabase.open(path: path))
            #expect(try first.claim([p0, p1], owner: "first").isEmpty)
            _ = try first.apply(records([("A", 1000), ("B", 500)], partition: 0, from: 0))
            // A second sink takes partition 0 over: it resumes after what the first committed.
            let second = try LedgerSink(database: LedgerDatabase.open(path: path))
            #expect(try second.claim([p0], owner: "second") == [p0: 2])
            #expect(second.claimed[.init(topic: "t", partition: 0)] == 2)
            // The first, unaware, tries to go on with partition 0: refused, nothing written, its state unchanged.
            #expect(throws: LedgerStoreError.fenced([p0], owners: ["second"])) {
                try first.apply(records([("A", 700)], partition: 0, from: 2))
            }
            #expect(first.resumeOffset(topic: "t", partition: 0) == 2)
            #expect(first.balance(of: "A") == Money(cents: 1000))
            // A batch touching a partition it still holds plus one it lost is refused whole.
            #expect(throws: LedgerStoreError.self) {
                try first.apply(records([("C", 100)], partition: 1, from: 0) + records([("A", 1)], partition: 0, from: 2))
            }
            // Partition 1 alone is still the first sink's.
            #expect(try first.apply(records([("C", 100)], partition: 1, from: 0)).applied == 1)
            // The second sink applies partition 0 from offset 2, with A's balance carried over.
            let report = try second.apply(records([("A", 700)], partition: 0, from: 2))
            #expect(report.applied == 1)
            #expect(second.balance(of: "A") == Money(cents: 1700))
            let queries = LedgerQueries(database: try LedgerDatabase.open(path: path, readOnly: true))
            #expect(try queries.entryCount() == 4)
            #expect(try queries.accounts().map { "\($0.account)=\($0.balance)" } == ["A=17.00", "B=5.00", "C=1.00"])
        }
    }

    @Test func claimingAgainReadsWhatOthersWrote() throws {
        try withDatabase { path in
            let first = try LedgerSink(database: LedgerDatabase.open(path: path))
            let second = try LedgerSink(database: LedgerDatabase.open(path: path))
            _ = try first.claim([p0], owner: "first")
            _ = try second.claim([p1], owner: "second")
            _ = try first.apply(records([("A", 1000)], partition: 0, from: 0))
            _ = try second.apply(records([("B", 200), ("B", 300)], partition: 1, from: 0))
            // Entry ids come from the database in each transaction: interleaved writers never collide.
            _ = try first.apply(records([("A", 1)], partition: 0, from: 1))
            // A rebalance gives everything to the first sink: it resumes partition 1 where the second left it.
            #expect(try first.claim([p0, p1], owner: "first") == [p0: 2, p1: 2])
            #expect(first.balance(of: "B") == Money(cents: 500))
            #expect(try first.apply(records([("B", 1)], partition: 1, from: 2)).applied == 1)
            #expect(throws: LedgerStoreError.self) { try second.apply(records([("B", 9)], partition: 1, from: 2)) }
            let database = try SQLiteDatabase(path: path)
            let ids = try database.prepare("SELECT COUNT(DISTINCT entry_id), COUNT(*) FROM ledger_postings")
            _ = try ids.step()
            #expect(ids.int64(0) == 5 && ids.int64(1) == 5)
            let owners = try database.prepare("SELECT partition, owner_generation, owner FROM sink_partition_owners ORDER BY partition")
            var rows: [String] = []
            while try owners.step() { rows.append("\(owners.int64(0)):\(owners.int64(1)):\(owners.string(2) ?? "")") }
            #expect(rows == ["0:2:first", "1:2:first"])
        }
    }

    @Test func importedFilesGetOneSourceIdAcrossSinks() throws {
        try withDatabase { path in
            let first = try LedgerSink(database: LedgerDatabase.open(path: path))
            let second = try LedgerSink(database: LedgerDatabase.open(path: path))
            let source = EventSource(fileDigest: String(repeating: "ab", count: 32), line: 2)
            var fromFile = records([("A", 100)], partition: 0, from: 0)
            fromFile[0].source = source
            _ = try first.apply(fromFile)
            var again = records([("A", 100)], partition: 1, from: 0)
            again[0].source = source
            // The same file row through another partition and sink: applied once.
            #expect(try second.apply(again).alreadyImported == 1)
        }
    }

    @Test func aLocalFileSystemIsSafeForSeveralSinks() {
        #expect(SharedFileCheck.unsafeForSeveralWriters(path: NSTemporaryDirectory() + "x.db") == nil)
        #expect(SharedFileCheck.unsafeForSeveralWriters(path: ":memory:") != nil)
        #expect(SharedFileCheck.unsafeForSeveralWriters(path: "/no/such/dir/x.db")?.contains("cannot be examined") == true)
        #expect(SharedFileCheck.reason(forFileSystemType: 0x6969) == "it is on a NFS file system, where SQLite's WAL shared memory and locks do not hold across processes")
        #expect(SharedFileCheck.reason(forFileSystemType: 0xFF53_4D42)?.contains("CIFS") == true)
        #expect(SharedFileCheck.reason(forFileSystemType: 0xEF53) == nil)  // ext4
        #expect(SharedFileCheck.reason(forFileSystemType: 0x0102_1994) == nil)  // tmpfs
    }
}
