import Coordinator
import Framing
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ZooKeeperProtocol

/// A small asynchronous ZooKeeper client (for Apache ZooKeeper and `ledgerstream zookeeper` alike), in the manner of
/// the Java client: one session over one connection at a time, pings to keep it alive, reconnection (to any server of
/// the connect string) within the session timeout, watches delivered as ``Event``s.
///
/// Operations issued while disconnected wait for the connection to come back (up to the session timeout); those in
/// flight when it drops fail with ``ZooKeeperClientError/connectionLoss(_:)``. Once the server reports the session
/// expired, the client is finished: ``events`` yields ``Event/expired`` and every operation throws
/// ``ZooKeeperClientError/sessionExpired``; make a new client (and recreate ephemeral nodes).
///
/// ```swift
/// let zk = try await ZooKeeperClient.connect(to: "127.0.0.1:2181/kafka", sessionTimeoutMs: 18_000)
/// try await zk.create("/brokers/ids/1", data: Array(json.utf8), mode: .ephemeral)
/// await zk.close()
/// ```
public actor ZooKeeperClient {
    /// Connection state changes and watch notifications, in the order they happened.
    public enum Event: Sendable, Equatable {
        /// Connected (first time, or again after a disconnection with the session still alive).
        case connected
        /// The connection dropped; the client is reconnecting and the session may still be alive.
        case disconnected
        /// The server reported the session expired; the client is finished.
        case expired
        /// ``close()`` was called.
        case closed
        /// A watch fired (one-shot).
        case watch(type: EventType, path: String)
    }

    public nonisolated let connectString: ConnectString
    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    private let requestedTimeoutMs: Int32
    private let group: any EventLoopGroup
    private let logger: Logger
    public private(set) var sessionID: SessionID = .none
    public private(set) var sessionPassword: [UInt8] = [UInt8](repeating: 0, count: 16)
    /// The timeout the server granted (it clamps the requested one to its limits).
    public private(set) var negotiatedTimeoutMs: Int32 = 0
    private var lastZxid: Zxid = .zero
    private var nextXid: Int32 = 0
    private var channel: (any Channel)?
    private var state: State = .connecting
    private var supervisor: Task<Void, Never>?
    private var nextServer = 0
    /// Set by ``close()`` just before it sends closeSession, so the server closing the socket afterwards is not taken
    /// for a failure to recover from.
    private var closeSessionSent = false
    /// Presented after every (re)connection, before any other request, as the Java client re-sends its auth info.
    private var credentials: [ZooKeeperCredentials]
    private let tls: ZooKeeperClientTLS?

    private enum State: Equatable {
        /// `authenticating`: connected, credentials being presented; other requests wait.
        case connecting, authenticating, connected, expired, closed
    }

    private init(
        connectString: ConnectString, timeoutMs: Int32, group: any EventLoopGroup, credentials: [ZooKeeperCredentials],
        tls: ZooKeeperClientTLS?, logger: Logger
    ) {
        self.connectString = connectString
        requestedTimeoutMs = timeoutMs
        self.group = group
        self.credentials = credentials
        self.tls = tls
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    /// Connects, establishes a session (or resumes `session`), and keeps it alive in the background.
    /// - Parameters:
    ///   - connectString: `host:port[,host:port…][/chroot]`; every path of this client is relative to the chroot.
    ///   - sessionTimeoutMs: requested; the server clamps it (``negotiatedTimeoutMs``).
    ///   - connectTimeoutMs: how long to keep trying the servers before giving up (default: the session timeout).
    ///   - session: an existing session's id and password to resume (as the Java client's constructor allows).
    ///   - credentials: presented after every connection (digest auth packets, a SASL DIGEST-MD5 login); a refusal
    ///     fails `connect` with ``ZooKeeperClientError/authFailed(_:)``.
    ///   - tls: connect with TLS (a ZooKeeper `secureClientPort`).
    public static func connect(
        to connectString: String, sessionTimeoutMs: Int32 = 30_000, connectTimeoutMs: Int32? = nil,
        session: (id: SessionID, password: [UInt8])? = nil, group: (any EventLoopGroup)? = nil,
        credentials: [ZooKeeperCredentials] = [], tls: ZooKeeperClientTLS? = nil,
        logger: Logger = Logger(label: "ledgerstream.zookeeper-client")
    ) async throws(ZooKeeperClientError) -> ZooKeeperClient {
        let parsed = try ConnectString(parsing: connectString)
        let client = ZooKeeperClient(
            connectString: parsed, timeoutMs: sessionTimeoutMs, group: group ?? MultiThreadedEventLoopGroup.singleton,
            credentials: credentials, tls: tls, logger: logger)
        try await client.start(session: session, deadlineMs: connectTimeoutMs ?? sessionTimeoutMs)
        return client
    }

    private func start(session: (id: SessionID, password: [UInt8])?, deadlineMs: Int32) async throws(ZooKeeperClientError) {
        if let session {
            sessionID = session.id
            sessionPassword = session.password
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(deadlineMs))
        var lastError = "no attempt"
        while ContinuousClock.now < deadline {
            do {
                try await connectOnce()
                supervisor = Task { await self.supervise() }
                return
            } catch .sessionExpired {
                finish(.expired)
                throw .sessionExpired
            } catch .authFailed(let why) {
                finish(.closed)
                throw .authFailed(why)
            } catch .connectionLoss(let why) {
                lastError = why
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                lastError = "\(error)"
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        finish(.closed)
        throw .unreachable(servers: connectString.serversDescription, reason: lastError)
    }

    // MARK: - Connection management

    /// One attempt on the next server: TCP connect, ConnectRequest, ConnectResponse.
    private func connectOnce() async throws(ZooKeeperClientError) {
        let server = connectString.servers[nextServer % connectString.servers.count]
        nextServer += 1
        let timeout = negotiatedTimeoutMs > 0 ? negotiatedTimeoutMs : requestedTimeoutMs
        let loop = group.next()
        let handshake = loop.makePromise(of: ConnectResponse.self)
        let sink = eventSink
        let chroot = connectString
        let request = ConnectRequest(
            lastZxidSeen: lastZxid, timeOut: requestedTimeoutMs, sessionId: sessionID, passwd: sessionPassword, readOnly: false)
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try tls.map { (tls) throws(ZooKeeperTLSError) in try ZooKeeperPEM.clientContext(tls) }
        } catch {
            throw .invalidArgument("\(error)")
        }
        // SNI takes host names only; an IP address is verified against the certificate's IP SANs.
        let sniHost = server.host.contains(where: \.isLetter) && !server.host.contains(":") ? server.host : nil
        let newChannel: any Channel
        do {
            newChannel = try await ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(Int64(max(1000, timeout / 3))))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tlsContext {
                            try sync.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: sniHost))
                        }
                        try sync.addHandler(IdleStateHandler(
                            readTimeout: .milliseconds(Int64(timeout) * 2 / 3), writeTimeout: .milliseconds(Int64(timeout) / 3)))
                        try sync.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameBytes: Int(Int32.max))))
                        try sync.addHandler(ZooKeeperClientHandler(
                            connect: request, handshake: handshake,
                            onEvent: { event in
                                sink.yield(.watch(type: event.type, path: chroot.clientPath(event.path)))
                            }))
                    }
                }
                .connect(host: server.host, port: server.port).get()
        } catch {
            handshake.fail(ZooKeeperClientError.connectionLoss("\(error)"))
            throw .connectionLoss(ConnectFailure.describe(error))
        }
        let response: ConnectResponse
        do {
            response = try await handshake.futureResult.get()
        } catch {
            newChannel.close(promise: nil)
            throw .connectionLoss("handshake with \(server.host):\(server.port) failed: \(error)")
        }
        if response.isExpired {
            newChannel.close(promise: nil)
            throw .sessionExpired
        }
        sessionID = response.sessionId
        sessionPassword = response.passwd
        negotiatedTimeoutMs = response.timeOut
        channel = newChannel
        state = .authenticating
        do {
            try await authenticate(on: newChannel)
        } catch {
            newChannel.close(promise: nil)
            channel = nil
            state = .connecting
            throw error
        }
        state = .connected
        eventSink.yield(.connected)
        logger.debug("connected", metadata: ["server": "\(server.host):\(server.port)", "session": "\(sessionID)"])
    }

    /// Waits for the connection to drop, then reconnects until it works, the session expires or the client closes.
    private func supervise() async {
        while state == .connected, let channel {
            try? await channel.closeFuture.get()
            guard state == .connected, !closeSessionSent else { return }
            self.channel = nil
            state = .connecting
            eventSink.yield(.disconnected)
            logger.debug("disconnected; reconnecting", metadata: ["session": "\(sessionID)"])
            // Like the Java client, wait a little (randomly) before reconnecting, so that clients cut off together do
            // not all come back at once, and a client that took over this session (to close it) gets to finish.
            let timeout = Int(max(negotiatedTimeoutMs, 200))
            try? await Task.sleep(for: .milliseconds(Int.random(in: min(1000, timeout / 20)...min(1000, timeout / 10))))
            var delay = 50
            while state == .connecting {
                do {
                    try await connectOnce()
                } catch .sessionExpired {
                    finish(.expired)
                    return
                } catch .authFailed(let why) {
                    logger.error("ZooKeeper refused the credentials on reconnection; giving up the session", metadata: ["reason": "\(why)"])
                    finish(.closed)
                    return
                } catch {
                    try? await Task.sleep(for: .milliseconds(delay))
                    delay = min(delay * 2, 1000)
                }
            }
        }
    }

    private func finish(_ final: State) {
        guard state != .closed && state != .expired else { return }
        state = final
        channel?.close(promise: nil)
        channel = nil
        eventSink.yield(final == .expired ? .expired : .closed)
        eventSink.finish()
    }

    /// Closes the session (the server deletes its ephemeral nodes at once) and the connection. If the client is
    /// reconnecting at that moment, it waits for the connection (up to 2 s) so the session is closed rather than
    /// left to expire.
    public func close() async {
        guard state != .closed && state != .expired else { return }
        if (try? await connectedChannel(withinMs: 2000)) != nil {
            closeSessionSent = true
            _ = try? await send(.closeSession, path: "", timeoutMs: 2000)
        }
        supervisor?.cancel()
        finish(.closed)
    }

    /// Drops the connection without closing the session, as a crashed process would (tests: the session then
    /// expires on the server). The client stops reconnecting.
    func abandon() {
        supervisor?.cancel()
        state = .closed
        channel?.close(promise: nil)
        channel = nil
        eventSink.finish()
    }

    public var isConnected: Bool { state == .connected }

    // MARK: - Requests

    /// Sends a request and returns the reply body (nil for an error-free reply without one).
    private func send(_ request: ZooKeeperRequest, path: String, timeoutMs: Int32? = nil) async throws(ZooKeeperClientError) -> ZooKeeperResponse {
        let channel = try await connectedChannel()
        return try await exchange(request, on: channel, path: path, timeoutMs: timeoutMs)
    }

    /// Sends a request on `channel` (with the next xid, or `xid`) and returns the reply body.
    private func exchange(
        _ request: ZooKeeperRequest, xid fixedXid: Int32? = nil, on channel: any Channel, path: String, timeoutMs: Int32? = nil
    ) async throws(ZooKeeperClientError) -> ZooKeeperResponse {
        let xid: Int32
        if let fixedXid {
            xid = fixedXid
        } else {
            nextXid = nextXid == Int32.max ? 1 : nextXid + 1
            xid = nextXid
        }
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let timeout = TimeAmount.milliseconds(Int64(timeoutMs ?? max(negotiatedTimeoutMs, 1000)))
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(ZooKeeperClientError.connectionLoss("no reply to \(request.opCode) within \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        // A write to a channel that closed meanwhile never reaches the handler: fail the request then too.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in promise.fail(ZooKeeperClientError.connectionLoss("\(error)")) }
        channel.writeAndFlush(ClientPacket(xid: xid, frame: request.frame(xid: xid), promise: promise), promise: written)
        let frame: ByteBuffer
        do {
            frame = try await promise.futureResult.get()
        } catch let error as ZooKeeperClientError {
            throw error
        } catch {
            throw .connectionLoss("\(error)")
        }
        var reader = JuteReader(frame)
        do {
            let header = try ReplyHeader(from: &reader)
            if header.zxid > lastZxid { lastZxid = header.zxid }
            guard header.err == .ok else { throw ZooKeeperClientError.keeper(header.err, path: path) }
            return try ZooKeeperResponse.decode(for: request.opCode, from: &reader)
        } catch let error as ZooKeeperClientError {
            throw error
        } catch {
            throw .malformedResponse("\(request.opCode) reply: \(error)")
        }
    }

    /// The live channel, waiting (up to the session timeout) for a reconnection if there is none.
    private func connectedChannel(withinMs: Int32? = nil) async throws(ZooKeeperClientError) -> any Channel {
        let deadline = ContinuousClock.now + .milliseconds(Int(withinMs ?? max(negotiatedTimeoutMs, requestedTimeoutMs)))
        while true {
            switch state {
            case .connected:
                if let channel { return channel }
            case .expired: throw .sessionExpired
            case .closed: throw .closed
            case .connecting, .authenticating: break
            }
            guard ContinuousClock.now < deadline else { throw .connectionLoss("not connected to \(connectString.serversDescription)") }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func serverPath(_ path: String) throws(ZooKeeperClientError) -> String {
        guard ZNodePath.isValid(path) else { throw .invalidArgument("invalid znode path '\(path)'") }
        return connectString.serverPath(path)
    }

    // MARK: - Operations

    /// Creates a node; returns its path (with the sequence suffix for sequential modes).
    @discardableResult
    public func create(_ path: String, data: [UInt8] = [], mode: CreateMode = .persistent, acl: [ACL] = ACL.openUnsafe) async throws(ZooKeeperClientError) -> String {
        let target = mode.isSequential ? connectString.serverPath(path) : try serverPath(path)
        let request = ZooKeeperRequest.create(CreateRequest(path: target, data: data, acl: acl, mode: mode))
        guard case .path(let created) = try await send(request, path: path) else { throw .malformedResponse("create reply") }
        return connectString.clientPath(created)
    }

    /// Deletes a node; `version` −1 matches any.
    public func delete(_ path: String, version: Int32 = -1) async throws(ZooKeeperClientError) {
        _ = try await send(.delete(path: try serverPath(path), version: version), path: path)
    }

    /// The node's Stat, or nil if it does not exist. With `watch`, the next create, delete or data change of the
    /// node is reported on ``events``.
    public func exists(_ path: String, watch: Bool = false) async throws(ZooKeeperClientError) -> Stat? {
        do throws(ZooKeeperClientError) {
            guard case .stat(let stat) = try await send(.exists(path: try serverPath(path), watch: watch), path: path) else {
                throw .malformedResponse("exists reply")
            }
            return stat
        } catch .keeper(.noNode, _) {
            return nil
        }
    }

    public func getData(_ path: String, watch: Bool = false) async throws(ZooKeeperClientError) -> (data: [UInt8], stat: Stat) {
        guard case .data(let data, let stat) = try await send(.getData(path: try serverPath(path), watch: watch), path: path) else {
            throw .malformedResponse("getData reply")
        }
        return (data ?? [], stat)
    }

    @discardableResult
    public func setData(_ path: String, data: [UInt8], version: Int32 = -1) async throws(ZooKeeperClientError) -> Stat {
        guard case .stat(let stat) = try await send(.setData(path: try serverPath(path), data: data, version: version), path: path) else {
            throw .malformedResponse("setData reply")
        }
        return stat
    }

    /// Child names (sorted). With `watch`, the next change of the children is reported on ``events``.
    public func getChildren(_ path: String, watch: Bool = false) async throws(ZooKeeperClientError) -> [String] {
        guard case .children(let names) = try await send(.getChildren(path: try serverPath(path), watch: watch), path: path) else {
            throw .malformedResponse("getChildren reply")
        }
        return names.sorted()
    }

    /// Waits until the server this client talks to is up to date with the leader (a no-op on a single node).
    public func sync(_ path: String) async throws(ZooKeeperClientError) {
        _ = try await send(.sync(path: try serverPath(path)), path: path)
    }

    /// One operation of a ``multi(_:)`` transaction.
    public enum Operation: Sendable {
        case create(path: String, data: [UInt8], mode: CreateMode, acl: [ACL] = ACL.openUnsafe)
        case delete(path: String, version: Int32)
        case setData(path: String, data: [UInt8], version: Int32)
        case check(path: String, version: Int32)
    }

    /// Runs operations atomically: all are applied or none.
    /// - Throws: ``ZooKeeperClientError/keeper(_:path:)`` with the first failing operation's error and path.
    @discardableResult
    public func multi(_ operations: [Operation]) async throws(ZooKeeperClientError) -> [MultiResult] {
        var ops: [ZooKeeperRequest] = []
        for operation in operations {
            switch operation {
            case .create(let path, let data, let mode, let acl):
                let target = mode.isSequential ? connectString.serverPath(path) : try serverPath(path)
                ops.append(.create(CreateRequest(path: target, data: data, acl: acl, mode: mode)))
            case .delete(let path, let version): ops.append(.delete(path: try serverPath(path), version: version))
            case .setData(let path, let data, let version):
                ops.append(.setData(path: try serverPath(path), data: data, version: version))
            case .check(let path, let version): ops.append(.check(path: try serverPath(path), version: version))
            }
        }
        guard case .multi(let results) = try await send(.multi(ops), path: "multi") else { throw .malformedResponse("multi reply") }
        for (index, result) in results.enumerated() {
            if case .error(let code) = result, code != .ok, code != .runtimeInconsistency {
                throw .keeper(code, path: operations.indices.contains(index) ? Self.path(of: operations[index]) : "multi")
            }
        }
        return results
    }

    private static func path(of operation: Operation) -> String {
        switch operation {
        case .create(let path, _, _, _), .delete(let path, _), .setData(let path, _, _), .check(let path, _): return path
        }
    }

    /// Creates `path` and any missing ancestors as empty persistent nodes (kazoo's `ensure_path`) with `acl`.
    public func ensurePath(_ path: String, acl: [ACL] = ACL.openUnsafe) async throws(ZooKeeperClientError) {
        try await ensurePath(path, aclFor: { _ in acl })
    }

    /// Creates `path` and any missing ancestors as empty persistent nodes, each with the ACL `aclFor` gives for its
    /// path (Kafka's `createRecursive` with `defaultAcls`).
    public func ensurePath(_ path: String, aclFor: @Sendable (String) -> [ACL]) async throws(ZooKeeperClientError) {
        guard path != "/" else { return }
        if try await exists(path) != nil { return }
        if let parent = ZNodePath.parent(of: path) { try await ensurePath(parent, aclFor: aclFor) }
        do {
            try await create(path, acl: aclFor(path))
        } catch .keeper(.nodeExists, _) {
            // Created concurrently: fine.
        }
    }

    /// Deletes `path` and everything below it (children first).
    public func deleteRecursively(_ path: String) async throws(ZooKeeperClientError) {
        let children: [String]
        do {
            children = try await getChildren(path)
        } catch .keeper(.noNode, _) {
            return
        }
        for child in children { try await deleteRecursively(path == "/" ? "/" + child : path + "/" + child) }
        do {
            try await delete(path)
        } catch .keeper(.noNode, _) {
            // Deleted concurrently: fine.
        }
    }

    /// Creates the chroot itself (and its ancestors) if missing, as Kafka does before using a chrooted connect
    /// string. Paths here are absolute on the server.
    public func ensureChroot(aclFor: @Sendable (String) -> [ACL] = { _ in ACL.openUnsafe }) async throws(ZooKeeperClientError) {
        guard let chroot = connectString.chroot else { return }
        var prefix = ""
        for component in chroot.split(separator: "/") {
            prefix += "/" + component
            do {
                _ = try await send(.create(CreateRequest(path: prefix, data: [], acl: aclFor(prefix), mode: .persistent)), path: prefix)
            } catch .keeper(.nodeExists, _) {
                continue
            }
        }
    }

    // MARK: - ACLs and authentication

    /// The node's ACL and Stat (digest ids show as `user:x` without ADMIN permission).
    public func getACL(_ path: String) async throws(ZooKeeperClientError) -> (acl: [ACL], stat: Stat) {
        guard case .acl(let acl, let stat) = try await send(.getACL(path: try serverPath(path)), path: path) else {
            throw .malformedResponse("getACL reply")
        }
        return (acl, stat)
    }

    /// Replaces the node's ACL; `version` (the ACL version, Stat.aversion) −1 matches any.
    @discardableResult
    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws(ZooKeeperClientError) -> Stat {
        guard case .stat(let stat) = try await send(.setACL(path: try serverPath(path), acl: acl, version: version), path: path) else {
            throw .malformedResponse("setACL reply")
        }
        return stat
    }

    /// Adds credentials to the session now and after every reconnection (the Java client's `addAuthInfo`).
    /// - Throws: ``ZooKeeperClientError/authFailed(_:)`` if the server refuses them (it then closes the connection).
    public func addAuth(_ credential: ZooKeeperCredentials) async throws(ZooKeeperClientError) {
        let channel = try await connectedChannel()
        credentials.append(credential)
        try await present(credential, on: channel)
    }

    /// The session's identities as the server sees them (whoAmI, ZooKeeper 3.7+).
    public func whoAmI() async throws(ZooKeeperClientError) -> [ClientInfo] {
        guard case .whoAmI(let infos) = try await send(.whoAmI, path: "/") else { throw .malformedResponse("whoAmI reply") }
        return infos
    }

    private func authenticate(on channel: any Channel) async throws(ZooKeeperClientError) {
        for credential in credentials { try await present(credential, on: channel) }
    }

    private func present(_ credential: ZooKeeperCredentials, on channel: any Channel) async throws(ZooKeeperClientError) {
        switch credential {
        case .digest(let user, let password):
            do {
                let packet = AuthPacket(scheme: "digest", auth: Array("\(user):\(password)".utf8))
                _ = try await exchange(.auth(packet), xid: SpecialXid.auth, on: channel, path: "auth")
            } catch .keeper(let code, _) {
                throw .authFailed("digest credentials of '\(user)' refused (\(code))")
            }
        case .saslDigestMD5(let username, let password):
            var sasl = DigestMD5Client(username: username, password: password)
            var token: [UInt8] = []
            while true {
                let response: ZooKeeperResponse
                do {
                    response = try await exchange(.sasl(token: token), on: channel, path: "sasl")
                } catch .keeper(let code, _) {
                    throw .authFailed("SASL DIGEST-MD5 login as '\(username)' refused (\(code)): wrong password, unknown user, or SASL not configured on the server")
                } catch .connectionLoss(let why) {
                    throw .authFailed("the server closed the connection during the SASL DIGEST-MD5 login as '\(username)' (\(why))")
                }
                guard case .saslToken(let challenge) = response else { throw .malformedResponse("sasl reply") }
                let next: [UInt8]?
                do {
                    next = try sasl.respond(to: challenge ?? [])
                } catch {
                    throw .authFailed("SASL DIGEST-MD5 login as '\(username)': \(error)")
                }
                guard let next else { break }
                token = next
            }
            logger.debug("SASL authenticated", metadata: ["user": "\(username)"])
        }
    }
}

/// Credentials a ``ZooKeeperClient`` presents on every connection.
public enum ZooKeeperCredentials: Sendable, Equatable, CustomStringConvertible {
    /// `addauth digest user:password`: the session holds `digest:user:base64(sha1("user:password"))`
    /// (``ZooKeeperDigest/id(user:password:)``).
    case digest(user: String, password: String)
    /// A SASL DIGEST-MD5 login against the users of the server's JAAS `Server` section (what the Java client does with
    /// a JAAS `Client` section using `DigestLoginModule`): the session holds `sasl:<username>`.
    case saslDigestMD5(username: String, password: String)

    /// The id ACLs name for these credentials (`digest:user:hash` or `sasl:user`).
    public var id: ZooKeeperID {
        switch self {
        case .digest(let user, let password): return ZooKeeperID(scheme: "digest", id: ZooKeeperDigest.id(user: user, password: password))
        case .saslDigestMD5(let username, _): return ZooKeeperID(scheme: "sasl", id: username)
        }
    }

    public var description: String {
        switch self {
        case .digest(let user, _): return "digest \(user):****"
        case .saslDigestMD5(let username, _): return "SASL DIGEST-MD5 \(username)"
        }
    }
}
