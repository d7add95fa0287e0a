import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 listener on an event loop of its own (so its requests never compete with the Kafka or ZooKeeper
/// loops): at most `maxConnections` connections at once (more are closed on accept), each closed after
/// `idleTimeout` without a read, each with NIO's HTTP server pipeline (its pipelining helper, and with
/// `nioErrorHandling` its answer to a malformed request) and the handler `makeHandler` returns. Shared by the metrics
/// endpoint and the web dashboard (which answers malformed requests itself, with its security headers).
public struct HTTPListener: Sendable {
    public let channel: any Channel
    public let group: MultiThreadedEventLoopGroup

    /// The port actually bound (the real one when 0 was asked for).
    public var port: Int? { channel.localAddress?.port }

    public static func bind(host: String, port: Int, maxConnections: Int, backlog: Int32, idleTimeout: TimeAmount,
                            nioErrorHandling: Bool = true, makeHandler: @escaping @Sendable () -> any ChannelHandler) async throws -> HTTPListener {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = Mutex(0)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = open.withLock { count in
                    guard count < maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.withLock { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: nioErrorHandling)
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        do {
            return HTTPListener(channel: try await bootstrap.bind(host: host, port: port).get(), group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening, closes the open connections and shuts the event loop down.
    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
