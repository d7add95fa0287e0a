// Snappy decompression, written out (the format is small and libsnappy is not part of a base system).
// Format: https://github.com/google/snappy/blob/main/format_description.txt
#include "output_buffer.h"

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

static uint32_t read_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/// Decodes one raw snappy block, appending to `o`.
static ls_codec_status raw_block(const uint8_t *src, size_t len, ls_output *o) {
    size_t pos = 0;
    uint64_t expected = 0;
    for (int shift = 0;; shift += 7) {
        if (pos >= len || shift > 28) return LS_CODEC_CORRUPT;
        uint8_t byte = src[pos++];
        expected |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) break;
    }
    ls_codec_status status = ls_output_reserve(o, expected);
    if (status != LS_CODEC_OK) return status;
    uint8_t *start = o->bytes + o->used, *dst = start, *end = start + expected;
    while (pos < len) {
        uint8_t tag = src[pos++];
        size_t length, offset;
        switch (tag & 3) {
        case 0:  // literal
            length = tag >> 2;
            if (length >= 60) {
                size_t bytes = length - 59;
                if (len - pos < bytes) return LS_CODEC_CORRUPT;
                length = 0;
                for (size_t i = 0; i < bytes; i++) length |= (size_t)src[pos + i] << (8 * i);
                pos += bytes;
            }
            length += 1;
            if (len - pos < length || (size_t)(end - dst) < length) return LS_CODEC_CORRUPT;
            memcpy(dst, src + pos, length);
            dst += length;
            pos += length;
            continue;
        case 1:  // copy, 11-bit offset
            if (len - pos < 1) return LS_CODEC_CORRUPT;
            length = ((tag >> 2) & 7) + 4;
            offset = ((size_t)(tag >> 5) << 8) | src[pos];
            pos += 1;
            break;
        case 2:  // copy, 16-bit offset
            if (len - pos < 2) return LS_CODEC_CORRUPT;
            length = (tag >> 2) + 1;
            offset = src[pos] | ((size_t)src[pos + 1] << 8);
            pos += 2;
            break;
        default:  // copy, 32-bit offset
            if (len - pos < 4) return LS_CODEC_CORRUPT;
            length = (tag >> 2) + 1;
            offset = src[pos] | ((size_t)src[pos + 1] << 8) | ((size_t)src[pos + 2] << 16) | ((size_t)src[pos + 3] << 24);
            pos += 4;
            break;
        }
        if (offset == 0 || offset > (size_t)(dst - start) || (size_t)(end - dst) < length) return LS_CODEC_CORRUPT;
        const uint8_t *from = dst - offset;
        if (offset >= length) {
            memcpy(dst, from, length);
            dst += length;
        } else {
            for (size_t i = 0; i < length; i++) *dst++ = from[i];  // overlapping: a run repeats
        }
    }
    if (dst != end) return LS_CODEC_CORRUPT;
    o->used += expected;
    return LS_CODEC_OK;
}

ls_codec_status ls_snappy_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len) {
    ls_output o;
    ls_codec_status status = ls_output_init(&o, len * 3, max_out);
    if (status != LS_CODEC_OK) return status;
    if (len >= 16 && memcmp(src, xerial_magic, 8) == 0) {
        // xerial framing (the Java client's SnappyOutputStream): magic, version, compatible version, then
        // blocks of [big-endian int32 length][raw snappy].
        size_t pos = 16;
        while (status == LS_CODEC_OK && pos < len) {
            if (len - pos < 4) { status = LS_CODEC_CORRUPT; break; }
            size_t block = read_be32(src + pos);
            pos += 4;
            if (len - pos < block) { status = LS_CODEC_CORRUPT; break; }
            status = raw_block(src + pos, block, &o);
            pos += block;
        }
    } else {
        status = raw_block(src, len, &o);
    }
    return ls_output_finish(&o, status, out, out_len);
}
