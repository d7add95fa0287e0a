// gzip through zlib (zlib1g-dev comes with the Swift toolchain's dependencies).
#include <zlib.h>
#include "output_buffer.h"

ls_codec_status ls_gzip_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len) {
    if (len > UINT32_MAX) return LS_CODEC_TOO_LARGE;
    ls_output o;
    ls_codec_status status = ls_output_init(&o, len * 4, max_out);
    if (status != LS_CODEC_OK) return status;
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 32: a gzip (or zlib) header, detected automatically.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) return ls_output_finish(&o, LS_CODEC_NO_MEMORY, out, out_len);
    stream.next_in = (Bytef *)src;
    stream.avail_in = (uInt)len;
    for (;;) {
        if ((status = ls_output_grow_if_full(&o)) != LS_CODEC_OK) break;
        size_t room = o.capacity - o.used;
        stream.next_out = o.bytes + o.used;
        stream.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before = stream.avail_out;
        int rc = inflate(&stream, Z_NO_FLUSH);
        o.used += before - stream.avail_out;
        if (rc == Z_STREAM_END) {
            if (stream.avail_in == 0) break;
            // Another gzip member follows (concatenated streams are valid gzip).
            if (inflateReset(&stream) != Z_OK) { status = LS_CODEC_CORRUPT; break; }
            continue;
        }
        if (rc == Z_BUF_ERROR && stream.avail_out > 0) { status = LS_CODEC_CORRUPT; break; }  // input ended early
        if (rc != Z_OK && rc != Z_BUF_ERROR) { status = rc == Z_MEM_ERROR ? LS_CODEC_NO_MEMORY : LS_CODEC_CORRUPT; break; }
    }
    inflateEnd(&stream);
    return ls_output_finish(&o, status, out, out_len);
}

ls_codec_status ls_gzip_compress(const uint8_t *src, size_t len, int level, uint8_t **out, size_t *out_len) {
    if (len > UINT32_MAX) return LS_CODEC_TOO_LARGE;
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 16: gzip framing, as the Java client and librdkafka write it.
    if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return LS_CODEC_NO_MEMORY;
    size_t bound = deflateBound(&stream, (uLong)len);
    uint8_t *bytes = malloc(bound);
    if (!bytes) { deflateEnd(&stream); return LS_CODEC_NO_MEMORY; }
    stream.next_in = (Bytef *)src;
    stream.avail_in = (uInt)len;
    stream.next_out = bytes;
    stream.avail_out = (uInt)bound;
    int rc = deflate(&stream, Z_FINISH);
    size_t written = bound - stream.avail_out;
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) { free(bytes); return LS_CODEC_NO_MEMORY; }
    *out = bytes;
    *out_len = written;
    return LS_CODEC_OK;
}
