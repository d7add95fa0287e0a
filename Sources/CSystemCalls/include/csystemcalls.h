#ifndef CSYSTEMCALLS_H
#define CSYSTEMCALLS_H

// System calls Swift's Glibc module does not import (they need _GNU_SOURCE).

#ifdef __linux__
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <errno.h>

/// fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length): reserves blocks without changing the file's size.
/// Returns 0, or -1 with errno set (EOPNOTSUPP where the file system cannot reserve).
static inline int ls_reserve_keep_size(int fd, long long offset, long long length) {
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
}
#else
#include <errno.h>
static inline int ls_reserve_keep_size(int fd, long long offset, long long length) {
    (void)fd; (void)offset; (void)length;
    errno = EOPNOTSUPP;
    return -1;
}
#endif

#endif
