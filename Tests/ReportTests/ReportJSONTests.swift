import Foundation
import Testing

@testable import Ledger
@testable import Report

/// `--format json`: one object, a key per section, amounts in integer cents.
@Suite struct ReportJSONTests {
    @Test func emptyLedger() {
        expectSnapshot([ReportJSON.render(Fixtures.empty)], """
            {"header":{"database":"ledger.db","entries":0,"accounts":0,"rejected_records":0,"sink_positions":[]},"transactions":{"total":0,"omitted":0,"rows":[]},"filtered":{"from":null,"to":null,"total":0,"omitted":0,"rows":[]},"heatmap":{"accounts":[],"omitted_accounts":0},"bars":{"accounts":[],"omitted_accounts":0},"balances":{"accounts":[],"omitted_accounts":0},"reconciliation":{"balance_mismatches":0,"negative_balances":0,"omitted":0,"issues":[]}}
            """)
    }

    @Test func oneEntryAndOneIssue() {
        let entry = Fixtures.inconsistent.recent.entries[4]
        expectSnapshot([ReportJSON.entry(entry).text, ReportJSON.issue(Fixtures.inconsistent.reconciliation.latest[0]).text], """
            {"transaction_date":"2024-01-05 00:00:00","account":"C100","transaction_type":"withdrawal","amount_cents":14500,"balance_cents":83000,"stated_balance_cents":830500,"topic":"transactions","partition":0,"offset":4}
            {"kind":"balance_mismatch","account":"C100","transaction_date":"2024-01-05 00:00:00","stated_balance_cents":830500,"derived_balance_cents":83000,"topic":"transactions","partition":0,"offset":4}
            """)
    }

    @Test func sampleParsesWithEverySection() throws {
        let text = ReportJSON.render(Fixtures.inconsistent)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["header", "transactions", "filtered", "heatmap", "bars", "balances", "reconciliation"])
        let transactions = try #require(object["transactions"] as? [String: Any])
        let rows = try #require(transactions["rows"] as? [[String: Any]])
        #expect(rows.count == 5 && transactions["total"] as? Int == 5 && transactions["omitted"] as? Int == 0)
        #expect(rows.map { $0["balance_cents"] as? Int } == [100_000, 250_000, 230_000, 97_500, 83_000])
        let filtered = try #require(object["filtered"] as? [String: Any])
        #expect(filtered["from"] is NSNull && filtered["to"] is NSNull)
        let heatmap = try #require((object["heatmap"] as? [String: Any])?["accounts"] as? [[String: Any]])
        #expect(heatmap.map { "\($0["account"]!)=\($0["deposit"]!)/\($0["withdrawal"]!)" } == ["C100=1/2", "C200=1/1"])
        let bars = try #require((object["bars"] as? [String: Any])?["accounts"] as? [[String: Any]])
        #expect(bars.map { $0["withdrawn_cents"] as? Int } == [17_000, 20_000])
        let balances = try #require((object["balances"] as? [String: Any])?["accounts"] as? [[String: Any]])
        #expect(balances.map { ($0["points"] as? [Any])?.count } == [3, 2])
        let reconciliation = try #require(object["reconciliation"] as? [String: Any])
        #expect(reconciliation["balance_mismatches"] as? Int == 1 && (reconciliation["issues"] as? [Any])?.count == 1)
    }

    @Test func stringsAreEscaped() {
        #expect(JSONValue.string("a\"b\\c\nd\u{01}é").text == #""a\"b\\c\nd\u0001é""#)
    }
}
