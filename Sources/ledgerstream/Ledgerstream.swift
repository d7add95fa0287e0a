import ArgumentParser
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The root command. Subcommands are git-style; each lives in its own file.
struct Ledgerstream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerstream",
        abstract: "Stream bank transactions: a Kafka-compatible broker, a ZooKeeper-compatible coordinator, an exactly-once SQLite sink and terminal dashboards in one binary.",
        version: "0.1.0",
        subcommands: [DemoCommand.self, BrokerCommand.self, ZooKeeperCommand.self, TopicCommand.self, GroupCommand.self, ProduceCommand.self, ConsumeCommand.self, TransactionsCommand.self, UserCommand.self, AclCommand.self, ShellCommand.self, ReportCommand.self, DumpLog.self]
    )
}

/// The process entry: a synchronous `main` that runs the command on Swift's global executor and waits for it.
///
/// An `async` main (what `@main` on an `AsyncParsableCommand` gives) hands the main thread to `dispatch_main()`, which
/// on Linux ends it with `pthread_exit`: a forced unwind of the main thread's stack before the command's first line
/// runs. The unwinder searched the binary's 1.7 MB of unwind tables (`.eh_frame_hdr`, `.eh_frame`) on the way, whose
/// pages then stayed mapped in every process (about 0.9 MB of an idle broker). Nothing in ledgerstream runs on the main
/// actor or the main dispatch queue, so the main thread only waits here.
@main
enum Entry {
    static func main() {
        blockAsynchronousSignals()
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await Ledgerstream.main()
            finished.signal()
        }
        finished.wait()
    }

    /// Blocks the signals that may be delivered to any thread, as `dispatch_main()` did for the main thread (threads
    /// started later inherit the mask): SIGINT and SIGTERM then stay pending for the signal sources that wait for them
    /// (service-lifecycle's graceful shutdown reads them through libdispatch, with the signal ignored), instead of
    /// reaching this thread and being dropped. Signals a fault raises in its own thread stay unblocked.
    private static func blockAsynchronousSignals() {
        #if canImport(Glibc)
        var mask = sigset_t()
        sigfillset(&mask)
        for fault in [SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGPIPE, SIGPROF] { sigdelset(&mask, fault) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        #endif
    }
}
