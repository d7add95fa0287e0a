/// The broker's side of one SCRAM authentication (RFC 5802, RFC 7677), as Kafka's ScramSaslServer runs it:
/// client-first → server-first → client-final → server-final. Pure: credentials come from a lookup, the server nonce
/// is passed in.
///
/// Kafka's specifics: channel binding is not supported (`n` or `y` only), an authorization id must equal the user
/// name, and the only extension Kafka knows, `tokenauth`, asks for delegation tokens, which are not supported here.
public struct ScramServerExchange: Sendable {
    public enum Step: Sendable, Equatable {
        /// Send these bytes to the client and wait for its next message.
        case challenge([UInt8])
        /// Authenticated as this user; send the final message.
        case success(user: String, final: [UInt8])
    }

    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(user: String, credential: ScramCredential, clientFirstBare: String, serverFirst: String,
                                 nonce: String, gs2Header: String)
        case done
    }

    public let mechanism: ScramMechanism
    private let serverNonce: String
    private var state = State.awaitingClientFirst

    public init(mechanism: ScramMechanism, serverNonce: String = scramNonce()) {
        self.mechanism = mechanism
        self.serverNonce = serverNonce
    }

    /// Handles the client's next message. `credential` looks a user up (nil: unknown user).
    public mutating func receive(
        _ message: [UInt8], credential: (String) -> ScramCredential?
    ) -> Result<Step, SaslFailure> {
        guard let text = String(validating: message, as: UTF8.self) else {
            state = .done
            return .failure(.malformed("SCRAM message is not UTF-8"))
        }
        switch state {
        case .awaitingClientFirst:
            return clientFirst(Substring(text), credential: credential)
        case .awaitingClientFinal(let user, let stored, let clientFirstBare, let serverFirst, let nonce, let gs2Header):
            state = .done
            return clientFinal(Substring(text), user: user, credential: stored, clientFirstBare: clientFirstBare,
                               serverFirst: serverFirst, nonce: nonce, gs2Header: gs2Header)
        case .done:
            return .failure(.malformed("SCRAM exchange already finished"))
        }
    }

    private mutating func clientFirst(_ text: Substring, credential: (String) -> ScramCredential?) -> Result<Step, SaslFailure> {
        state = .done
        // gs2-header: ("n" | "y") "," [ "a=" authzid ] ","
        let pieces = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return .failure(.malformed("invalid SCRAM client-first message")) }
        guard pieces[0] == "n" || pieces[0] == "y" else {
            return .failure(.unsupported("SCRAM channel binding is not supported"))
        }
        let authzid: String?
        if pieces[1].isEmpty {
            authzid = nil
        } else if pieces[1].hasPrefix("a="), let name = ScramText.unescape(pieces[1].dropFirst(2)) {
            authzid = name
        } else {
            return .failure(.malformed("invalid SCRAM authorization id"))
        }
        let bare = pieces[2]
        guard let attributes = ScramText.attributes(bare), attributes.count >= 2,
              attributes[0].key == "n", attributes[1].key == "r",
              let user = ScramText.unescape(attributes[0].value), !user.isEmpty, !attributes[1].value.isEmpty
        else { return .failure(.malformed("invalid SCRAM client-first message")) }
        if attributes.dropFirst(2).contains(where: { $0.key == "tokenauth" && $0.value.lowercased() == "true" }) {
            return .failure(.unsupported("delegation tokens are not supported"))
        }
        if let authzid, authzid != user {
            return .failure(.unauthorizedAuthzid("authorization id '\(authzid)' differs from user '\(user)'"))
        }
        guard let stored = credential(user), stored.mechanism == mechanism else {
            return .failure(.invalidCredentials(mechanism: mechanism.saslMechanism))
        }
        let nonce = String(attributes[1].value) + serverNonce
        let serverFirst = "r=\(nonce),s=\(ScramText.base64(stored.salt)),i=\(stored.iterations)"
        state = .awaitingClientFinal(user: user, credential: stored, clientFirstBare: String(bare), serverFirst: serverFirst,
                                     nonce: nonce, gs2Header: String(text.prefix(text.count - bare.count)))
        return .success(.challenge(Array(serverFirst.utf8)))
    }

    private func clientFinal(
        _ text: Substring, user: String, credential: ScramCredential, clientFirstBare: String, serverFirst: String,
        nonce: String, gs2Header: String
    ) -> Result<Step, SaslFailure> {
        guard let proofRange = text.ranges(of: ",p=").last, let attributes = ScramText.attributes(text[..<proofRange.lowerBound]),
              attributes.count >= 2, attributes[0].key == "c", attributes[1].key == "r",
              let proof = ScramText.unbase64(text[proofRange.upperBound...])
        else { return .failure(.malformed("invalid SCRAM client-final message")) }
        guard ScramText.unbase64(attributes[0].value) == Array(gs2Header.utf8) else {
            return .failure(.malformed("SCRAM channel binding does not match the client-first message"))
        }
        // Kafka only checks that the nonce ends with the server-first one: librdkafka before 2.x sends the client
        // nonce twice (client nonce + the whole combined nonce), and Kafka accepts it.
        guard attributes[1].value.hasSuffix(nonce) else { return .failure(.malformed("SCRAM nonce does not match")) }
        let withoutProof = text[..<proofRange.lowerBound]
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = mechanism.hmac(key: credential.storedKey, authMessage)
        guard proof.count == clientSignature.count else { return .failure(.invalidCredentials(mechanism: mechanism.saslMechanism)) }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard constantTimeEqual(mechanism.hash(clientKey), credential.storedKey) else {
            return .failure(.invalidCredentials(mechanism: mechanism.saslMechanism))
        }
        let serverSignature = mechanism.hmac(key: credential.serverKey, authMessage)
        return .success(.success(user: user, final: Array("v=\(ScramText.base64(serverSignature))".utf8)))
    }
}
