import ZooKeeperProtocol

/// The last stage of the request pipeline (ZooKeeper's `FinalRequestProcessor`): applies a logged transaction to
/// the state, fires the watches it triggers and builds the reply; answers reads from the state directly.
///
/// Pure: it works on the state and watch tables it is handed and returns what to send. Events come back in firing
/// order and, by contract with the caller, go out before the reply of the write that fired them.
public struct ApplyStage: Sendable {
    public init() {}

    /// The result of a request: the reply's error code and body (nil when the code is not OK) and the watch events
    /// it fired, in order.
    public struct Result: Sendable {
        public var err: KeeperErrorCode
        public var body: ZooKeeperResponse?
        public var events: [(ConnectionID, WatcherEvent)]

        public init(err: KeeperErrorCode = .ok, body: ZooKeeperResponse?, events: [(ConnectionID, WatcherEvent)] = []) {
            self.err = err
            self.body = body
            self.events = events
        }

        static func failure(_ code: KeeperErrorCode) -> Result { Result(err: code, body: nil) }
    }

    /// Applies a logged transaction. `request` is the client request it came from (nil for server-initiated ones:
    /// session expiry, container deletion); it decides the reply's shape (create vs. create2).
    public func apply(
        _ record: TxnRecord, request: ZooKeeperRequest?, state: inout CoordinatorState, watches: inout WatchManager
    ) -> Result {
        let outcome: CoordinatorState.Outcome
        let triggers: [WatchTrigger]
        do {
            (outcome, triggers) = try state.apply(record.header, record.txn)
        } catch {
            preconditionFailure("prepared transaction \(record.txn) at \(record.header.zxid) did not apply: \(error)")
        }
        var events: [(ConnectionID, WatcherEvent)] = []
        for trigger in triggers { events += watches.fire(trigger) }
        if case .failed(let code) = outcome { return Result(err: code, body: nil, events: events) }
        return Result(body: request.map { reply(to: $0, outcome: outcome) } ?? .empty, events: events)
    }

    private func reply(to request: ZooKeeperRequest, outcome: CoordinatorState.Outcome) -> ZooKeeperResponse {
        switch (request, outcome) {
        case (.create, .created(let path, _)):
            return .path(path)
        case (.create2, .created(let path, let stat)), (.createContainer, .created(let path, let stat)):
            return .pathAndStat(path, stat)
        case (_, .dataSet(let stat)), (_, .aclSet(let stat)):
            return .stat(stat)
        case (.multi(let ops), .multi(let outcomes)):
            return .multi(zip(ops, outcomes).map { op, outcome in multiResult(op, outcome) })
        default:
            return .empty
        }
    }

    private func multiResult(_ op: ZooKeeperRequest, _ outcome: CoordinatorState.Outcome) -> MultiResult {
        switch outcome {
        case .created(let path, let stat):
            return op.opCode == .create ? .create(path: path) : .create2(op: op.opCode, path: path, stat: stat)
        case .deleted: return .delete
        case .dataSet(let stat): return .setData(stat)
        case .checked: return .check
        case .failed(let code): return .error(code)
        default: preconditionFailure("\(outcome) inside a multi")
        }
    }

    /// Answers a read (or a request that changes only this connection's watches) from the current state. READ is
    /// checked as ZooKeeper's `FinalRequestProcessor` does (getData, getChildren, getChildren2, getAllChildrenNumber;
    /// not exists), and READ or ADMIN for getACL.
    public func read(
        _ request: ZooKeeperRequest, connection: ConnectionID, session: SessionID, identities: [ClientInfo],
        state: CoordinatorState, watches: inout WatchManager, access: AccessContext = .anonymous
    ) -> Result {
        let tree = state.tree
        switch request {
        case .exists(let path, let watch):
            guard !path.utf8.contains(0) else { return .failure(.badArguments) }
            if watch { watches.addDataWatch(path, for: connection) }
            guard let stat = tree.stat(at: path) else { return .failure(.noNode) }
            return Result(body: .stat(stat))
        case .getData(let path, let watch):
            guard let node = tree.node(at: path) else { return .failure(.noNode) }
            guard access.permits(node.acl, .read) else { return .failure(.noAuth) }
            if watch { watches.addDataWatch(path, for: connection) }
            return Result(body: .data(node.data, node.stat))
        case .getChildren(let path, let watch), .getChildren2(let path, let watch):
            guard let node = tree.node(at: path) else { return .failure(.noNode) }
            guard access.permits(node.acl, .read) else { return .failure(.noAuth) }
            if watch { watches.addChildWatch(path, for: connection) }
            let names = node.children.sorted()
            if case .getChildren = request { return Result(body: .children(names)) }
            return Result(body: .childrenAndStat(names, node.stat))
        case .getACL(let path):
            guard let node = tree.node(at: path) else { return .failure(.noNode) }
            guard access.permits(node.acl, [.read, .admin]) else { return .failure(.noAuth) }
            return Result(body: .acl(access.visible(node.acl), node.stat))
        case .sync(let path):
            return Result(body: .path(path))
        case .ping:
            return Result(body: .empty)
        case .getEphemerals(let prefix):
            let mine = tree.ephemerals[session] ?? []
            let matching = prefix == ZNodePath.root ? Array(mine) : mine.filter { $0.hasPrefix(prefix) }
            return Result(body: .paths(matching.sorted()))
        case .getAllChildrenNumber(let path):
            guard let node = tree.node(at: path) else { return .failure(.noNode) }
            guard access.permits(node.acl, .read) else { return .failure(.noAuth) }
            return Result(body: .count(Int32(clamping: tree.descendantCount(of: path))))
        case .whoAmI:
            return Result(body: .whoAmI(identities))
        case .checkWatches(let path, let type), .removeWatches(let path, let type):
            guard let kind = WatchManager.Kind(rawValue: type) else { return .failure(.badArguments) }
            let found: Bool
            if case .removeWatches = request {
                found = watches.remove(path, kind: kind, for: connection)
            } else {
                found = watches.contains(path, kind: kind, for: connection)
            }
            return found ? Result(body: .empty) : .failure(.noWatcher)
        case .setWatches(let set), .setWatches2(let set):
            return Result(body: .empty, events: setWatches(set, connection: connection, tree: tree, watches: &watches))
        default:
            return .failure(.unimplemented)
        }
    }

    /// Re-registers a reconnected client's watches, firing at once those whose node changed after the zxid the client
    /// last saw (ZooKeeper's `DataTree.setWatches`). Persistent watches (SetWatches2) are not supported and ignored.
    private func setWatches(
        _ set: SetWatches, connection: ConnectionID, tree: DataTree, watches: inout WatchManager
    ) -> [(ConnectionID, WatcherEvent)] {
        var events: [(ConnectionID, WatcherEvent)] = []
        for path in set.dataWatches {
            if let node = tree.node(at: path) {
                if node.mzxid > set.relativeZxid {
                    events.append((connection, WatcherEvent(type: .nodeDataChanged, path: path)))
                } else {
                    watches.addDataWatch(path, for: connection)
                }
            } else {
                events.append((connection, WatcherEvent(type: .nodeDeleted, path: path)))
            }
        }
        for path in set.existWatches {
            if tree.node(at: path) != nil {
                events.append((connection, WatcherEvent(type: .nodeCreated, path: path)))
            } else {
                watches.addDataWatch(path, for: connection)
            }
        }
        for path in set.childWatches {
            if let node = tree.node(at: path) {
                if node.pzxid > set.relativeZxid {
                    events.append((connection, WatcherEvent(type: .nodeChildrenChanged, path: path)))
                } else {
                    watches.addChildWatch(path, for: connection)
                }
            } else {
                events.append((connection, WatcherEvent(type: .nodeDeleted, path: path)))
            }
        }
        return events
    }
}
