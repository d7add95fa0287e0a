import KafkaProtocol
import NIOCore
import Testing

typealias ArbitraryRequest = KafkaRequest & ArbitraryCodable
typealias ArbitraryResponse = KafkaResponse & ArbitraryCodable

/// One implemented API: its generated request and response types, type-erased so that tests can iterate over all of
/// them (generic helpers open the metatypes again).
struct GeneratedAPI: Sendable, CustomStringConvertible {
    let apiKey: ApiKey
    let name: String
    let versions: ClosedRange<Int16>
    let firstFlexibleVersion: Int16?
    let request: any ArbitraryRequest.Type
    let response: any ArbitraryResponse.Type

    init<R: ArbitraryRequest>(_ request: R.Type) where R.Response: ArbitraryCodable {
        apiKey = R.apiKey
        name = "\(R.self)".replacingOccurrences(of: "Request", with: "")
        versions = R.supportedVersions
        firstFlexibleVersion = R.firstFlexibleVersion
        self.request = R.self
        response = R.Response.self
    }

    var description: String { name }

    /// Every generated request type. `everyImplementedApiIsListed` checks this against `ApiKey.schemas`.
    static let all: [GeneratedAPI] = [
        GeneratedAPI(ProduceRequest.self),
        GeneratedAPI(FetchRequest.self),
        GeneratedAPI(ListOffsetsRequest.self),
        GeneratedAPI(MetadataRequest.self),
        GeneratedAPI(OffsetCommitRequest.self),
        GeneratedAPI(OffsetFetchRequest.self),
        GeneratedAPI(FindCoordinatorRequest.self),
        GeneratedAPI(JoinGroupRequest.self),
        GeneratedAPI(HeartbeatRequest.self),
        GeneratedAPI(LeaveGroupRequest.self),
        GeneratedAPI(SyncGroupRequest.self),
        GeneratedAPI(DescribeGroupsRequest.self),
        GeneratedAPI(ListGroupsRequest.self),
        GeneratedAPI(ApiVersionsRequest.self),
        GeneratedAPI(CreateTopicsRequest.self),
        GeneratedAPI(DeleteTopicsRequest.self),
        GeneratedAPI(DeleteRecordsRequest.self),
        GeneratedAPI(InitProducerIdRequest.self),
        GeneratedAPI(OffsetForLeaderEpochRequest.self),
        GeneratedAPI(AddPartitionsToTxnRequest.self),
        GeneratedAPI(AddOffsetsToTxnRequest.self),
        GeneratedAPI(EndTxnRequest.self),
        GeneratedAPI(TxnOffsetCommitRequest.self),
        GeneratedAPI(DescribeConfigsRequest.self),
        GeneratedAPI(CreatePartitionsRequest.self),
        GeneratedAPI(IncrementalAlterConfigsRequest.self),
        GeneratedAPI(DescribeClusterRequest.self),
        GeneratedAPI(DescribeProducersRequest.self),
        GeneratedAPI(DescribeTransactionsRequest.self),
        GeneratedAPI(ListTransactionsRequest.self),
        GeneratedAPI(ConsumerGroupHeartbeatRequest.self),
        GeneratedAPI(ConsumerGroupDescribeRequest.self),
        GeneratedAPI(SaslHandshakeRequest.self),
        GeneratedAPI(SaslAuthenticateRequest.self),
        GeneratedAPI(DescribeAclsRequest.self),
        GeneratedAPI(CreateAclsRequest.self),
        GeneratedAPI(DeleteAclsRequest.self),
        GeneratedAPI(DescribeUserScramCredentialsRequest.self),
        GeneratedAPI(AlterUserScramCredentialsRequest.self),
        GeneratedAPI(AlterConfigsRequest.self),
        GeneratedAPI(DescribeLogDirsRequest.self),
        GeneratedAPI(DeleteGroupsRequest.self),
        GeneratedAPI(OffsetDeleteRequest.self),
        GeneratedAPI(GetTelemetrySubscriptionsRequest.self),
        GeneratedAPI(DescribeTopicPartitionsRequest.self),
    ]

    static let byKey: [Int16: GeneratedAPI] = Dictionary(uniqueKeysWithValues: all.map { ($0.apiKey.rawValue, $0) })
}

/// One generated message type (request or response) with the versions it must handle.
struct MessageKind: Sendable, CustomTestStringConvertible {
    let api: GeneratedAPI
    let isRequest: Bool

    var type: any ArbitraryCodable.Type { isRequest ? api.request : api.response }
    var name: String { "\(type)" }
    var testDescription: String { name }

    static let requests = GeneratedAPI.all.map { MessageKind(api: $0, isRequest: true) }
    static let responses = GeneratedAPI.all.map { MessageKind(api: $0, isRequest: false) }
    static let all = requests + responses
}

/// Encoding and decoding of one message body, shared by the tests.
enum Codec {
    static func encode<T: KafkaCodable>(_ value: T, version: Int16) -> ByteBuffer {
        var writer = KafkaWriter()
        value.write(to: &writer, version: version)
        return writer.buffer
    }

    /// Decodes `bytes` as `T`; also returns how many bytes were left unread.
    static func decode<T: KafkaCodable>(
        _ type: T.Type, from bytes: ByteBuffer, version: Int16
    ) throws(KafkaDecodingError) -> (value: T, unread: Int) {
        var reader = KafkaReader(bytes)
        let value = try T(from: &reader, version: version)
        return (value, reader.remaining)
    }
}
