// LZ4 frames through liblz4.so.1, loaded on first use: the library ships with every Debian base system (apt needs
// it), while its headers do not, so the few stable entry points of lz4frame.h are declared here.
#include <pthread.h>
#include "dynamic_library.h"
#include "output_buffer.h"

typedef struct LZ4F_dctx_s LZ4F_dctx;
typedef struct {
    unsigned stableDst;
    unsigned skipChecksums;
    unsigned reserved1;
    unsigned reserved0;
} LZ4F_decompressOptions_t;

static struct {
    size_t (*create_dctx)(LZ4F_dctx **, unsigned);
    size_t (*free_dctx)(LZ4F_dctx *);
    size_t (*decompress)(LZ4F_dctx *, void *, size_t *, const void *, size_t *, const LZ4F_decompressOptions_t *);
    unsigned (*is_error)(size_t);
    size_t (*compress_bound)(size_t, const void *);
    size_t (*compress_frame)(void *, size_t, const void *, size_t, const void *);
    int loaded;
} lz4;
static pthread_once_t lz4_once = PTHREAD_ONCE_INIT;

static void load_lz4(void) {
    static const char *const names[] = {"liblz4.so.1", "liblz4.so", NULL};
    void *handle = ls_open_first(names);
    if (!handle) return;
    *(void **)&lz4.create_dctx = dlsym(handle, "LZ4F_createDecompressionContext");
    *(void **)&lz4.free_dctx = dlsym(handle, "LZ4F_freeDecompressionContext");
    *(void **)&lz4.decompress = dlsym(handle, "LZ4F_decompress");
    *(void **)&lz4.is_error = dlsym(handle, "LZ4F_isError");
    *(void **)&lz4.compress_bound = dlsym(handle, "LZ4F_compressFrameBound");
    *(void **)&lz4.compress_frame = dlsym(handle, "LZ4F_compressFrame");
    lz4.loaded = lz4.create_dctx && lz4.free_dctx && lz4.decompress && lz4.is_error && lz4.compress_bound
        && lz4.compress_frame;
}

enum { LZ4F_VERSION = 100 };

ls_codec_status ls_lz4_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len) {
    pthread_once(&lz4_once, load_lz4);
    if (!lz4.loaded) return LS_CODEC_UNAVAILABLE;
    LZ4F_dctx *context = NULL;
    if (lz4.is_error(lz4.create_dctx(&context, LZ4F_VERSION))) return LS_CODEC_NO_MEMORY;
    ls_output o;
    ls_codec_status status = ls_output_init(&o, len * 4, max_out);
    if (status != LS_CODEC_OK) { lz4.free_dctx(context); return status; }
    size_t pos = 0;
    for (;;) {
        if ((status = ls_output_grow_if_full(&o)) != LS_CODEC_OK) break;
        size_t produced = o.capacity - o.used, consumed = len - pos;
        size_t hint = lz4.decompress(context, o.bytes + o.used, &produced, src + pos, &consumed, NULL);
        if (lz4.is_error(hint)) { status = LS_CODEC_CORRUPT; break; }
        o.used += produced;
        pos += consumed;
        if (hint == 0 && pos == len) break;  // the last frame is complete and flushed
        // No progress with room to write: the input ends inside a frame.
        if (produced == 0 && consumed == 0) { status = LS_CODEC_CORRUPT; break; }
    }
    lz4.free_dctx(context);
    return ls_output_finish(&o, status, out, out_len);
}

ls_codec_status ls_lz4_compress(const uint8_t *src, size_t len, uint8_t **out, size_t *out_len) {
    pthread_once(&lz4_once, load_lz4);
    if (!lz4.loaded) return LS_CODEC_UNAVAILABLE;
    size_t bound = lz4.compress_bound(len, NULL);
    uint8_t *bytes = malloc(bound);
    if (!bytes) return LS_CODEC_NO_MEMORY;
    size_t written = lz4.compress_frame(bytes, bound, src, len, NULL);
    if (lz4.is_error(written)) { free(bytes); return LS_CODEC_NO_MEMORY; }
    *out = bytes;
    *out_len = written;
    return LS_CODEC_OK;
}
