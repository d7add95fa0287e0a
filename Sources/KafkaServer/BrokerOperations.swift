import KafkaBroker
import Operations
import Synchronization

/// What the broker's `/readyz` answers: not ready while the logs load (recovery after a crash can take a while) and
/// the listeners bind, ready while serving, not ready again once shutting down.
public final class BrokerReadiness: Sendable {
    public enum Phase: Sendable, Equatable {
        case loadingLogs
        case startingListeners
        case serving
        case shuttingDown
    }

    private let phase = Mutex(Phase.loadingLogs)

    public init() {}

    public var current: Phase { phase.withLock { $0 } }

    func enter(_ next: Phase) { phase.withLock { $0 = next } }

    public var readiness: Readiness {
        switch current {
        case .loadingLogs: .notReady("loading logs")
        case .startingListeners: .notReady("starting listeners")
        case .serving: .ready
        case .shuttingDown: .notReady("shutting down")
        }
    }

    /// The checks for ``OperationsServer/start(listener:registry:health:logger:)``.
    public var healthChecks: HealthChecks { HealthChecks { [self] in readiness } }
}

extension BrokerMetrics {
    /// Help text of every broker metric, for ``MetricsRegistry/init(descriptions:durationBuckets:includeProcessMetrics:)``.
    public static var descriptions: [MetricDescription] { catalog.map { MetricDescription($0.name, $0.help) } }
}

extension BrokerConfig {
    /// `metrics.listener` parsed (nil: metrics off), or the error naming the property.
    public func operationsListener() throws(BrokerConfigError) -> OperationsListener? {
        guard let spec = metricsListener else { return nil }
        do {
            return try OperationsListener(parsing: spec)
        } catch {
            let reason: String = switch error {
            case .invalid(_, let why): why + " (for example http://127.0.0.1:9404)"
            case .cannotBind(_, let why): why
            }
            throw .invalid(key: "metrics.listener", value: spec, reason: reason)
        }
    }
}
