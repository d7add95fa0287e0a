// Zstandard through libzstd.so.1, loaded on first use: the library ships with every Debian base system (dpkg needs
// it), while its headers do not, so the few stable entry points of zstd.h are declared here.
#include <pthread.h>
#include "dynamic_library.h"
#include "output_buffer.h"

typedef struct ZSTD_DCtx_s ZSTD_DStream;
typedef struct { const void *src; size_t size; size_t pos; } ZSTD_inBuffer;
typedef struct { void *dst; size_t size; size_t pos; } ZSTD_outBuffer;

static struct {
    ZSTD_DStream *(*create)(void);
    size_t (*free_stream)(ZSTD_DStream *);
    size_t (*decompress_stream)(ZSTD_DStream *, ZSTD_outBuffer *, ZSTD_inBuffer *);
    unsigned (*is_error)(size_t);
    size_t (*compress_bound)(size_t);
    size_t (*compress)(void *, size_t, const void *, size_t, int);
    int loaded;
} zstd;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;

static void load_zstd(void) {
    static const char *const names[] = {"libzstd.so.1", "libzstd.so", NULL};
    void *handle = ls_open_first(names);
    if (!handle) return;
    *(void **)&zstd.create = dlsym(handle, "ZSTD_createDStream");
    *(void **)&zstd.free_stream = dlsym(handle, "ZSTD_freeDStream");
    *(void **)&zstd.decompress_stream = dlsym(handle, "ZSTD_decompressStream");
    *(void **)&zstd.is_error = dlsym(handle, "ZSTD_isError");
    *(void **)&zstd.compress_bound = dlsym(handle, "ZSTD_compressBound");
    *(void **)&zstd.compress = dlsym(handle, "ZSTD_compress");
    zstd.loaded = zstd.create && zstd.free_stream && zstd.decompress_stream && zstd.is_error && zstd.compress_bound
        && zstd.compress;
}

ls_codec_status ls_zstd_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len) {
    pthread_once(&zstd_once, load_zstd);
    if (!zstd.loaded) return LS_CODEC_UNAVAILABLE;
    // A fresh stream is already initialised (ZSTD_createDStream), and it continues across concatenated frames.
    ZSTD_DStream *stream = zstd.create();
    if (!stream) return LS_CODEC_NO_MEMORY;
    ls_output o;
    ls_codec_status status = ls_output_init(&o, len * 4, max_out);
    if (status != LS_CODEC_OK) { zstd.free_stream(stream); return status; }
    ZSTD_inBuffer input = {src, len, 0};
    for (;;) {
        if ((status = ls_output_grow_if_full(&o)) != LS_CODEC_OK) break;
        ZSTD_outBuffer output = {o.bytes, o.capacity, o.used};
        size_t before_in = input.pos;
        size_t hint = zstd.decompress_stream(stream, &output, &input);
        if (zstd.is_error(hint)) { status = LS_CODEC_CORRUPT; break; }
        size_t produced = output.pos - o.used;
        o.used = output.pos;
        if (hint == 0 && input.pos == input.size) break;  // the last frame is complete and flushed
        // No progress with room to write: the input ends inside a frame.
        if (produced == 0 && input.pos == before_in) { status = LS_CODEC_CORRUPT; break; }
    }
    zstd.free_stream(stream);
    return ls_output_finish(&o, status, out, out_len);
}

ls_codec_status ls_zstd_compress(const uint8_t *src, size_t len, int level, uint8_t **out, size_t *out_len) {
    pthread_once(&zstd_once, load_zstd);
    if (!zstd.loaded) return LS_CODEC_UNAVAILABLE;
    size_t bound = zstd.compress_bound(len);
    uint8_t *bytes = malloc(bound);
    if (!bytes) return LS_CODEC_NO_MEMORY;
    size_t written = zstd.compress(bytes, bound, src, len, level);
    if (zstd.is_error(written)) { free(bytes); return LS_CODEC_NO_MEMORY; }
    *out = bytes;
    *out_len = written;
    return LS_CODEC_OK;
}
