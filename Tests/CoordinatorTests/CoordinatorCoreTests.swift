import NIOCore
import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the request pipeline and sessions behave as ZooKeeper 3.8 does on the wire — handshake, zxids, watches and
/// their ordering, session expiry, special requests. Method: a ``CoreHarness`` feeds real frames to the core and moves
/// an injected clock; nothing sleeps and nothing touches a socket.
struct CoordinatorCoreTests {
    @Test func handshakeNegotiatesTheTimeout() {
        let harness = CoreHarness()
        #expect(harness.newSession(timeoutMs: 1000).1.timeOut == 4000)
        #expect(harness.newSession(timeoutMs: 100_000).1.timeOut == 40_000)
        let (_, normal) = harness.newSession(timeoutMs: 10_000)
        #expect(normal.timeOut == 10_000)
        #expect(normal.passwd.count == 16)
        #expect(normal.readOnly == false)
        #expect(normal.sessionId.rawValue >> 56 == 1, "server id 1 in the top byte")
        // Three sessions, three zxids.
        #expect(harness.core.lastZxid == Zxid(3))
        #expect(harness.log.records.map(\.txn) == [.createSession(timeoutMs: 4000), .createSession(timeoutMs: 40_000), .createSession(timeoutMs: 10_000)])
    }

    @Test func oldClientsGetNoReadOnlyByte() {
        let harness = CoreHarness()
        let id = harness.open()
        let sent = harness.handshake(id, ConnectRequest(timeOut: 5000, readOnly: nil))
        guard case .handshake(_, let response) = sent.first else {
            Issue.record("no handshake")
            return
        }
        #expect(response.readOnly == nil)
    }

    @Test func reconnectKeepsTheSessionAndClosesTheOldConnection() {
        let harness = CoreHarness()
        let (first, response) = harness.newSession()
        let second = harness.open()
        let sent = harness.handshake(second, ConnectRequest(lastZxidSeen: Zxid(1), timeOut: 10_000, sessionId: response.sessionId, passwd: response.passwd))
        #expect(sent.first == .close(first))
        guard case .handshake(second, let again) = sent.last else {
            Issue.record("no handshake: \(sent)")
            return
        }
        #expect(again.sessionId == response.sessionId)
        #expect(again.passwd == response.passwd)
        #expect(harness.core.lastZxid == Zxid(1), "resuming a session is not a transaction")
    }

    @Test func wrongPasswordOrUnknownSessionLooksExpired() {
        let harness = CoreHarness()
        let (_, response) = harness.newSession()
        var wrong = response.passwd
        wrong[0] ^= 1
        for (session, password) in [(response.sessionId, wrong), (SessionID(0x0100_0000_0000_0001), [UInt8](repeating: 1, count: 16))] {
            let id = harness.open()
            let sent = harness.handshake(id, ConnectRequest(timeOut: 10_000, sessionId: session, passwd: password))
            #expect(sent == [.handshake(id, .expired(readOnly: false)), .close(id)])
        }
        // Exactly ZooKeeper's bytes: timeout 0, session 0, 16 zero bytes, readOnly false.
        #expect(hex(ConnectResponse.expired(readOnly: false).serialized) == "000000000000000000000000000000000000001000000000000000000000000000000000" + "00")
    }

    @Test func aClientAheadOfTheServerIsRefused() {
        let harness = CoreHarness()
        let id = harness.open()
        #expect(harness.handshake(id, ConnectRequest(lastZxidSeen: Zxid(100), timeOut: 10_000)) == [.close(id)])
    }

    @Test func everyWriteConsumesAZxidEvenWhenItFails() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        #expect(harness.create(id, "/a").0 == .ok)
        let sent = harness.send(id, .create(CreateRequest(path: "/a", data: [], mode: .persistent)))
        #expect(sent.first?.replyHeader == ReplyHeader(xid: 2, zxid: Zxid(3), err: .nodeExists))
        let failedSet = harness.send(id, .setData(path: "/a", data: [], version: 9))
        #expect(failedSet.first?.replyHeader == ReplyHeader(xid: 3, zxid: Zxid(4), err: .badVersion))
        // Reads carry the last zxid and consume none.
        #expect(harness.send(id, .exists(path: "/a", watch: false)).first?.replyHeader?.zxid == Zxid(4))
        #expect(harness.send(id, .sync(path: "/a")).first?.replyHeader?.zxid == Zxid(4))
        #expect(harness.log.records.last?.txn == .error(.badVersion))
    }

    @Test func errorRepliesHaveNoBody() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        guard case .reply(_, let header, let body) = harness.send(id, .getData(path: "/none", watch: false)).first else {
            Issue.record("no reply")
            return
        }
        #expect(header.err == .noNode)
        #expect(body.isEmpty)
    }

    @Test func watchEventPrecedesTheReplyOfTheWriteThatFiredIt() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/w", "1")
        _ = harness.send(id, .getData(path: "/w", watch: true))
        let sent = harness.send(id, .setData(path: "/w", data: [2], version: -1))
        #expect(sent.count == 2)
        #expect(sent.first == .event(id, WatcherEvent(type: .nodeDataChanged, path: "/w")))
        #expect(sent.last?.replyHeader?.err == .ok)
        // One-shot: a second change fires nothing.
        #expect(harness.send(id, .setData(path: "/w", data: [3], version: -1)).count == 1)
    }

    @Test func existsWatchOnAMissingNodeFiresOnCreate() {
        let harness = CoreHarness()
        let (watcher, _) = harness.newSession()
        let (writer, _) = harness.newSession()
        #expect(harness.call(watcher, .exists(path: "/later", watch: true)).0 == .noNode)
        // getData on a missing node registers nothing.
        #expect(harness.call(watcher, .getData(path: "/other", watch: true)).0 == .noNode)
        let sent = harness.send(writer, .create(CreateRequest(path: "/later", data: [], mode: .persistent)))
        #expect(sent.first == .event(watcher, WatcherEvent(type: .nodeCreated, path: "/later")))
        #expect(harness.send(writer, .create(CreateRequest(path: "/other", data: [], mode: .persistent))).count == 1)
    }

    @Test func deleteFiresOneNodeDeletedPerConnectionThenTheParentsChildWatch() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/d")
        _ = harness.create(id, "/d/k")
        _ = harness.send(id, .getChildren(path: "/d", watch: true))
        _ = harness.send(id, .getData(path: "/d/k", watch: true))
        _ = harness.send(id, .getChildren(path: "/d/k", watch: true))
        _ = harness.send(id, .exists(path: "/d/k", watch: true))
        let sent = harness.send(id, .delete(path: "/d/k", version: -1))
        #expect(sent.count == 3)
        #expect(sent[0] == .event(id, WatcherEvent(type: .nodeDeleted, path: "/d/k")))
        #expect(sent[1] == .event(id, WatcherEvent(type: .nodeChildrenChanged, path: "/d")))
        #expect(sent[2].replyHeader?.err == .ok)
        #expect(harness.core.watches.watchCount == 0)
    }

    @Test func watchesBelongToTheConnection() {
        let harness = CoreHarness()
        let (id, response) = harness.newSession()
        _ = harness.send(id, .exists(path: "/x", watch: true))
        #expect(harness.core.watches.watchCount == 1)
        harness.core.connectionClosed(id)
        #expect(harness.core.watches.watchCount == 0)
        #expect(harness.core.sessions.contains(response.sessionId), "the session outlives its connection")
    }

    @Test func sessionExpiresBetweenTheTimeoutAndOneTickLater() {
        let harness = CoreHarness(limits: SessionLimits(tickTimeMs: 2000))
        let (owner, response) = harness.newSession(timeoutMs: 4000)
        let (watcher, _) = harness.newSession(timeoutMs: 40_000)
        _ = harness.create(owner, "/eph", mode: .ephemeral)
        _ = harness.send(watcher, .exists(path: "/eph", watch: true))
        _ = harness.send(watcher, .getChildren(path: "/", watch: true))
        let started = harness.nowMs
        var expiredAfter: Int64?
        var sent: [Sent] = []
        for _ in 0..<100 {
            sent = harness.advance(ms: 100)
            if !sent.isEmpty {
                expiredAfter = harness.nowMs - started
                break
            }
        }
        let after = try! #require(expiredAfter)
        #expect(after >= 4000 && after <= 6000, "expired after \(after) ms")
        #expect(sent == [
            .event(watcher, WatcherEvent(type: .nodeDeleted, path: "/eph")),
            .event(watcher, WatcherEvent(type: .nodeChildrenChanged, path: "/")),
            .close(owner),
        ])
        #expect(harness.core.tree.node(at: "/eph") == nil)
        #expect(!harness.core.sessions.contains(response.sessionId))
        #expect(harness.log.records.last?.txn == .closeSession)
        // The expired session cannot be resumed.
        let id = harness.open()
        #expect(harness.handshake(id, ConnectRequest(timeOut: 4000, sessionId: response.sessionId, passwd: response.passwd)).last == .close(id))
    }

    @Test func trafficKeepsASessionAlive() {
        let harness = CoreHarness()
        let (id, response) = harness.newSession(timeoutMs: 4000)
        for _ in 0..<30 {
            #expect(harness.advance(ms: 1000).isEmpty)
            _ = harness.send(id, xid: SpecialXid.ping, .ping)
        }
        #expect(harness.core.sessions.contains(response.sessionId))
    }

    @Test func pingRepliesWithTheLastZxid() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/p")
        let sent = harness.send(id, xid: SpecialXid.ping, .ping)
        #expect(sent.first?.replyHeader == ReplyHeader(xid: SpecialXid.ping, zxid: Zxid(2)))
    }

    @Test func closeSessionDeletesEphemeralsThenCloses() {
        let harness = CoreHarness()
        let (owner, _) = harness.newSession()
        let (watcher, _) = harness.newSession()
        _ = harness.create(owner, "/e", mode: .ephemeral)
        _ = harness.send(watcher, .exists(path: "/e", watch: true))
        let sent = harness.send(owner, .closeSession)
        #expect(sent.count == 3)
        #expect(sent[0] == .event(watcher, WatcherEvent(type: .nodeDeleted, path: "/e")))
        #expect(sent[1].replyHeader == ReplyHeader(xid: 2, zxid: Zxid(4), err: .ok))
        #expect(sent[2] == .close(owner))
        // Anything the client pipelined after closeSession is ignored.
        #expect(harness.send(owner, .exists(path: "/", watch: false)).isEmpty)
    }

    @Test func multiSucceedsAtomicallyWithOneZxid() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/m", "0")
        let (code, body) = harness.call(id, .multi([
            .create(CreateRequest(path: "/m/tx", data: [1], mode: .persistent)),
            .create2(CreateRequest(path: "/m/tx2", data: [1], mode: .persistent)),
            .setData(path: "/m", data: [9], version: 0), .check(path: "/m", version: 1), .delete(path: "/m/tx", version: -1),
        ]))
        #expect(code == .ok)
        guard case .multi(let results) = body else {
            Issue.record("no multi body")
            return
        }
        #expect(results.map(\.opCode) == [.create, .create2, .setData, .check, .delete])
        #expect(harness.core.tree.stat(at: "/m")?.mzxid == Zxid(3))
        #expect(harness.core.tree.stat(at: "/m/tx2")?.czxid == Zxid(3))
    }

    @Test func failedMultiAnswersOKInTheHeaderAndChangesNothing() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/m")
        let sent = harness.send(id, .multi([.create(CreateRequest(path: "/m/x", data: [], mode: .persistent)), .check(path: "/m", version: 99)]))
        guard case .reply(_, let header, let body) = sent.first else {
            Issue.record("no reply")
            return
        }
        #expect(header == ReplyHeader(xid: 2, zxid: Zxid(3), err: .ok))
        // Byte for byte what ZooKeeper 3.8.0 sent kazoo (zk_kazoo.frames #70, after the reply header).
        #expect(body == ZKFixtures.hexBytes("ffffffff000000000000000000ffffffff00ffffff99ffffff99ffffffff01ffffffff"))
        #expect(harness.core.tree.node(at: "/m/x") == nil)
    }

    @Test func unknownOpIsUnimplementedAndClosesLikeZooKeeper() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        var frame = ByteBuffer()
        RequestHeader(xid: 1, type: OpCode(rawValue: 55)).write(to: &frame)
        let sent = harness.core.receive(frame, from: id, at: harness.time).map(Sent.init)
        #expect(sent == [.reply(id, ReplyHeader(xid: 1, zxid: .none, err: .unimplemented), body: []), .close(id)])
    }

    @Test func knownButUnsupportedOpsAreRefusedWithoutClosing() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        #expect(harness.call(id, .addWatch(path: "/", mode: 0)).0 == .unimplemented)
        #expect(harness.call(id, .unsupported(.multiRead)).0 == .unimplemented)
        #expect(harness.call(id, .unsupported(.reconfig)).0 == .reconfigDisabled)
        #expect(harness.call(id, .createTTL(CreateRequest(path: "/t", data: [], mode: .persistentWithTTL, ttl: 10))).0 == .unimplemented)
        #expect(harness.call(id, .exists(path: "/", watch: false)).0 == .ok)
    }

    @Test func malformedBodyIsAMarshallingError() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        var frame = ByteBuffer()
        RequestHeader(xid: 1, type: .getData).write(to: &frame)
        frame.writeInteger(Int32(5))
        frame.writeString("/a")
        let sent = harness.core.receive(frame, from: id, at: harness.time).map(Sent.init)
        #expect(sent.first?.replyHeader?.err == .marshallingError)
        #expect(sent.count == 1, "the connection stays open")
        #expect(harness.core.receive(ByteBuffer(bytes: [0, 0]), from: id, at: harness.time).map(Sent.init) == [.close(id)])
    }

    @Test func digestAuthIsRecordedOtherSchemesFail() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        let ok = harness.send(id, xid: SpecialXid.auth, .auth(AuthPacket(scheme: "digest", auth: Array("user:pw".utf8))))
        #expect(ok == [.reply(id, ReplyHeader(xid: SpecialXid.auth, zxid: .zero, err: .ok), body: [])])
        #expect(harness.call(id, .whoAmI).1 == .whoAmI([ClientInfo(authScheme: "digest", user: "user"), ClientInfo(authScheme: "ip", user: "127.0.0.1")]))
        let failed = harness.send(id, xid: SpecialXid.auth, .auth(AuthPacket(scheme: "foo", auth: [])))
        #expect(failed == [.reply(id, ReplyHeader(xid: SpecialXid.auth, zxid: .zero, err: .authFailed), body: []), .close(id)])
    }

    @Test func setWatchesFiresForChangesAfterTheClientsZxid() {
        let harness = CoreHarness()
        let (writer, _) = harness.newSession()
        _ = harness.create(writer, "/same")
        let seen = harness.core.lastZxid
        _ = harness.create(writer, "/changed")
        _ = harness.send(writer, .setData(path: "/changed", data: [1], version: -1))
        _ = harness.create(writer, "/parent")
        _ = harness.create(writer, "/parent/kid")
        let (client, _) = harness.newSession()
        let sent = harness.send(client, xid: SpecialXid.setWatches, .setWatches(SetWatches(
            relativeZxid: seen, dataWatches: ["/same", "/changed", "/gone"], existWatches: ["/same", "/absent"],
            childWatches: ["/parent", "/"])))
        #expect(sent == [
            .event(client, WatcherEvent(type: .nodeDataChanged, path: "/changed")),
            .event(client, WatcherEvent(type: .nodeDeleted, path: "/gone")),
            .event(client, WatcherEvent(type: .nodeCreated, path: "/same")),
            .event(client, WatcherEvent(type: .nodeChildrenChanged, path: "/parent")),
            .event(client, WatcherEvent(type: .nodeChildrenChanged, path: "/")),
            .reply(client, ReplyHeader(xid: SpecialXid.setWatches, zxid: harness.core.lastZxid), body: []),
        ])
        // "/same" (data) and "/absent" (exists) are now registered.
        #expect(harness.send(writer, .setData(path: "/same", data: [], version: -1)).first == .event(client, WatcherEvent(type: .nodeDataChanged, path: "/same")))
        #expect(harness.send(writer, .create(CreateRequest(path: "/absent", data: [], mode: .persistent))).first
            == .event(client, WatcherEvent(type: .nodeCreated, path: "/absent")))
    }

    @Test func removeAndCheckWatches() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        #expect(harness.call(id, .checkWatches(path: "/", type: 3)).0 == .noWatcher)
        _ = harness.send(id, .getChildren(path: "/", watch: true))
        #expect(harness.call(id, .checkWatches(path: "/", type: 2)).0 == .noWatcher)
        #expect(harness.call(id, .checkWatches(path: "/", type: 1)).0 == .ok)
        #expect(harness.call(id, .removeWatches(path: "/", type: 3)).0 == .ok)
        #expect(harness.call(id, .removeWatches(path: "/", type: 1)).0 == .noWatcher)
    }

    @Test func ephemeralsAndChildCountsAndACLs() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        _ = harness.create(id, "/x", mode: .ephemeral)
        _ = harness.create(id, "/y")
        #expect(harness.call(id, .getEphemerals(prefix: "/")).1 == .paths(["/x"]))
        #expect(harness.call(id, .getEphemerals(prefix: "/y")).1 == .paths([]))
        #expect(harness.call(id, .getAllChildrenNumber(path: "/")).1 == .count(5))
        guard case .acl(let acl, _) = harness.call(id, .getACL(path: "/zookeeper/config")).1 else {
            Issue.record("no ACL")
            return
        }
        #expect(acl == ACL.readUnsafe)
        #expect(harness.call(id, .setACL(path: "/y", acl: [ACL(perms: .read, id: ZooKeeperID(scheme: "ip", id: "10.0.0.256"))], version: -1)).0 == .invalidACL)
        #expect(harness.call(id, .setACL(path: "/y", acl: [ACL(perms: .read, id: ZooKeeperID(scheme: "ip", id: "10.0.0.1"))], version: -1)).0 == .ok)
        #expect(harness.call(id, .getData(path: "/y", watch: false)).0 == .noAuth, "127.0.0.1 is not 10.0.0.1")
    }

    @Test func emptyContainersAreDeleted() {
        let harness = CoreHarness()
        let (id, _) = harness.newSession()
        #expect(harness.call(id, .createContainer(CreateRequest(path: "/c", data: [], mode: .container))).0 == .ok)
        _ = harness.create(id, "/c/child")
        #expect(harness.core.deleteEmptyContainers(at: harness.time).isEmpty)
        _ = harness.send(id, .exists(path: "/c", watch: true))
        _ = harness.send(id, .delete(path: "/c/child", version: -1))
        let sent = harness.core.deleteEmptyContainers(at: harness.time).map(Sent.init)
        #expect(sent == [.event(id, WatcherEvent(type: .nodeDeleted, path: "/c"))])
        #expect(harness.core.tree.node(at: "/c") == nil)
    }
}
