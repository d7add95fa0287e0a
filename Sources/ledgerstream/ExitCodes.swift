import ArgumentParser

/// Exit codes shared by every command (documented in the README), following sysexits(3) where one fits.
enum ExitCodes {
    /// The operation ran and failed (a record not delivered, a topic that already exists).
    static let failure = ExitCode(1)
    /// Bad input data (a CSV row, a record that cannot be parsed).
    static let dataError = ExitCode(65)
    /// A server could not be reached, or could not listen (port in use).
    static let unavailable = ExitCode(69)
    /// Authentication or authorization failed: wrong password, untrusted certificate, an ACL denied the operation.
    static let permission = ExitCode(77)
    /// Reading or writing a local file failed.
    static let ioError = ExitCode(74)
    /// A configuration file or option is invalid.
    static let configError = ExitCode(78)
}
