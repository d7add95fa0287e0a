import Operations
import ServiceLifecycle

/// A command's metrics endpoint as a member of its ServiceGroup: it serves until graceful shutdown, then stops.
/// Listed before the command's main service, so that it stops after it: `/readyz` keeps answering "not ready" while
/// the main service shuts down.
struct OperationsService: Service {
    let server: OperationsServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.stop()
    }
}
