import FuzzSupport
import KafkaProtocol
import NIOCore

/// One Kafka request frame (the 4-byte size prefix removed), decoded the way the broker decodes a received frame:
/// the header peeked, frames of an API or version it does not implement refused before parsing, then the request
/// header and the body of that API's version. A decoded request must re-encode to a frame that decodes to the same
/// header and request, and that second encoding must be byte for byte the first (the encoding is canonical).
/// Produce requests' record batches then go through the validator the broker runs before appending.
@main
enum KafkaRequestFuzz {
    static func main() { runLibFuzzer(fuzzKafkaRequest) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKafkaRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let frame = ByteBuffer(bytes: fuzzInput(data, size))
    guard let peek = RequestHeader.peek(frame),
          let schema = peek.apiKey.schema, schema.versions.contains(peek.apiVersion),
          let type = ApiKey.requestTypes[peek.apiKey.rawValue]
    else { return 0 }
    var reader = KafkaReader(frame)
    let header: RequestHeader
    let request: any KafkaRequest
    do {
        header = try RequestHeader(from: &reader)
        request = try type.init(from: &reader, version: header.apiVersion)
    } catch {
        return 0
    }
    require(header.apiKey == peek.apiKey && header.apiVersion == peek.apiVersion && header.correlationId == peek.correlationId,
            "the decoded header \(header) disagrees with the peeked one \(peek)")
    checkRoundTrip(request, header: header)
    if let produce = request as? ProduceRequest {
        for topic in produce.topicData {
            for partition in topic.partitionData {
                guard case .bytes(let records)? = partition.records else { continue }
                _ = try? RecordBatchValidator.validateProduced(records)
            }
        }
    }
    return 0
}

private func checkRoundTrip<R: KafkaRequest>(_ request: R, header: RequestHeader) {
    let first = encode(request, header: header)
    var reader = KafkaReader(first)
    let decoded: (RequestHeader, R)
    do {
        decoded = (try RequestHeader(from: &reader), try R(from: &reader, version: header.apiVersion))
    } catch {
        fatalError("invariant broken: \(R.self) v\(header.apiVersion) re-encoded does not decode: \(error)")
    }
    require(decoded.0 == header, "header \(header) re-decoded as \(decoded.0)")
    require(decoded.1 == request, "\(R.self) v\(header.apiVersion) re-decoded differently:\n\(request)\n\(decoded.1)")
    require(reader.remaining == 0, "\(reader.remaining) bytes left after re-decoding \(R.self) v\(header.apiVersion)")
    let second = encode(decoded.1, header: decoded.0)
    require(first == second, "\(R.self) v\(header.apiVersion) encodes differently after a round trip")
}

/// The frame KafkaFrame.request writes, checked for its size prefix and returned without it.
private func encode<R: KafkaRequest>(_ request: R, header: RequestHeader) -> ByteBuffer {
    var framed = KafkaFrame.request(request, header: header)
    let prefix = framed.readInteger(endianness: .big, as: Int32.self)
    require(prefix.map(Int.init) == framed.readableBytes, "size prefix \(String(describing: prefix)) for \(framed.readableBytes) bytes")
    return framed
}
