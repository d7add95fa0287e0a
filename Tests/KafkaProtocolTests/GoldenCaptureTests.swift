import KafkaProtocol
import NIOCore
import Testing

/// A kind of captured request that ledgerstream deliberately does not decode.
struct ExpectedSkip: Sendable {
    let apiKey: Int16
    let versions: ClosedRange<Int16>
    let reason: String

    func matches(_ frame: CapturedFrame) -> Bool { frame.apiKey == apiKey && versions.contains(frame.apiVersion) }
}

/// What decoding one captured request produced.
enum RequestOutcome {
    /// Not implemented, and listed in `GoldenCaptureTests.expectedSkips`.
    case skipped(ExpectedSkip)
    /// Not implemented, and not listed: always a test failure.
    case unexpectedlyUnsupported
    /// Decoded: the header, the body re-encoded (header included), and the bytes the decoder left unread.
    case decoded(header: RequestHeader, reencoded: [UInt8], unread: [UInt8])
}

/// The requests real clients sent (golden vectors, see Fixtures/README.md) must decode with the generated types, leave
/// nothing unread, and re-encode to the very same bytes. Responses come from Tansu and are only decoded.
@Suite struct GoldenCaptureTests {
    /// Every captured request kind ledgerstream does not implement, with the reason; `skipsAndExceptionsAreExact`
    /// checks that each entry is used and that nothing else is skipped.
    static let expectedSkips: [ExpectedSkip] = []

    /// librdkafka 2.16 writes its all-topics Metadata v9+ request with a 4-byte zero placeholder where a 1-byte null
    /// compact array belongs (interop-target §1.1): a strict parser reads Topics=null, AllowAutoTopicCreation=false,
    /// IncludeTopicAuthorizedOperations=false and an empty tag buffer, and then has exactly these bytes left.
    static let librdkafkaAllTopicsMetadataTrailer: [UInt8] = [0x01, 0x00, 0x00]

    /// Captures made with librdkafka 2.16 (confluent-kafka).
    static func isLibrdkafka216(_ file: String) -> Bool {
        file.hasPrefix("ck_") || file.hasPrefix("nf_ck_") || file == "fb_ck.frames"
    }

    /// The bytes a correct decoder must leave unread in `frame`: the librdkafka trailer for its all-topics Metadata
    /// v9+ requests, nothing for every other request.
    static func expectedUnread(_ frame: CapturedFrame) throws -> [UInt8] {
        guard frame.apiKey == 3, frame.apiVersion >= 9, isLibrdkafka216(frame.file) else { return [] }
        var reader = KafkaReader(frame.buffer)
        _ = try RequestHeader(from: &reader)
        let metadata = try MetadataRequest(from: &reader, version: frame.apiVersion)
        return metadata.topics == nil ? librdkafkaAllTopicsMetadataTrailer : []
    }

    static func analyze(_ frame: CapturedFrame) throws -> RequestOutcome {
        var reader = KafkaReader(frame.buffer)
        let header = try RequestHeader(from: &reader)
        guard let api = GeneratedAPI.byKey[frame.apiKey], api.versions.contains(frame.apiVersion) else {
            if let skip = expectedSkips.first(where: { $0.matches(frame) }) { return .skipped(skip) }
            return .unexpectedlyUnsupported
        }
        var writer = KafkaWriter()
        header.write(to: &writer)
        try reencodeBody(api.request, from: &reader, version: frame.apiVersion, to: &writer)
        let unread = reader.buffer.getBytes(at: reader.buffer.readerIndex, length: reader.remaining) ?? []
        return .decoded(header: header, reencoded: Array(buffer: writer.buffer), unread: unread)
    }

    /// Decodes one body with its generated type and writes it again (the dispatch from a metatype to its code).
    static func reencodeBody<T: KafkaCodable>(
        _ type: T.Type, from reader: inout KafkaReader, version: Int16, to writer: inout KafkaWriter
    ) throws(KafkaDecodingError) {
        try T(from: &reader, version: version).write(to: &writer, version: version)
    }

    // MARK: - Every frame

    // Goal: the capture files were bundled with the tests (otherwise the parameterized tests below run zero cases).
    @Test func fixturesArePresent() throws {
        #expect(Fixtures.kafkaFiles.count >= 47)
        for file in Fixtures.kafkaFiles {
            #expect(try Fixtures.frames(in: file).contains(where: \.isRequest), "\(file) has no requests")
        }
    }

    // Goal: every captured request decodes at its version, is consumed exactly, and re-encodes byte for byte.
    @Test(arguments: Fixtures.kafkaFiles)
    func everyCapturedRequestRoundTripsExactly(file: String) throws {
        for frame in try Fixtures.frames(in: file) where frame.isRequest {
            let outcome: RequestOutcome
            do {
                outcome = try Self.analyze(frame)
            } catch {
                Issue.record("\(frame): does not decode: \(error)")
                continue
            }
            switch outcome {
            case .skipped:
                continue
            case .unexpectedlyUnsupported:
                Issue.record("\(frame): API or version not implemented, and not listed in expectedSkips")
            case .decoded(let header, let reencoded, let unread):
                #expect(header.apiKey.rawValue == frame.apiKey && header.apiVersion == frame.apiVersion
                            && header.correlationId == frame.correlationId, "\(frame): header \(header)")
                let expectedUnread = try Self.expectedUnread(frame)
                #expect(unread == expectedUnread, "\(frame): unread bytes \(hex(unread))")
                let expected = Array(frame.bytes.dropLast(expectedUnread.count))
                #expect(reencoded == expected, "\(frame): re-encoded \(hex(reencoded)) != captured \(hex(expected))")
            }
        }
    }

    // Goal: the skip list and the trailing-bytes exception are exactly what the captures need, no more, no less.
    @Test func skipsAndExceptionsAreExact() throws {
        var skipsUsed: [Int16: Int] = [:]
        var skippedFiles: Set<String> = []
        var trailerFrames: [CapturedFrame] = []
        var telemetryFrames = 0
        for frame in try Fixtures.allFrames() where frame.isRequest {
            switch try Self.analyze(frame) {
            case .skipped(let skip):
                skipsUsed[skip.apiKey, default: 0] += 1
                skippedFiles.insert(frame.file)
            case .unexpectedlyUnsupported: Issue.record("\(frame) is neither implemented nor an expected skip")
            case .decoded(_, _, let unread):
                if !unread.isEmpty { trailerFrames.append(frame) }
                if frame.apiKey == 71 { telemetryFrames += 1 }
            }
        }
        for skip in Self.expectedSkips {
            #expect(skipsUsed[skip.apiKey, default: 0] > 0, "expected skip of key \(skip.apiKey) matched no frame")
        }
        // GetTelemetrySubscriptions v0 appears only in confluent-kafka captures (librdkafka 2.16, because Tansu
        // advertised it; ledgerstream answers it but, as Kafka without a telemetry receiver, does not advertise it).
        #expect(telemetryFrames == 16)
        #expect(skippedFiles.allSatisfy(Self.isLibrdkafka216), "\(skippedFiles.sorted())")
        // The trailer shows up only in librdkafka 2.16's all-topics Metadata v12 requests (expectedUnread demands it
        // in every one of them).
        #expect(trailerFrames.count == 5)
        for frame in trailerFrames {
            #expect(Self.isLibrdkafka216(frame.file) && frame.apiKey == 3 && frame.apiVersion == 12, "\(frame)")
        }
    }

    /// The fb_* captures hold no UNSUPPORTED_VERSION answer in the ApiVersions v0 body, only the retries' answers.
    // Goal: every captured response decodes and re-encodes to Tansu's bytes (tags aside); its values are not checked.
    @Test(arguments: Fixtures.kafkaFiles)
    func capturedResponsesDecode(file: String) throws {
        for frame in try Fixtures.frames(in: file) where !frame.isRequest {
            guard let api = GeneratedAPI.byKey[frame.apiKey], api.versions.contains(frame.apiVersion) else {
                #expect(Self.expectedSkips.contains { $0.matches(frame) }, "\(frame): unexpected response")
                continue
            }
            var reader = KafkaReader(frame.buffer)
            do {
                #expect(try reader.readInt32() == frame.correlationId, "\(frame)")
                if api.apiKey.responseHeaderIsFlexible(frame.apiVersion) { try reader.skipTaggedFields() }
                let body = reader.buffer
                let (unread, reencoded) = try Self.decodeAndReencode(api.response, from: body,
                                                                     version: frame.apiVersion)
                #expect(unread == 0, "\(frame): \(unread) bytes unread")
                // Re-encoding reproduces Tansu's bytes except for the tagged fields we drop, which must be the
                // expected ones for that API.
                let captured = Array(buffer: body)
                guard let dropped = droppedTaggedFields(captured: captured, reencoded: reencoded) else {
                    Issue.record("\(frame): re-encoded \(hex(reencoded)) != captured \(hex(captured))")
                    continue
                }
                let expected = Self.expectedResponseTags.first {
                    $0.apiKey == frame.apiKey && $0.version == frame.apiVersion
                }
                #expect(Set(dropped.flatMap(\.tags)).isSubset(of: expected?.tags ?? []),
                        "\(frame): unexpected tagged fields \(dropped)")
            } catch {
                Issue.record("\(frame): does not decode: \(error)")
            }
        }
    }

    /// Non-empty tagged fields in Tansu's responses, which our decoder skips and our encoder (rightly) drops.
    static let expectedResponseTags: [(apiKey: Int16, version: Int16, tags: Set<UInt32>, reason: String)] = [
        (1, 16, [0], "Fetch v16 NodeEndpoints (KIP-951); interop-target §1.8 item 7"),
        (19, 7, [0], "CreateTopics v5+ TopicConfigErrorCode (KIP-525) per topic, sent by Tansu"),
    ]

    // Goal: the response tag exceptions above are all needed (each is seen in the captures).
    @Test func expectedResponseTagsOccur() throws {
        var seen: Set<Int16> = []
        for frame in try Fixtures.allFrames() where !frame.isRequest {
            guard let api = GeneratedAPI.byKey[frame.apiKey], api.versions.contains(frame.apiVersion) else { continue }
            var reader = KafkaReader(frame.buffer)
            _ = try reader.readInt32()
            if api.apiKey.responseHeaderIsFlexible(frame.apiVersion) { try reader.skipTaggedFields() }
            let (_, reencoded) = try Self.decodeAndReencode(api.response, from: reader.buffer,
                                                            version: frame.apiVersion)
            if let dropped = droppedTaggedFields(captured: Array(buffer: reader.buffer), reencoded: reencoded),
               !dropped.isEmpty {
                seen.insert(frame.apiKey)
            }
        }
        #expect(seen == Set(Self.expectedResponseTags.map(\.apiKey)))
    }

    /// Decodes a body as `T`; returns the count of unread bytes and the decoded value encoded again.
    static func decodeAndReencode<T: KafkaCodable>(
        _ type: T.Type, from bytes: ByteBuffer, version: Int16
    ) throws(KafkaDecodingError) -> (Int, [UInt8]) {
        let (value, unread) = try Codec.decode(T.self, from: bytes, version: version)
        return (unread, Array(buffer: Codec.encode(value, version: version)))
    }

    // MARK: - Specific requests decode to the values the clients sent

    /// Decodes request number `occurrence` of `R` in `file`, checking the header and that the body is consumed.
    func request<R: KafkaRequest>(
        _ type: R.Type, _ file: String, version: Int16, occurrence: Int = 0
    ) throws -> (header: RequestHeader, body: R, unread: Int) {
        let frame = try Fixtures.request(file, apiKey: R.apiKey.rawValue, version: version, occurrence: occurrence)
        var reader = KafkaReader(frame.buffer)
        let header = try RequestHeader(from: &reader)
        let body = try R(from: &reader, version: version)
        return (header, body, reader.remaining)
    }

    // Goal: kcat's Produce v7 carries acks=1, timeout 30000 and one uncompressed batch of records k0..k4 with h=x.
    @Test func kcatProduceV7() throws {
        let (header, produce, unread) = try request(ProduceRequest.self, "kcat_prod1.frames", version: 7)
        #expect(unread == 0)
        #expect(header.clientId == "kcat-prod" && header.correlationId == 3)
        #expect(produce.transactionalId == nil && produce.acks == 1 && produce.timeoutMs == 30000)
        #expect(produce.topicData.map(\.name) == ["kc_t"])
        let partitions = try #require(produce.topicData.first).partitionData
        #expect(partitions.map(\.index) == [0])
        guard case .bytes(let batch)? = partitions.first?.records else {
            Issue.record("no record bytes")
            return
        }
        #expect(batch.readableBytes == 136)
        let batchHeader = try #require(RecordBatchHeader(batch))
        #expect(batchHeader.magic == 2 && batchHeader.recordCount == 5 && batchHeader.lastOffsetDelta == 4)
        #expect(batchHeader.producerId == -1 && batchHeader.producerEpoch == -1 && batchHeader.baseSequence == -1)
        #expect(batchHeader.compression == .none && batchHeader.totalSize == 136)
        #expect(batchHeader.crc == 0x0C04_0471)
        let crc = batch.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        #expect(crc == batchHeader.crc)
        let records = try RecordBatchHeader.records(in: batch)
        #expect(records.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(records.map { $0.key.map { String(buffer: $0) } } == ["k0", "k1", "k2", "k3", "k4"])
        #expect(records.map { $0.value.map { String(buffer: $0) } } == ["v0", "v1", "v2", "v3", "v4"])
        for record in records {
            #expect(record.headers.count == 1)
            #expect(record.headers.first?.key == "h" && record.headers.first?.value == ByteBuffer(string: "x"))
        }
    }

    // Goal: kcat with acks=all sends Acks=-1 (the only difference from acks=1).
    @Test func kcatProduceAcksAll() throws {
        let (_, produce, unread) = try request(ProduceRequest.self, "kcat_prodall.frames", version: 7)
        #expect(unread == 0 && produce.acks == -1 && produce.timeoutMs == 30000)
    }

    // Goal: InitProducerId as each client sends it: kafka-python v4 TxnTimeout 0, kcat v4 -1, aiokafka v0 Int32.max.
    @Test func initProducerIdRequests() throws {
        let (kpHeader, kp, kpUnread) = try request(InitProducerIdRequest.self, "kp_prodall.frames", version: 4)
        #expect(kpUnread == 0 && kpHeader.clientId == "kp-prod")
        #expect(kp == InitProducerIdRequest(
            transactionalId: nil, transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1))
        let (_, kcat, kcatUnread) = try request(InitProducerIdRequest.self, "kcat_idem.frames", version: 4)
        #expect(kcatUnread == 0)
        #expect(kcat == InitProducerIdRequest(
            transactionalId: nil, transactionTimeoutMs: -1, producerId: -1, producerEpoch: -1))
        let (_, ak, akUnread) = try request(InitProducerIdRequest.self, "ak_idem.frames", version: 0)
        #expect(akUnread == 0)
        #expect(ak.transactionalId == nil && ak.transactionTimeoutMs == Int32.max)
        #expect(ak.producerId == -1 && ak.producerEpoch == -1)  // absent in v0: the defaults
    }

    // Goal: confluent-kafka's Fetch v16 names topics only by a non-zero TopicId.
    @Test func confluentFetchV16UsesTopicIds() throws {
        let (_, fetch, unread) = try request(FetchRequest.self, "ck_assign.frames", version: 16)
        #expect(unread == 0)
        #expect(fetch.replicaId == -1)  // absent from v15 on
        #expect(fetch.maxWaitMs == 500 && fetch.minBytes == 1 && fetch.maxBytes == 52_428_800)
        #expect(fetch.isolationLevel == 1 && fetch.sessionId == 0 && fetch.sessionEpoch == -1)
        let topic = try #require(fetch.topics.first)
        #expect(fetch.topics.count == 1)
        #expect(topic.topicId == KafkaUUID(bytes: Fixtures.hexBytes("01a2125c0cb57a30a6994d73dd0d4ead")!))
        #expect(!topic.topicId.isZero && topic.topic == "")
        let partition = try #require(topic.partitions.first)
        #expect(topic.partitions.count == 1)
        #expect(partition.partition == 0 && partition.currentLeaderEpoch == 0 && partition.fetchOffset == 0)
        #expect(partition.lastFetchedEpoch == -1 && partition.logStartOffset == -1)
        #expect(partition.partitionMaxBytes == 1_048_576)
        #expect(fetch.forgottenTopicsData.isEmpty && fetch.rackId == "")
    }

    // Goal: kafka-python's FindCoordinator v6 uses the batched CoordinatorKeys, not the single Key.
    @Test func kafkaPythonFindCoordinatorV6() throws {
        let (_, find, unread) = try request(FindCoordinatorRequest.self, "kp_group.frames", version: 6)
        #expect(unread == 0)
        #expect(find.keyType == 0 && find.coordinatorKeys == ["kpg1795604998"] && find.key == "")
    }

    // Goal: kcat's JoinGroup v5 offers range then roundrobin, each with a v1 subscription to kc_t.
    @Test func kcatJoinGroupV5() throws {
        let (_, join, unread) = try request(JoinGroupRequest.self, "kcat_group.frames", version: 5)
        #expect(unread == 0)
        #expect(join.groupId == "kcatg1795604708" && join.memberId == "" && join.groupInstanceId == nil)
        #expect(join.sessionTimeoutMs == 45000 && join.rebalanceTimeoutMs == 300_000)
        #expect(join.protocolType == "consumer")
        #expect(join.protocols.map(\.name) == ["range", "roundrobin"])
        // ConsumerProtocolSubscription v1: version, topics ["kc_t"], user data (empty), owned partitions (none).
        let subscription: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 4] + Array("kc_t".utf8) + [0, 0, 0, 0, 0, 0, 0, 0]
        for offered in join.protocols {
            #expect(Array(buffer: offered.metadata) == subscription, "\(offered.name)")
        }
    }

    // Goal: OffsetFetch v8 (kafka-python) and v9 (confluent-kafka) use the batched Groups[] form.
    @Test func offsetFetchGroupsForm() throws {
        let (_, v8, v8Unread) = try request(OffsetFetchRequest.self, "kp_group.frames", version: 8)
        #expect(v8Unread == 0)
        #expect(v8.groupId == "" && v8.topics == nil)  // the v0-7 single-group fields are absent
        #expect(v8.requireStable == false)
        let group8 = try #require(v8.groups.first)
        #expect(v8.groups.count == 1 && group8.groupId == "kpg1795604998")
        #expect(group8.memberId == nil && group8.memberEpoch == -1)  // absent before v9
        #expect(group8.topics?.map(\.name) == ["kp_t"] && group8.topics?.first?.partitionIndexes == [0, 1])

        let (_, v9, v9Unread) = try request(OffsetFetchRequest.self, "ck_group.frames", version: 9)
        #expect(v9Unread == 0)
        #expect(v9.requireStable == true)
        let group9 = try #require(v9.groups.first)
        #expect(v9.groups.count == 1 && group9.groupId == "ckg1795604885")
        #expect(group9.memberId == nil && group9.memberEpoch == -1)
        #expect(group9.topics?.map(\.name) == ["ck_t"] && group9.topics?.first?.partitionIndexes == [0, 1])
    }

    // Goal: Metadata `Topics=[]` (brokers only) and `Topics=null` (all topics) stay distinct, at v4 and v5.
    @Test func metadataEmptyVersusNullTopics() throws {
        let (_, brokersOnly, unread1) = try request(MetadataRequest.self, "kcat_meta.frames", version: 4, occurrence: 0)
        let (_, allTopics, unread2) = try request(MetadataRequest.self, "kcat_meta.frames", version: 4, occurrence: 1)
        #expect(unread1 == 0 && unread2 == 0)
        #expect(brokersOnly.topics == [] && brokersOnly.allowAutoTopicCreation == false)
        #expect(allTopics.topics == nil && allTopics.allowAutoTopicCreation == true)
        #expect(Array(buffer: Codec.encode(brokersOnly, version: 4)) == [0, 0, 0, 0, 0])
        #expect(Array(buffer: Codec.encode(allTopics, version: 4)) == [0xFF, 0xFF, 0xFF, 0xFF, 1])

        let (_, akEmpty, _) = try request(MetadataRequest.self, "ak_meta.frames", version: 5, occurrence: 0)
        let (_, akNull, _) = try request(MetadataRequest.self, "ak_meta.frames", version: 5, occurrence: 1)
        #expect(akEmpty.topics == [] && akEmpty.allowAutoTopicCreation == true)
        #expect(akNull.topics == nil && akNull.allowAutoTopicCreation == true)
    }

    // Goal: librdkafka 2.16's all-topics Metadata v12 parses as null topics and leaves exactly the 3 known bytes.
    @Test func librdkafkaAllTopicsMetadataTrailer() throws {
        let frames = try Fixtures.frames(in: "ck_meta.frames").filter { $0.isRequest && $0.apiKey == 3 }
        var trailers = 0
        for frame in frames {
            var reader = KafkaReader(frame.buffer)
            _ = try RequestHeader(from: &reader)
            let metadata = try MetadataRequest(from: &reader, version: frame.apiVersion)
            guard metadata.topics == nil else {
                #expect(reader.remaining == 0, "\(frame)")
                continue
            }
            trailers += 1
            #expect(!metadata.allowAutoTopicCreation && !metadata.includeTopicAuthorizedOperations)
            #expect(reader.buffer.getBytes(at: reader.buffer.readerIndex, length: reader.remaining)
                        == Self.librdkafkaAllTopicsMetadataTrailer, "\(frame)")
        }
        #expect(trailers > 0)
    }

    /// The captured ApiVersions responses have empty tag buffers (the capture proxy stripped them, see
    /// expectedResponseTags), so Tansu's four top-level fields and one per-entry field are re-inserted here.
    // Goal: an ApiVersions v3 response with non-empty tagged fields decodes exactly like the one without them.
    @Test func apiVersionsV3TaggedFieldsAreSkipped() throws {
        let frame = try #require(try Fixtures.frames(in: "ck_meta.frames").first { !$0.isRequest && $0.apiKey == 18 })
        #expect(frame.apiVersion == 3)
        let captured = Array(frame.bytes.dropFirst(4))  // response header v0: the correlation id only
        let (plain, plainUnread) = try Codec.decode(ApiVersionsResponse.self, from: ByteBuffer(bytes: captured),
                                                    version: 3)
        #expect(plainUnread == 0 && plain.errorCode == 0 && plain.apiKeys.count == 36)
        #expect(plain.apiKeys.contains { $0.apiKey == 18 && $0.minVersion == 0 && $0.maxVersion == 4 })
        #expect(captured[9] == 0 && captured.last == 0)  // first entry's and top-level tag buffers: empty

        var entryTags = KafkaWriter()  // one unknown tagged field in the first ApiKeys entry
        entryTags.writeUnsignedVarint(1)
        entryTags.writeUnsignedVarint(7)
        entryTags.writeUnsignedVarint(2)
        entryTags.writeInt16(0x0ABC)
        var topTags = KafkaWriter()
        topTags.writeUnsignedVarint(4)
        func field(_ tag: UInt32, _ write: (inout KafkaWriter) -> Void) {
            var value = KafkaWriter()
            write(&value)
            topTags.writeUnsignedVarint(tag)
            topTags.writeUnsignedVarint(UInt32(value.buffer.readableBytes))
            topTags.writeRawBytes(value.buffer)
        }
        let feature: (inout KafkaWriter) -> Void = { writer in  // [{Name, two int16 levels, tags}]
            writer.writeArrayCount(1, compact: true)
            writer.writeString("metadata.version", compact: true)
            writer.writeInt16(1)
            writer.writeInt16(20)
            writer.writeEmptyTaggedFields()
        }
        field(0, feature)  // SupportedFeatures
        field(1) { $0.writeInt64(5) }  // FinalizedFeaturesEpoch
        field(2, feature)  // FinalizedFeatures
        field(3) { $0.writeBool(false) }  // ZkMigrationReady
        let tagged = Array(captured[..<9]) + Array(buffer: entryTags.buffer)
            + Array(captured[10..<(captured.count - 1)]) + Array(buffer: topTags.buffer)

        let (decoded, unread) = try Codec.decode(ApiVersionsResponse.self, from: ByteBuffer(bytes: tagged), version: 3)
        #expect(unread == 0 && decoded == plain)
        let dropped = droppedTaggedFields(captured: tagged, reencoded: Array(buffer: Codec.encode(decoded, version: 3)))
        #expect(dropped?.map(\.tags) == [[7], [0, 1, 2, 3]])
    }
}

/// Explains how `captured` differs from `reencoded` as tag buffers our encoder wrote empty: walking both, every
/// difference must be an empty tag buffer (`00`) in `reencoded` where `captured` has a well-formed non-empty one.
/// Returns the offsets (in `captured`) and tag numbers of those buffers, or nil if some difference is anything else.
func droppedTaggedFields(captured: [UInt8], reencoded: [UInt8]) -> [(offset: Int, tags: [UInt32])]? {
    var dropped: [(offset: Int, tags: [UInt32])] = []
    var i = 0
    var j = 0
    while i < captured.count || j < reencoded.count {
        if i < captured.count, j < reencoded.count, captured[i] == reencoded[j] {
            i += 1
            j += 1
            continue
        }
        guard j < reencoded.count, reencoded[j] == 0, i < captured.count else { return nil }
        // An unsigned varint of `captured` at `i`, advancing `i`.
        func uvarint() -> UInt32? {
            var value: UInt32 = 0
            for shift in stride(from: UInt32(0), through: 28, by: 7) where i < captured.count {
                let byte = captured[i]
                i += 1
                value |= UInt32(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }
        let start = i
        var tags: [UInt32] = []
        guard let count = uvarint(), count > 0 else { return nil }
        for _ in 0..<count {
            guard let tag = uvarint(), let size = uvarint(), captured.count - i >= Int(size) else { return nil }
            tags.append(tag)
            i += Int(size)
        }
        dropped.append((start, tags))
        j += 1
    }
    return dropped
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
