// readline.h needs FILE, so stdio.h comes first.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

// readline is configured through global variables; Swift 6 refuses to touch C globals directly (they are shared
// mutable state), so these small accessors do it. The shell calls them only from its one readline thread.

/// Names the application (for ~/.inputrc conditionals) and installs the completion hook.
static inline void ledgerstream_readline_configure(const char *name, rl_completion_func_t *completion) {
    rl_readline_name = name;
    rl_attempted_completion_function = completion;
}

/// Inside a completion hook: stop readline falling back to file-name completion.
static inline void ledgerstream_readline_no_default_completion(void) {
    rl_attempted_completion_over = 1;
}

/// Inside a completion hook: the whole line being edited.
static inline const char *ledgerstream_readline_line_buffer(void) {
    return rl_line_buffer;
}
