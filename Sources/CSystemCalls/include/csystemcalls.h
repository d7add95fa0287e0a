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

#include <sys/vfs.h>

/// statfs(path)'s f_type (the file system's magic number) into *type. Returns 0, or -1 with errno set.
static inline int ls_filesystem_type(const char *path, long long *type) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    *type = (long long)info.f_type;
    return 0;
}
#else
#include <errno.h>
static inline int ls_filesystem_type(const char *path, long long *type) {
    (void)path; *type = 0;
    return 0;
}
static inline int ls_reserve_keep_size(int fd, long long offset, long long length) {
    (void)fd; (void)offset; (void)length;
    errno = EOPNOTSUPP;
    return -1;
}
#endif

#endif
