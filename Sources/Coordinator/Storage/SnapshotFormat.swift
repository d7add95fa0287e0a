import CCRC32C
import NIOCore
import ZooKeeperProtocol

/// The on-disk format of a snapshot, `snapshot.<last zxid, 16 hex digits>`: the whole ``CoordinatorState`` at one
/// zxid, written to a temporary file, fsynced and renamed into place, so a snapshot file is either complete or absent.
///
///     "LSZS" magic · UInt32 format version (1) · Int64 last zxid
///     Int32 session count, then per session: Int64 id · Int32 timeout ms
///     Int32 node count, then per node, parents before children:
///         ustring path · buffer data · vector<ACL> acl · Int64 czxid · Int64 mzxid · Int64 ctime · Int64 mtime ·
///         Int32 version · Int32 child creations · Int32 aversion · Int64 ephemeralOwner · Int64 pzxid
///     UInt32 CRC-32C of everything before it
///
/// Unlike ZooKeeper's fuzzy snapshots this one is exact: it is taken from a copy of the state between two
/// transactions, so recovery replays exactly the log records after `last zxid`.
package enum SnapshotFormat {
    package static let magic: UInt32 = 0x4C53_5A53  // "LSZS"
    package static let version: UInt32 = 1

    package static func fileName(lastZxid: Zxid) -> String { "snapshot." + TxnLogFormat.hex16(lastZxid.rawValue) }

    package static func encode(_ state: CoordinatorState) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + state.tree.approximateDataSize + state.tree.nodeCount * 80)
        buffer.writeInteger(magic)
        buffer.writeInteger(version)
        buffer.writeInteger(state.lastZxid.rawValue)
        buffer.writeInteger(Int32(state.sessions.count))
        for (session, timeout) in state.sessions.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(session.rawValue)
            buffer.writeInteger(timeout)
        }
        buffer.writeInteger(Int32(state.tree.nodeCount))
        // Breadth-first from the root: every parent is written before its children.
        var queue = [ZNodePath.root]
        var index = 0
        while index < queue.count {
            let path = queue[index]
            index += 1
            let node = state.tree.node(at: path)!
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(node.data)
            buffer.writeJuteACLs(node.acl)
            buffer.writeInteger(node.czxid.rawValue)
            buffer.writeInteger(node.mzxid.rawValue)
            buffer.writeInteger(node.ctime)
            buffer.writeInteger(node.mtime)
            buffer.writeInteger(node.version)
            buffer.writeInteger(node.childCreations)
            buffer.writeInteger(node.aversion)
            buffer.writeInteger(node.ephemeralOwner.rawValue)
            buffer.writeInteger(node.pzxid.rawValue)
            for child in node.children.sorted() { queue.append(ZNodePath.child(child, of: path)) }
        }
        let crc = buffer.withUnsafeReadableBytes { crc32c_update(0, $0.baseAddress, $0.count) }
        buffer.writeInteger(crc)
        return Array(buffer.readableBytesView)
    }

    /// Decodes a snapshot; nil (with the reason) if it is damaged or not ours.
    package static func decode(_ bytes: [UInt8]) -> Result<CoordinatorState, SnapshotDamage> {
        guard bytes.count >= 24 else { return .failure(SnapshotDamage("only \(bytes.count) bytes")) }
        let body = bytes[0..<(bytes.count - 4)]
        let stored = bytes[(bytes.count - 4)...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard TxnLogFormat.crc(body) == stored else { return .failure(SnapshotDamage("CRC mismatch")) }
        var reader = JuteReader(ByteBuffer(bytes: body))
        do {
            guard UInt32(bitPattern: try reader.readInt()) == magic else { return .failure(SnapshotDamage("bad magic")) }
            let version = UInt32(bitPattern: try reader.readInt())
            guard version == Self.version else { return .failure(SnapshotDamage("unknown format version \(version)")) }
            let lastZxid = Zxid(try reader.readLong())
            var sessions: [SessionID: Int32] = [:]
            for _ in 0..<max(0, try reader.readInt()) {
                sessions[SessionID(try reader.readLong())] = try reader.readInt()
            }
            var tree = DataTree(empty: ())
            for _ in 0..<max(0, try reader.readInt()) {
                let path = try reader.readNonNullString("path")
                let node = DataNode(
                    data: try reader.readBuffer(), acl: try reader.readACLs(), czxid: Zxid(try reader.readLong()),
                    mzxid: Zxid(try reader.readLong()), ctime: try reader.readLong(), mtime: try reader.readLong(),
                    version: try reader.readInt(), childCreations: try reader.readInt(), aversion: try reader.readInt(),
                    ephemeralOwner: SessionID(try reader.readLong()), pzxid: Zxid(try reader.readLong()))
                guard tree.restore(path: path, node: node) else {
                    return .failure(SnapshotDamage("node \(path) has no parent or appears twice"))
                }
            }
            guard tree.node(at: ZNodePath.root) != nil else { return .failure(SnapshotDamage("no root node")) }
            var state = CoordinatorState(tree: tree)
            state.restore(sessions: sessions, lastZxid: lastZxid)
            return .success(state)
        } catch {
            return .failure(SnapshotDamage("\(error)"))
        }
    }
}

package struct SnapshotDamage: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
