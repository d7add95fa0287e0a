import Foundation
import Testing

/// Compares rendered lines with an inline snapshot. Escape sequences are shown as "⎋" so coloured snapshots stay
/// readable in the test source. After a deliberate change to a renderer, run the tests with
/// REPORT_SNAPSHOT_DUMP=DIR to get each differing output written to DIR/<test file>-<line>.txt, to review and paste.
func expectSnapshot(_ lines: [String], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let actual = visible(lines.joined(separator: "\n"))
    if let directory = ProcessInfo.processInfo.environment["REPORT_SNAPSHOT_DUMP"], actual != expected {
        let name = "\(sourceLocation.fileName)-\(sourceLocation.line).txt"
        try? actual.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }
    #expect(actual == expected, sourceLocation: sourceLocation)
}

func visible(_ text: String) -> String {
    text.replacingOccurrences(of: "\u{1B}", with: "⎋")
}
