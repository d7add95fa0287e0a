import Foundation
import SQLiteStore
import Testing

@testable import Ledger

/// The background checkpointer copies the write-ahead log into the database file while the writer's own automatic
/// checkpoint is off, and stops cleanly.
@Suite struct WALCheckpointerTests {
    @Test func copiesTheLogIntoTheDatabaseWithoutTheWriter() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let writer = try SQLiteDatabase.openFile(path: path)
        try writer.execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v BLOB);")
        func size(_ file: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: file)[.size]) as? Int) ?? 0 }
        let insert = try writer.prepare("INSERT INTO t (v) VALUES (?)")
        for _ in 0..<200 {
            try insert.bind(1, blob: [UInt8](repeating: 7, count: 4000))
            try insert.run()
        }
        let before = size(path)
        #expect(size(path + "-wal") > 800_000 && before < 100_000, "the rows are in the log only")

        let checkpointer = WALCheckpointer(path: path, thresholdBytes: 64 * 1024, intervalMs: 10)
        let deadline = Date().addingTimeInterval(10)
        while size(path) < 800_000 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        checkpointer.stop()
        #expect(size(path) >= 800_000, "the checkpointer copied the log's pages into the database file")

        // The writer is unaffected and the data is whole.
        try insert.bind(1, blob: [1])
        try insert.run()
        let count = try writer.prepare("SELECT COUNT(*) FROM t")
        #expect(try count.step() && count.int64(0) == 201)
    }
}
