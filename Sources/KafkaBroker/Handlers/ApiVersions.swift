import KafkaProtocol
import NIOCore

// ApiVersions (key 18), v0-4. Every connection starts with it. The response lists exactly the APIs and versions
// implemented (computed from the generated schemas), carries no tagged fields (librdkafka < 2.2 cannot parse them),
// and its header is always v0. An unsupported request version gets UNSUPPORTED_VERSION in the v0 layout (KIP-511).
extension Broker {
    /// APIs answered but not advertised: Kafka leaves the KIP-714 telemetry APIs out unless a client telemetry
    /// receiver is configured, and librdkafka starts its telemetry loop when it sees them (see Telemetry.swift).
    static let unadvertisedApis: Set<Int16> = [ApiKey.getTelemetrySubscriptions.rawValue]

    static let advertisedApis: [ApiVersionsResponse.ApiVersion] = ApiKey.schemas.keys.sorted().filter { !unadvertisedApis.contains($0) }.map { key in
        let schema = ApiKey.schemas[key]!
        return ApiVersionsResponse.ApiVersion(
            apiKey: key, minVersion: schema.versions.lowerBound, maxVersion: schema.versions.upperBound)
    }

    /// The APIs this broker's configuration enables: without `consumer` in group.coordinator.rebalance.protocols
    /// the KIP-848 APIs are left out, as Kafka does, so clients fall back to the classic protocol or report it.
    var enabledApis: [ApiVersionsResponse.ApiVersion] {
        guard !config.consumerGroups.enabled else { return Self.advertisedApis }
        let consumerProtocol: Set<Int16> = [ApiKey.consumerGroupHeartbeat.rawValue, ApiKey.consumerGroupDescribe.rawValue]
        return Self.advertisedApis.filter { !consumerProtocol.contains($0.apiKey) }
    }

    func handleApiVersions(_ request: ApiVersionsRequest, _ context: RequestContext) -> RequestOutcome {
        if context.version >= 3 && !(Self.isValidSoftwareString(request.clientSoftwareName)
            && Self.isValidSoftwareString(request.clientSoftwareVersion)) {
            // Apache Kafka validates these (KIP-511) and answers INVALID_REQUEST.
            return context.respond(ApiVersionsResponse(errorCode: ErrorCode.invalidRequest.rawValue, apiKeys: enabledApis))
        }
        return context.respond(ApiVersionsResponse(errorCode: 0, apiKeys: enabledApis, throttleTimeMs: 0))
    }

    /// The answer to an ApiVersions request of a version above ours: v0 body, v0 header, error 35.
    func apiVersionsFallback(correlationId: Int32) -> [IOData] {
        let response = ApiVersionsResponse(errorCode: ErrorCode.unsupportedVersion.rawValue, apiKeys: enabledApis)
        return KafkaFrame.response(response, apiKey: .apiVersions, version: 0, correlationId: correlationId)
    }

    /// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`, Kafka's rule for client software names and versions.
    static func isValidSoftwareString(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        return alnum(first) && alnum(last) && bytes.allSatisfy { alnum($0) || $0 == 45 || $0 == 46 }
    }
}
