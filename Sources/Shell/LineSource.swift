import CReadline
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where the shell's lines come from: GNU readline on a terminal, plain lines when stdin is piped.
public protocol LineSource {
    /// The next line, or nil at the end of input (Ctrl-D, or the end of the pipe).
    func readLine(prompt: String) async -> String?
    func close() async
}

/// Piped stdin: no prompt and no echo, so output stays clean for scripts and tests. Lines are read on a thread of
/// their own (a blocking read must not hold one of the few cooperative threads).
public final class PipedLineSource: LineSource {
    private let thread = NIOThreadPool(numberOfThreads: 1)

    public init() {
        thread.start()
    }

    public func readLine(prompt: String) async -> String? {
        (try? await thread.runIfActive { Swift.readLine(strippingNewline: true) }) ?? nil
    }

    public func close() async {
        try? await thread.shutdownGracefully()
    }
}

/// GNU readline: line editing, a persistent history file, Tab completion of commands and of account names after
/// `login`. readline keeps global state, so every call into it runs on one dedicated thread.
public final class ReadlineLineSource: LineSource, Sendable {
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let historyFile: String?
    /// Lines kept in the history file.
    static let historyLimit: Int32 = 1000

    private let configured = Mutex(false)

    public init(historyFile: String?) {
        self.historyFile = historyFile
        thread.start()
    }

    /// The account names Tab offers after `login` (the session refreshes them whenever it reads the accounts).
    public static func setAccounts(_ accounts: [String]) {
        completionAccounts.withLock { $0 = accounts }
    }

    public func readLine(prompt: String) async -> String? {
        (try? await thread.runIfActive { [self] in
            if !configured.withLock({ $0 }) {
                configured.withLock { $0 = true }
                ledgerstream_readline_configure(strdup("ledgerstream"), attemptCompletion)
                stifle_history(Self.historyLimit)
                if let historyFile { _ = read_history(historyFile) }
            }
            guard let raw = readline(prompt) else { return nil }
            defer { free(raw) }
            let line = String(cString: raw)
            if !line.allSatisfy(\.isWhitespace) { add_history(raw) }
            return line
        }) ?? nil
    }

    public func close() async {
        let file = historyFile
        _ = try? await thread.runIfActive {
            if let file {
                _ = write_history(file)
                _ = history_truncate_file(file, Self.historyLimit)
            }
        }
        try? await thread.shutdownGracefully()
    }
}

// readline calls these C function pointers from inside `readline()`, on the reader thread; they cannot capture
// context, so what they need lives in these locked globals.
private let completionAccounts = Mutex<[String]>([])
private let completionMatches = Mutex<(words: [String], next: Int)>(([], 0))

private func attemptCompletion(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    ledgerstream_readline_no_default_completion()  // never fall back to file names
    let line = ledgerstream_readline_line_buffer().map { String(cString: $0) } ?? ""
    let before = String(decoding: line.utf8.prefix(Int(start)), as: UTF8.self).split(whereSeparator: \.isWhitespace)
    let prefix = text.map { String(cString: $0) } ?? ""
    let candidates: [String]
    if before.isEmpty {
        candidates = ShellInput.commands.map(\.name)
    } else if before.count == 1 && before[0].lowercased() == "login" {
        candidates = completionAccounts.withLock { $0 }
    } else {
        candidates = []
    }
    completionMatches.withLock { $0 = (candidates.filter { $0.hasPrefix(prefix) }, 0) }
    return rl_completion_matches(text, completionGenerator)
}

private func completionGenerator(_ text: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    completionMatches.withLock { matches in
        guard matches.next < matches.words.count else { return nil }
        defer { matches.next += 1 }
        return strdup(matches.words[matches.next])
    }
}
