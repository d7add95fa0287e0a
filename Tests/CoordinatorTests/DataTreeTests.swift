import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the tree behaves like ZooKeeper's DataTree, including its quirks clients can see (the initial stats of the
/// built-in nodes, cversion counting, sequence numbers). Method: call it directly with chosen zxids and times, as
/// ZooKeeper's DataTreeTest does; no clock, no sockets.
struct DataTreeTests {
    @Test func startsLikeZooKeeper() {
        let tree = DataTree()
        #expect(tree.stat(at: "/") == Stat(cversion: -1, numChildren: 1))
        #expect(tree.stat(at: "/zookeeper") == Stat(cversion: -2, numChildren: 2))
        #expect(tree.stat(at: "/zookeeper/config") == Stat(aversion: -1))
        #expect(tree.node(at: "/zookeeper/config")?.acl == ACL.readUnsafe)
        #expect(tree.stat(at: "/zookeeper/quota") == Stat())
        #expect(tree.nodeCount == 4)
        #expect(tree.approximateDataSize == 44)
    }

    @Test func createSetsStatsAndParent() throws {
        var tree = DataTree()
        let triggers = try tree.createNode(path: "/a", data: [1, 2], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(5), time: 100)
        #expect(triggers == [.created("/a")])
        #expect(tree.stat(at: "/a") == Stat(czxid: Zxid(5), mzxid: Zxid(5), ctime: 100, mtime: 100, dataLength: 2, pzxid: Zxid(5)))
        // Root: one creation counted, two children: cversion 1·2 − 2 = 0, as ZooKeeper shows after the first create.
        #expect(tree.stat(at: "/")?.cversion == 0)
        #expect(tree.stat(at: "/")?.pzxid == Zxid(5))
        #expect(throws: KeeperError(.nodeExists)) {
            try tree.createNode(path: "/a", data: nil, acl: [], ephemeralOwner: .none, parentCVersion: 2, zxid: Zxid(6), time: 0)
        }
        #expect(throws: KeeperError(.noNode)) {
            try tree.createNode(path: "/x/y", data: nil, acl: [], ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(6), time: 0)
        }
    }

    @Test func cversionCountsCreationsAndDeletions() throws {
        var tree = DataTree()
        _ = try tree.createNode(path: "/b", data: nil, acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(1), time: 0)
        _ = try tree.createNode(path: "/b/x", data: nil, acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(2), time: 0)
        #expect(tree.stat(at: "/b")?.cversion == 1)
        #expect(try tree.deleteNode(path: "/b/x", zxid: Zxid(3)) == [.deleted("/b/x")])
        #expect(tree.stat(at: "/b")?.cversion == 2)
        #expect(tree.stat(at: "/b")?.pzxid == Zxid(3))
        // Deletions do not move the counter sequential names come from.
        #expect(tree.node(at: "/b")?.childCreations == 1)
    }

    @Test func deleteRefusesNonEmptyAndMissing() throws {
        var tree = DataTree()
        #expect(throws: KeeperError(.notEmpty)) { try tree.deleteNode(path: "/zookeeper", zxid: Zxid(1)) }
        #expect(throws: KeeperError(.noNode)) { try tree.deleteNode(path: "/nope", zxid: Zxid(1)) }
        #expect(throws: KeeperError(.badArguments)) { try tree.deleteNode(path: "/", zxid: Zxid(1)) }
    }

    @Test func ephemeralsAreTrackedAndKilledWithTheirSession() throws {
        var tree = DataTree()
        let owner = SessionID(0x42)
        _ = try tree.createNode(path: "/e2", data: nil, acl: ACL.openUnsafe, ephemeralOwner: owner, parentCVersion: 1, zxid: Zxid(1), time: 0)
        _ = try tree.createNode(path: "/e1", data: nil, acl: ACL.openUnsafe, ephemeralOwner: owner, parentCVersion: 2, zxid: Zxid(2), time: 0)
        #expect(tree.stat(at: "/e1")?.ephemeralOwner == owner)
        #expect(throws: KeeperError(.noChildrenForEphemerals)) {
            try tree.createNode(path: "/e1/c", data: nil, acl: [], ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(3), time: 0)
        }
        #expect(tree.ephemeralCount == 2)
        #expect(tree.killSession(owner, zxid: Zxid(4)) == [.deleted("/e1"), .deleted("/e2")])
        #expect(tree.ephemeralCount == 0)
        #expect(tree.node(at: "/e1") == nil)
        #expect(tree.killSession(owner, zxid: Zxid(5)).isEmpty)
    }

    @Test func setDataAndACL() throws {
        var tree = DataTree()
        _ = try tree.createNode(path: "/d", data: [1], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(1), time: 10)
        let (stat, triggers) = try tree.setData(path: "/d", data: [1, 2, 3], version: 1, zxid: Zxid(2), time: 20)
        #expect(triggers == [.dataChanged("/d")])
        #expect(stat.version == 1 && stat.mzxid == Zxid(2) && stat.mtime == 20 && stat.dataLength == 3 && stat.ctime == 10)
        #expect(tree.approximateDataSize == 44 + 2 + 3)
        #expect(try tree.setACL(path: "/d", acl: ACL.readUnsafe, aversion: 1).aversion == 1)
        #expect(throws: KeeperError(.noNode)) { try tree.setData(path: "/zz", data: nil, version: 1, zxid: Zxid(3), time: 0) }
    }

    @Test func containersAreReportedOnceEmptied() throws {
        var tree = DataTree()
        _ = try tree.createNode(path: "/c", data: nil, acl: ACL.openUnsafe, ephemeralOwner: DataNode.containerOwner, parentCVersion: 1, zxid: Zxid(1), time: 0)
        #expect(tree.stat(at: "/c")?.ephemeralOwner == SessionID.none)
        #expect(tree.emptyContainers.isEmpty)  // never had a child
        _ = try tree.createNode(path: "/c/x", data: nil, acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(2), time: 0)
        #expect(tree.emptyContainers.isEmpty)
        _ = try tree.deleteNode(path: "/c/x", zxid: Zxid(3))
        #expect(tree.emptyContainers == ["/c"])
    }

    @Test func descendantCount() throws {
        var tree = DataTree()
        _ = try tree.createNode(path: "/a", data: nil, acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(1), time: 0)
        _ = try tree.createNode(path: "/a/b", data: nil, acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1, zxid: Zxid(2), time: 0)
        #expect(tree.descendantCount(of: "/") == 5)  // zookeeper, quota, config, a, a/b
        #expect(tree.descendantCount(of: "/a") == 1)
    }

    @Test func pathRules() {
        for valid in ["/", "/a", "/a/b", "/a.b", "/a/..b", "/zookeeper", "/ünïcode"] { #expect(ZNodePath.isValid(valid), "\(valid)") }
        for invalid in ["", "a", "/a/", "//a", "/a//b", "/.", "/a/./b", "/a/..", "/a\u{0}b", "/a\u{1}", "/\u{1F600}", "/\u{E000}"] {
            #expect(!ZNodePath.isValid(invalid), "\(invalid.debugDescription)")
        }
        #expect(ZNodePath.parent(of: "/a/b") == "/a")
        #expect(ZNodePath.parent(of: "/a") == "/")
        #expect(ZNodePath.parent(of: "/") == nil)
        #expect(ZNodePath.name(of: "/a/b") == "b")
    }

    @Test func sequenceSuffixIsJavaPercent010d() {
        #expect(ZNodePath.sequenceSuffix(0) == "0000000000")
        #expect(ZNodePath.sequenceSuffix(42) == "0000000042")
        #expect(ZNodePath.sequenceSuffix(Int32.max) == "2147483647")
        #expect(ZNodePath.sequenceSuffix(-1) == "-000000001")
    }
}
