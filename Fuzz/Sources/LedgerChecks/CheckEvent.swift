import FuzzSupport
import LedgerDomain

/// What every event must satisfy, and its JSON round trip.
public func checkEvent(_ event: TransactionEvent, from source: String) {
    require(event.date.isValid, "\(source): invalid date \(event.date)")
    require(event.amount.cents > 0, "\(source): amount \(event.amount) is not positive")
    let scalars = event.account.unicodeScalars
    require(!event.account.isEmpty && !scalars.first!.properties.isWhitespace && !scalars.last!.properties.isWhitespace,
            "\(source): account '\(event.account)' is empty or has surrounding space")
    var json: [UInt8] = []
    event.appendJSON(to: &json)
    require(String(decoding: json, as: UTF8.self) == event.jsonText, "\(source): appendJSON and jsonText differ")
    do {
        let decoded = try TransactionEvent(json: json)
        require(decoded == event, "\(source): \(event) went through JSON as \(decoded)")
    } catch {
        fatalError("invariant broken: \(source): the JSON of \(event) does not decode: \(error)\n\(event.jsonText)")
    }
}
