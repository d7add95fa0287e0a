import FileSystem
import Foundation
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Timekeeping
import NIOEmbedded

@testable import KafkaBroker

/// Drives a `Broker` without sockets: requests are encoded as real frames, handed to `Broker.handle`, and the
/// response parts (bytes and sendfile regions) are reassembled and decoded, so the whole codec path is exercised.
final class BrokerHarness {
    let directory: String
    let loop = EmbeddedEventLoop()
    private(set) var broker: Broker
    var config: BrokerConfig
    private var correlation: Int32 = 0
    /// The connection requests come from: the first listener's, as user ANONYMOUS from 127.0.0.1 (replace it to test
    /// SASL or another principal).
    var session: ConnectionSession

    let clock: any TimeSource
    /// The partition logs' file system (a fault-injecting one in the storage fault tests).
    let fileSystem: any FileSystem

    /// The broker's metrics (no-ops unless a test passes a factory's).
    let metrics: BrokerMetrics

    /// - Parameter fileSystem: makes the logs' file system for the broker's data directory.
    init(
        clock: any TimeSource = SystemTimeSource(),
        configure: (inout BrokerConfig) -> Void = { _ in },
        fileSystem makeFileSystem: (String) throws -> any FileSystem = { _ in PosixFileSystem() },
        metrics: BrokerMetrics = .disabled
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledgerstream-broker-\(UUID().uuidString)").path
        var config = BrokerConfig()
        config.logDirs = [directory]
        config.groupInitialRebalanceDelayMs = 0
        configure(&config)
        self.config = config
        self.clock = clock
        fileSystem = try makeFileSystem(directory)
        self.metrics = metrics
        broker = try Broker(config: config, logger: Self.quietLogger, clock: clock, fileSystem: fileSystem, metrics: metrics)
        broker.groups.start(on: loop)
        session = try Self.session(config: config, listener: config.listeners[0])
    }

    /// A new connection's session on `listener`.
    static func session(config: BrokerConfig, listener: Listener) throws -> ConnectionSession {
        ConnectionSession(security: try ListenerSecurity(listener: listener, config: config), clientHost: "127.0.0.1",
                          clientAddress: "[IPv4]127.0.0.1/127.0.0.1:40000", maxUnauthenticatedFrame: config.saslServerMaxReceiveSize)
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Shuts down cleanly and opens a new broker on the same directory.
    func restart() throws {
        try broker.shutdown()
        broker = try Broker(config: config, logger: Self.quietLogger, clock: clock, fileSystem: fileSystem, metrics: metrics)
        broker.groups.start(on: loop)
    }

    func close() {
        try? broker.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    enum Outcome {
        case response(ByteBuffer)
        case none
        case pending(EventLoopFuture<[IOData]>)
        case closed(String)
        /// A failed authentication: the answer (if any) is sent after a delay, then the connection closes.
        case answeredThenClosed(ByteBuffer?, String)
    }

    /// Sends one request frame and returns the raw outcome.
    func send<R: KafkaRequest>(_ request: R, version: Int16, clientId: String? = "test") -> Outcome {
        correlation += 1
        let header = RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationId: correlation, clientId: clientId)
        var frame = KafkaFrame.request(request, header: header)
        frame.moveReaderIndex(forwardBy: 4)
        return interpret(broker.handle(frame: frame, session: session, eventLoop: loop))
    }

    func sendRaw(_ frame: ByteBuffer) -> Outcome {
        interpret(broker.handle(frame: frame, session: session, eventLoop: loop))
    }

    private func interpret(_ outcome: RequestOutcome) -> Outcome {
        switch outcome {
        case .response(let parts): return .response(Self.join(parts))
        case .noResponse: return .none
        case .deferred(let future): return .pending(future)
        case .close(let reason): return .closed(reason)
        case .respondThenClose(let parts, _, let reason): return .answeredThenClosed(parts.map(Self.join), reason)
        }
    }

    /// Concatenates response parts, reading file regions from their files.
    static func join(_ parts: [IOData]) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 1024)
        for part in parts {
            switch part {
            case .byteBuffer(let bytes):
                out.writeImmutableBuffer(bytes)
            case .fileRegion(let region):
                var bytes = [UInt8](repeating: 0, count: region.readableBytes)
                try! region.fileHandle.withUnsafeFileDescriptor { fd in
                    _ = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, region.readableBytes, off_t(region.readerIndex)) }
                }
                out.writeBytes(bytes)
            }
        }
        return out
    }

    /// Decodes a response frame (size prefix included) for `R` at `version`, checking the size prefix.
    func decode<R: KafkaRequest>(_ frame: ByteBuffer, as request: R.Type, version: Int16) throws -> R.Response {
        var frame = frame
        let size = frame.readInteger(as: Int32.self)!
        precondition(Int(size) == frame.readableBytes, "size prefix \(size) but \(frame.readableBytes) bytes follow")
        return try KafkaFrame.decodeResponse(R.Response.self, from: frame, apiKey: R.apiKey, version: version).response
    }

    /// Sends and decodes a request that is answered at once.
    func call<R: KafkaRequest>(_ request: R, version: Int16) throws -> R.Response {
        switch send(request, version: version) {
        case .response(let frame): return try decode(frame, as: R.self, version: version)
        case .pending(let future):
            loop.run()
            return try decode(Self.join(try future.wait()), as: R.self, version: version)
        case .none: throw HarnessError.noResponse
        case .closed(let reason): throw HarnessError.closed(reason)
        case .answeredThenClosed(let frame?, _): return try decode(frame, as: R.self, version: version)
        case .answeredThenClosed(nil, let reason): throw HarnessError.closed(reason)
        }
    }

    enum HarnessError: Error {
        case noResponse
        case closed(String)
    }

    // MARK: Convenience

    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) throws {
        let response = try call(CreateTopicsRequest(topics: [
            .init(name: name, numPartitions: partitions, replicationFactor: 1,
                  configs: configs.map { .init(name: $0.key, value: $0.value) }),
        ], timeoutMs: 1000), version: 5)
        precondition(response.topics[0].errorCode == 0, "create \(name) failed: \(response.topics[0].errorMessage ?? "")")
    }

    func produce(_ topic: String, partition: Int32 = 0, batch: ByteBuffer, version: Int16 = 9, acks: Int16 = -1) throws
        -> ProduceResponse.TopicProduceResponse.PartitionProduceResponse
    {
        let response = try call(ProduceRequest(acks: acks, timeoutMs: 1000, topicData: [
            .init(name: topic, partitionData: [.init(index: partition, records: .bytes(batch))]),
        ]), version: version)
        return response.responses[0].partitionResponses[0]
    }

    static func batch(_ values: [String], key: String? = nil, timestamp: Int64 = 1_700_000_000_000,
                      producerId: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.producerId = producerId
        builder.producerEpoch = epoch
        builder.baseSequence = sequence
        for (i, value) in values.enumerated() {
            builder.append(ProducerRecord(key: key.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: value),
                                          timestamp: timestamp + Int64(i)))
        }
        return builder.build()
    }

    func fetch(_ topic: String, partition: Int32 = 0, offset: Int64, version: Int16 = 11, maxWaitMs: Int32 = 0,
               topicId: KafkaUUID = .zero) throws -> FetchResponse {
        try call(FetchRequest(maxWaitMs: maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [
            .init(topic: topic, topicId: topicId, partitions: [.init(partition: partition, fetchOffset: offset, partitionMaxBytes: 1 << 20)]),
        ]), version: version)
    }

    /// Values of every record in a fetch response partition.
    static func values(_ data: FetchResponse.FetchableTopicResponse.PartitionData) throws -> [(offset: Int64, value: String)] {
        guard case .bytes(var bytes)? = data.records else { return [] }
        var result: [(Int64, String)] = []
        while bytes.readableBytes >= RecordBatchHeader.size, let header = RecordBatchHeader(bytes) {
            guard let batch = bytes.readSlice(length: header.totalSize) else { break }
            for record in try RecordBatchHeader.records(in: batch) {
                result.append((record.offset, record.value.map { String(buffer: $0) } ?? ""))
            }
        }
        return result
    }
}
