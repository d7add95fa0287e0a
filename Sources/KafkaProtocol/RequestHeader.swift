import NIOCore

/// The header of every Kafka request.
///
/// v1 (non-flexible request versions): api_key int16, api_version int16, correlation_id int32, client_id nullable
/// string (int16 length). v2 (flexible versions) adds a tag buffer; client_id stays a classic string even there.
public struct RequestHeader: Sendable, Equatable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?

    public init(apiKey: ApiKey, apiVersion: Int16, correlationId: Int32, clientId: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
    }

    /// Reads the fields common to every header version: enough to answer or log even an unsupported request.
    public static func peek(_ frame: ByteBuffer) -> (apiKey: ApiKey, apiVersion: Int16, correlationId: Int32)? {
        guard let key = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int16.self),
              let version = frame.getInteger(at: frame.readerIndex + 2, endianness: .big, as: Int16.self),
              let correlation = frame.getInteger(at: frame.readerIndex + 4, endianness: .big, as: Int32.self)
        else { return nil }
        return (ApiKey(rawValue: key), version, correlation)
    }

    /// Decodes the header, choosing v1 or v2 by whether the API's version is flexible.
    public init(from reader: inout KafkaReader) throws(KafkaDecodingError) {
        apiKey = ApiKey(rawValue: try reader.readInt16())
        apiVersion = try reader.readInt16()
        correlationId = try reader.readInt32()
        clientId = try reader.readNullableString(compact: false)
        if apiKey.requestHeaderIsFlexible(apiVersion) { try reader.skipTaggedFields() }
    }

    public func write(to writer: inout KafkaWriter) {
        writer.writeInt16(apiKey.rawValue)
        writer.writeInt16(apiVersion)
        writer.writeInt32(correlationId)
        writer.writeNullableString(clientId, compact: false)
        if apiKey.requestHeaderIsFlexible(apiVersion) { writer.writeEmptyTaggedFields() }
    }
}

/// Frames a complete request or response: a 4-byte size prefix, the header, the body.
public enum KafkaFrame {
    /// Encodes a request frame (size prefix included) for `header.apiVersion`.
    public static func request<R: KafkaRequest>(_ request: R, header: RequestHeader) -> ByteBuffer {
        // Nothing spliced: one part, the whole frame.
        requestParts(request, header: header, splicingFrom: .max)[0]
    }

    /// The same frame as byte buffers to write in order, with record batches of `splicingFrom` bytes or more not copied
    /// into it but written as parts of their own (a producer keeps its batches until they are acknowledged anyway, and
    /// NIO writes the parts with one writev: measured, copying the batches into the Produce request was 1.7 % of
    /// `produce --csv`'s CPU).
    public static func requestParts<R: KafkaRequest>(_ request: R, header: RequestHeader, splicingFrom: Int = 1024) -> [ByteBuffer] {
        var writer = KafkaWriter(capacity: 256)
        writer.splicesRecordBytesFrom = splicingFrom
        writer.writeInt32(0)
        header.write(to: &writer)
        request.write(to: &writer, version: header.apiVersion)
        return writer.finishFrame().compactMap { part in
            guard case .byteBuffer(let bytes) = part else { preconditionFailure("a request holds no file regions") }
            return bytes.readableBytes > 0 ? bytes : nil
        }
    }

    /// Encodes a response frame: size prefix, response header (v0 or v1), body. Returns the parts to write in order;
    /// more than one when the body splices in file regions (Fetch).
    public static func response<R: KafkaResponse>(_ response: R, apiKey: ApiKey, version: Int16, correlationId: Int32) -> [IOData] {
        var writer = KafkaWriter(capacity: 256)
        writer.writeInt32(0)
        writer.writeInt32(correlationId)
        if apiKey.responseHeaderIsFlexible(version) { writer.writeEmptyTaggedFields() }
        response.write(to: &writer, version: version)
        return writer.finishFrame()
    }

    /// Decodes a response frame's body (size prefix already removed) after checking the correlation id.
    public static func decodeResponse<R: KafkaResponse>(
        _ type: R.Type, from frame: ByteBuffer, apiKey: ApiKey, version: Int16
    ) throws(KafkaDecodingError) -> (correlationId: Int32, response: R) {
        var reader = KafkaReader(frame)
        let correlation = try reader.readInt32()
        if apiKey.responseHeaderIsFlexible(version) { try reader.skipTaggedFields() }
        let response = try R(from: &reader, version: version)
        return (correlation, response)
    }
}
