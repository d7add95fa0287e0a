import NIOCore

/// A reply body (sent only when the reply header's `err` is OK, except for multi, which always has one).
///
/// The layout depends on the request's op code, so decoding needs it: ``decode(for:from:)``.
public enum ZooKeeperResponse: Sendable, Equatable {
    /// delete, setWatches, ping, auth, closeSession, check/removeWatches, addWatch.
    case empty
    /// create (the actual path, with any sequence suffix) and sync.
    case path(String)
    /// create2, createContainer, createTTL.
    case pathAndStat(String, Stat)
    /// exists, setData, setACL.
    case stat(Stat)
    /// getData.
    case data([UInt8]?, Stat)
    /// getChildren (unordered names).
    case children([String])
    /// getChildren2.
    case childrenAndStat([String], Stat)
    /// getACL.
    case acl([ACL], Stat)
    case multi([MultiResult])
    /// getEphemerals (full paths).
    case paths([String])
    /// getAllChildrenNumber.
    case count(Int32)
    case whoAmI([ClientInfo])
    /// sasl: the server's next token (`SetSASLResponse`; null when it has nothing more to say).
    case saslToken([UInt8]?)

    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .empty:
            break
        case .path(let path):
            buffer.writeJuteString(path)
        case .pathAndStat(let path, let stat):
            buffer.writeJuteString(path)
            stat.write(to: &buffer)
        case .stat(let stat):
            stat.write(to: &buffer)
        case .data(let data, let stat):
            buffer.writeJuteBuffer(data)
            stat.write(to: &buffer)
        case .children(let names), .paths(let names):
            buffer.writeJuteStrings(names)
        case .childrenAndStat(let names, let stat):
            buffer.writeJuteStrings(names)
            stat.write(to: &buffer)
        case .acl(let acl, let stat):
            buffer.writeJuteACLs(acl)
            stat.write(to: &buffer)
        case .multi(let results):
            for result in results { result.write(to: &buffer) }
            MultiHeader.end.write(to: &buffer)
        case .count(let count):
            buffer.writeInteger(count)
        case .whoAmI(let infos):
            buffer.writeJuteVector(infos) { $1.write(to: &$0) }
        case .saslToken(let token):
            buffer.writeJuteBuffer(token)
        }
    }

    /// Decodes the body of a successful reply to an `opCode` request.
    public static func decode(for opCode: OpCode, from reader: inout JuteReader) throws(JuteDecodingError) -> ZooKeeperResponse {
        switch opCode {
        case .create, .sync:
            return .path(try reader.readNonNullString("path"))
        case .create2, .createContainer, .createTTL:
            return .pathAndStat(try reader.readNonNullString("path"), try reader.read(Stat.self))
        case .exists, .setData, .setACL:
            return .stat(try reader.read(Stat.self))
        case .getData:
            return .data(try reader.readBuffer("GetDataResponse.data"), try reader.read(Stat.self))
        case .getChildren:
            return .children(try reader.readStringVector("GetChildrenResponse.children"))
        case .getChildren2:
            return .childrenAndStat(try reader.readStringVector("GetChildren2Response.children"), try reader.read(Stat.self))
        case .getACL:
            return .acl(try reader.readACLs("GetACLResponse.acl"), try reader.read(Stat.self))
        case .multi:
            var results: [MultiResult] = []
            while true {
                let header = try MultiHeader(from: &reader)
                if header.done { return .multi(results) }
                results.append(try MultiResult(header: header, from: &reader))
            }
        case .getEphemerals:
            return .paths(try reader.readStringVector("GetEphemeralsResponse.ephemerals"))
        case .getAllChildrenNumber:
            return .count(try reader.readInt("GetAllChildrenNumberResponse.totalNumber"))
        case .whoAmI:
            return .whoAmI(try reader.readVector("WhoAmIResponse.clientInfo", minimumElementBytes: 8) {
                (reader: inout JuteReader) throws(JuteDecodingError) in try reader.read(ClientInfo.self)
            } ?? [])
        case .sasl:
            return .saslToken(reader.remaining > 0 ? try reader.readBuffer("SetSASLResponse.token") : nil)
        default:
            return .empty
        }
    }
}

/// One result in a multi response: `MultiHeader{type, done false, err}` then the op's own response.
///
/// When the transaction fails, every result is `.error`: OK for the operations before the failing one, its error for
/// the failing one, RuntimeInconsistency for the ones after; nothing was applied.
public enum MultiResult: Sendable, Equatable {
    case create(path: String)
    /// create2, createContainer or createTTL (`op`), which also return the new node's Stat.
    case create2(op: OpCode, path: String, stat: Stat)
    case delete
    case setData(Stat)
    case check
    case error(KeeperErrorCode)

    public var opCode: OpCode {
        switch self {
        case .create: return .create
        case .create2(let op, _, _): return op
        case .delete: return .delete
        case .setData: return .setData
        case .check: return .check
        case .error: return .error
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .create(let path):
            MultiHeader(type: .create, done: false, err: 0).write(to: &buffer)
            buffer.writeJuteString(path)
        case .create2(let op, let path, let stat):
            MultiHeader(type: op, done: false, err: 0).write(to: &buffer)
            buffer.writeJuteString(path)
            stat.write(to: &buffer)
        case .delete, .check:
            MultiHeader(type: opCode, done: false, err: 0).write(to: &buffer)
        case .setData(let stat):
            MultiHeader(type: .setData, done: false, err: 0).write(to: &buffer)
            stat.write(to: &buffer)
        case .error(let code):
            MultiHeader(type: .error, done: false, err: code.rawValue).write(to: &buffer)
            buffer.writeInteger(code.rawValue)
        }
    }

    init(header: MultiHeader, from reader: inout JuteReader) throws(JuteDecodingError) {
        switch header.type {
        case .create: self = .create(path: try reader.readNonNullString("CreateResponse.path"))
        case .create2, .createContainer, .createTTL:
            self = .create2(op: header.type, path: try reader.readNonNullString("Create2Response.path"), stat: try reader.read(Stat.self))
        case .delete: self = .delete
        case .check: self = .check
        case .setData: self = .setData(try reader.read(Stat.self))
        case .error: self = .error(KeeperErrorCode(rawValue: try reader.readInt("ErrorResponse.err")))
        default: throw .invalidValue("op \(header.type) cannot appear in a multi response")
        }
    }
}
