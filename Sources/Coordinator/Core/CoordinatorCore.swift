import NIOCore
import ZooKeeperProtocol

/// Session limits the core enforces (from `tickTime`, `minSessionTimeout`, `maxSessionTimeout`).
public struct SessionLimits: Sendable, Equatable {
    public var tickTimeMs: Int32
    public var minSessionTimeoutMs: Int32
    public var maxSessionTimeoutMs: Int32

    /// ZooKeeper's defaults: 2 and 20 ticks.
    public init(tickTimeMs: Int32 = 2000, minSessionTimeoutMs: Int32? = nil, maxSessionTimeoutMs: Int32? = nil) {
        self.tickTimeMs = tickTimeMs
        self.minSessionTimeoutMs = minSessionTimeoutMs ?? 2 * tickTimeMs
        self.maxSessionTimeoutMs = maxSessionTimeoutMs ?? 20 * tickTimeMs
    }

    public func negotiate(_ requested: Int32) -> Int32 {
        min(max(requested, minSessionTimeoutMs), maxSessionTimeoutMs)
    }
}

/// The coordinator without I/O: connections, sessions, watches and the Prep → Log → Apply pipeline, driven by
/// frames and time passed in, answering with ``CoreOutput``s. The server runs it on one event loop; tests drive it
/// directly.
///
/// Each write request is prepared (``PrepStage``), given the next zxid, appended to the log sink, and applied
/// (``ApplyStage``) before the next input is looked at, so the state is always current. Durability is the owner's
/// part: outputs must be held until the log is flushed through ``lastZxid``.
///
/// Not thread-safe: one owner calls it, one input at a time.
public final class CoordinatorCore {
    public private(set) var state: CoordinatorState
    public private(set) var sessions: SessionTracker
    public private(set) var watches = WatchManager()
    public private(set) var connections: [ConnectionID: ConnectionInfo] = [:]
    private var connectionOfSession: [SessionID: ConnectionID] = [:]
    public let limits: SessionLimits
    private let passwords: SessionPasswords
    private let log: any TxnLogSink
    private var nextSessionID: Int64
    private let prep = PrepStage()
    private let applyStage = ApplyStage()
    /// Failed authentications (auth packets with an unsupported scheme, failed SASL exchanges), for `mntr`.
    public private(set) var authFailures = 0
    /// While set (why: the disk is nearly full), client write requests are answered NotReadOnly, as a ZooKeeper
    /// read-only server answers them, and nothing else changes: reads, watches, and sessions opening and closing go on.
    public var refusingWrites: String?
    /// Authentication providers, super users and ACL settings.
    public let security: SecurityPolicy
    /// Makes the nonce of each DIGEST-MD5 challenge (random; tests may fix it).
    package var saslNonce: () -> String = DigestMD5.randomNonce

    /// - Parameters:
    ///   - state: the recovered state; its sessions are tracked as if just heard from, so they expire unless their
    ///     clients reconnect within their timeout.
    ///   - secret: 16 bytes from which session passwords are derived.
    ///   - security: authentication and ACL settings (default: ZooKeeper's, ACLs enforced, digest and ip schemes).
    public init(
        state: CoordinatorState, limits: SessionLimits, secret: [UInt8], log: any TxnLogSink, now: CoreTime,
        security: SecurityPolicy = SecurityPolicy()
    ) {
        self.state = state
        self.security = security
        self.limits = limits
        self.passwords = SessionPasswords(secret: secret)
        self.log = log
        sessions = SessionTracker(tickMs: Int64(limits.tickTimeMs))
        for (session, timeout) in state.sessions.sorted(by: { $0.key < $1.key }) {
            sessions.add(session, timeoutMs: timeout, now: now.monotonicMs)
        }
        // ZooKeeper's SessionTrackerImpl.initializeNextSessionId: server id 1 in the top byte, time below; also past
        // every restored id, so ids are never reused across restarts.
        let fromTime = Int64(bitPattern: (UInt64(bitPattern: now.wallMs) << 24) >> 8) | (1 << 56)
        nextSessionID = max(fromTime, (state.sessions.keys.map(\.rawValue).max() ?? 0) + 1)
    }

    /// The zxid of the last transaction logged and applied.
    public var lastZxid: Zxid { state.lastZxid }

    public var tree: DataTree { state.tree }

    public func connectionOpened(_ id: ConnectionID, remoteAddress: String, remoteIP: String) {
        precondition(connections[id] == nil, "\(id) opened twice")
        connections[id] = ConnectionInfo(remoteAddress: remoteAddress, remoteIP: remoteIP)
    }

    /// The connection's TLS handshake verified a client certificate with this subject DN: with the x509 scheme
    /// enabled the connection holds `x509:<subject>` (and `super` if it is ``SecurityPolicy/x509SuperUser``), as
    /// ZooKeeper's `X509AuthenticationProvider` does right after the handshake.
    public func connectionAuthenticated(_ id: ConnectionID, certificateSubject: String) {
        guard connections[id] != nil, security.x509ProviderEnabled else { return }
        if let superUser = security.x509SuperUser, superUser == certificateSubject {
            connections[id]!.add(ZooKeeperID(scheme: "super", id: certificateSubject))
        }
        connections[id]!.add(ZooKeeperID(scheme: "x509", id: certificateSubject))
    }

    /// The connection is gone (closed by either side): its watches go, its session stays until it expires.
    public func connectionClosed(_ id: ConnectionID) {
        guard let info = connections.removeValue(forKey: id) else { return }
        watches.removeAll(for: id)
        if let session = info.session, connectionOfSession[session] == id { connectionOfSession[session] = nil }
    }

    /// One frame (without its length prefix) from a connection.
    public func receive(_ frame: ByteBuffer, from id: ConnectionID, at now: CoreTime) -> [CoreOutput] {
        guard let info = connections[id], !info.closing else { return [] }
        connections[id]!.received += 1
        let outputs = info.session == nil ? handshake(frame, from: id, at: now) : request(frame, from: id, at: now)
        countSent(outputs)
        return outputs
    }

    /// Expires the sessions whose deadline has passed: each is closed by a transaction (deleting its ephemeral nodes
    /// and firing watches) and its connection, if any, is closed.
    public func expireSessions(at now: CoreTime) -> [CoreOutput] {
        var outputs: [CoreOutput] = []
        for session in sessions.expire(now: now.monotonicMs) {
            let header = TxnHeader(sessionID: session, cxid: 0, zxid: state.lastZxid.next, time: now.wallMs)
            let result = logAndApply(TxnRecord(header: header, txn: .closeSession), request: nil)
            outputs += eventOutputs(result.events)
            if let id = connectionOfSession.removeValue(forKey: session) {
                outputs.append(close(id, reason: "session \(session) expired"))
            }
        }
        countSent(outputs)
        return outputs
    }

    /// Deletes containers whose last child is gone (ZooKeeper's `ContainerManager`), each in its own transaction.
    public func deleteEmptyContainers(at now: CoreTime) -> [CoreOutput] {
        var outputs: [CoreOutput] = []
        for path in state.tree.emptyContainers {
            let header = TxnHeader(sessionID: .none, cxid: 0, zxid: state.lastZxid.next, time: now.wallMs)
            outputs += eventOutputs(logAndApply(TxnRecord(header: header, txn: .delete(path: path)), request: nil).events)
        }
        countSent(outputs)
        return outputs
    }

    // MARK: - Handshake

    private func handshake(_ frame: ByteBuffer, from id: ConnectionID, at now: CoreTime) -> [CoreOutput] {
        guard let request = try? ConnectRequest(decoding: frame) else {
            return [close(id, reason: "malformed ConnectRequest")]
        }
        guard request.lastZxidSeen <= state.lastZxid else {
            return [close(id, reason: "client has seen zxid \(request.lastZxidSeen), our last zxid is \(state.lastZxid)")]
        }
        let timeout = limits.negotiate(request.timeOut)
        let session: SessionID
        if request.sessionId == .none {
            session = allocateSessionID()
            let header = TxnHeader(sessionID: session, cxid: 0, zxid: state.lastZxid.next, time: now.wallMs)
            _ = logAndApply(TxnRecord(header: header, txn: .createSession(timeoutMs: timeout)), request: nil)
            sessions.add(session, timeoutMs: timeout, now: now.monotonicMs)
        } else {
            session = request.sessionId
            guard sessions.contains(session), passwords.password(for: session) == request.passwd else {
                connections[id]!.closing = true
                return [
                    .handshake(id, ServerFrames.handshake(.expired(readOnly: request.readOnly))),
                    close(id, reason: "session \(session) is expired or unknown"),
                ]
            }
            sessions.touch(session, now: now.monotonicMs, timeoutMs: timeout)
        }
        var outputs: [CoreOutput] = []
        if let previous = connectionOfSession[session], previous != id {
            // The client moved: ZooKeeper closes the session's old connection (and with it that connection's watches).
            outputs.append(close(previous, reason: "session \(session) reconnected elsewhere"))
            watches.removeAll(for: previous)
        }
        connectionOfSession[session] = id
        connections[id]!.session = session
        connections[id]!.timeoutMs = timeout
        connections[id]!.lastZxid = state.lastZxid
        let response = ConnectResponse(
            timeOut: timeout, sessionId: session, passwd: passwords.password(for: session),
            readOnly: request.readOnly.map { _ in false })
        outputs.append(.handshake(id, ServerFrames.handshake(response)))
        return outputs
    }

    private func allocateSessionID() -> SessionID {
        if nextSessionID == DataNode.containerOwner.rawValue { nextSessionID += 1 }
        defer { nextSessionID += 1 }
        return SessionID(nextSessionID)
    }

    // MARK: - Requests

    /// Op codes ZooKeeper accepts at all (`Request.isValid`); any other is answered Unimplemented and the connection
    /// closed, as ZooKeeper's `UnimplementedRequestProcessor` does.
    package static let knownOps: Set<OpCode> = [
        .notification, .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync, .ping,
        .getChildren2, .check, .multi, .create2, .reconfig, .checkWatches, .removeWatches, .createContainer,
        .deleteContainer, .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals, .getAllChildrenNumber,
        .setWatches2, .addWatch, .whoAmI, .createSession, .closeSession,
    ]

    private func request(_ frame: ByteBuffer, from id: ConnectionID, at now: CoreTime) -> [CoreOutput] {
        var reader = JuteReader(frame)
        guard let header = try? RequestHeader(from: &reader) else {
            return [close(id, reason: "frame too short for a request header")]
        }
        let session = connections[id]!.session!
        sessions.touch(session, now: now.monotonicMs)
        connections[id]!.lastCxid = header.xid
        connections[id]!.lastOp = header.type.description
        let arrived = now.monotonicNanos

        switch header.type {
        case .auth, .sasl:
            break
        default:
            if let refusal = enforceAuthentication(xid: header.xid, connection: id, arrived: arrived) { return refusal }
        }
        guard Self.knownOps.contains(header.type) else {
            return [
                reply(id, xid: header.xid, zxid: .none, .unimplemented, nil, arrived),
                close(id, reason: "unknown op code \(header.type.rawValue)"),
            ]
        }
        let request: ZooKeeperRequest
        do {
            request = try ZooKeeperRequest.decode(header.type, from: &reader)
        } catch {
            return [reply(id, xid: header.xid, zxid: state.lastZxid, .marshallingError, nil, arrived)]
        }
        switch request {
        case .auth(let packet):
            return authenticate(packet, xid: header.xid, connection: id, arrived: arrived)
        case .sasl(let token):
            return sasl(token ?? [], xid: header.xid, connection: id, arrived: arrived)
        case .unsupported(let op):
            let code: KeeperErrorCode = op == .reconfig ? .reconfigDisabled : .unimplemented
            return [reply(id, xid: header.xid, zxid: state.lastZxid, code, nil, arrived)]
        case .addWatch:
            // Persistent watches are not implemented.
            return [reply(id, xid: header.xid, zxid: state.lastZxid, .unimplemented, nil, arrived)]
        default:
            break
        }
        let access = AccessContext(ids: connections[id]!.authInfo, policy: security)
        if request.isWrite, refusingWrites != nil {
            if case .closeSession = request {} else {
                return [reply(id, xid: header.xid, zxid: state.lastZxid, .notReadOnly, nil, arrived)]
            }
        }
        if request.isWrite {
            let txn = prep.prepare(request, session: session, state: state, access: access)
            let txnHeader = TxnHeader(sessionID: session, cxid: header.xid, zxid: state.lastZxid.next, time: now.wallMs)
            let result = logAndApply(TxnRecord(header: txnHeader, txn: txn), request: request)
            connections[id]!.lastZxid = txnHeader.zxid
            var outputs = eventOutputs(result.events)
            outputs.append(reply(id, xid: header.xid, zxid: txnHeader.zxid, result.err, result.body, arrived))
            if case .closeSession = request {
                sessions.remove(session)
                connectionOfSession[session] = nil
                outputs.append(close(id, reason: "session \(session) closed by the client"))
            }
            return outputs
        }
        var identities: [ClientInfo] = []
        if case .whoAmI = request { identities = connections[id]!.clientInfos }
        let result = applyStage.read(
            request, connection: id, session: session, identities: identities, state: state, watches: &watches,
            access: access)
        var outputs = eventOutputs(result.events)
        outputs.append(reply(id, xid: header.xid, zxid: state.lastZxid, result.err, result.body, arrived))
        return outputs
    }

    // MARK: - Authentication

    /// An auth packet (op 100, ZooKeeper's `processPacket`): `digest` adds `digest:user:base64(sha1(credentials))`
    /// (and `super` when it is the configured super digest); `ip` adds nothing new (the address is always held);
    /// `x509` succeeds only for a connection that presented a client certificate. Any other scheme (or a disabled
    /// one) fails with AuthFailed and the connection is closed, as ZooKeeper does.
    private func authenticate(_ packet: AuthPacket, xid: Int32, connection id: ConnectionID, arrived: UInt64) -> [CoreOutput] {
        let refused: String
        switch packet.scheme {
        case "digest" where security.digestEnabled:
            let digest = ZooKeeperDigest.id(forCredentials: String(decoding: packet.auth, as: UTF8.self))
            if let superDigest = security.superDigest, digest == superDigest {
                connections[id]!.add(ZooKeeperID(scheme: "super", id: ""))
            }
            connections[id]!.add(ZooKeeperID(scheme: "digest", id: digest))
            return [reply(id, xid: xid, zxid: .zero, .ok, nil, arrived)]
        case "ip":
            return [reply(id, xid: xid, zxid: .zero, .ok, nil, arrived)]
        case "x509" where security.x509ProviderEnabled:
            if connections[id]!.identities.contains(where: { $0.scheme == "x509" }) {
                return [reply(id, xid: xid, zxid: .zero, .ok, nil, arrived)]
            }
            refused = "no client certificate was presented"
        case "sasl":
            refused = "sasl credentials are negotiated with sasl requests, not added by an auth packet"
        case "digest":
            refused = "the digest scheme is disabled (zookeeper.DigestAuthenticationProvider.enabled=false)"
        default:
            refused = "no authentication provider for scheme '\(packet.scheme)'"
        }
        authFailures += 1
        return [
            reply(id, xid: xid, zxid: .zero, .authFailed, nil, arrived),
            close(id, reason: "authentication failed: \(refused)"),
        ]
    }

    /// One step of a SASL DIGEST-MD5 exchange (op 102). On success the session holds `sasl:<user>` (and `super` for
    /// a `zookeeper.superUser`). A failure is answered AuthFailed (SessionClosedRequireSaslAuth when SASL is
    /// required) and the connection closed, as ZooKeeper does.
    private func sasl(_ token: [UInt8], xid: Int32, connection id: ConnectionID, arrived: UInt64) -> [CoreOutput] {
        let step: DigestMD5Server.Step
        if var users = security.saslUsers {
            if let password = security.saslSuperPassword { users["super"] = password }
            var server = connections[id]!.sasl ?? DigestMD5Server(users: users)
            step = server.evaluate(token, nonce: saslNonce)
            connections[id]!.sasl = server
        } else {
            step = .failure("SASL is not configured on this server (java.security.auth.login.config names no JAAS file with a Server section)")
        }
        switch step {
        case .challenge(let challenge):
            return [reply(id, xid: xid, zxid: .zero, .ok, .saslToken(challenge), arrived)]
        case .success(let token, let user):
            connections[id]!.add(ZooKeeperID(scheme: "sasl", id: user))
            if security.superUsers.contains(user) { connections[id]!.add(ZooKeeperID(scheme: "super", id: "")) }
            return [reply(id, xid: xid, zxid: .zero, .ok, .saslToken(token), arrived)]
        case .done:
            return [reply(id, xid: xid, zxid: .zero, .ok, .saslToken(nil), arrived)]
        case .failure(let why):
            authFailures += 1
            let code: KeeperErrorCode = security.enforcedSchemes.contains("sasl") ? .sessionClosedRequireSaslAuth : .authFailed
            return [
                .reply(id, ServerFrames.reply(xid: xid, zxid: .zero, err: code, body: .saslToken(nil), bodyOnError: true),
                       receivedAtNanos: arrived),
                close(id, reason: "authentication failed: SASL: \(why)"),
            ]
        }
    }

    /// With enforced schemes (`enforce.auth.enabled`, `sessionRequireClientSASLAuth`), a request from a connection
    /// holding none of them is answered SessionClosedRequireSaslAuth and the connection closed (ZooKeeper's
    /// `AuthenticationHelper.enforceAuthentication`). Nil when the request may proceed.
    private func enforceAuthentication(xid: Int32, connection id: ConnectionID, arrived: UInt64) -> [CoreOutput]? {
        guard !security.enforcedSchemes.isEmpty else { return nil }
        let held = connections[id]!.authInfo
        if held.contains(where: { security.enforcedSchemes.contains($0.scheme) }) { return nil }
        return [
            reply(id, xid: xid, zxid: .zero, .sessionClosedRequireSaslAuth, nil, arrived),
            close(id, reason: "authentication failed: the server requires authentication with \(security.enforcedSchemes.joined(separator: " or ")) before any request"),
        ]
    }

    // MARK: - Helpers

    private func logAndApply(_ record: TxnRecord, request: ZooKeeperRequest?) -> ApplyStage.Result {
        log.append(record)
        return applyStage.apply(record, request: request, state: &state, watches: &watches)
    }

    private func eventOutputs(_ events: [(ConnectionID, WatcherEvent)]) -> [CoreOutput] {
        events.compactMap { target, event in
            guard let info = connections[target], !info.closing else { return nil }
            return .event(target, ServerFrames.event(event))
        }
    }

    private func reply(
        _ id: ConnectionID, xid: Int32, zxid: Zxid, _ err: KeeperErrorCode, _ body: ZooKeeperResponse?, _ arrived: UInt64
    ) -> CoreOutput {
        .reply(id, ServerFrames.reply(xid: xid, zxid: zxid, err: err, body: body), receivedAtNanos: arrived)
    }

    private func close(_ id: ConnectionID, reason: String) -> CoreOutput {
        connections[id]?.closing = true
        return .close(id, reason: reason)
    }

    private func countSent(_ outputs: [CoreOutput]) {
        for output in outputs {
            switch output {
            case .handshake(let id, _), .reply(let id, _, _), .event(let id, _): connections[id]?.sent += 1
            case .close: break
            }
        }
    }
}
