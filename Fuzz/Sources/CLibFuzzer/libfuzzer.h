#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, from compiler-rt's fuzzer runtime (linked by -sanitize=fuzzer): parses the libFuzzer flags in
/// argv, then fuzzes `callback` (or runs the inputs named in argv).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
