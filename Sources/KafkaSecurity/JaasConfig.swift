/// One `sasl.jaas.config` value, Kafka's inline JAAS form:
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="secret" user_alice="a";`
///
/// The broker reads PLAIN users from the `user_NAME` options; clients read `username` and `password`.
public struct JaasConfig: Sendable, Equatable {
    public var loginModule: String
    public var controlFlag: String
    public var options: [String: String]

    public init(parsing text: String) throws(SecurityConfigError) {
        var scanner = Substring(text.trimmingSpaces())
        func skipSpaces() { scanner = scanner.drop { $0.isWhitespace } }
        func word() -> Substring {
            let result = scanner.prefix { !$0.isWhitespace && $0 != ";" && $0 != "=" }
            scanner = scanner.dropFirst(result.count)
            return result
        }
        loginModule = String(word())
        skipSpaces()
        controlFlag = String(word()).lowercased()
        guard !loginModule.isEmpty,
              ["required", "requisite", "sufficient", "optional"].contains(controlFlag)
        else {
            throw .invalid("sasl.jaas.config must look like 'LoginModuleClass required key=\"value\" ...;'")
        }
        options = [:]
        while true {
            skipSpaces()
            if scanner.isEmpty || scanner.first == ";" { break }
            let key = String(word())
            skipSpaces()
            guard !key.isEmpty, scanner.first == "=" else {
                throw .invalid("sasl.jaas.config: expected key=\"value\" after '\(key)'")
            }
            scanner = scanner.dropFirst()
            skipSpaces()
            var value = ""
            if scanner.first == "\"" {
                scanner = scanner.dropFirst()
                var closed = false
                while let character = scanner.first {
                    scanner = scanner.dropFirst()
                    if character == "\\", let next = scanner.first {
                        value.append(next)
                        scanner = scanner.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw .invalid("sasl.jaas.config: unterminated quoted value for '\(key)'") }
            } else {
                value = String(word())
            }
            options[key] = value
        }
        guard scanner.first == ";" else { throw .invalid("sasl.jaas.config must end with ';'") }
    }

    /// PLAIN users declared as `user_NAME="password"`.
    public var plainUsers: [String: String] {
        var users: [String: String] = [:]
        for (key, value) in options where key.hasPrefix("user_") && key.count > 5 {
            users[String(key.dropFirst(5))] = value
        }
        return users
    }
}
