import Testing

@testable import Dashboard

@Suite struct FormFieldsTests {
    @Test func decodesPlusAndPercent() {
        let fields = FormFields(parsing: "account=C%20100&from=2024-01-02&note=a+b&empty=&bad=%zz")
        #expect(fields["account"] == "C 100")
        #expect(fields["note"] == "a b")
        #expect(fields["empty"] == nil)
        #expect(fields["bad"] == "%zz")
        #expect(fields["missing"] == nil)
    }

    @Test func encodingRoundTrips() {
        for text in ["C 1&2=3", "é/ü?", "plain-._~"] {
            #expect(FormFields(parsing: Substring("v=" + FormFields.encode(text)))["v"] == text)
        }
    }
}
