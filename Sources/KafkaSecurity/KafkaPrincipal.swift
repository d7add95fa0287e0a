/// Who a connection is, in Kafka's form `Type:name` (`User:alice`, `User:CN=client,O=Bank`, `User:ANONYMOUS`).
///
/// ACLs name principals in this form; `super.users` lists them separated by semicolons.
public struct KafkaPrincipal: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var name: String

    public init(type: String = "User", name: String) {
        self.type = type
        self.name = name
    }

    /// What a PLAINTEXT connection, or an SSL connection without a client certificate, is.
    public static let anonymous = KafkaPrincipal(name: "ANONYMOUS")

    /// Parses `Type:name`; the name may itself contain colons (`User:CN=a:b`).
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        guard !type.isEmpty, !name.isEmpty else { return nil }
        self.init(type: type, name: name)
    }

    public var description: String { "\(type):\(name)" }
}
