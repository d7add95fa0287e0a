import Foundation
import NIOCore

/// One frame of a captured Kafka conversation (see Fixtures/README.md): the size prefix is already removed.
struct CapturedFrame: Sendable, CustomStringConvertible {
    /// The capture file, e.g. "kcat_prod1.frames".
    let file: String
    /// Zero-based position of the frame in its file.
    let index: Int
    let connection: Int
    let isRequest: Bool
    let apiKey: Int16
    let apiVersion: Int16
    let correlationId: Int32
    let bytes: [UInt8]

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }
    var description: String {
        "\(file)#\(index) \(isRequest ? "req" : "rsp") key \(apiKey) v\(apiVersion) corr \(correlationId)"
    }
}

enum Fixtures {
    private struct Line: Decodable {
        let c: Int
        let d: String
        let k: Int16
        let v: Int16
        let corr: Int32
        let hex: String
    }

    static var directory: URL? { Bundle.module.url(forResource: "Fixtures", withExtension: nil) }

    /// The Kafka capture files (not the ZooKeeper ones), sorted; empty if the resources are missing (a dedicated
    /// test checks that they are not).
    static let kafkaFiles: [String] = {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            return []
        }
        return names.filter { $0.hasSuffix(".frames") && !$0.hasPrefix("zk_") }.sorted()
    }()

    static func frames(in file: String) throws -> [CapturedFrame] {
        guard let directory else { throw FixtureError("no Fixtures directory in the test bundle") }
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").enumerated().map { index, line in
            let parsed = try decoder.decode(Line.self, from: Data(line.utf8))
            guard let bytes = hexBytes(parsed.hex) else { throw FixtureError("\(file)#\(index): bad hex") }
            return CapturedFrame(
                file: file, index: index, connection: parsed.c, isRequest: parsed.d == "req", apiKey: parsed.k,
                apiVersion: parsed.v, correlationId: parsed.corr, bytes: bytes)
        }
    }

    static func allFrames() throws -> [CapturedFrame] {
        try kafkaFiles.flatMap { try frames(in: $0) }
    }

    /// The `occurrence`-th request (zero-based) of `apiKey` at `version` in `file`.
    static func request(_ file: String, apiKey: Int16, version: Int16, occurrence: Int = 0) throws -> CapturedFrame {
        let matching = try frames(in: file).filter { $0.isRequest && $0.apiKey == apiKey && $0.apiVersion == version }
        guard occurrence < matching.count else {
            throw FixtureError("\(file) has \(matching.count) requests of key \(apiKey) v\(version)")
        }
        return matching[occurrence]
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
