import NIOCore
import ZooKeeperProtocol

/// A transaction: what a write request became after it was validated (``PrepStage``), the unit that is logged
/// (``TxnLog``) and applied (``CoordinatorState/apply(_:_:)``). Decisions that depend on the state at preparation
/// time (the sequential name, the new versions) are already made, so applying is deterministic.
///
/// Wire format in the log (jute encoding): `int type` then the body of that type (see ``write(to:)``).
public indirect enum Txn: Sendable, Equatable {
    case createSession(timeoutMs: Int32)
    /// Deletes the session and its ephemeral nodes.
    case closeSession
    /// `parentCVersion` is the parent's new count of child creations.
    case create(path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: SessionID, parentCVersion: Int32)
    case delete(path: String)
    /// `version` is the node's new data version.
    case setData(path: String, data: [UInt8]?, version: Int32)
    /// `aversion` is the node's new ACL version.
    case setACL(path: String, acl: [ACL], aversion: Int32)
    /// A version check that passed (inside multi); changes nothing.
    case check(path: String)
    /// A failed write: it still consumes a zxid. Inside a failed multi, OK marks the operations before the failing one.
    case error(KeeperErrorCode)
    case multi([Txn])

    private var typeCode: Int32 {
        switch self {
        case .createSession: return OpCode.createSession.rawValue
        case .closeSession: return OpCode.closeSession.rawValue
        case .create: return OpCode.create.rawValue
        case .delete: return OpCode.delete.rawValue
        case .setData: return OpCode.setData.rawValue
        case .setACL: return OpCode.setACL.rawValue
        case .check: return OpCode.check.rawValue
        case .error: return OpCode.error.rawValue
        case .multi: return OpCode.multi.rawValue
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(typeCode)
        switch self {
        case .createSession(let timeout):
            buffer.writeInteger(timeout)
        case .closeSession:
            break
        case .create(let path, let data, let acl, let owner, let parentCVersion):
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeJuteACLs(acl)
            buffer.writeInteger(owner.rawValue)
            buffer.writeInteger(parentCVersion)
        case .delete(let path), .check(let path):
            buffer.writeJuteString(path)
        case .setData(let path, let data, let version):
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeInteger(version)
        case .setACL(let path, let acl, let aversion):
            buffer.writeJuteString(path)
            buffer.writeJuteACLs(acl)
            buffer.writeInteger(aversion)
        case .error(let code):
            buffer.writeInteger(code.rawValue)
        case .multi(let txns):
            buffer.writeInteger(Int32(txns.count))
            for txn in txns { txn.write(to: &buffer) }
        }
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        let type = OpCode(rawValue: try reader.readInt("Txn.type"))
        switch type {
        case .createSession: self = .createSession(timeoutMs: try reader.readInt("CreateSessionTxn.timeOut"))
        case .closeSession: self = .closeSession
        case .create:
            self = .create(
                path: try reader.readNonNullString("CreateTxn.path"), data: try reader.readBuffer("CreateTxn.data"),
                acl: try reader.readACLs("CreateTxn.acl"), ephemeralOwner: SessionID(try reader.readLong("CreateTxn.ephemeralOwner")),
                parentCVersion: try reader.readInt("CreateTxn.parentCVersion"))
        case .delete: self = .delete(path: try reader.readNonNullString("DeleteTxn.path"))
        case .check: self = .check(path: try reader.readNonNullString("CheckVersionTxn.path"))
        case .setData:
            self = .setData(
                path: try reader.readNonNullString("SetDataTxn.path"), data: try reader.readBuffer("SetDataTxn.data"),
                version: try reader.readInt("SetDataTxn.version"))
        case .setACL:
            self = .setACL(
                path: try reader.readNonNullString("SetACLTxn.path"), acl: try reader.readACLs("SetACLTxn.acl"),
                aversion: try reader.readInt("SetACLTxn.aversion"))
        case .error: self = .error(KeeperErrorCode(rawValue: try reader.readInt("ErrorTxn.err")))
        case .multi:
            let count = try reader.readInt("MultiTxn.count")
            guard count >= 0 && Int(count) <= reader.remaining / 4 else {
                throw .invalidLength(field: "MultiTxn.count", length: count)
            }
            var txns: [Txn] = []
            for _ in 0..<count {
                let txn = try Txn(from: &reader)
                if case .multi = txn { throw .invalidValue("nested multi transaction") }
                txns.append(txn)
            }
            self = .multi(txns)
        default:
            throw .invalidValue("unknown transaction type \(type.rawValue)")
        }
    }
}

/// Who issued a transaction, when, and its zxid (ZooKeeper's `TxnHeader`; the type is part of ``Txn``).
public struct TxnHeader: Sendable, Equatable {
    public var sessionID: SessionID
    /// The client's xid for the request.
    public var cxid: Int32
    public var zxid: Zxid
    /// Wall-clock milliseconds: becomes ctime/mtime.
    public var time: Int64

    public init(sessionID: SessionID, cxid: Int32, zxid: Zxid, time: Int64) {
        self.sessionID = sessionID
        self.cxid = cxid
        self.zxid = zxid
        self.time = time
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(sessionID.rawValue)
        buffer.writeInteger(cxid)
        buffer.writeInteger(zxid.rawValue)
        buffer.writeInteger(time)
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        sessionID = SessionID(try reader.readLong("TxnHeader.clientId"))
        cxid = try reader.readInt("TxnHeader.cxid")
        zxid = Zxid(try reader.readLong("TxnHeader.zxid"))
        time = try reader.readLong("TxnHeader.time")
    }
}

/// A logged transaction: header and body.
public struct TxnRecord: Sendable, Equatable {
    public var header: TxnHeader
    public var txn: Txn

    public init(header: TxnHeader, txn: Txn) {
        self.header = header
        self.txn = txn
    }

    public func write(to buffer: inout ByteBuffer) {
        header.write(to: &buffer)
        txn.write(to: &buffer)
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        header = try TxnHeader(from: &reader)
        txn = try Txn(from: &reader)
    }
}
