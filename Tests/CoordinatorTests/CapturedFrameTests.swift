import NIOCore
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: what real clients send decodes to the values they meant, every captured frame re-encodes to the same bytes,
/// and replaying kazoo's session against our core yields Apache ZooKeeper's replies. Method: the frames kazoo 2.11
/// and zkCli 3.8 exchanged with ZooKeeper 3.8.0 (Tests/KafkaProtocolTests/Fixtures/zk_*.frames).
struct CapturedFrameTests {
    /// Requests and replies of one connection, in capture order.
    struct Conversation {
        var requests: [CapturedZKFrame] = []
        var responses: [CapturedZKFrame] = []
    }

    static func conversations(_ file: String) throws -> [Int: Conversation] {
        var result: [Int: Conversation] = [:]
        for frame in try ZKFixtures.frames(in: file) {
            if frame.isRequest { result[frame.connection, default: .init()].requests.append(frame) } else {
                result[frame.connection, default: .init()].responses.append(frame)
            }
        }
        return result
    }

    @Test func fixturesArePresent() throws {
        for file in ZKFixtures.files { #expect(try ZKFixtures.frames(in: file).count > 10, "\(file)") }
    }

    @Test(arguments: ZKFixtures.files)
    func everyFrameDecodesAndReencodesByteForByte(_ file: String) throws {
        for (_, conversation) in try Self.conversations(file) {
            let connect = try ConnectRequest(decoding: conversation.requests[0].buffer)
            #expect(bytes(connect.serialized) == conversation.requests[0].bytes)
            let accepted = try ConnectResponse(decoding: conversation.responses[0].buffer)
            #expect(bytes(accepted.serialized) == conversation.responses[0].bytes)

            var opByXid: [Int32: OpCode] = [:]
            for frame in conversation.requests.dropFirst() {
                var reader = JuteReader(frame.buffer)
                let header = try RequestHeader(from: &reader)
                let request = try ZooKeeperRequest.decode(header.type, from: &reader)
                if case .unsupported = request { Issue.record("\(frame): \(header.type) decoded as unsupported") }
                #expect(bytes(request.frame(xid: header.xid)) == frame.bytes, "\(frame)")
                opByXid[header.xid] = header.type
            }
            for frame in conversation.responses.dropFirst() {
                var reader = JuteReader(frame.buffer)
                let header = try ReplyHeader(from: &reader)
                var again = header.serialized
                switch header.xid {
                case SpecialXid.notification:
                    try WatcherEvent(from: &reader).write(to: &again)
                case SpecialXid.ping:
                    break
                default:
                    let op = try #require(opByXid[header.xid], "\(frame): reply to an unknown xid")
                    if header.err == .ok || op == .multi {
                        try ZooKeeperResponse.decode(for: op, from: &reader).write(to: &again)
                    }
                }
                #expect(reader.remaining == 0, "\(frame)")
                #expect(bytes(again) == frame.bytes, "\(frame)")
            }
        }
    }

    @Test func kazooHandshakeAndRequests() throws {
        let kazoo = try Self.conversations("zk_kazoo.frames")[0]!
        let connect = try ConnectRequest(decoding: kazoo.requests[0].buffer)
        #expect(connect == ConnectRequest(timeOut: 10_000))
        #expect(connect.readOnly == false)
        var reader = JuteReader(kazoo.requests[7].buffer)
        let header = try RequestHeader(from: &reader)
        #expect(header == RequestHeader(xid: 7, type: .create))
        let request = try ZooKeeperRequest.decode(header.type, from: &reader)
        #expect(request == .create(CreateRequest(path: "/ls/a/e", data: Array("x".utf8), mode: .ephemeral)))

        var multi = JuteReader(kazoo.requests[18].buffer)
        _ = try RequestHeader(from: &multi)
        guard case .multi(let ops) = try ZooKeeperRequest.decode(.multi, from: &multi) else {
            Issue.record("not a multi")
            return
        }
        #expect(ops.map(\.opCode) == [.create, .setData, .check, .delete])
        #expect(kazoo.requests[27].bytes == bytes(ZooKeeperRequest.ping.frame(xid: SpecialXid.ping)))
        #expect(kazoo.requests.last!.bytes == bytes(ZooKeeperRequest.closeSession.frame(xid: 0x2d)))
    }

    @Test func zkCliAndKazooTimeouts() throws {
        let cli = try Self.conversations("zk_zkcli.frames")[0]!
        #expect(try ConnectRequest(decoding: cli.requests[0].buffer).timeOut == 30_000)
        let kazoo2 = try Self.conversations("zk_kazoo2.frames")
        // Asked 1000 → 4000 and 100000 → 40000 (tickTime 2000).
        #expect(try ConnectResponse(decoding: kazoo2[1]!.responses[0].buffer).timeOut == 4000)
        #expect(try ConnectResponse(decoding: kazoo2[2]!.responses[0].buffer).timeOut == 40_000)
        // The reconnect resumes connection 0's session with its password and last zxid.
        let first = try ConnectResponse(decoding: kazoo2[0]!.responses[0].buffer)
        let resume = try ConnectRequest(decoding: kazoo2[4]!.requests[0].buffer)
        #expect(resume.sessionId == first.sessionId)
        #expect(resume.passwd == first.passwd)
        #expect(resume.lastZxidSeen == Zxid(0x26))
    }

    /// Replays kazoo's whole session against a fresh core and compares every reply with ZooKeeper's, except the
    /// values that depend on the clock or the session id (ctime, mtime, ephemeralOwner, the password).
    @Test func replayingKazooMatchesApacheZooKeeper() throws {
        let kazoo = try Self.conversations("zk_kazoo.frames")[0]!
        let harness = CoreHarness()
        let id = harness.open()
        var ours: [Sent] = []
        ours += harness.handshake(id, try ConnectRequest(decoding: kazoo.requests[0].buffer))
        var opByXid: [Int32: OpCode] = [:]
        for frame in kazoo.requests.dropFirst() {
            var reader = JuteReader(frame.buffer)
            let header = try RequestHeader(from: &reader)
            opByXid[header.xid] = header.type
            ours += harness.core.receive(frame.buffer, from: id, at: harness.time).map(Sent.init)
            harness.nowMs += 1
        }
        ours.removeAll { if case .close = $0 { return true } else { return false } }
        #expect(ours.count == kazoo.responses.count)
        guard case .handshake(_, let response) = ours.first else {
            Issue.record("no handshake")
            return
        }
        #expect(response.timeOut == 10_000)
        for (index, (mine, theirs)) in zip(ours.dropFirst(), kazoo.responses.dropFirst()).enumerated() {
            var reader = JuteReader(theirs.buffer)
            let header = try ReplyHeader(from: &reader)
            switch mine {
            case .event(_, let event):
                #expect(header.xid == SpecialXid.notification, "frame \(index + 1)")
                #expect(event == (try WatcherEvent(from: &reader)), "frame \(index + 1)")
            case .reply(_, let myHeader, let body):
                #expect(myHeader == header, "frame \(index + 1): \(myHeader) vs \(header)")
                guard header.err == .ok, header.xid != SpecialXid.ping, let op = opByXid[header.xid] else { continue }
                var mineReader = JuteReader(ByteBuffer(bytes: body))
                let expected = Self.normalized(try ZooKeeperResponse.decode(for: op, from: &reader))
                let actual = Self.normalized(try ZooKeeperResponse.decode(for: op, from: &mineReader))
                #expect(actual == expected, "frame \(index + 1) (\(op))")
            default:
                Issue.record("unexpected \(mine)")
            }
        }
    }

    static func normalized(_ response: ZooKeeperResponse) -> ZooKeeperResponse {
        func clean(_ stat: Stat) -> Stat {
            var stat = stat
            stat.ctime = 0
            stat.mtime = 0
            stat.ephemeralOwner = stat.ephemeralOwner == .none ? .none : SessionID(1)
            return stat
        }
        switch response {
        case .pathAndStat(let path, let stat): return .pathAndStat(path, clean(stat))
        case .stat(let stat): return .stat(clean(stat))
        case .data(let data, let stat): return .data(data, clean(stat))
        // ZooKeeper lists children in hash order; we sort them.
        case .children(let names): return .children(names.sorted())
        case .childrenAndStat(let names, let stat): return .childrenAndStat(names.sorted(), clean(stat))
        case .acl(let acl, let stat): return .acl(acl, clean(stat))
        case .multi(let results):
            return .multi(results.map { result in
                switch result {
                case .create2(let op, let path, let stat): return .create2(op: op, path: path, stat: clean(stat))
                case .setData(let stat): return .setData(clean(stat))
                default: return result
                }
            })
        default: return response
        }
    }
}
