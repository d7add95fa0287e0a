import SQLiteStore

/// One table's insert, prepared for one row and for `groupSize` rows at once: one statement step per group instead of
/// per row, which is a large share of SQLite's per-row cost. Texts are bound from `arena` without copies.
///
/// The `shared` columns usually hold one value for a whole group (a partition's topic and number: records come in runs
/// per partition). A group whose rows all agree on them is inserted with a third statement that names their
/// parameters in every row and binds them once (measured: a bound value costs SQLite and the caller 100 to 250
/// instructions, naming a parameter again almost nothing).
final class GroupedInsert {
    let groupSize: Int
    private let sharedCount: Int32
    private let columns: Int32
    private let single: Statement
    private let group: Statement
    /// The group statement with the shared columns bound once (nil without shared columns).
    private let sharedGroup: Statement?
    /// Where `insert`'s items store their texts; emptied by each `insert`, once the previous rows ran.
    let arena = TextArena()

    /// `insert` is the statement's head ("INSERT INTO t", "INSERT OR REPLACE INTO t").
    init(_ database: SQLiteDatabase, _ insert: String, shared: [String] = [], columns: [String], groupSize: Int) throws {
        self.groupSize = groupSize
        sharedCount = Int32(shared.count)
        self.columns = Int32(columns.count)
        let everyColumn = shared + columns
        let head = "\(insert) (\(everyColumn.joined(separator: ", "))) VALUES "
        func row(_ parameters: [Int]) -> String { "(" + parameters.map { "?\($0)" }.joined(separator: ", ") + ")" }
        let width = everyColumn.count
        single = try database.prepare(head + row(Array(1...width)))
        group = try database.prepare(head + (0..<groupSize).map { row(Array($0 * width + 1...$0 * width + width)) }.joined(separator: ", "))
        if shared.isEmpty {
            sharedGroup = nil
        } else {
            let rows = (0..<groupSize).map { index in
                row(Array(1...shared.count) + Array(shared.count + index * columns.count + 1...shared.count + (index + 1) * columns.count))
            }
            sharedGroup = try database.prepare(head + rows.joined(separator: ", "))
        }
    }

    /// Every statement, for resetting after a rollback.
    var statements: [Statement] { [single, group] + (sharedGroup.map { [$0] } ?? []) }

    /// Inserts `items` (at most `groupSize`): with a group statement when there are exactly that many, else row by
    /// row. `sharedAgree` tells that every item has the same shared columns' values (the caller knows it cheaply; the
    /// items are not compared here, which would copy them). `textBytes` bounds what the binders store in `arena` for
    /// one item. `bindShared` binds an item's shared columns and `bind` its others, each to a statement from parameter
    /// `base + 1`.
    @inline(__always)
    func insert<Item>(
        _ items: [Item], sharedAgree: Bool = true, textBytes: (Item) -> Int,
        bindShared: (Item, Statement, _ base: Int32) throws(SQLiteError) -> Void = { _, _, _ in },
        bind: (Item, Statement, _ base: Int32) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        precondition(items.count <= groupSize, "GroupedInsert: more items than a group")
        arena.reset(minimumCapacity: items.reduce(0) { $0 + textBytes($1) })
        let width = sharedCount + columns
        if items.count == groupSize, sharedAgree, let sharedGroup {
            try bindShared(items[0], sharedGroup, 0)
            for row in items.indices { try bind(items[row], sharedGroup, sharedCount + Int32(row) * columns) }
            try sharedGroup.run()
        } else if items.count == groupSize {
            for row in items.indices {
                try bindShared(items[row], group, Int32(row) * width)
                try bind(items[row], group, Int32(row) * width + sharedCount)
            }
            try group.run()
        } else {
            for row in items.indices {
                try bindShared(items[row], single, 0)
                try bind(items[row], single, sharedCount)
                try single.run()
            }
        }
    }
}
