#ifndef LS_DYNAMIC_LIBRARY_H
#define LS_DYNAMIC_LIBRARY_H

#include <dlfcn.h>

/// Opens the first of `names` that loads (RTLD_NOW: a missing symbol fails here, not mid-batch).
static inline void *ls_open_first(const char *const *names) {
    for (; *names; names++) {
        void *handle = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
    }
    return NULL;
}

#endif
