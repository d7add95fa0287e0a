// codec-bench: request decode/encode rates of the Kafka protocol codec, and record batch build/validate rates.
//
// Measures, each for about a second, median of 5 runs:
//  1. a Produce request (v9, flexible) carrying one 16 KiB record batch of 100-byte records: encode and decode
//     (the batch is carried as bytes, not parsed: what the broker does before validation);
//  2. RecordBatchValidator.validateProduced on that batch (CRC-32C + the walk over every record);
//  3. RecordBatchBuilder building such a batch from 100-byte records (what a producer does);
//  4. a Metadata response for 100 topics x 3 partitions: encode and decode (what clients ask for most after data).
//
// Usage: swift run -c release --package-path Benchmarks codec-bench
import Dispatch
import KafkaProtocol
import NIOCore

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Runs `body` repeatedly for about `seconds`, 5 times; returns the median operations per second.
func rate(seconds: Double = 1, _ body: () throws -> Void) rethrows -> Double {
    var rates: [Double] = []
    for _ in 0..<5 {
        var count = 0
        let start = now()
        var elapsed = 0.0
        while elapsed < seconds / 5 {
            for _ in 0..<64 { try body() }
            count += 64
            elapsed = now() - start
        }
        rates.append(Double(count) / elapsed)
    }
    return rates.sorted()[2]
}

func format(_ perSecond: Double, unit: String, bytes: Int? = nil) -> String {
    let millions: Double = perSecond / 1e6
    let thousands: Double = perSecond / 1e3
    var text: String = perSecond >= 1e6 ? "\(rounded(millions, 2)) M \(unit)/s" : "\(rounded(thousands, 0)) k \(unit)/s"
    if let bytes {
        let gigabytes: Double = perSecond * Double(bytes) / 1e9
        text += " (\(rounded(gigabytes, 2)) GB/s)"
    }
    return text
}

func rounded(_ value: Double, _ decimals: Int) -> String {
    let scale: Double = decimals == 0 ? 1 : (decimals == 1 ? 10 : 100)
    let scaled = Int((value * scale).rounded())
    guard decimals > 0 else { return "\(scaled)" }
    let fraction = String(scaled % Int(scale))
    return "\(scaled / Int(scale)).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
}

/// Results feed this so the optimiser cannot drop the work (a local: a global would add exclusivity checks).
struct Sink {
    var total = 0
}

// A 16 KiB batch of 100-byte records.
let value = ByteBuffer(repeating: 0x61, count: 100)
func buildBatch() -> ByteBuffer {
    var builder = RecordBatchBuilder(capacity: 17 * 1024)
    builder.producerId = 42
    builder.producerEpoch = 0
    builder.baseSequence = 0
    while builder.sizeInBytes < 16 * 1024 - 120 {
        builder.append(ProducerRecord(key: nil, value: value, timestamp: 1_700_000_000_000))
    }
    return builder.build()
}
let batch = buildBatch()
let recordsPerBatch = try RecordBatchValidator.validateProduced(batch).reduce(0) { $0 + Int($1.recordCount) }

let produce = ProduceRequest(acks: -1, timeoutMs: 30_000, topicData: [
    .init(name: "transactions", partitionData: [.init(index: 0, records: .bytes(batch))]),
])
func encode(_ message: some KafkaCodable, version: Int16) -> ByteBuffer {
    var writer = KafkaWriter(capacity: 20 * 1024)
    message.write(to: &writer, version: version)
    return writer.buffer
}
let produceBytes = encode(produce, version: 9)

let metadata = MetadataResponse(
    throttleTimeMs: 0,
    brokers: [.init(nodeId: 1, host: "127.0.0.1", port: 9092, rack: nil)],
    clusterId: "ledgerstream", controllerId: 1,
    topics: (0..<100).map { topic in
        .init(errorCode: 0, name: "topic-\(topic)", topicId: KafkaUUID.random(), isInternal: false,
              partitions: (0..<3).map { .init(errorCode: 0, partitionIndex: $0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: []) },
              topicAuthorizedOperations: Int32.min)
    })
let metadataBytes = encode(metadata, version: 12)

func main() throws {
    var sink = Sink()
    print("codec-bench (CRC-32C hardware path: \(CRC32C.usesHardware))")
    print("")
    print("| operation | rate |")
    print("|---|---|")
    let produceEncode = rate { sink.total &+= encode(produce, version: 9).readableBytes }
    print("| Produce v9 request, one 16 KiB batch: encode | \(format(produceEncode, unit: "requests", bytes: produceBytes.readableBytes)) |")
    let produceDecode = try rate {
        var reader = KafkaReader(produceBytes)
        sink.total &+= try ProduceRequest(from: &reader, version: 9).topicData.count
    }
    print("| Produce v9 request, one 16 KiB batch: decode | \(format(produceDecode, unit: "requests", bytes: produceBytes.readableBytes)) |")
    let validate = try rate { sink.total &+= try RecordBatchValidator.validateProduced(batch).count }
    print("| validate a 16 KiB batch (CRC-32C + \(recordsPerBatch) records) | \(format(validate * Double(recordsPerBatch), unit: "records", bytes: nil)) = \(format(validate, unit: "batches", bytes: batch.readableBytes)) |")
    let frameOnly = try rate { sink.total &+= try RecordBatchValidator.validateProduced(batch, checkRecords: false).count }
    print("| the same without the record walk (CRC-32C and header checks only) | \(format(frameOnly, unit: "batches", bytes: batch.readableBytes)) |")
    let build = rate { sink.total &+= buildBatch().readableBytes }
    print("| build a 16 KiB batch from 100-byte records | \(format(build * Double(recordsPerBatch), unit: "records")) |")
    let metadataEncode = rate { sink.total &+= encode(metadata, version: 12).readableBytes }
    print("| Metadata v12 response, 100 topics x 3 partitions: encode | \(format(metadataEncode, unit: "responses", bytes: metadataBytes.readableBytes)) |")
    let metadataDecode = try rate {
        var reader = KafkaReader(metadataBytes)
        sink.total &+= try MetadataResponse(from: &reader, version: 12).topics.count
    }
    print("| Metadata v12 response, 100 topics x 3 partitions: decode | \(format(metadataDecode, unit: "responses", bytes: metadataBytes.readableBytes)) |")
    if sink.total == 42 { print("") }
}

try main()
