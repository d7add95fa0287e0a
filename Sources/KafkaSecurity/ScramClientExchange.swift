/// The client's side of one SCRAM authentication, for ledgerstream's own Kafka client against any broker.
public struct ScramClientExchange: Sendable {
    public let mechanism: ScramMechanism
    private let username: String
    private let password: String
    private let clientNonce: String
    private var clientFirstBare = ""
    private var expectedServerSignature: [UInt8] = []

    public init(mechanism: ScramMechanism, username: String, password: String, clientNonce: String = scramNonce()) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
        self.clientNonce = clientNonce
    }

    /// `n,,n=user,r=nonce`.
    public mutating func firstMessage() -> [UInt8] {
        clientFirstBare = "n=\(ScramText.escape(username)),r=\(clientNonce)"
        return Array("n,,\(clientFirstBare)".utf8)
    }

    /// Answers the server-first message with the client-final one (the proof).
    public mutating func finalMessage(serverFirst: [UInt8]) -> Result<[UInt8], SaslFailure> {
        guard let text = String(validating: serverFirst, as: UTF8.self) else {
            return .failure(.malformed("the server's SCRAM message is not UTF-8"))
        }
        if text.hasPrefix("e=") { return .failure(.malformed("the server refused: \(text.dropFirst(2))")) }
        guard let attributes = ScramText.attributes(Substring(text)), attributes.count >= 3,
              attributes[0].key == "r", attributes[1].key == "s", attributes[2].key == "i",
              attributes[0].value.hasPrefix(clientNonce), attributes[0].value.count > clientNonce.count,
              let salt = ScramText.unbase64(attributes[1].value), let iterations = Int(attributes[2].value),
              iterations > 0
        else { return .failure(.malformed("invalid SCRAM server-first message from the broker")) }
        guard iterations >= ScramMechanism.minIterations else {
            return .failure(.malformed("the broker asked for \(iterations) SCRAM iterations, fewer than \(ScramMechanism.minIterations)"))
        }
        let salted = mechanism.saltedPassword(password, salt: salt, iterations: iterations)
        let clientKey = mechanism.hmac(key: salted, Array("Client Key".utf8))
        let storedKey = mechanism.hash(clientKey)
        let withoutProof = "c=biws,r=\(attributes[0].value)"
        let authMessage = Array("\(clientFirstBare),\(text),\(withoutProof)".utf8)
        let signature = mechanism.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = mechanism.hmac(key: salted, Array("Server Key".utf8))
        expectedServerSignature = mechanism.hmac(key: serverKey, authMessage)
        return .success(Array("\(withoutProof),p=\(ScramText.base64(proof))".utf8))
    }

    /// Checks the server-final message: the broker proves it knows the credential too.
    public func verify(serverFinal: [UInt8]) -> Result<Void, SaslFailure> {
        guard let text = String(validating: serverFinal, as: UTF8.self) else {
            return .failure(.malformed("the server's SCRAM message is not UTF-8"))
        }
        if text.hasPrefix("e=") { return .failure(.malformed("the server refused: \(text.dropFirst(2))")) }
        guard text.hasPrefix("v="), let signature = ScramText.unbase64(text.dropFirst(2).prefix { $0 != "," }),
              constantTimeEqual(signature, expectedServerSignature)
        else { return .failure(.malformed("the broker's SCRAM signature is wrong (it does not know this user's credential)")) }
        return .success(())
    }
}
