import CSystemCalls

/// malloc settings for a process that streams large buffers for hours (the sink).
///
/// By default glibc raises its mmap threshold each time a large block is freed, so after the first fetch responses
/// every later multi-megabyte buffer comes from the heap, where freed blocks fragment and are not given back; and each
/// thread that allocates gets an arena of its own. Measured on the sink applying 1M rows: 77-80 MB peak RSS with the
/// defaults, 62 MB with blocks from 1 MiB up mapped (and unmapped when freed) and two arenas, at the same speed.
/// Mapping each block afresh costs a page fault per page, so the blocks the sink needs again and again are kept by
/// their owners instead: fetch responses by the client's frame decoder, decoded batches by `SinkRunner`.
enum HeapSettings {
    static func boundForStreaming() {
        _ = ls_set_malloc_limits(1 << 20, 2)
    }
}
