/// SASL DIGEST-MD5 (RFC 2831) as ZooKeeper uses it: realm and digest-uri host `zk-sasl-md5`, service `zookeeper`,
/// quality of protection `auth` only (no integrity or confidentiality layer), `md5-sess`.
///
/// The exchange, carried in sasl requests (op 102):
/// 1. client: empty token → server: challenge `realm="zk-sasl-md5",nonce="…",qop="auth",charset=utf-8,algorithm=md5-sess`
/// 2. client: response `username="bob",realm=…,nonce=…,cnonce=…,nc=00000001,qop=auth,digest-uri="zookeeper/zk-sasl-md5",
///    response=<32 hex>[,authzid=…]` → server: `rspauth=<32 hex>` (proving it knows the password too), and the
///    session holds `sasl:bob`.
package enum DigestMD5 {
    /// Parses `key=value,key="quoted \" value",…` (RFC 2831 §7.2 directives). Keys are lowercased.
    package static func directives(_ token: [UInt8]) -> [String: String]? {
        var result: [String: String] = [:]
        var index = 0
        func skipSpaceAndCommas() {
            while index < token.count, token[index] == UInt8(ascii: " ") || token[index] == UInt8(ascii: ",")
                || token[index] == UInt8(ascii: "\t") || token[index] == UInt8(ascii: "\r") || token[index] == UInt8(ascii: "\n")
            {
                index += 1
            }
        }
        skipSpaceAndCommas()
        while index < token.count {
            var key: [UInt8] = []
            while index < token.count, token[index] != UInt8(ascii: "=") {
                if token[index] != UInt8(ascii: " ") { key.append(token[index]) }
                index += 1
            }
            guard index < token.count, !key.isEmpty else { return nil }
            index += 1  // '='
            var value: [UInt8] = []
            if index < token.count, token[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < token.count {
                    let byte = token[index]
                    index += 1
                    if byte == UInt8(ascii: "\\"), index < token.count {
                        value.append(token[index])
                        index += 1
                    } else if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    } else {
                        value.append(byte)
                    }
                }
                guard closed else { return nil }
            } else {
                while index < token.count, token[index] != UInt8(ascii: ",") {
                    value.append(token[index])
                    index += 1
                }
                while value.last == UInt8(ascii: " ") { value.removeLast() }
            }
            result[String(decoding: key, as: UTF8.self).lowercased()] = String(decoding: value, as: UTF8.self)
            skipSpaceAndCommas()
        }
        return result
    }

    package static func quote(_ value: String) -> String {
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// A string's bytes for hashing: ISO 8859-1 when every character fits (RFC 2831 §2.1.2.1, what Java does with
    /// charset=utf-8), else UTF-8.
    package static func bytes(_ text: String) -> [UInt8] {
        let scalars = text.unicodeScalars
        if scalars.allSatisfy({ $0.value < 256 }) { return scalars.map { UInt8($0.value) } }
        return Array(text.utf8)
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The response value (`prefix` "AUTHENTICATE" for the client's response, "" for the server's rspauth).
    package static func responseValue(
        username: String, realm: String, password: String, nonce: String, cnonce: String, nc: String, qop: String,
        digestURI: String, authzid: String?, prefix: String
    ) -> String {
        let secret = Hashes.md5(bytes(username) + Array(":".utf8) + bytes(realm) + Array(":".utf8) + bytes(password))
        var a1 = secret + Array(":\(nonce):\(cnonce)".utf8)
        if let authzid, !authzid.isEmpty { a1 += Array(":".utf8) + Array(authzid.utf8) }
        let a2 = Array("\(prefix):\(digestURI)".utf8)
        let kd = "\(hex(Hashes.md5(a1))):\(nonce):\(nc):\(cnonce):\(qop):\(hex(Hashes.md5(a2)))"
        return hex(Hashes.md5(Array(kd.utf8)))
    }

    package static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Base64.encode(bytes)
    }
}

/// The server side of one connection's DIGEST-MD5 exchange.
package struct DigestMD5Server: Sendable {
    package enum Step: Equatable {
        /// Send this token and expect another.
        case challenge([UInt8])
        /// Authenticated as `user`; send `token` (rspauth).
        case success(token: [UInt8], user: String)
        /// Authentication failed (the reason is for the log).
        case failure(String)
        /// The exchange already finished; nothing more to say.
        case done
    }

    private enum State: Sendable {
        case start
        case challenged(nonce: String)
        case complete
        case failed
    }

    private let users: [String: String]
    private var state = State.start

    package init(users: [String: String]) {
        self.users = users
    }

    package mutating func evaluate(_ token: [UInt8], nonce: () -> String) -> Step {
        switch state {
        case .start:
            guard token.isEmpty else {
                state = .failed
                return .failure("DIGEST-MD5 must not have an initial response")
            }
            let nonce = nonce()
            state = .challenged(nonce: nonce)
            let challenge = "realm=\(DigestMD5.quote(SecurityPolicy.saslRealm)),nonce=\(DigestMD5.quote(nonce)),qop=\"auth\",charset=utf-8,algorithm=md5-sess"
            return .challenge(Array(challenge.utf8))
        case .challenged(let nonce):
            state = .failed
            return verify(token, nonce: nonce)
        case .complete:
            return token.isEmpty ? .done : .failure("SASL authentication already complete")
        case .failed:
            return .failure("SASL authentication already failed")
        }
    }

    private mutating func verify(_ token: [UInt8], nonce: String) -> Step {
        guard let fields = DigestMD5.directives(token) else { return .failure("malformed DIGEST-MD5 response") }
        guard let username = fields["username"], let response = fields["response"], let cnonce = fields["cnonce"] else {
            return .failure("DIGEST-MD5 response lacks username, cnonce or response")
        }
        guard fields["nonce"] == nonce else { return .failure("DIGEST-MD5 response has the wrong nonce") }
        let qop = fields["qop"] ?? "auth"
        guard qop == "auth" else { return .failure("DIGEST-MD5 qop '\(qop)' is not supported (only auth)") }
        let nc = fields["nc"] ?? ""
        guard UInt32(nc, radix: 16) == 1 else { return .failure("DIGEST-MD5 nonce count '\(nc)' is not 00000001") }
        let realm = fields["realm"] ?? SecurityPolicy.saslRealm
        let digestURI = fields["digest-uri"] ?? ""
        let expectedURI = "\(SecurityPolicy.saslService)/\(SecurityPolicy.saslRealm)"
        guard digestURI.lowercased() == expectedURI else {
            return .failure("DIGEST-MD5 digest-uri '\(digestURI)' is not \(expectedURI)")
        }
        guard let password = users[username] else { return .failure("unknown SASL user '\(username)'") }
        let authzid = fields["authzid"]
        let expected = DigestMD5.responseValue(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: nc, qop: qop,
            digestURI: digestURI, authzid: authzid, prefix: "AUTHENTICATE")
        guard expected == response.lowercased() else { return .failure("wrong password for SASL user '\(username)'") }
        let rspauth = DigestMD5.responseValue(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: nc, qop: qop,
            digestURI: digestURI, authzid: authzid, prefix: "")
        state = .complete
        return .success(token: Array("rspauth=\(rspauth)".utf8), user: username)
    }
}

/// The client side of DIGEST-MD5 (what the registration uses against ZooKeeper).
package struct DigestMD5Client: Sendable {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case malformedChallenge(String)
        case serverNotAuthenticated

        package var description: String {
            switch self {
            case .malformedChallenge(let why): return "malformed DIGEST-MD5 challenge: \(why)"
            case .serverNotAuthenticated: return "the server's DIGEST-MD5 rspauth does not match: it does not know the password"
            }
        }
    }

    package let username: String
    package let password: String
    private var expectedRspauth: String?
    private(set) var isComplete = false

    package init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The answer to the server's token: the response to its challenge, then nil once its rspauth checks out.
    package mutating func respond(to token: [UInt8], cnonce: String = DigestMD5.randomNonce()) throws(Failure) -> [UInt8]? {
        guard let fields = DigestMD5.directives(token) else { throw .malformedChallenge("not a directive list") }
        if let rspauth = fields["rspauth"] {
            guard let expectedRspauth, rspauth.lowercased() == expectedRspauth else { throw .serverNotAuthenticated }
            isComplete = true
            return nil
        }
        guard let nonce = fields["nonce"] else { throw .malformedChallenge("no nonce") }
        let offered = (fields["qop"] ?? "auth").split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
        guard offered.contains("auth") else { throw .malformedChallenge("the server does not offer qop=auth") }
        let realm = fields["realm"] ?? SecurityPolicy.saslRealm
        let digestURI = "\(SecurityPolicy.saslService)/\(SecurityPolicy.saslRealm)"
        let nc = "00000001"
        let response = DigestMD5.responseValue(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: nc, qop: "auth",
            digestURI: digestURI, authzid: nil, prefix: "AUTHENTICATE")
        expectedRspauth = DigestMD5.responseValue(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: nc, qop: "auth",
            digestURI: digestURI, authzid: nil, prefix: "")
        var text = "charset=utf-8,username=\(DigestMD5.quote(username)),realm=\(DigestMD5.quote(realm)),"
        text += "nonce=\(DigestMD5.quote(nonce)),nc=\(nc),cnonce=\(DigestMD5.quote(cnonce)),"
        text += "digest-uri=\(DigestMD5.quote(digestURI)),maxbuf=65536,response=\(response),qop=auth"
        return Array(text.utf8)
    }
}
