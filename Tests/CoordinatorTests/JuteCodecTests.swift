import Foundation
import NIOCore
import Testing
import ZooKeeperProtocol

/// Goal: the jute primitives and records encode exactly as ZooKeeper's BinaryOutputArchive does, and decoding refuses
/// frames that lie about their lengths. Method: hand-built byte strings and round trips of every request kind.
struct JuteCodecTests {
    @Test func primitivesAndNulls() throws {
        var buffer = ByteBuffer()
        buffer.writeJuteString("/a")
        buffer.writeJuteString(nil)
        buffer.writeJuteBuffer([1, 2])
        buffer.writeJuteBuffer(nil)
        buffer.writeJuteBool(true)
        #expect(hex(buffer) == "000000022f61ffffffff0000000201 02ffffffff01".replacingOccurrences(of: " ", with: ""))
        var reader = JuteReader(buffer)
        #expect(try reader.readString() == "/a")
        #expect(try reader.readString() == nil)
        #expect(try reader.readBuffer() == [1, 2])
        #expect(try reader.readBuffer() == nil)
        #expect(try reader.readBool() == true)
        #expect(reader.remaining == 0)
    }

    @Test func lengthsThatLieAreErrors() {
        var negative = JuteReader(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE]))
        #expect(throws: JuteDecodingError.invalidLength(field: "buffer", length: -2)) { try negative.readBuffer() }
        var tooLong = JuteReader(ByteBuffer(bytes: [0, 0, 0, 9, 1, 2]))
        #expect(throws: JuteDecodingError.self) { try tooLong.readString() }
        var hugeVector = JuteReader(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        #expect(throws: JuteDecodingError.self) { try hugeVector.readStringVector("v") }
        var short = JuteReader(ByteBuffer(bytes: [0, 0]))
        #expect(throws: JuteDecodingError.truncated(field: "int", needed: 4, available: 2)) { try short.readInt() }
    }

    @Test func statIs68Bytes() throws {
        let stat = Stat(czxid: Zxid(1), mzxid: Zxid(2), ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7,
                        ephemeralOwner: SessionID(8), dataLength: 9, numChildren: 10, pzxid: Zxid(11))
        #expect(stat.serialized.readableBytes == Stat.encodedBytes)
        #expect(Stat.encodedBytes == 68)
        #expect(try Stat(decoding: stat.serialized) == stat)
    }

    @Test func connectRequestWithAndWithoutReadOnly() throws {
        let current = ConnectRequest(timeOut: 10_000)
        #expect(current.serialized.readableBytes == 45)
        #expect(try ConnectRequest(decoding: current.serialized) == current)
        let old = ConnectRequest(timeOut: 10_000, readOnly: nil)
        #expect(old.serialized.readableBytes == 44)
        #expect(try ConnectRequest(decoding: old.serialized).readOnly == nil)
        let response = ConnectResponse(timeOut: 4000, sessionId: SessionID(42), passwd: [UInt8](repeating: 1, count: 16), readOnly: false)
        #expect(response.serialized.readableBytes == 37)
        #expect(ConnectResponse.expired(readOnly: nil).serialized.readableBytes == 36)
    }

    static let requests: [ZooKeeperRequest] = [
        .create(CreateRequest(path: "/a", data: [1], mode: .ephemeralSequential)),
        .create2(CreateRequest(path: "/b", data: nil, mode: .persistent)),
        .createContainer(CreateRequest(path: "/c", data: [], mode: .container)),
        .createTTL(CreateRequest(path: "/t", data: [], mode: .persistentWithTTL, ttl: 1000)),
        .delete(path: "/a", version: -1), .exists(path: "/a", watch: true), .getData(path: "/a", watch: false),
        .setData(path: "/a", data: [9, 9], version: 3), .getACL(path: "/a"),
        .setACL(path: "/a", acl: ACL.readUnsafe, version: 0), .getChildren(path: "/", watch: true),
        .getChildren2(path: "/", watch: false), .sync(path: "/"), .ping, .check(path: "/a", version: 2),
        .multi([.create(CreateRequest(path: "/m", data: [], mode: .persistent)), .check(path: "/m", version: 0), .delete(path: "/m", version: -1)]),
        .closeSession, .auth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8))),
        .setWatches(SetWatches(relativeZxid: Zxid(5), dataWatches: ["/a"], existWatches: ["/b"], childWatches: ["/"])),
        .setWatches2(SetWatches(relativeZxid: Zxid(5), persistentWatches: ["/p"])),
        .getEphemerals(prefix: "/"), .getAllChildrenNumber(path: "/"), .whoAmI,
        .checkWatches(path: "/a", type: 3), .removeWatches(path: "/a", type: 1), .addWatch(path: "/", mode: 1),
    ]

    @Test(arguments: requests)
    func requestRoundTrip(_ request: ZooKeeperRequest) throws {
        var reader = JuteReader(request.frame(xid: 7))
        let header = try RequestHeader(from: &reader)
        #expect(header.xid == 7)
        #expect(header.type == request.opCode)
        #expect(try ZooKeeperRequest.decode(header.type, from: &reader) == request)
    }

    @Test func unknownOpDecodesAsUnsupported() throws {
        var reader = JuteReader(ByteBuffer())
        #expect(try ZooKeeperRequest.decode(OpCode(rawValue: 55), from: &reader) == .unsupported(OpCode(rawValue: 55)))
    }

    @Test func multiRefusesReadsInside() {
        var buffer = ByteBuffer()
        MultiHeader(type: .getData, done: false, err: -1).write(to: &buffer)
        buffer.writeJuteString("/a")
        buffer.writeJuteBool(false)
        MultiHeader.end.write(to: &buffer)
        var reader = JuteReader(buffer)
        #expect(throws: JuteDecodingError.self) { try ZooKeeperRequest.decode(.multi, from: &reader) }
    }

    static let responses: [(OpCode, ZooKeeperResponse)] = [
        (.create, .path("/a-0000000001")), (.create2, .pathAndStat("/b", Stat(czxid: Zxid(3)))),
        (.exists, .stat(Stat(version: 2))), (.getData, .data([1, 2, 3], Stat())), (.getData, .data(nil, Stat())),
        (.getChildren, .children(["a", "b"])), (.getChildren2, .childrenAndStat(["x"], Stat(numChildren: 1))),
        (.getACL, .acl(ACL.openUnsafe, Stat())), (.getAllChildrenNumber, .count(7)), (.getEphemerals, .paths(["/e"])),
        (.whoAmI, .whoAmI([ClientInfo(authScheme: "ip", user: "127.0.0.1")])),
        (.multi, .multi([.create(path: "/m"), .create2(op: .create2, path: "/n", stat: Stat()), .setData(Stat()), .check, .delete])),
        (.multi, .multi([.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)])),
    ]

    @Test func responseRoundTrip() throws {
        for (op, response) in Self.responses {
            var buffer = ByteBuffer()
            response.write(to: &buffer)
            var reader = JuteReader(buffer)
            #expect(try ZooKeeperResponse.decode(for: op, from: &reader) == response, "\(op)")
            #expect(reader.remaining == 0)
        }
    }

    @Test func fourLetterWordsAreRecognisedFromTheirFirstBytes() {
        #expect(FourLetterWord.isKnown(firstBytes: 0x7275_6F6B))  // "ruok"
        #expect(FourLetterWord.isKnown(firstBytes: FourLetterWord.value(of: "mntr")))
        #expect(!FourLetterWord.isKnown(firstBytes: 0x0000_002D))  // a 45-byte ConnectRequest
        #expect(!FourLetterWord.isKnown(firstBytes: FourLetterWord.value(of: "GET ")))
    }
}

extension ZooKeeperRequest: CustomTestStringConvertible {
    public var testDescription: String { "\(opCode)" }
}
