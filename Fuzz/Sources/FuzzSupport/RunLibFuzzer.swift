import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// The body of each target's `main`: hands the process's arguments and `testOneInput` to libFuzzer's driver.
///
/// SwiftPM links every executable target with `main` aliased to the module's own entry point, so libFuzzer's `main`
/// cannot be used (and `-parse-as-library` fails to link); `LLVMFuzzerRunDriver` is libFuzzer's supported way in.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
