import SQLiteStore

/// One table's insert, prepared for one row and for `groupSize` rows at once: one statement step per group instead of
/// per row, which is a large share of SQLite's per-row cost. Texts are bound from `arena` without copies.
final class GroupedInsert {
    let groupSize: Int
    private let columns: Int32
    private let single: Statement
    private let group: Statement
    /// Where `insert`'s items store their texts; emptied by each `insert`, once the previous rows ran.
    let arena = TextArena()

    /// `insert` is the statement's head ("INSERT INTO t", "INSERT OR REPLACE INTO t").
    init(_ database: SQLiteDatabase, _ insert: String, columns: [String], groupSize: Int) throws {
        self.groupSize = groupSize
        self.columns = Int32(columns.count)
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let head = "\(insert) (\(columns.joined(separator: ", "))) VALUES "
        single = try database.prepare(head + row)
        group = try database.prepare(head + Array(repeating: row, count: groupSize).joined(separator: ", "))
    }

    /// Both statements, for resetting after a rollback.
    var statements: [Statement] { [single, group] }

    /// Inserts `items` (at most `groupSize`): with the group statement when there are exactly that many, else row by
    /// row. `textBytes` bounds what `bind` stores in `arena` for one item; `bind` binds an item's columns to a
    /// statement from parameter `base + 1`.
    func insert<Item>(
        _ items: [Item], textBytes: (Item) -> Int, bind: (Item, Statement, _ base: Int32) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        precondition(items.count <= groupSize, "GroupedInsert: more items than a group")
        arena.reset(minimumCapacity: items.reduce(0) { $0 + textBytes($1) })
        if items.count == groupSize {
            for (row, item) in items.enumerated() { try bind(item, group, Int32(row) * columns) }
            try group.run()
        } else {
            for item in items {
                try bind(item, single, 0)
                try single.run()
            }
        }
    }
}
