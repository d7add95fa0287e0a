#ifndef CCOMPRESSION_H
#define CCOMPRESSION_H

#include <stddef.h>
#include <stdint.h>

/// Outcome of a decompression. The Swift side maps these to typed errors.
typedef enum {
    LS_CODEC_OK = 0,
    /// The input is not a valid stream for the codec (bad header, bad checksum, truncated).
    LS_CODEC_CORRUPT = 1,
    /// The codec's shared library (libzstd.so.1, liblz4.so.1) could not be loaded.
    LS_CODEC_UNAVAILABLE = 2,
    /// The output would exceed the caller's limit (a decompression bomb or an oversized batch).
    LS_CODEC_TOO_LARGE = 3,
    LS_CODEC_NO_MEMORY = 4,
} ls_codec_status;

/// Each function decompresses `src` completely into a buffer from malloc (`*out`, `*out_len`; the caller frees it).
/// Output larger than `max_out` bytes is refused with LS_CODEC_TOO_LARGE. Nothing is allocated on failure.

/// gzip (RFC 1952) through zlib; concatenated members are decoded in turn. Kafka codec 1.
ls_codec_status ls_gzip_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len);
/// Snappy: raw blocks, or the xerial framing the Java client writes. Kafka codec 2.
ls_codec_status ls_snappy_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len);
/// LZ4 frame format through liblz4.so.1 (loaded on first use). Kafka codec 3.
ls_codec_status ls_lz4_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len);
/// Zstandard frames through libzstd.so.1 (loaded on first use). Kafka codec 4.
ls_codec_status ls_zstd_decompress(const uint8_t *src, size_t len, size_t max_out, uint8_t **out, size_t *out_len);

/// gzip compression (level 1..9, or -1 for zlib's default). Used by producers that ask for codec 1.
ls_codec_status ls_gzip_compress(const uint8_t *src, size_t len, int level, uint8_t **out, size_t *out_len);
/// LZ4 frame compression through liblz4.so.1.
ls_codec_status ls_lz4_compress(const uint8_t *src, size_t len, uint8_t **out, size_t *out_len);
/// Zstandard compression through libzstd.so.1 (level 1..19, 0 for the library default).
ls_codec_status ls_zstd_compress(const uint8_t *src, size_t len, int level, uint8_t **out, size_t *out_len);

#endif
