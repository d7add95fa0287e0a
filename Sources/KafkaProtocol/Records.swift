import NIOCore

/// The value of a `records` field (Produce and Fetch): concatenated record batches.
///
/// Received data is always `.bytes`, a slice of the request frame. The broker answers fetches with `.regions`, pieces
/// of segment files that NIO writes with sendfile(2), so record bytes are never copied through user space.
public enum Records: Sendable, Equatable {
    case bytes(ByteBuffer)
    case regions([FileSlice])

    public static let empty = Records.bytes(ByteBuffer())

    public var byteCount: Int {
        switch self {
        case .bytes(let bytes): return bytes.readableBytes
        case .regions(let slices): return slices.reduce(0) { $0 + $1.region.readableBytes }
        }
    }
}

/// A region of an open file, and the object that keeps its descriptor open until the write has finished.
public struct FileSlice: Sendable, Equatable {
    public var region: FileRegion
    /// Retained for as long as the slice is alive; its deinit may close the descriptor.
    public var owner: any AnyObject & Sendable

    public init(region: FileRegion, owner: any AnyObject & Sendable) {
        self.region = region
        self.owner = owner
    }

    public static func == (lhs: FileSlice, rhs: FileSlice) -> Bool {
        lhs.region == rhs.region && lhs.owner === rhs.owner
    }
}
