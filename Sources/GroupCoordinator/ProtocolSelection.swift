/// Choosing the group's protocol (for consumers: the partition assignor) from the members' preference lists.
enum ProtocolSelection {
    /// The protocols every member supports, in the first member's preference order.
    static func commonProtocols(_ preferences: [[String]]) -> [String] {
        guard let first = preferences.first else { return [] }
        return first.filter { name in preferences.allSatisfy { $0.contains(name) } }
    }

    /// Kafka's `selectProtocol`: each member votes for its most preferred common protocol and the most votes win.
    /// Kafka breaks ties arbitrarily (hash-map order); here the first member's preference decides, so the choice is
    /// deterministic. Nil when the members share no protocol.
    static func select(_ preferences: [[String]]) -> String? {
        let candidates = commonProtocols(preferences)
        guard var best = candidates.first else { return nil }
        var votes: [String: Int] = [:]
        for member in preferences {
            guard let vote = member.first(where: { candidates.contains($0) }) else { continue }
            votes[vote, default: 0] += 1
        }
        for candidate in candidates.dropFirst() where votes[candidate, default: 0] > votes[best, default: 0] {
            best = candidate
        }
        return best
    }

    /// Drops repeated names after their first occurrence, so that vote counting and metadata lookup see each
    /// protocol once.
    static func deduplicated(_ protocols: [GroupProtocol]) -> [GroupProtocol] {
        var seen = Set<String>()
        return protocols.filter { seen.insert($0.name).inserted }
    }
}

extension Group {
    /// Kafka's `supportsProtocols`: an empty group accepts any non-empty protocol type with at least one protocol; a
    /// non-empty group requires the same type and one protocol that every current member supports (counting the
    /// joining member's own current list, as Kafka does).
    func supportsProtocols(type: String, names: [String]) -> Bool {
        if state == .empty {
            return !type.isEmpty && !names.isEmpty
        }
        guard protocolType == type else { return false }
        return names.contains { name in members.values.allSatisfy { $0.supports(name) } }
    }

    /// The protocol for the next generation. Join validation keeps at least one protocol common to all members, so
    /// failing to find one is a coordinator bug.
    func selectProtocol() -> String {
        let preferences = orderedMembers.map { $0.protocols.map(\.name) }
        guard let selected = ProtocolSelection.select(preferences) else {
            preconditionFailure("group \(groupId): members share no protocol")
        }
        return selected
    }
}
