import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a TCP connect failed, in a few words ("connection refused"), for one-line errors such as "broker not reachable
/// at localhost:9092 (connection refused)". NIO's own descriptions nest every attempted address and errno.
public enum ConnectFailure {
    public static func describe(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return describe(first.error)
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        return "\(error)"
    }
}
