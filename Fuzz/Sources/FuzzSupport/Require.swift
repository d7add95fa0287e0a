/// Checks an invariant of the code under test. A broken one stops the process (a trap libFuzzer reports as a crash,
/// saving the input as `crash-…`), with `message` saying which invariant and on what values.
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// The input libFuzzer passes to `LLVMFuzzerTestOneInput`, as a buffer (empty when `data` is nil).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
}
