import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Operations
import Synchronization

/// The dashboard's HTTP edge: HTTP/1.1 on its own event loop, requests bounded (a 16 KiB body, an 8 KiB target,
/// headers as NIO's parser bounds them), at most ``maxConnections`` connections, idle ones closed; and the event
/// streams, to which a poller pushes each new ledger version (a comment every 15 s keeps idle ones open through
/// proxies and finds the viewers that left).
public final class DashboardServer: Sendable {
    public let host: String
    public let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let streams: EventStreams
    private let poller: Task<Void, Never>

    public static let maxConnections = 1024
    /// Event streams never go idle; past this many, a new viewer gets the page without live updates (503 on /events),
    /// so that streams alone never take every connection.
    public static let maxEventStreams = 768
    public static let maxBodyBytes = 16 * 1024
    public static let maxTargetBytes = 8 * 1024
    static let idleTimeout = TimeAmount.seconds(60)
    static let pollInterval = Duration.milliseconds(500)
    static let heartbeatEvery = 30  // polls, 15 s

    private init(host: String, port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup, streams: EventStreams,
                 poller: Task<Void, Never>) {
        self.host = host
        self.port = port
        self.channel = channel
        self.group = group
        self.streams = streams
        self.poller = poller
    }

    /// Binds, reads the ledger's version once, and serves `dashboard` until ``stop()``.
    public static func start(host: String, port: Int, dashboard: Dashboard, logger: Logger) async throws -> DashboardServer {
        _ = try await dashboard.poll()
        let streams = EventStreams()
        let inFlight = InFlightRequests()
        let policy = dashboard.contentSecurityPolicy
        let http: HTTPListener
        do {
            http = try await HTTPListener.bind(host: host, port: port, maxConnections: maxConnections, backlog: 256, idleTimeout: idleTimeout,
                                               nioErrorHandling: false) {
                DashboardHTTPHandler(dashboard: dashboard, streams: streams, inFlight: inFlight, policy: policy)
            }
        } catch {
            throw DashboardServerError.cannotBind("\(host):\(port)", "\(error)")
        }
        let channel = http.channel, group = http.group
        dashboard.onNewVersion { streams.send(Dashboard.event($0)) }
        let poller = Task {
            var polls = 0
            var failing = false  // log an outage once, and its end
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                polls += 1
                do {
                    if try await dashboard.poll() == nil && polls % heartbeatEvery == 0 {
                        streams.send(": still here\n\n")
                    }
                    if failing {
                        failing = false
                        logger.warning("dashboard: the ledger can be read again")
                    }
                } catch {
                    if Task.isCancelled { break }
                    if !failing { logger.warning("dashboard: cannot read the ledger (retrying twice a second): \(error)") }
                    failing = true
                }
            }
        }
        let bound = channel.localAddress?.port ?? port
        return DashboardServer(host: host, port: bound, channel: channel, group: group, streams: streams, poller: poller)
    }

    /// Viewers following the ledger now.
    public var liveViewers: Int { streams.count }

    public func stop() async {
        poller.cancel()
        _ = await poller.value
        try? await channel.close()
        await streams.endAll()
        try? await group.shutdownGracefully()
    }
}

public enum DashboardServerError: Error, CustomStringConvertible {
    case cannotBind(String, String)

    public var description: String {
        switch self {
        case .cannotBind(let address, let reason): "cannot serve the dashboard on \(address): \(reason) (is another process using the port?)"
        }
    }
}

/// Requests being answered across all connections: past ``limit`` a new one is refused at once (503), so requests whose
/// answers queue behind the ledger's one reader cannot pile up without bound.
final class InFlightRequests: Sendable {
    static let limit = 256
    private let count = Mutex(0)

    func enter() -> Bool {
        count.withLock { count in
            guard count < Self.limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLock { $0 -= 1 }
    }
}

/// The open event streams, each a channel to write events to.
final class EventStreams: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    var count: Int { channels.withLock { $0.count } }

    func send(_ event: String) {
        for channel in channels.withLock({ Array($0.values) }) {
            let buffer = channel.allocator.buffer(string: event)
            // A viewer that cannot keep up (its socket full) is dropped instead of buffering without bound.
            channel.eventLoop.execute {
                guard channel.isWritable else {
                    channel.close(promise: nil)
                    return
                }
                channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
            }
        }
    }

    /// Ends every stream properly (the last chunk, so a browser sees a finished response rather than a cut one) and
    /// closes its connection: the end is written and flushed, then the connection closed in the same turn of its
    /// event loop, so a viewer that stopped reading cannot hold the shutdown up.
    func endAll() async {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.eventLoop.execute {
                channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                channel.close(promise: nil)
            }
            try? await channel.closeFuture.get()
        }
    }
}

/// One HTTP/1.1 connection: gathers a request (refusing oversized ones), lets the dashboard answer it off the event
/// loop, and writes the answer back; NIO's pipelining helper holds later requests until then.
final class DashboardHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let dashboard: Dashboard
    private let streams: EventStreams
    private let inFlight: InFlightRequests
    private let policy: String
    /// The request being answered, cancelled when its client leaves.
    private var inProgress: Task<Void, Never>?
    /// A complete request held back while the client is not reading what was already sent (the socket is not
    /// writable): it is answered once the client catches up, so unread answers never pile up in memory.
    private var heldBack: DashboardRequest?
    private var heldBackHead: HTTPRequestHead?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refused = false
    /// The version the response speaks: the request's (an HTTP/1.0 client gets no chunked encoding).
    private var version = HTTPVersion.http1_1
    /// A request is being answered, or the connection carries an event stream.
    private var answering = false
    private var streaming = false

    init(dashboard: Dashboard, streams: EventStreams, inFlight: InFlightRequests, policy: String) {
        self.dashboard = dashboard
        self.streams = streams
        self.inFlight = inFlight
        self.policy = policy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            version = requestHead.version
            body = []
            refused = false
            if requestHead.uri.utf8.count > DashboardServer.maxTargetBytes {
                refuse(.uriTooLong, "the request target is longer than \(DashboardServer.maxTargetBytes) bytes\n", context: context)
            } else if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init),
                      length > DashboardServer.maxBodyBytes {
                refuse(.payloadTooLarge, "the request body is larger than \(DashboardServer.maxBodyBytes) bytes\n", context: context)
            }
        case .body(var buffer):
            guard !refused else { return }
            if body.count + buffer.readableBytes > DashboardServer.maxBodyBytes {
                refuse(.payloadTooLarge, "the request body is larger than \(DashboardServer.maxBodyBytes) bytes\n", context: context)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let requestHead = head, !refused else { return }
            head = nil
            let request = DashboardRequest(
                method: requestHead.method.rawValue, uri: requestHead.uri,
                headers: requestHead.headers.map { (name: $0.name, value: $0.value) }, body: body)
            body = []
            if context.channel.isWritable {
                answer(request, head: requestHead, context: context)
            } else {
                heldBack = request
                heldBackHead = requestHead
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let request = heldBack, let requestHead = heldBackHead {
            heldBack = nil
            heldBackHead = nil
            answer(request, head: requestHead, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inProgress?.cancel()
        inProgress = nil
        context.fireChannelInactive()
    }

    /// Lets the dashboard answer off the event loop, then writes the answer back on it.
    private func answer(_ request: DashboardRequest, head requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = requestHead.isKeepAlive
        let headOnly = requestHead.method == .HEAD
        guard inFlight.enter() else {
            write(DashboardResponse(status: 503, contentType: DashboardResponse.text,
                                    body: Array("too many requests in progress (\(InFlightRequests.limit)): try again shortly\n".utf8),
                                    headers: [("Retry-After", "1")]),
                  keepAlive: false, headOnly: headOnly, context: context)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let dashboard = self.dashboard
        let inFlight = self.inFlight
        answering = true
        inProgress = Task {
            let reply = await dashboard.handle(request)
            inFlight.leave()
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.answering = false
                handler.inProgress = nil
                guard context.channel.isActive else { return }  // the viewer left while the answer was prepared
                switch reply {
                case .response(let response): handler.write(response, keepAlive: keepAlive, headOnly: headOnly, context: context)
                case .eventStream: handler.startEventStream(context: context)
                }
            }
        }
    }

    private func refuse(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        refused = true
        head = nil
        body = []
        write(DashboardResponse(status: Int(status.code), contentType: DashboardResponse.text, body: Array(message.utf8)),
              keepAlive: false, headOnly: false, context: context)
    }

    /// A malformed request (NIO's parser says so): answered with a 400 carrying the usual headers, then the connection
    /// is closed at once rather than left to the idle timeout. Mid-answer or mid-stream it is only closed.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !answering && !streaming && !refused && context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        refused = true
        write(DashboardResponse(status: 400, contentType: DashboardResponse.text, body: Array("malformed HTTP request: \(error)\n".utf8)),
              keepAlive: false, headOnly: false, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// `Referrer-Policy: same-origin` rather than `no-referrer`: with the latter a browser sends `Origin: null` on the
    /// page's own form posts, which the desk refuses as it would any opaque origin.
    private func securityHeaders(_ headers: inout HTTPHeaders) {
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Referrer-Policy", value: "same-origin")
        headers.add(name: "Content-Security-Policy", value: policy)
    }

    private func write(_ response: DashboardResponse, keepAlive: Bool, headOnly: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        securityHeaders(&headers)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if !headOnly && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The response stays open: the current version first (the page may have been rendered before it), then each
    /// new one as the poller sees it. The idle timeout no longer applies; a viewer that leaves closes its socket.
    private func startEventStream(context: ChannelHandlerContext) {
        guard streams.count < DashboardServer.maxEventStreams else {
            let message = "too many live viewers (\(DashboardServer.maxEventStreams)): the page works without live updates; reload later\n"
            write(DashboardResponse(status: 503, contentType: DashboardResponse.text, body: Array(message.utf8)),
                  keepAlive: false, headOnly: false, context: context)
            return
        }
        streaming = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        securityHeaders(&headers)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
        let first = "retry: 2000\n\n" + Dashboard.event(dashboard.version)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: first)))), promise: nil)
        if let idle = try? context.pipeline.syncOperations.handler(type: IdleStateHandler.self) {
            context.pipeline.syncOperations.removeHandler(idle, promise: nil)
        }
        streams.add(context.channel)
    }
}
