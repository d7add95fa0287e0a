/// The four-letter words ZooKeeper answers on its client port: four ASCII bytes with no length prefix on a fresh
/// connection; the server writes plain text and closes (`FourLetterCommands`).
///
/// Recognising them is unambiguous: read as a frame length, any of them is over a gigabyte (well above
/// `jute.maxbuffer`), and a real first frame (a ConnectRequest) starts with protocol version 0.
public enum FourLetterWord {
    /// Every word ZooKeeper 3.8 knows (whether or not this server implements it), as their big-endian UInt32 values.
    public static let known: Set<String> = [
        "ruok", "conf", "cons", "crst", "dump", "envi", "gtmk", "stmk", "srvr", "srst", "stat", "wchc", "wchp",
        "wchs", "mntr", "isro", "hash", "dirs",
    ]

    private static let knownValues: Set<UInt32> = Set(known.map(value(of:)))

    /// The word's four bytes read as a big-endian integer (what the frame decoder's first-bytes hook sees).
    public static func value(of word: String) -> UInt32 {
        word.utf8.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Whether the first four bytes of a connection are a four-letter word.
    public static func isKnown(firstBytes: UInt32) -> Bool {
        knownValues.contains(firstBytes)
    }
}
