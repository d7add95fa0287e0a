import KafkaProtocol
import KafkaSecurity
import NIOCore

/// What the broker does with one request frame.
package enum RequestOutcome: Sendable {
    /// Send these parts (a complete frame, possibly with sendfile regions).
    case response([IOData])
    /// Send nothing (Produce with acks=0).
    case noResponse
    /// The response comes later (a parked fetch, a join waiting for the rebalance).
    case deferred(EventLoopFuture<[IOData]>)
    /// Close the connection after logging `reason`: the request cannot be answered in the protocol (unknown API,
    /// unsupported version, malformed bytes). Only this connection is affected.
    case close(reason: String)
    /// Wait `delayMs`, send `parts` (if any), then close: a failed authentication (Kafka's
    /// `connection.failed.authentication.delay.ms` slows password guessing).
    case respondThenClose([IOData]?, delayMs: Int64, reason: String)
}

/// Facts about a request that every handler needs.
struct RequestContext: Sendable {
    var header: RequestHeader
    var session: ConnectionSession
    var security: SecurityService
    /// The connection's event loop: deferred responses are completed there.
    var eventLoop: any EventLoop
    /// Every response framed here has its error codes counted.
    var metrics: BrokerMetrics

    var version: Int16 { header.apiVersion }
    var clientHost: String { session.clientHost }
    var principal: KafkaPrincipal { session.principal }

    /// Encodes `response` as this request's answer.
    func respond<R: KafkaResponse>(_ response: R) -> RequestOutcome {
        .response(frame(response))
    }

    func frame<R: KafkaResponse>(_ response: R) -> [IOData] {
        metrics.countErrors(in: response, api: header.apiKey, version: header.apiVersion)
        return KafkaFrame.response(response, apiKey: header.apiKey, version: header.apiVersion, correlationId: header.correlationId)
    }
}
