import Crypto
import Synchronization

/// Who may use the desk: agents who gave the desk token, each holding a session (a random id in an HttpOnly,
/// SameSite=Strict cookie) with its own anti-forgery token that every form posts back. Scripts may instead send the
/// token itself as `Authorization: Bearer …`.
///
/// Tokens are compared as SHA-256 digests in constant time. Failed logins are limited: after
/// ``maxFailuresPerWindow`` in a window, logins are refused until it ends, whoever tries. Time is passed in.
public final class DeskSessions: Sendable {
    public struct Session: Sendable, Equatable {
        public var id: String
        public var csrf: String
        var lastSeen: UInt64
        var created: UInt64
        /// A message for the next page (the outcome of a form posted without the script).
        public var flash: String?
        public var flashRefused = false
    }

    public static let cookieName = "ledgerstream_desk"
    /// The shortest token accepted: 16 characters (`openssl rand -hex 32` gives 64).
    public static let minimumTokenLength = 16
    static let idleNanos: UInt64 = 30 * 60 * 1_000_000_000
    static let lifetimeNanos: UInt64 = 12 * 3600 * 1_000_000_000
    static let maxSessions = 1000
    static let failureWindowNanos: UInt64 = 60 * 1_000_000_000
    static let maxFailuresPerWindow = 10

    private struct State {
        var sessions: [String: Session] = [:]
        var failures: [UInt64] = []
    }

    private let tokenDigest: [UInt8]
    private let state = Mutex(State())

    public init(token: String) {
        precondition(token.count >= Self.minimumTokenLength, "the desk token is checked for length before the server starts")
        tokenDigest = Array(SHA256.hash(data: Array(token.utf8)))
    }

    public enum LoginResult: Sendable, Equatable {
        case session(Session)
        case wrongToken
        case tooManyFailures
    }

    /// Whether `candidate` is the desk token (as SHA-256 digests, in constant time).
    func matches(_ candidate: String) -> Bool {
        let digest = Array(SHA256.hash(data: Array(candidate.utf8)))
        var difference: UInt8 = 0
        for (left, right) in zip(digest, tokenDigest) { difference |= left ^ right }
        return difference == 0
    }

    public enum Check: Sendable, Equatable {
        case accepted, wrongToken, tooManyFailures
    }

    /// Checks a token given at the login or as a bearer: both count towards one limit of failures, and while it holds
    /// even the right token is refused, so guessing gets at most ``maxFailuresPerWindow`` tries a window.
    public func check(token: String, now: UInt64) -> Check {
        let blocked = state.withLock { state in
            state.failures.removeAll { now &- $0 > Self.failureWindowNanos }
            return state.failures.count >= Self.maxFailuresPerWindow
        }
        if blocked { return .tooManyFailures }
        guard matches(token) else {
            state.withLock { $0.failures.append(now) }
            return .wrongToken
        }
        return .accepted
    }

    public func login(token: String, now: UInt64) -> LoginResult {
        switch check(token: token, now: now) {
        case .tooManyFailures: return .tooManyFailures
        case .wrongToken: return .wrongToken
        case .accepted: break
        }
        let session = Session(id: Self.randomHex(), csrf: Self.randomHex(), lastSeen: now, created: now)
        state.withLock { state in
            state.sessions = state.sessions.filter { Self.isLive($0.value, now: now) }
            if state.sessions.count >= Self.maxSessions,
               let oldest = state.sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
                state.sessions[oldest.id] = nil
            }
            state.sessions[session.id] = session
        }
        return .session(session)
    }

    /// The live session with this id, its idle clock restarted.
    public func session(id: String, now: UInt64) -> Session? {
        state.withLock { state in
            guard var session = state.sessions[id] else { return nil }
            guard Self.isLive(session, now: now) else {
                state.sessions[id] = nil
                return nil
            }
            session.lastSeen = now
            state.sessions[id] = session
            return session
        }
    }

    public func logout(id: String) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// Keeps a message for the session's next page; ``takeFlash(id:)`` hands it over once.
    public func setFlash(id: String, _ message: String, refused: Bool) {
        state.withLock { state in
            state.sessions[id]?.flash = message
            state.sessions[id]?.flashRefused = refused
        }
    }

    public func takeFlash(id: String) -> (message: String, refused: Bool)? {
        state.withLock { state in
            guard let message = state.sessions[id]?.flash else { return nil }
            let refused = state.sessions[id]?.flashRefused ?? false
            state.sessions[id]?.flash = nil
            return (message, refused)
        }
    }

    private static func isLive(_ session: Session, now: UInt64) -> Bool {
        now &- session.lastSeen <= idleNanos && now &- session.created <= lifetimeNanos
    }

    /// 32 random bytes as hex (the system's generator: getrandom on Linux).
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var text = ""
        for _ in 0..<32 {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The session id in a Cookie header, if any.
    public static func sessionID(cookieHeader: String?) -> String? {
        guard let cookieHeader else { return nil }
        for part in cookieHeader.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingSpaces == cookieName { return String(pair[1].trimmingSpaces) }
        }
        return nil
    }

    /// The Set-Cookie value for a session (nil: the cookie that removes it).
    public static func cookie(for session: Session?) -> String {
        guard let session else { return "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" }
        return "\(cookieName)=\(session.id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(lifetimeNanos / 1_000_000_000)"
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
