import Testing

@testable import GroupCoordinator

/// Member id generation.
@Suite struct MemberIDGeneratorTests {
    @Test func idsHaveKafkasShapeAndAreDeterministicPerSeed() {
        // Goal: ids look like `<prefix>-<uuid v4>`, repeat for the same seed and differ across seeds and calls.
        var first = MemberIDGenerator(seed: 7)
        var second = MemberIDGenerator(seed: 7)
        var other = MemberIDGenerator(seed: 8)
        let id = first.next(prefix: "client")
        #expect(id == second.next(prefix: "client"))
        #expect(id != other.next(prefix: "client"))
        let uuid = id.dropFirst("client-".count)
        #expect(uuid.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(uuid.split(separator: "-")[2].first == "4")
        #expect(uuid.allSatisfy { $0 == "-" || $0.isHexDigit })
        var seen = Set([id])
        for _ in 0..<1000 {
            #expect(seen.insert(first.next(prefix: "client")).inserted)
        }
    }
}
