/// A Java JAAS login configuration file (the one `java.security.auth.login.config` names), as ZooKeeper and Kafka
/// read it for SASL:
///
/// ```
/// Server {
///     org.apache.zookeeper.server.auth.DigestLoginModule required
///     user_super="adminsecret"
///     user_bob="bobsecret";
/// };
/// Client {
///     org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret";
/// };
/// ```
///
/// Sections hold login modules (`class flag key=value… ;`); `//` and `/* */` comments are allowed.
public struct JAASConfiguration: Sendable, Equatable {
    public struct LoginModule: Sendable, Equatable {
        public var className: String
        /// required, requisite, sufficient or optional.
        public var flag: String
        public var options: [String: String]
    }

    public var sections: [String: [LoginModule]]

    /// Why a JAAS file could not be read: the line and what was expected.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public init(parsing text: String) throws(ParseError) {
        var tokens = try Self.tokenize(text)
        tokens.reverse()
        var sections: [String: [LoginModule]] = [:]
        func next(_ expected: String) throws(ParseError) -> Token {
            guard let token = tokens.popLast() else { throw ParseError(line: 0, message: "unexpected end of file, expected \(expected)") }
            return token
        }
        while let name = tokens.popLast() {
            guard !name.quoted, !["{", "}", ";", "="].contains(name.text) else {
                throw ParseError(line: name.line, message: "expected a section name, found '\(name.text)'")
            }
            let open = try next("'{'")
            guard open.text == "{", !open.quoted else { throw ParseError(line: open.line, message: "expected '{' after \(name.text)") }
            var modules: [LoginModule] = []
            while true {
                let first = try next("a login module or '}'")
                if first.text == "}" && !first.quoted { break }
                let flag = try next("a control flag")
                guard ["required", "requisite", "sufficient", "optional"].contains(flag.text.lowercased()) else {
                    throw ParseError(line: flag.line, message: "expected required, requisite, sufficient or optional after \(first.text), found '\(flag.text)'")
                }
                var options: [String: String] = [:]
                while true {
                    let key = try next("an option or ';'")
                    if key.text == ";" && !key.quoted { break }
                    let equals = try next("'='")
                    guard equals.text == "=", !equals.quoted else {
                        throw ParseError(line: equals.line, message: "expected '=' after option \(key.text)")
                    }
                    let value = try next("a value")
                    options[key.text] = value.text
                }
                modules.append(LoginModule(className: first.text, flag: flag.text.lowercased(), options: options))
            }
            let semicolon = try next("';' after '}'")
            guard semicolon.text == ";", !semicolon.quoted else {
                throw ParseError(line: semicolon.line, message: "expected ';' after the closing brace of \(name.text)")
            }
            sections[name.text, default: []] += modules
        }
        self.sections = sections
    }

    /// Every option of a section's login modules, later modules winning.
    public func options(of section: String) -> [String: String]? {
        guard let modules = sections[section] else { return nil }
        return modules.reduce(into: [:]) { result, module in result.merge(module.options) { $1 } }
    }

    /// ZooKeeper's DIGEST-MD5 users of a server section: `user_<name>="<password>"`.
    public func digestUsers(of section: String) -> [String: String]? {
        guard let options = options(of: section) else { return nil }
        var users: [String: String] = [:]
        for (key, value) in options where key.hasPrefix("user_") { users[String(key.dropFirst(5))] = value }
        return users
    }

    private struct Token {
        var text: String
        var quoted: Bool
        var line: Int
    }

    private static func tokenize(_ text: String) throws(ParseError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var index = 0
        var line = 1
        while index < chars.count {
            let c = chars[index]
            if c == "\n" {
                line += 1
                index += 1
            } else if c == " " || c == "\t" || c == "\r" {
                index += 1
            } else if c == "/" && index + 1 < chars.count && chars[index + 1] == "/" {
                while index < chars.count && chars[index] != "\n" { index += 1 }
            } else if c == "/" && index + 1 < chars.count && chars[index + 1] == "*" {
                let start = line
                index += 2
                while index + 1 < chars.count && !(chars[index] == "*" && chars[index + 1] == "/") {
                    if chars[index] == "\n" { line += 1 }
                    index += 1
                }
                guard index + 1 < chars.count else { throw ParseError(line: start, message: "unterminated comment") }
                index += 2
            } else if c == "{" || c == "}" || c == ";" || c == "=" {
                tokens.append(Token(text: String(c), quoted: false, line: line))
                index += 1
            } else if c == "\"" {
                let start = line
                var value = String.UnicodeScalarView()
                index += 1
                var closed = false
                while index < chars.count {
                    let d = chars[index]
                    index += 1
                    if d == "\\" && index < chars.count {
                        value.append(chars[index])
                        index += 1
                    } else if d == "\"" {
                        closed = true
                        break
                    } else {
                        if d == "\n" { line += 1 }
                        value.append(d)
                    }
                }
                guard closed else { throw ParseError(line: start, message: "unterminated quoted value") }
                tokens.append(Token(text: String(value), quoted: true, line: start))
            } else {
                var value = String.UnicodeScalarView()
                while index < chars.count {
                    let d = chars[index]
                    if d == " " || d == "\t" || d == "\r" || d == "\n" || d == "{" || d == "}" || d == ";" || d == "=" || d == "\"" { break }
                    value.append(d)
                    index += 1
                }
                tokens.append(Token(text: String(value), quoted: false, line: line))
            }
        }
        return tokens
    }
}
