import Glibc
import KafkaProtocol
import NIOCore
import Testing

/// Every generated request and response type, at every version it supports, with random values from the generated
/// `arbitrary(version:using:)` factories (Tests/KafkaProtocolTests/Generated).
@Suite struct RoundTripTests {
    static let samplesPerVersion = 40
    /// Samples per version whose every strict prefix is decoded (quadratic, so fewer).
    static let prefixSamplesPerVersion = 6

    /// Messages that carry no field at these versions (at most an empty tag buffer): every value encodes the same.
    static let fieldlessMessages: [String: ClosedRange<Int16>] = [
        "ApiVersionsRequest": 0...2,  // ClientSoftwareName/Version arrive in v3
        "ListGroupsRequest": 0...3,  // StatesFilter arrives in v4
    ]

    /// A seed that depends only on what is being tested, so that every failure reproduces (FNV-1a of the context).
    static func seed(_ kind: MessageKind, version: Int16, sample: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(kind.name) v\(version) #\(sample)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    static func sample<T: ArbitraryCodable>(
        _ type: T.Type, _ kind: MessageKind, version: Int16, sample: Int
    ) -> (value: T, encoded: ByteBuffer) {
        var rng = SeededGenerator(seed: seed(kind, version: version, sample: sample))
        let value = T.arbitrary(version: version, using: &rng)
        return (value, Codec.encode(value, version: version))
    }

    // Goal: the type list covers exactly the implemented APIs, with the versions that ApiKey.schemas advertises.
    @Test func everyImplementedApiIsListed() {
        #expect(Set(GeneratedAPI.all.map(\.apiKey.rawValue)) == Set(ApiKey.schemas.keys))
        #expect(GeneratedAPI.all.count == ApiKey.schemas.count)
        for api in GeneratedAPI.all {
            let schema = ApiKey.schemas[api.apiKey.rawValue]
            #expect(schema?.name == api.name && schema?.versions == api.versions, "\(api)")
            #expect(schema?.firstFlexibleVersion == api.firstFlexibleVersion, "\(api)")
            #expect(api.response.apiKey == api.apiKey, "\(api)")
        }
    }

    // Goal: decode(encode(x)) == x, nothing is left unread, and encode(decode(encode(x))) == encode(x).
    @Test(arguments: MessageKind.all)
    func roundTripsAtEveryVersion(_ kind: MessageKind) {
        for version in kind.api.versions { Self.checkRoundTrips(kind.type, kind, version: version) }
    }

    static func checkRoundTrips<T: ArbitraryCodable>(_ type: T.Type, _ kind: MessageKind, version: Int16) {
        for index in 0..<samplesPerVersion {
            let (value, encoded) = sample(T.self, kind, version: version, sample: index)
            let context = Comment(rawValue: "\(kind.name) v\(version) sample \(index)")
            do {
                let (decoded, unread) = try Codec.decode(T.self, from: encoded, version: version)
                #expect(unread == 0, context)
                #expect(decoded == value, context)
                #expect(Codec.encode(decoded, version: version) == encoded, context)
            } catch {
                Issue.record("\(context): \(error)")
            }
        }
    }

    // Goal: the factories really vary every message that has fields (otherwise the round trips would prove little).
    @Test(arguments: MessageKind.all)
    func arbitraryValuesVary(_ kind: MessageKind) {
        for version in kind.api.versions {
            let encodings = Self.distinctEncodings(kind.type, kind, version: version)
            let fieldless = Self.fieldlessMessages[kind.name]?.contains(version) ?? false
            #expect((encodings == 1) == fieldless, "\(kind.name) v\(version): \(encodings) distinct encodings")
        }
    }

    static func distinctEncodings<T: ArbitraryCodable>(_ type: T.Type, _ kind: MessageKind, version: Int16) -> Int {
        Set((0..<samplesPerVersion).map { Array(buffer: sample(T.self, kind, version: version, sample: $0).encoded) })
            .count
    }

    // Goal: every type/version fails with an error (never a value or a crash) when cut short by one byte, or anywhere.
    @Test(arguments: MessageKind.all)
    func truncatedMessagesThrow(_ kind: MessageKind) {
        for version in kind.api.versions { Self.checkTruncations(kind.type, kind, version: version) }
    }

    static func checkTruncations<T: ArbitraryCodable>(_ type: T.Type, _ kind: MessageKind, version: Int16) {
        for index in 0..<samplesPerVersion {
            let encoded = sample(T.self, kind, version: version, sample: index).encoded
            guard encoded.readableBytes > 0 else { continue }  // fieldless non-flexible messages are empty
            let lengths = index < prefixSamplesPerVersion
                ? Array(0..<encoded.readableBytes) : [encoded.readableBytes - 1]
            let decodedPrefixes = lengths.filter { length in
                (try? Codec.decode(T.self, from: encoded.getSlice(at: 0, length: length)!, version: version)) != nil
            }
            #expect(decodedPrefixes.isEmpty,
                    "\(kind.name) v\(version) sample \(index): prefixes of length \(decodedPrefixes) decoded")
        }
    }

    // Goal: corrupted bytes never crash the decoder, and whatever does decode re-encodes to an equal value.
    @Test(arguments: MessageKind.all)
    func corruptedMessagesDecodeSafely(_ kind: MessageKind) {
        for version in kind.api.versions { Self.checkCorruptions(kind.type, kind, version: version) }
    }

    static func checkCorruptions<T: ArbitraryCodable>(_ type: T.Type, _ kind: MessageKind, version: Int16) {
        for index in 0..<samplesPerVersion {
            let encoded = Array(buffer: sample(T.self, kind, version: version, sample: index).encoded)
            guard !encoded.isEmpty else { continue }
            var rng = SeededGenerator(seed: seed(kind, version: version, sample: index) ^ 0xDEAD_BEEF)
            for _ in 0..<8 {
                var corrupted = encoded
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    corrupted[Int.random(in: 0..<corrupted.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                guard let (decoded, _) = try? Codec.decode(T.self, from: ByteBuffer(bytes: corrupted), version: version)
                else { continue }
                let again = try? Codec.decode(T.self, from: Codec.encode(decoded, version: version), version: version)
                #expect(again?.value == decoded && again?.unread == 0, "\(kind.name) v\(version): \(corrupted)")
            }
        }
    }
}

/// Request and response headers, the flexible-version boundaries, and the KafkaFrame helpers.
@Suite struct HeaderAndFrameTests {
    /// First flexible version of each API in Apache Kafka's message schemas (interop-target §1.1 for the client-facing
    /// APIs; DeleteRecords, CreatePartitions, IncrementalAlterConfigs, DescribeCluster and the transaction APIs from
    /// the schema files).
    /// nil: never flexible (SaslHandshake, OffsetDelete).
    static let kafkaFirstFlexibleVersions: [Int16: Int16?] = [
        17: nil,
        0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3, 18: 3, 19: 5, 20: 4,
        21: 2, 22: 2, 23: 4, 24: 3, 25: 3, 26: 3, 28: 3, 29: 2, 30: 2, 31: 2, 32: 4, 36: 2, 37: 2, 44: 1, 50: 0, 51: 0, 60: 0,
        61: 0, 65: 0, 66: 0, 68: 0, 69: 0, 33: 2, 35: 2, 42: 2, 47: nil, 71: 0, 75: 0,
    ]

    static func flexible(_ api: GeneratedAPI, _ version: Int16) -> Bool {
        api.firstFlexibleVersion.map { version >= $0 } ?? false
    }

    // Goal: our schemas agree with Kafka's on where the flexible versions start.
    @Test func firstFlexibleVersionsMatchKafka() {
        #expect(Set(Self.kafkaFirstFlexibleVersions.keys) == Set(ApiKey.schemas.keys))
        for (key, schema) in ApiKey.schemas {
            #expect(schema.firstFlexibleVersion == Self.kafkaFirstFlexibleVersions[key] ?? nil, "\(schema.name)")
        }
    }

    // Goal: request header v2 (v1 plus a tag buffer) is used exactly from the first flexible version on.
    @Test(arguments: GeneratedAPI.all)
    func requestHeaderVersionFollowsFlexibility(_ api: GeneratedAPI) throws {
        for version in api.versions {
            let flexible = Self.flexible(api, version)
            #expect(api.apiKey.isFlexible(version) == flexible)
            #expect(api.apiKey.requestHeaderIsFlexible(version) == flexible)
            for clientId in ["cli", nil] as [String?] {
                let header = RequestHeader(apiKey: api.apiKey, apiVersion: version, correlationId: 0x0102_0304,
                                           clientId: clientId)
                var writer = KafkaWriter()
                header.write(to: &writer)
                // client_id stays a classic int16-length string even in header v2.
                var expected: [UInt8] = [0, UInt8(api.apiKey.rawValue), 0, UInt8(version), 1, 2, 3, 4]
                expected += clientId.map { [0, UInt8($0.utf8.count)] + Array($0.utf8) } ?? [0xFF, 0xFF]
                if flexible { expected.append(0) }
                #expect(Array(buffer: writer.buffer) == expected, "\(api) v\(version)")
                var reader = KafkaReader(writer.buffer)
                #expect(try RequestHeader(from: &reader) == header)
                #expect(reader.remaining == 0)
            }
        }
    }

    // Goal: a non-empty tag buffer in a request header v2 is skipped, and a v1 header has none to skip.
    @Test func requestHeaderTaggedFieldsAreSkipped() throws {
        // Metadata v12, correlation 7, client "c", one tagged field (tag 3, 2 bytes), then a body byte.
        var v2 = KafkaReader(ByteBuffer(bytes: [0, 3, 0, 12, 0, 0, 0, 7, 0, 1, 0x63, 1, 3, 2, 0xAA, 0xBB, 0x42]))
        #expect(try RequestHeader(from: &v2) == RequestHeader(apiKey: .metadata, apiVersion: 12, correlationId: 7,
                                                              clientId: "c"))
        #expect(try v2.readInt8() == 0x42)
        // Metadata v8 (not flexible): the byte after the client id already belongs to the body.
        var v1 = KafkaReader(ByteBuffer(bytes: [0, 3, 0, 8, 0, 0, 0, 7, 0xFF, 0xFF, 0x42]))
        #expect(try RequestHeader(from: &v1).clientId == nil)
        #expect(try v1.readInt8() == 0x42)
    }

    // Goal: RequestHeader.peek reads key, version and correlation id of any request, even an unknown API.
    @Test func peekReadsAnyRequest() {
        let frame = ByteBuffer(bytes: [0, 71, 0, 0, 0, 0, 0, 9, 0xFF, 0xFF, 0])
        let peeked = RequestHeader.peek(frame)
        #expect(peeked?.apiKey == ApiKey(rawValue: 71) && peeked?.apiVersion == 0 && peeked?.correlationId == 9)
        #expect(RequestHeader.peek(ByteBuffer(bytes: [0, 3, 0, 1, 0, 0, 0])) == nil)
    }

    // Goal: KafkaFrame.request writes size prefix, header and body, and the frame decodes back to the same values.
    @Test(arguments: GeneratedAPI.all)
    func requestFrames(_ api: GeneratedAPI) throws {
        for version in api.versions { try Self.checkRequestFrame(api.request, api, version: version) }
    }

    static func checkRequestFrame<R: ArbitraryRequest>(_ type: R.Type, _ api: GeneratedAPI, version: Int16) throws {
        var rng = SeededGenerator(seed: UInt64(api.apiKey.rawValue) << 16 | UInt64(version))
        let request = R.arbitrary(version: version, using: &rng)
        let header = RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationId: -5, clientId: "frame-test")
        var frame = KafkaFrame.request(request, header: header)
        // The same bytes when record batches are written as parts of their own (every batch, or the large ones).
        for splicingFrom in [1, 1024] {
            let parts = KafkaFrame.requestParts(request, header: header, splicingFrom: splicingFrom)
            #expect(parts.flatMap { Array(buffer: $0) } == Array(buffer: frame), "\(api) v\(version)")
        }
        #expect(frame.readInteger(as: Int32.self) == Int32(frame.readableBytes))
        var headerOnly = KafkaWriter()
        header.write(to: &headerOnly)
        let body = Codec.encode(request, version: version)
        #expect(Array(buffer: frame) == Array(buffer: headerOnly.buffer) + Array(buffer: body))
        var reader = KafkaReader(frame)
        #expect(try RequestHeader(from: &reader) == header)
        #expect(try R(from: &reader, version: version) == request)
        #expect(reader.remaining == 0)
    }

    // Goal: a Produce request's large batches reach the socket as the producer's own buffers (not copied), small ones
    // inside the frame, and the parts are the frame's bytes in order.
    @Test func largeBatchesAreWrittenAsTheirOwnParts() throws {
        let large = ByteBuffer(repeating: 7, count: 4096)
        let small = ByteBuffer(repeating: 9, count: 100)
        let request = ProduceRequest(acks: -1, timeoutMs: 1000, topicData: [
            .init(name: "t", partitionData: [.init(index: 0, records: .bytes(large)), .init(index: 1, records: .bytes(small))]),
        ])
        let header = RequestHeader(apiKey: .produce, apiVersion: 9, correlationId: 1, clientId: "c")
        let parts = KafkaFrame.requestParts(request, header: header)
        #expect(parts.count == 3)
        #expect(parts.flatMap { Array(buffer: $0) } == Array(buffer: KafkaFrame.request(request, header: header)))
        let address = { (buffer: ByteBuffer) in buffer.withUnsafeReadableBytes { $0.baseAddress } }
        #expect(address(parts[1]) == address(large))
        #expect(parts.allSatisfy { address($0) != address(small) })
    }

    // Goal: response header v1 (tag buffer) exactly for flexible versions, except ApiVersions whose header is always v0.
    @Test(arguments: GeneratedAPI.all)
    func responseFramesAndHeaderVersions(_ api: GeneratedAPI) throws {
        for version in api.versions {
            let headerIsFlexible = api.apiKey != .apiVersions && Self.flexible(api, version)
            #expect(api.apiKey.responseHeaderIsFlexible(version) == headerIsFlexible, "\(api) v\(version)")
            try Self.checkResponseFrame(api.response, api, version: version, headerIsFlexible: headerIsFlexible)
        }
    }

    static func checkResponseFrame<R: ArbitraryResponse>(
        _ type: R.Type, _ api: GeneratedAPI, version: Int16, headerIsFlexible: Bool
    ) throws {
        var rng = SeededGenerator(seed: UInt64(api.apiKey.rawValue) << 16 | UInt64(version) | 1 << 40)
        let response = R.arbitrary(version: version, using: &rng)
        let parts = KafkaFrame.response(response, apiKey: api.apiKey, version: version, correlationId: 0x0A0B_0C0D)
        guard parts.count == 1, case .byteBuffer(var frame) = parts[0] else {
            Issue.record("\(api) v\(version): expected one byte buffer, got \(parts.count) parts")
            return
        }
        #expect(frame.readInteger(as: Int32.self) == Int32(frame.readableBytes))
        let expected = [0x0A, 0x0B, 0x0C, 0x0D] + (headerIsFlexible ? [0] : [])
            + Array(buffer: Codec.encode(response, version: version))
        #expect(Array(buffer: frame) == expected, "\(api) v\(version)")
        let (correlationId, decoded) = try KafkaFrame.decodeResponse(R.self, from: frame, apiKey: api.apiKey,
                                                                     version: version)
        #expect(correlationId == 0x0A0B_0C0D && decoded == response)
    }

    // Goal: exact bytes of an ApiVersions v3 response frame: header v0 (no tag byte) but a flexible body.
    @Test func apiVersionsV3ResponseFrameBytes() {
        let response = ApiVersionsResponse(
            errorCode: 0, apiKeys: [ApiVersionsResponse.ApiVersion(apiKey: 18, minVersion: 0, maxVersion: 4)],
            throttleTimeMs: 0)
        let parts = KafkaFrame.response(response, apiKey: .apiVersions, version: 3, correlationId: 1)
        guard case .byteBuffer(let frame)? = parts.first else {
            Issue.record("no frame")
            return
        }
        #expect(parts.count == 1)
        #expect(Array(buffer: frame) == [
            0, 0, 0, 19,  // size
            0, 0, 0, 1,  // correlation id, and no tag buffer: response header v0
            0, 0,  // ErrorCode
            2, 0, 18, 0, 0, 0, 4, 0,  // ApiKeys: compact count 1+1, one entry with its empty tag buffer
            0, 0, 0, 0,  // ThrottleTimeMs
            0,  // body tag buffer
        ])
    }

    // Goal: when records are file regions, the response frame is bytes + regions + bytes and the size counts them.
    @Test func responseFrameSplicesFileRegions() throws {
        let descriptor = open("/dev/null", O_RDONLY)
        try #require(descriptor >= 0)
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
        defer { try? handle.close() }
        let owner = FileOwner()
        let slices = [
            FileSlice(region: FileRegion(fileHandle: handle, readerIndex: 0, endIndex: 100), owner: owner),
            FileSlice(region: FileRegion(fileHandle: handle, readerIndex: 200, endIndex: 250), owner: owner),
        ]
        typealias Topic = FetchResponse.FetchableTopicResponse
        let response = FetchResponse(responses: [Topic(topic: "t", partitions: [
            Topic.PartitionData(partitionIndex: 0, highWatermark: 10, records: .regions(slices)),
        ])])
        for version: Int16 in [11, 12] {
            let parts = KafkaFrame.response(response, apiKey: .fetch, version: version, correlationId: 3)
            // bytes, region, (empty bytes), region, trailing bytes
            #expect(parts.count == 5)
            var total = 0
            var regions: [Int] = []
            for part in parts {
                switch part {
                case .byteBuffer(let bytes): total += bytes.readableBytes
                case .fileRegion(let region): total += region.readableBytes; regions.append(region.readerIndex)
                }
            }
            #expect(regions == [0, 200])
            guard case .byteBuffer(let first)? = parts.first else { continue }
            #expect(first.getInteger(at: first.readerIndex, as: Int32.self) == Int32(total - 4))
            // The records length prefix counts the region bytes: encoding .bytes of the same size gives the same frame
            // size, and the same bytes around the records.
            let inline = FetchResponse(responses: [Topic(topic: "t", partitions: [
                Topic.PartitionData(partitionIndex: 0, highWatermark: 10,
                                    records: .bytes(ByteBuffer(repeating: 0, count: 150))),
            ])])
            let inlineParts = KafkaFrame.response(inline, apiKey: .fetch, version: version, correlationId: 3)
            guard case .byteBuffer(let inlineFrame)? = inlineParts.first else { continue }
            #expect(inlineFrame.readableBytes == total)
            #expect(Array(buffer: first) == Array(inlineFrame.readableBytesView.prefix(first.readableBytes)))
            guard case .byteBuffer(let last)? = parts.last else { continue }
            #expect(Array(buffer: last) == Array(inlineFrame.readableBytesView.suffix(last.readableBytes)))
        }
    }
}

/// Keeps the descriptor of a file slice alive in the splice test.
private final class FileOwner: Sendable {}
