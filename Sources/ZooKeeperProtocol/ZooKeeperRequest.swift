import NIOCore

/// A decoded request body, one case per supported op code (the op code itself travels in the ``RequestHeader``).
///
/// `exists`, `getData`, `getChildren` and `getChildren2` share the layout `ustring path, boolean watch`; delete,
/// setData and check carry the expected version (−1 = any). Ops the server does not implement decode as
/// `.unsupported` so they can be answered with Unimplemented instead of failing the connection.
public enum ZooKeeperRequest: Sendable, Equatable {
    case create(CreateRequest)
    case create2(CreateRequest)
    case createContainer(CreateRequest)
    case createTTL(CreateRequest)
    case delete(path: String, version: Int32)
    case exists(path: String, watch: Bool)
    case getData(path: String, watch: Bool)
    case setData(path: String, data: [UInt8]?, version: Int32)
    case getACL(path: String)
    case setACL(path: String, acl: [ACL], version: Int32)
    case getChildren(path: String, watch: Bool)
    case getChildren2(path: String, watch: Bool)
    case sync(path: String)
    case ping
    /// Only inside multi.
    case check(path: String, version: Int32)
    case multi([ZooKeeperRequest])
    case closeSession
    case auth(AuthPacket)
    /// One SASL token of the client's side of the exchange (`GetSASLRequest`); the first is empty for DIGEST-MD5.
    case sasl(token: [UInt8]?)
    case setWatches(SetWatches)
    case setWatches2(SetWatches)
    case getEphemerals(prefix: String)
    case getAllChildrenNumber(path: String)
    case whoAmI
    /// `type`: 1 children, 2 data, 3 any (`Watcher.WatcherType`).
    case checkWatches(path: String, type: Int32)
    case removeWatches(path: String, type: Int32)
    /// `mode`: 0 persistent, 1 persistent recursive.
    case addWatch(path: String, mode: Int32)
    case unsupported(OpCode)

    public var opCode: OpCode {
        switch self {
        case .create: return .create
        case .create2: return .create2
        case .createContainer: return .createContainer
        case .createTTL: return .createTTL
        case .delete: return .delete
        case .exists: return .exists
        case .getData: return .getData
        case .setData: return .setData
        case .getACL: return .getACL
        case .setACL: return .setACL
        case .getChildren: return .getChildren
        case .getChildren2: return .getChildren2
        case .sync: return .sync
        case .ping: return .ping
        case .check: return .check
        case .multi: return .multi
        case .closeSession: return .closeSession
        case .auth: return .auth
        case .sasl: return .sasl
        case .setWatches: return .setWatches
        case .setWatches2: return .setWatches2
        case .getEphemerals: return .getEphemerals
        case .getAllChildrenNumber: return .getAllChildrenNumber
        case .whoAmI: return .whoAmI
        case .checkWatches: return .checkWatches
        case .removeWatches: return .removeWatches
        case .addWatch: return .addWatch
        case .unsupported(let op): return op
        }
    }

    /// Whether the op changes the tree (and so consumes a zxid, even when it fails).
    public var isWrite: Bool {
        switch self {
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .setACL, .check, .multi,
             .closeSession:
            return true
        default:
            return false
        }
    }

    /// Decodes the body of an `opCode` request.
    public static func decode(_ opCode: OpCode, from reader: inout JuteReader) throws(JuteDecodingError) -> ZooKeeperRequest {
        func pathAndWatch() throws(JuteDecodingError) -> (String, Bool) {
            (try reader.readNonNullString("path"), try reader.readBool("watch"))
        }
        switch opCode {
        case .create: return .create(try CreateRequest(from: &reader, withTTL: false))
        case .create2: return .create2(try CreateRequest(from: &reader, withTTL: false))
        case .createContainer: return .createContainer(try CreateRequest(from: &reader, withTTL: false))
        case .createTTL: return .createTTL(try CreateRequest(from: &reader, withTTL: true))
        case .delete:
            return .delete(path: try reader.readNonNullString("DeleteRequest.path"), version: try reader.readInt("DeleteRequest.version"))
        case .exists:
            let (path, watch) = try pathAndWatch()
            return .exists(path: path, watch: watch)
        case .getData:
            let (path, watch) = try pathAndWatch()
            return .getData(path: path, watch: watch)
        case .setData:
            return .setData(
                path: try reader.readNonNullString("SetDataRequest.path"), data: try reader.readBuffer("SetDataRequest.data"),
                version: try reader.readInt("SetDataRequest.version"))
        case .getACL: return .getACL(path: try reader.readNonNullString("GetACLRequest.path"))
        case .setACL:
            return .setACL(
                path: try reader.readNonNullString("SetACLRequest.path"), acl: try reader.readACLs("SetACLRequest.acl"),
                version: try reader.readInt("SetACLRequest.version"))
        case .getChildren:
            let (path, watch) = try pathAndWatch()
            return .getChildren(path: path, watch: watch)
        case .getChildren2:
            let (path, watch) = try pathAndWatch()
            return .getChildren2(path: path, watch: watch)
        case .sync: return .sync(path: try reader.readNonNullString("SyncRequest.path"))
        case .ping: return .ping
        case .check:
            return .check(path: try reader.readNonNullString("CheckVersionRequest.path"), version: try reader.readInt("CheckVersionRequest.version"))
        case .multi: return .multi(try decodeMulti(from: &reader))
        case .closeSession: return .closeSession
        case .auth: return .auth(try AuthPacket(from: &reader))
        case .sasl: return .sasl(token: try reader.readBuffer("GetSASLRequest.token"))
        case .setWatches: return .setWatches(try SetWatches(from: &reader, version2: false))
        case .setWatches2: return .setWatches2(try SetWatches(from: &reader, version2: true))
        case .getEphemerals: return .getEphemerals(prefix: try reader.readNonNullString("GetEphemeralsRequest.prefixPath"))
        case .getAllChildrenNumber: return .getAllChildrenNumber(path: try reader.readNonNullString("GetAllChildrenNumberRequest.path"))
        case .whoAmI: return .whoAmI
        case .checkWatches:
            return .checkWatches(path: try reader.readNonNullString("CheckWatchesRequest.path"), type: try reader.readInt("CheckWatchesRequest.type"))
        case .removeWatches:
            return .removeWatches(path: try reader.readNonNullString("RemoveWatchesRequest.path"), type: try reader.readInt("RemoveWatchesRequest.type"))
        case .addWatch:
            return .addWatch(path: try reader.readNonNullString("AddWatchRequest.path"), mode: try reader.readInt("AddWatchRequest.mode"))
        default: return .unsupported(opCode)
        }
    }

    /// The operations that may appear inside a multi (`MultiOperationRecord`).
    public static let multiOpCodes: Set<OpCode> = [.create, .create2, .createContainer, .createTTL, .delete, .setData, .check]

    private static func decodeMulti(from reader: inout JuteReader) throws(JuteDecodingError) -> [ZooKeeperRequest] {
        var ops: [ZooKeeperRequest] = []
        while true {
            let header = try MultiHeader(from: &reader)
            if header.done { return ops }
            guard multiOpCodes.contains(header.type) else {
                throw .invalidValue("op \(header.type) is not allowed in multi")
            }
            ops.append(try decode(header.type, from: &reader))
        }
    }

    /// Writes the body (not the header).
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .create(let request), .create2(let request), .createContainer(let request), .createTTL(let request):
            request.write(to: &buffer)
        case .delete(let path, let version), .check(let path, let version):
            buffer.writeJuteString(path)
            buffer.writeInteger(version)
        case .exists(let path, let watch), .getData(let path, let watch), .getChildren(let path, let watch),
             .getChildren2(let path, let watch):
            buffer.writeJuteString(path)
            buffer.writeJuteBool(watch)
        case .setData(let path, let data, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeInteger(version)
        case .getACL(let path), .sync(let path), .getAllChildrenNumber(let path):
            buffer.writeJuteString(path)
        case .getEphemerals(let prefix):
            buffer.writeJuteString(prefix)
        case .setACL(let path, let acl, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteACLs(acl)
            buffer.writeInteger(version)
        case .multi(let ops):
            for op in ops {
                MultiHeader(type: op.opCode, done: false, err: -1).write(to: &buffer)
                op.write(to: &buffer)
            }
            MultiHeader.end.write(to: &buffer)
        case .auth(let packet):
            packet.write(to: &buffer)
        case .sasl(let token):
            buffer.writeJuteBuffer(token)
        case .setWatches(let watches):
            watches.write(to: &buffer, version2: false)
        case .setWatches2(let watches):
            watches.write(to: &buffer, version2: true)
        case .checkWatches(let path, let type), .removeWatches(let path, let type), .addWatch(let path, let type):
            buffer.writeJuteString(path)
            buffer.writeInteger(type)
        case .ping, .closeSession, .whoAmI, .unsupported:
            break
        }
    }

    /// A whole request frame payload (header and body, without the length prefix).
    public func frame(xid: Int32) -> ByteBuffer {
        var buffer = ByteBuffer()
        RequestHeader(xid: xid, type: opCode).write(to: &buffer)
        write(to: &buffer)
        return buffer
    }
}
