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

/// A service with the name service-lifecycle logs it under. Without one, it names each service `"\(service)"`, and
/// describing a type that has no description takes dynamic casts and reflection, each first cast scanning all of the
/// binary's 10,000 protocol conformance records: 3.3M instructions, 5 % of a broker's start.
func namedService(_ service: any Service, _ name: String) -> ServiceGroupConfiguration.ServiceConfiguration {
    .init(service: service, serviceName: name)
}
