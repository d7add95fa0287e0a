import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP server of a long-running command: `GET /metrics` (Prometheus text format), `/healthz` and `/readyz`.
///
/// It runs on an event loop of its own, so a scrape never competes with the Kafka or ZooKeeper listeners' loops, and
/// it is deliberately narrow: GET and HEAD only, no request bodies, headers bounded by NIO's parser, at most
/// ``maxConnections`` connections, idle ones closed after ``idleTimeout``.
public final class OperationsServer: Sendable {
    /// The address actually bound (the real port when 0 was asked for).
    public let address: OperationsListener
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger

    public static let maxConnections = 64
    public static let idleTimeout = TimeAmount.seconds(30)

    private init(address: OperationsListener, channel: any Channel, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.address = address
        self.channel = channel
        self.group = group
        self.logger = logger
    }

    /// Binds `listener` and serves `registry` and `health` until ``stop()``. Logs one line with the metrics URL.
    public static func start(listener: OperationsListener, registry: MetricsRegistry, health: HealthChecks,
                             logger: Logger) async throws -> OperationsServer {
        let routes = OperationsRoutes(registry: registry, health: health)
        let http: HTTPListener
        do {
            http = try await HTTPListener.bind(host: listener.host, port: listener.port, maxConnections: maxConnections, backlog: 64,
                                               idleTimeout: idleTimeout) { OperationsHTTPHandler(routes: routes) }
        } catch {
            throw OperationsListenerError.cannotBind(listener.description, "\(error)")
        }
        let channel = http.channel, group = http.group
        let port = channel.localAddress?.port ?? listener.port
        let bound = OperationsListener(host: listener.host, port: port)
        logger.info("metrics endpoint at \(bound)/metrics (health at /healthz and /readyz)")
        return OperationsServer(address: bound, channel: channel, group: group, logger: logger)
    }

    /// Stops listening, closes open connections and shuts the event loop down.
    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// What each path answers. Pure apart from the registry and the checks, so it is tested without sockets.
struct OperationsRoutes: Sendable {
    let registry: MetricsRegistry
    let health: HealthChecks

    struct Response {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var headers: [(String, String)] = []
    }

    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    func respond(method: HTTPMethod, uri: String) -> Response {
        guard method == .GET || method == .HEAD else {
            return Response(status: .methodNotAllowed, body: Array("only GET and HEAD are served\n".utf8),
                            headers: [("Allow", "GET, HEAD")])
        }
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        switch path {
        case "/metrics":
            return Response(status: .ok, contentType: Self.prometheusContentType, body: registry.render())
        case "/healthz":
            return Response(status: .ok, body: Array("ok\n".utf8))
        case "/readyz":
            switch health.ready() {
            case .ready: return Response(status: .ok, body: Array("ready\n".utf8))
            case .notReady(let reason): return Response(status: .serviceUnavailable, body: Array("not ready: \(reason)\n".utf8))
            }
        case "/":
            return Response(status: .ok, body: Array("ledgerstream: /metrics (Prometheus), /healthz (live), /readyz (ready)\n".utf8))
        default:
            return Response(status: .notFound, body: Array("no such path; try /metrics, /healthz or /readyz\n".utf8))
        }
    }
}

/// One HTTP/1.1 connection: answers each request once its end arrives, refuses bodies, closes when idle.
final class OperationsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: OperationsRoutes
    private var head: HTTPRequestHead?
    private var bodyTooLarge = false
    /// No endpoint takes a body; a client that sends a small one is tolerated, a large one refused.
    static let maxBodyBytes = 4096
    private var bodyBytes = 0

    init(routes: OperationsRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            bodyBytes = 0
            bodyTooLarge = false
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > Self.maxBodyBytes && !bodyTooLarge {
                bodyTooLarge = true
                let response = OperationsRoutes.Response(status: .payloadTooLarge, body: Array("request body too large\n".utf8))
                write(response, keepAlive: false, headOnly: false, context: context)
            }
        case .end:
            guard let requestHead = head, !bodyTooLarge else { return }
            head = nil
            let response = routes.respond(method: requestHead.method, uri: requestHead.uri)
            write(response, keepAlive: requestHead.isKeepAlive, headOnly: requestHead.method == .HEAD, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func write(_ response: OperationsRoutes.Response, keepAlive: Bool, headOnly: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !headOnly {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
