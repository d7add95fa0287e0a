/// A Kafka API key (the first field of every request header).
///
/// An open struct rather than a closed enum, so keys this broker does not implement still decode and can be
/// answered or logged by number. The named constants and their schemas are generated (`ApiKey+Generated.swift`).
public struct ApiKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// What ledgerstream implements of this API, or nil if it does not implement it.
    public var schema: ApiSchema? { Self.schemas[rawValue] }

    public var description: String { schema?.name ?? "ApiKey(\(rawValue))" }

    /// Whether `version` of this API uses the flexible encodings (compact types, tag buffers, request header v2).
    public func isFlexible(_ version: Int16) -> Bool {
        guard let first = schema?.firstFlexibleVersion else { return false }
        return version >= first
    }

    /// Request header v2 for flexible versions, v1 otherwise.
    public func requestHeaderIsFlexible(_ version: Int16) -> Bool { isFlexible(version) }

    /// Response header v1 (with a tag buffer) for flexible versions, v0 otherwise, except ApiVersions, whose response
    /// header is always v0 so that a client can parse it before knowing what the broker supports (KIP-511).
    public func responseHeaderIsFlexible(_ version: Int16) -> Bool {
        self != .apiVersions && isFlexible(version)
    }
}

/// The versions of one API that ledgerstream implements.
public struct ApiSchema: Sendable {
    public let name: String
    public let versions: ClosedRange<Int16>
    public let firstFlexibleVersion: Int16?

    public init(name: String, versions: ClosedRange<Int16>, firstFlexibleVersion: Int16?) {
        self.name = name
        self.versions = versions
        self.firstFlexibleVersion = firstFlexibleVersion
    }
}
