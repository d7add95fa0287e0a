import KafkaSecurity

/// `ssl.principal.mapping.rules`: how a client certificate's subject becomes a principal name. `DEFAULT` keeps the
/// whole distinguished name (`CN=client,O=Bank`); `RULE:pattern/replacement/[LU]` rules, tried in order, rewrite it
/// with a regular expression ($1… for groups), optionally lower- or upper-cased, as Kafka's SslPrincipalMapper.
struct PrincipalMappingRules: Sendable {
    enum Rule: Sendable {
        case keepWhole
        case rewrite(pattern: String, replacement: String, caseChange: Character?)
    }

    var rules: [Rule]

    init(parsing text: String) throws(SecurityConfigError) {
        rules = []
        var rest = Substring(text.trimmingSpaces())
        while !rest.isEmpty {
            rest = rest.drop { $0 == "," || $0.isWhitespace }
            if rest.isEmpty { break }
            if rest.hasPrefix("DEFAULT") {
                rules.append(.keepWhole)
                rest = rest.dropFirst("DEFAULT".count)
                continue
            }
            guard rest.hasPrefix("RULE:") else {
                throw .invalid("expected DEFAULT or RULE:pattern/replacement/[LU], at '\(rest.prefix(20))'")
            }
            rest = rest.dropFirst(5)
            guard let slash = rest.firstIndex(of: "/") else { throw .invalid("RULE needs pattern/replacement/") }
            let pattern = String(rest[..<slash])
            rest = rest[rest.index(after: slash)...]
            guard let end = rest.firstIndex(of: "/") else { throw .invalid("RULE needs pattern/replacement/") }
            let replacement = String(rest[..<end])
            rest = rest[rest.index(after: end)...]
            var caseChange: Character?
            if let first = rest.first, first == "L" || first == "U" {
                caseChange = first
                rest = rest.dropFirst()
            }
            try Self.validate(pattern: pattern)
            rules.append(.rewrite(pattern: pattern, replacement: replacement, caseChange: caseChange))
        }
        if rules.isEmpty { rules = [.keepWhole] }
    }

    /// Compiles a rule's pattern once to refuse a bad one at start. Kept out of `init(parsing:)`: `Regex` is a
    /// resilient type (its size is known only at run time), so a function with one on its stack asks for its type
    /// metadata on entry. Every broker start (rules `DEFAULT`) then ran into the regex library, and the release link
    /// placed its 387 KB of code with the start-up code (Benchmarks/startup-order.sh).
    @inline(never)
    private static func validate(pattern: String) throws(SecurityConfigError) {
        do {
            _ = try Regex(pattern)
        } catch {
            throw .invalid("RULE pattern '\(pattern)' is not a valid regular expression")
        }
    }

    /// The principal name for a certificate subject; nil when no rule matches (Kafka then refuses the connection).
    func principalName(forSubject subject: String) -> String? {
        for rule in rules {
            switch rule {
            case .keepWhole:
                return subject
            case .rewrite(let pattern, let replacement, let caseChange):
                guard let regex = try? Regex(pattern), let match = try? regex.wholeMatch(in: subject) else { continue }
                var result = ""
                var index = replacement.startIndex
                while index < replacement.endIndex {
                    let character = replacement[index]
                    let next = replacement.index(after: index)
                    if character == "$", next < replacement.endIndex, let digit = replacement[next].wholeNumberValue {
                        if digit < match.output.count, let group = match.output[digit].substring { result += group }
                        index = replacement.index(after: next)
                    } else {
                        result.append(character)
                        index = next
                    }
                }
                switch caseChange {
                case "L": return result.lowercased()
                case "U": return result.uppercased()
                default: return result
                }
            }
        }
        return nil
    }
}
