import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: write requests become the transactions ZooKeeper's PrepRequestProcessor would make — same error for the
/// same problem (checks in ZooKeeper's order), versions and sequence numbers decided up front, multi all or nothing.
/// Method: call the stage on states built for each case.
struct PrepStageTests {
    let prep = PrepStage()
    let session = SessionID(0x77)

    func state(_ paths: [String] = [], ephemeral: [String] = []) -> CoordinatorState {
        var state = CoordinatorState()
        var zxid: Int64 = 0
        for path in paths + ephemeral {
            zxid += 1
            let parent = ZNodePath.parent(of: path)!
            let owner = ephemeral.contains(path) ? session : .none
            _ = try! state.apply(
                TxnHeader(sessionID: session, cxid: 0, zxid: Zxid(zxid), time: 0),
                .create(path: path, data: nil, acl: ACL.openUnsafe, ephemeralOwner: owner,
                        parentCVersion: state.tree.node(at: parent)!.childCreations + 1))
        }
        return state
    }

    func create(_ path: String, mode: CreateMode = .persistent, acl: [ACL] = ACL.openUnsafe) -> ZooKeeperRequest {
        .create(CreateRequest(path: path, data: [], acl: acl, mode: mode))
    }

    @Test func createErrorsInZooKeeperOrder() {
        let s = state(["/a"], ephemeral: ["/e"])
        #expect(prep.prepare(create("a"), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(create("/x/y"), session: session, state: s) == .error(.noNode))
        #expect(prep.prepare(create("/a/"), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(create("/nope/"), session: session, state: s) == .error(.noNode))
        #expect(prep.prepare(create("/a"), session: session, state: s) == .error(.nodeExists))
        #expect(prep.prepare(create("/"), session: session, state: s) == .error(.nodeExists))
        #expect(prep.prepare(create("/e/c"), session: session, state: s) == .error(.noChildrenForEphemerals))
        #expect(prep.prepare(create("/b", acl: []), session: session, state: s) == .error(.invalidACL))
        let digest = [ACL(perms: .all, id: ZooKeeperID(scheme: "digest", id: "u-without-hash"))]
        #expect(prep.prepare(create("/b", acl: digest), session: session, state: s) == .error(.invalidACL))
        #expect(prep.prepare(.create(CreateRequest(path: "/b", data: [], acl: ACL.openUnsafe, flags: 9)), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(create("/b", mode: .persistentWithTTL), session: session, state: s) == .error(.unimplemented))
        #expect(prep.prepare(.createTTL(CreateRequest(path: "/b", data: [], mode: .persistentWithTTL, ttl: 5)), session: session, state: s) == .error(.unimplemented))
        #expect(prep.prepare(create("/b", mode: .container), session: session, state: s) == .error(.badArguments))
    }

    @Test func sequentialNamesComeFromTheParentsCreationCount() {
        let s = state(["/q", "/q/a", "/q/b"])
        #expect(prep.prepare(create("/q/s-", mode: .persistentSequential), session: session, state: s)
            == .create(path: "/q/s-0000000002", data: [], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 3))
        #expect(prep.prepare(create("/q/e-", mode: .ephemeralSequential), session: session, state: s)
            == .create(path: "/q/e-0000000002", data: [], acl: ACL.openUnsafe, ephemeralOwner: session, parentCVersion: 3))
        #expect(prep.prepare(create("/s-", mode: .persistentSequential), session: session, state: s)
            == .create(path: "/s-0000000001", data: [], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 2))
    }

    @Test func versionsAreCheckedAndIncremented() {
        let s = state(["/v"])
        #expect(prep.prepare(.setData(path: "/v", data: [1], version: -1), session: session, state: s) == .setData(path: "/v", data: [1], version: 1))
        #expect(prep.prepare(.setData(path: "/v", data: [1], version: 0), session: session, state: s) == .setData(path: "/v", data: [1], version: 1))
        #expect(prep.prepare(.setData(path: "/v", data: [1], version: 3), session: session, state: s) == .error(.badVersion))
        #expect(prep.prepare(.setData(path: "/none", data: [1], version: -1), session: session, state: s) == .error(.noNode))
        #expect(prep.prepare(.setACL(path: "/v", acl: ACL.readUnsafe, version: 0), session: session, state: s) == .setACL(path: "/v", acl: ACL.readUnsafe, aversion: 1))
        #expect(prep.prepare(.delete(path: "/v", version: 4), session: session, state: s) == .error(.badVersion))
        #expect(prep.prepare(.delete(path: "/v", version: 0), session: session, state: s) == .delete(path: "/v"))
    }

    @Test func deleteRules() {
        let s = state(["/p", "/p/c"])
        #expect(prep.prepare(.delete(path: "/p", version: -1), session: session, state: s) == .error(.notEmpty))
        #expect(prep.prepare(.delete(path: "/", version: -1), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(.delete(path: "/zookeeper/quota", version: -1), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(.delete(path: "p", version: -1), session: session, state: s) == .error(.badArguments))
        #expect(prep.prepare(.delete(path: "/x/y", version: -1), session: session, state: s) == .error(.noNode))
    }

    @Test func worldACLPermissionsAreEnforced() {
        var s = state(["/ro"])
        _ = try! s.apply(TxnHeader(sessionID: session, cxid: 0, zxid: Zxid(10), time: 0), .setACL(path: "/ro", acl: ACL.readUnsafe, aversion: 1))
        #expect(prep.prepare(.setData(path: "/ro", data: [], version: -1), session: session, state: s) == .error(.noAuth))
        #expect(prep.prepare(create("/ro/c"), session: session, state: s) == .error(.noAuth))
        #expect(prep.prepare(.setData(path: "/zookeeper/config", data: [], version: -1), session: session, state: s) == .error(.noAuth))
    }

    @Test func multiSeesItsOwnEarlierOperations() {
        let s = state(["/m"])
        let txn = prep.prepare(.multi([
            create("/m/a"), .setData(path: "/m/a", data: [1], version: 0), create("/m/s-", mode: .persistentSequential),
            create("/m/s-", mode: .persistentSequential), .delete(path: "/m/a", version: 1), .check(path: "/m", version: 0),
        ]), session: session, state: s)
        #expect(txn == .multi([
            .create(path: "/m/a", data: [], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 1),
            .setData(path: "/m/a", data: [1], version: 1),
            .create(path: "/m/s-0000000001", data: [], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 2),
            .create(path: "/m/s-0000000002", data: [], acl: ACL.openUnsafe, ephemeralOwner: .none, parentCVersion: 3),
            .delete(path: "/m/a"), .check(path: "/m"),
        ]))
        #expect(s.tree.node(at: "/m/a") == nil, "preparing changes nothing")
    }

    /// The shape ZooKeeper 3.8.0 answered kazoo with: OK before the failing op, its error, RuntimeInconsistency after.
    @Test func failedMultiIsAllErrors() {
        let s = state(["/m"])
        #expect(prep.prepare(.multi([create("/m/x"), .check(path: "/m", version: 99), .delete(path: "/m", version: -1)]), session: session, state: s)
            == .multi([.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)]))
        #expect(prep.prepare(.multi([create("/m/x"), .delete(path: "/m", version: -1)]), session: session, state: s)
            == .multi([.error(.ok), .error(.notEmpty)]))
        #expect(prep.prepare(.multi([]), session: session, state: s) == .multi([]))
    }
}
