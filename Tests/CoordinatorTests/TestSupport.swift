import Foundation
import Logging
import NIOCore
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// One frame of a captured ZooKeeper conversation (Tests/KafkaProtocolTests/Fixtures/zk_*.frames; see the README
/// there): the size prefix is already removed.
struct CapturedZKFrame: Sendable, CustomStringConvertible {
    let file: String
    let index: Int
    let connection: Int
    let isRequest: Bool
    let bytes: [UInt8]

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }
    var description: String { "\(file)#\(index) conn \(connection) \(isRequest ? "req" : "rsp")" }
}

enum ZKFixtures {
    private struct Line: Decodable {
        let c: Int
        let d: String
        let hex: String
    }

    /// The captures live with the Kafka protocol tests; read them from the source tree.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("KafkaProtocolTests/Fixtures")

    static let files = ["zk_kazoo.frames", "zk_kazoo2.frames", "zk_zkcli.frames"]

    static func frames(in file: String) throws -> [CapturedZKFrame] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").enumerated().map { index, line in
            let parsed = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
            return CapturedZKFrame(file: file, index: index, connection: parsed.c, isRequest: parsed.d == "req", bytes: hexBytes(parsed.hex))
        }
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}

func hex(_ buffer: ByteBuffer) -> String {
    buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
}

func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

var quietLogger: Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ prefix: String = "coordinator") {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ledgerstream-\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// What a core output means, decoded for assertions.
enum Sent: Equatable, CustomStringConvertible {
    case handshake(ConnectionID, ConnectResponse)
    case reply(ConnectionID, ReplyHeader, body: [UInt8])
    case event(ConnectionID, WatcherEvent)
    case close(ConnectionID)

    init(_ output: CoreOutput) {
        func payload(_ frame: ByteBuffer) -> ByteBuffer {
            var frame = frame
            let length = frame.readInteger(as: Int32.self)!
            precondition(Int(length) == frame.readableBytes, "length prefix \(length) does not match \(frame.readableBytes)")
            return frame
        }
        switch output {
        case .handshake(let id, let frame): self = .handshake(id, try! ConnectResponse(decoding: payload(frame)))
        case .reply(let id, let frame, _):
            var reader = JuteReader(payload(frame))
            let header = try! ReplyHeader(from: &reader)
            self = .reply(id, header, body: Array(reader.buffer.readableBytesView))
        case .event(let id, let frame):
            var reader = JuteReader(payload(frame))
            _ = try! ReplyHeader(from: &reader)
            self = .event(id, try! WatcherEvent(from: &reader))
        case .close(let id, _): self = .close(id)
        }
    }

    var description: String {
        switch self {
        case .handshake(let id, let response): return "handshake(\(id.rawValue), session \(response.sessionId), timeout \(response.timeOut))"
        case .reply(let id, let header, let body): return "reply(\(id.rawValue), xid \(header.xid), zxid \(header.zxid), \(header.err), \(body.count) bytes)"
        case .event(let id, let event): return "event(\(id.rawValue), \(event))"
        case .close(let id): return "close(\(id.rawValue))"
        }
    }

    var replyHeader: ReplyHeader? {
        if case .reply(_, let header, _) = self { return header }
        return nil
    }
}

/// Drives a ``CoordinatorCore`` without sockets or clocks: frames are real encodings, time is a number the test moves.
final class CoreHarness {
    let log = InMemoryTxnLog()
    private(set) var core: CoordinatorCore
    var nowMs: Int64 = 1_700_000_000_000
    private var nextConnection: UInt64 = 1
    private var xids: [ConnectionID: Int32] = [:]
    static let secret = [UInt8](repeating: 7, count: 16)

    init(
        limits: SessionLimits = SessionLimits(tickTimeMs: 2000), state: CoordinatorState = CoordinatorState(),
        security: SecurityPolicy = SecurityPolicy()
    ) {
        core = CoordinatorCore(
            state: state, limits: limits, secret: Self.secret, log: log, now: CoreTime(ms: 1_700_000_000_000), security: security)
    }

    var time: CoreTime { CoreTime(ms: nowMs) }

    func advance(ms: Int64) -> [Sent] {
        nowMs += ms
        return core.expireSessions(at: time).map(Sent.init)
    }

    func open(ip: String = "127.0.0.1") -> ConnectionID {
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        core.connectionOpened(id, remoteAddress: "\(ip):\(40000 + id.rawValue)", remoteIP: ip)
        return id
    }

    func handshake(_ id: ConnectionID, _ request: ConnectRequest) -> [Sent] {
        core.receive(request.serialized, from: id, at: time).map(Sent.init)
    }

    /// Opens a connection and a new session; returns the connection and the handshake answer.
    func newSession(timeoutMs: Int32 = 10_000, ip: String = "127.0.0.1") -> (ConnectionID, ConnectResponse) {
        let id = open(ip: ip)
        let sent = handshake(id, ConnectRequest(timeOut: timeoutMs))
        guard case .handshake(_, let response) = sent.last else { preconditionFailure("no handshake: \(sent)") }
        return (id, response)
    }

    /// Sends a request with the connection's next xid.
    func send(_ id: ConnectionID, _ request: ZooKeeperRequest) -> [Sent] {
        let xid = (xids[id] ?? 0) + 1
        xids[id] = xid
        return core.receive(request.frame(xid: xid), from: id, at: time).map(Sent.init)
    }

    func send(_ id: ConnectionID, xid: Int32, _ request: ZooKeeperRequest) -> [Sent] {
        core.receive(request.frame(xid: xid), from: id, at: time).map(Sent.init)
    }

    /// Sends a request and returns its reply's error code and decoded body (asserting there is exactly one reply).
    func call(_ id: ConnectionID, _ request: ZooKeeperRequest) -> (KeeperErrorCode, ZooKeeperResponse?) {
        let sent = send(id, request)
        for case .reply(let to, let header, let body) in sent where to == id {
            guard header.err == .ok else { return (header.err, nil) }
            var reader = JuteReader(ByteBuffer(bytes: body))
            return (.ok, try! ZooKeeperResponse.decode(for: request.opCode, from: &reader))
        }
        preconditionFailure("no reply in \(sent)")
    }

    func create(_ id: ConnectionID, _ path: String, _ data: String = "", mode: CreateMode = .persistent) -> (KeeperErrorCode, String?) {
        let (code, body) = call(id, .create(CreateRequest(path: path, data: Array(data.utf8), mode: mode)))
        if case .path(let created) = body { return (code, created) }
        return (code, nil)
    }
}
