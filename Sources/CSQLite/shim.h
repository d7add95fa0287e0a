#include <sqlite3.h>

/// sqlite3_config is variadic, so Swift cannot call it: these wrap the settings ledgerstream uses.
/// Process-wide; they only take effect before SQLite initialises (the first open), and are a no-op after.

/// Turns off SQLite's memory-usage statistics, which take a global mutex on every allocation.
static inline int ledgerstream_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
