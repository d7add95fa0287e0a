/// A value with a Kafka wire encoding that depends on the API version: every generated request, response and nested
/// struct. Decoding and encoding take the version as an argument, so one Swift type serves every supported version
/// (Kafka's own `MessageData` rule).
public protocol KafkaCodable: Sendable, Equatable {
    init(from reader: inout KafkaReader, version: Int16) throws(KafkaDecodingError)
    func write(to writer: inout KafkaWriter, version: Int16)
}

/// A top-level request message (generated from `Definitions/`).
public protocol KafkaRequest: KafkaCodable {
    associatedtype Response: KafkaResponse
    static var apiKey: ApiKey { get }
    /// The versions ledgerstream implements; the broker advertises exactly these in ApiVersions.
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The first version using the flexible encodings of KIP-482, or nil if none of the supported ones does.
    static var firstFlexibleVersion: Int16? { get }
}

/// A top-level response message (generated from `Definitions/`).
public protocol KafkaResponse: KafkaCodable {
    static var apiKey: ApiKey { get }
    /// Calls `body` with every error code the response carries, top-level and per item (a partition, a group, a
    /// topic…), including 0 (NONE): what Kafka's `errorCounts` tallies for its request-error metrics. Generated.
    func forEachErrorCode(_ body: (Int16) -> Void)
}

extension KafkaReader {
    /// Reads an array of structs; nil for a null array.
    public mutating func readArray<T: KafkaCodable>(
        of type: T.Type, version: Int16, compact: Bool
    ) throws(KafkaDecodingError) -> [T]? {
        guard let count = try readArrayCount(compact: compact) else { return nil }
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try T(from: &self, version: version)) }
        return items
    }
}

extension KafkaWriter {
    /// Writes an array of structs; nil writes a null array.
    public mutating func writeArray<T: KafkaCodable>(_ items: [T]?, version: Int16, compact: Bool) {
        writeArrayCount(items?.count, compact: compact)
        for item in items ?? [] { item.write(to: &self, version: version) }
    }
}
