import FuzzSupport
import NIOCore
import ZooKeeperProtocol

/// One ZooKeeper frame (the 4-byte length removed), decoded both ways the coordinator decodes a client's frame: as
/// the ConnectRequest that opens a connection, and as a request header followed by the body of its op code (a multi
/// included). Whatever decodes must re-encode to bytes that decode to the same value with nothing left over, and
/// encode again to the same bytes.
@main
enum ZooKeeperRequestFuzz {
    static func main() { runLibFuzzer(fuzzZooKeeperRequest) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZooKeeperRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let frame = ByteBuffer(bytes: fuzzInput(data, size))
    if let connect = try? ConnectRequest(decoding: frame) {
        var bytes = ByteBuffer()
        connect.write(to: &bytes)
        var reader = JuteReader(bytes)
        let again = try? ConnectRequest(from: &reader)
        require(again == connect, "ConnectRequest \(connect) re-decoded as \(String(describing: again))")
        require(reader.remaining == 0, "\(reader.remaining) bytes left after re-decoding a ConnectRequest")
    }
    var reader = JuteReader(frame)
    guard let header = try? RequestHeader(from: &reader),
          let request = try? ZooKeeperRequest.decode(header.type, from: &reader)
    else { return 0 }
    require(request.opCode == header.type, "op \(header.type) decoded as \(request.opCode)")
    let first = request.frame(xid: header.xid)
    var again = JuteReader(first)
    do {
        let secondHeader = try RequestHeader(from: &again)
        require(secondHeader == header, "header \(header) re-decoded as \(secondHeader)")
        let second = try ZooKeeperRequest.decode(secondHeader.type, from: &again)
        require(second == request, "\(header.type) request re-decoded differently:\n\(request)\n\(second)")
        require(again.remaining == 0, "\(again.remaining) bytes left after re-decoding a \(header.type) request")
        require(second.frame(xid: header.xid) == first, "\(header.type) request encodes differently after a round trip")
    } catch {
        fatalError("invariant broken: \(header.type) request re-encoded does not decode: \(error)")
    }
    return 0
}
