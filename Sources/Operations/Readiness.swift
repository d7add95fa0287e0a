/// What `/readyz` answers: ready (200) or not, with the reason (503). `/healthz` only says the process answers.
public enum Readiness: Sendable, Equatable {
    case ready
    case notReady(String)
}

/// The checks behind `/readyz`. Each long-running command supplies its own: the broker is ready once its listeners are
/// bound and its logs loaded; a sink once it is caught up within a threshold.
public struct HealthChecks: Sendable {
    public var ready: @Sendable () -> Readiness

    public init(ready: @escaping @Sendable () -> Readiness = { .ready }) {
        self.ready = ready
    }
}
