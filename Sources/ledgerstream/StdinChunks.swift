import Dispatch
import NIOCore

/// Reads standard input on a dedicated thread and hands it over in chunks of lines through an AsyncStream.
///
/// Each chunk's bytes live in one ByteBuffer and every line is a slice of it, so a million lines cost a few hundred
/// allocations rather than a million. `transform` turns a line (a slice) into the element the consumer wants. At
/// most `maxPending` chunks wait unconsumed: the thread blocks until the consumer calls `consumed()`, so a fast input
/// never fills memory, and blocking reads never occupy a thread of Swift's cooperative pool.
final class StdinChunks<Element: Sendable>: Sendable {
    let stream: AsyncStream<[Element]>
    private let credits: DispatchSemaphore

    init(chunkSize: Int, maxPending: Int = 8, transform: @escaping @Sendable (ByteBuffer) -> Element) {
        // Created at 0 and credited afterwards: libdispatch traps when a semaphore is freed below its initial value,
        // which is what a consumer that stops early (a refused produce) would otherwise leave behind.
        let credits = DispatchSemaphore(value: 0)
        for _ in 0..<maxPending { credits.signal() }
        self.credits = credits
        let (stream, continuation) = AsyncStream.makeStream(of: [Element].self)
        self.stream = stream
        // A queue of its own: its one worker thread may block in read(2) without starving anything else.
        DispatchQueue(label: "ledgerstream.stdin-reader").async {
            var reader = LineReader()
            var bytes: [UInt8] = []
            var ranges: [Range<Int>] = []
            func emit() {
                let buffer = ByteBuffer(bytes: bytes)
                let chunk = ranges.map { transform(buffer.getSlice(at: $0.lowerBound, length: $0.count)!) }
                bytes.removeAll(keepingCapacity: true)
                ranges.removeAll(keepingCapacity: true)
                credits.wait()
                continuation.yield(chunk)
            }
            while let line = reader.next() {
                let start = bytes.count
                bytes.append(contentsOf: line)
                ranges.append(start..<bytes.count)
                if ranges.count == chunkSize { emit() }
            }
            if !ranges.isEmpty { emit() }
            continuation.finish()
        }
    }

    /// The consumer finished a chunk: the reader may queue another.
    func consumed() {
        credits.signal()
    }
}
