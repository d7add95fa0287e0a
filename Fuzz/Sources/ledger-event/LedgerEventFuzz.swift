import FuzzSupport
import LedgerChecks
import LedgerDomain
import NIOCore

/// A record value through the decoder the sink runs on every fetched record (`TransactionEvent(json:)`), from a
/// byte array and from a ByteBuffer (the sink's path), which must agree. An accepted event must pass `checkEvent`:
/// a valid date, an account without surrounding space, a positive amount, its own JSON decoding to it again.
@main
enum LedgerEventFuzz {
    static func main() { runLibFuzzer(fuzzLedgerEvent) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLedgerEvent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let fromArray = Result { () throws(TransactionEvent.DecodeError) in try TransactionEvent(json: Array(input)) }
    let fromBuffer = Result { () throws(TransactionEvent.DecodeError) in try TransactionEvent(json: ByteBuffer(bytes: input)) }
    require(fromArray == fromBuffer, "decoding from an array gives \(fromArray), from a ByteBuffer \(fromBuffer)")
    guard case .success(let event) = fromArray else { return 0 }
    checkEvent(event, from: "the record value")
    return 0
}
