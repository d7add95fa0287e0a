#ifndef LS_OUTPUT_BUFFER_H
#define LS_OUTPUT_BUFFER_H

#include <stdlib.h>
#include <string.h>
#include "ccompression.h"

/// A malloc'd output that doubles as it fills, never beyond `limit` bytes.
typedef struct {
    uint8_t *bytes;
    size_t used;
    size_t capacity;
    size_t limit;
} ls_output;

static inline ls_codec_status ls_output_init(ls_output *o, size_t hint, size_t limit) {
    o->capacity = hint < 4096 ? 4096 : hint;
    if (o->capacity > limit && limit > 0) o->capacity = limit;
    o->used = 0;
    o->limit = limit;
    o->bytes = malloc(o->capacity);
    return o->bytes ? LS_CODEC_OK : LS_CODEC_NO_MEMORY;
}

/// Makes room for at least `extra` more bytes, or says why it cannot.
static inline ls_codec_status ls_output_reserve(ls_output *o, size_t extra) {
    if (extra > o->limit || o->used > o->limit - extra) return LS_CODEC_TOO_LARGE;
    if (o->used + extra <= o->capacity) return LS_CODEC_OK;
    size_t grown = o->capacity;
    while (grown < o->used + extra) grown = grown > o->limit / 2 ? o->limit : grown * 2;
    uint8_t *bytes = realloc(o->bytes, grown);
    if (!bytes) return LS_CODEC_NO_MEMORY;
    o->bytes = bytes;
    o->capacity = grown;
    return LS_CODEC_OK;
}

/// Grows the buffer when it is full (for codecs that fill whatever space they are given).
static inline ls_codec_status ls_output_grow_if_full(ls_output *o) {
    if (o->used < o->capacity) return LS_CODEC_OK;
    if (o->capacity >= o->limit) return LS_CODEC_TOO_LARGE;
    return ls_output_reserve(o, o->capacity >= o->limit - o->used ? o->limit - o->used : o->capacity);
}

static inline ls_codec_status ls_output_finish(ls_output *o, ls_codec_status status, uint8_t **out, size_t *out_len) {
    if (status != LS_CODEC_OK) {
        free(o->bytes);
        return status;
    }
    *out = o->bytes;
    *out_len = o->used;
    return LS_CODEC_OK;
}

#endif
