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

#include <malloc.h>

/// mallopt(M_MMAP_THRESHOLD, mmap_threshold) and mallopt(M_ARENA_MAX, arenas) (glibc). Returns 1 if both were set.
static inline int ls_set_malloc_limits(int mmap_threshold, int arenas) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_ARENA_MAX, arenas) == 1;
}
#else
#include <errno.h>
static inline int ls_set_malloc_limits(int mmap_threshold, int arenas) {
    (void)mmap_threshold; (void)arenas;
    return 0;
}
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
