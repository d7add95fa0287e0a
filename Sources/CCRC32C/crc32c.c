// CRC-32C for Kafka record batches.
//
// Four implementations with one entry point, the best the CPU has chosen once, at run time, with
// __builtin_cpu_supports. Each is compiled with __attribute__((target(...))), so the package needs no -m flags and
// still runs on CPUs without the instructions:
//  - AVX-512 VPCLMULQDQ folding (see fold_update), 256 bytes per loop turn, for buffers of 256 bytes and more;
//  - the same folding in AVX2 registers (see fold_update_avx2), 128 bytes per turn, for CPUs with VPCLMULQDQ and
//    no AVX-512;
//  - SSE4.2 `crc32q`, 8 bytes per instruction, three independent streams interleaved (see three_streams);
//  - slicing-by-8 tables (about 2.3 GB/s), for other CPUs and architectures.
#include "ccrc32c.h"
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t length) {
    // Building the table twice from two threads is harmless: both write identical values.
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    while (length && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        length--;
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        // Little-endian load: the reflected CRC consumes the lowest byte first.
        uint32_t lo = (uint32_t)word ^ crc;
        uint32_t hi = (uint32_t)(word >> 32);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

// Three streams at once: crc32q has a latency of 3 cycles but a throughput of 1 per cycle, so one dependent chain
// uses a third of the unit. A block is split in three parts whose CRCs run interleaved, then combined: the CRC of
// A followed by B is shift(crc(A), |B|) ^ crc(B) (crc(B) started from 0), where shift appends |B| zero bytes, a
// linear map precomputed as byte tables for the three part sizes used. Combining costs two dependent table lookups
// per block, so a 16 KiB record batch mostly goes in 6 KiB blocks (medium parts) rather than 768-byte ones.
#define LONG_PART 8192
#define MEDIUM_PART 2048
#define SHORT_PART 256

static uint32_t shift_long[4][256];
static uint32_t shift_medium[4][256];
static uint32_t shift_short[4][256];
static int shift_ready = 0;

// GF(2) 32x32 matrices as 32 columns; multiplying by a vector XORs the columns of its set bits.
static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    while (vector) {
        if (vector & 1) sum ^= *matrix;
        vector >>= 1;
        matrix++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// The operator that appends `length` zero bytes (length > 0) to a message, applied to its (raw) CRC register.
static void zeros_operator(uint32_t *result, size_t length) {
    uint32_t odd[32], even[32];
    odd[0] = POLY;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    // Squaring doubles the zeros: odd holds one zero byte after the next square into even, and so on. Each set bit of
    // `length` multiplies the result by the current power.
    int have = 0;
    uint32_t acc[32];
    uint32_t *power = even, *next = odd;
    gf2_square(power, odd);  // one zero byte
    while (length) {
        if (length & 1) {
            if (!have) {
                memcpy(acc, power, sizeof acc);
                have = 1;
            } else {
                uint32_t product[32];
                for (int n = 0; n < 32; n++) product[n] = gf2_times(power, acc[n]);
                memcpy(acc, product, sizeof acc);
            }
        }
        length >>= 1;
        if (length) {
            gf2_square(next, power);
            uint32_t *swap = power;
            power = next;
            next = swap;
        }
    }
    memcpy(result, acc, sizeof acc);
}

static void build_shift(uint32_t tables[4][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        tables[0][n] = gf2_times(op, n);
        tables[1][n] = gf2_times(op, n << 8);
        tables[2][n] = gf2_times(op, n << 16);
        tables[3][n] = gf2_times(op, n << 24);
    }
}

static uint32_t shift(uint32_t tables[4][256], uint32_t crc) {
    return tables[0][crc & 0xff] ^ tables[1][(crc >> 8) & 0xff] ^ tables[2][(crc >> 16) & 0xff] ^ tables[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static uint64_t three_streams(uint64_t c0, const unsigned char **cursor, size_t *remaining, size_t part, uint32_t tables[4][256]) {
    const unsigned char *p = *cursor;
    size_t length = *remaining;
    while (length >= 3 * part) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *end = p + part;
        do {
            uint64_t w0, w1, w2;
            memcpy(&w0, p, 8); memcpy(&w1, p + part, 8); memcpy(&w2, p + 2 * part, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
            p += 8;
        } while (p < end);
        c0 = shift(tables, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = shift(tables, (uint32_t)c0) ^ (uint32_t)c2;
        p += 2 * part;
        length -= 3 * part;
    }
    *cursor = p;
    *remaining = length;
    return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_update_sse42(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = (uint32_t)~crc;
    while (length && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        length--;
    }
    if (length >= 3 * SHORT_PART) {
        if (!__atomic_load_n(&shift_ready, __ATOMIC_ACQUIRE)) {
            // Building twice from two threads is harmless: both write identical values.
            build_shift(shift_long, LONG_PART);
            build_shift(shift_medium, MEDIUM_PART);
            build_shift(shift_short, SHORT_PART);
            __atomic_store_n(&shift_ready, 1, __ATOMIC_RELEASE);
        }
        c = three_streams(c, &p, &length, LONG_PART, shift_long);
        c = three_streams(c, &p, &length, MEDIUM_PART, shift_medium);
        c = three_streams(c, &p, &length, SHORT_PART, shift_short);
    }
    while (length >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        length -= 8;
    }
    while (length--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

// Folding with carry-less multiplication. A message's CRC only depends on the message modulo P, so a 128-bit piece
// X of it may be replaced by a piece that is congruent once moved D bytes further on, and XORed into the bytes there:
// X·x^(8D) ≡ Xlo·(x^(8D+64) mod P) + Xhi·(x^(8D) mod P), two 64×32-bit carry-less products that fit in 128 bits.
// In the reflected bit order of CRC-32C (first byte lowest, its first bit the highest power), with the product's
// one-bit offset, the two constants are x^(8D+31) mod P for the low quadword and x^(8D-33) mod P for the high one
// (these give Intel's published CRC-32C folding constants: 0xf20c0dfe and 0x493c7d27 for D = 16). Sixteen lanes of
// 16 bytes (four 512-bit registers) are folded 256 bytes forward per turn, then into each other, and the last
// 16 bytes are reduced by two crc32q instructions, which compute exactly the CRC of those bytes.
typedef struct { uint64_t low, high; } fold_constants;

// x^n mod P, reflected: x^0 is bit 31, and multiplying by x shifts right, reducing by P what falls off.
static uint32_t x_power_mod_p(unsigned n) {
    uint32_t r = 0x80000000u;
    while (n--) r = (r >> 1) ^ ((r & 1) ? POLY : 0);
    return r;
}

static fold_constants fold_by(unsigned bytes) {
    fold_constants k = { x_power_mod_p(8 * bytes + 31), x_power_mod_p(8 * bytes - 33) };
    return k;
}

static fold_constants fold_256, fold_128, fold_64, fold_32, fold_16;
static int fold_ready = 0;

static void build_fold_constants(void) {
    // Building twice from two threads is harmless: both write identical values.
    fold_256 = fold_by(256);
    fold_128 = fold_by(128);
    fold_64 = fold_by(64);
    fold_32 = fold_by(32);
    fold_16 = fold_by(16);
    __atomic_store_n(&fold_ready, 1, __ATOMIC_RELEASE);
}

#include <immintrin.h>

#define FOLD_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

FOLD_TARGET static inline __m512i fold_lanes(__m512i x, __m512i k, __m512i next) {
    __m512i low = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i high = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(low, high, next, 0x96);  // low ^ high ^ next
}

// Only PCLMUL: inlined into both folding paths (a callee may not need more of the CPU than its caller).
__attribute__((target("pclmul,sse4.2"))) static inline __m128i fold_lane(__m128i x, __m128i k, __m128i next) {
    __m128i low = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i high = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(low, high), next);
}

FOLD_TARGET static uint32_t fold_update(uint32_t crc, const void *data, size_t length) {
    if (length < 256) return crc32c_update_sse42(crc, data, length);
    if (!__atomic_load_n(&fold_ready, __ATOMIC_ACQUIRE)) build_fold_constants();
    const unsigned char *p = (const unsigned char *)data;
    // The register's current value is XORed into the message's first four bytes: the CRC is linear.
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    __m512i x1 = _mm512_loadu_si512(p + 64);
    __m512i x2 = _mm512_loadu_si512(p + 128);
    __m512i x3 = _mm512_loadu_si512(p + 192);
    p += 256;
    length -= 256;
    __m512i k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)fold_256.high, (long long)fold_256.low));
    while (length >= 256) {
        x0 = fold_lanes(x0, k, _mm512_loadu_si512(p));
        x1 = fold_lanes(x1, k, _mm512_loadu_si512(p + 64));
        x2 = fold_lanes(x2, k, _mm512_loadu_si512(p + 128));
        x3 = fold_lanes(x3, k, _mm512_loadu_si512(p + 192));
        p += 256;
        length -= 256;
    }
    k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)fold_64.high, (long long)fold_64.low));
    x1 = fold_lanes(x0, k, x1);
    x2 = fold_lanes(x1, k, x2);
    x0 = fold_lanes(x2, k, x3);
    while (length >= 64) {
        x0 = fold_lanes(x0, k, _mm512_loadu_si512(p));
        p += 64;
        length -= 64;
    }
    __m128i k16 = _mm_set_epi64x((long long)fold_16.high, (long long)fold_16.low);
    __m128i lane = _mm512_castsi512_si128(x0);
    lane = fold_lane(lane, k16, _mm512_extracti32x4_epi32(x0, 1));
    lane = fold_lane(lane, k16, _mm512_extracti32x4_epi32(x0, 2));
    lane = fold_lane(lane, k16, _mm512_extracti32x4_epi32(x0, 3));
    while (length >= 16) {
        lane = fold_lane(lane, k16, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        length -= 16;
    }
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(lane));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(lane, 1));
    // The rest (under 16 bytes) continues from the register: crc32c_update_sse42 takes and gives the inverted form.
    return crc32c_update_sse42(~(uint32_t)c, p, length);
}

// The same folding in 256-bit registers, for CPUs with VPCLMULQDQ but no AVX-512 (AMD Zen 3, Intel Alder Lake):
// eight lanes of 16 bytes (four registers) are folded 128 bytes forward per turn. Measured on this machine's
// EPYC: about twice the three-stream crc32q rate on a 16 KiB record batch.
#define FOLD_AVX2_TARGET __attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2")))

FOLD_AVX2_TARGET static inline __m256i fold_lanes_256(__m256i x, __m256i k, __m256i next) {
    __m256i low = _mm256_clmulepi64_epi128(x, k, 0x00);
    __m256i high = _mm256_clmulepi64_epi128(x, k, 0x11);
    return _mm256_xor_si256(_mm256_xor_si256(low, high), next);
}

FOLD_AVX2_TARGET static uint32_t fold_update_avx2(uint32_t crc, const void *data, size_t length) {
    if (length < 256) return crc32c_update_sse42(crc, data, length);
    if (!__atomic_load_n(&fold_ready, __ATOMIC_ACQUIRE)) build_fold_constants();
    const unsigned char *p = (const unsigned char *)data;
    // The register's current value is XORed into the message's first four bytes: the CRC is linear.
    __m256i x0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p),
                                  _mm256_set_epi64x(0, 0, 0, (long long)(uint32_t)~crc));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(p + 32));
    __m256i x2 = _mm256_loadu_si256((const __m256i *)(p + 64));
    __m256i x3 = _mm256_loadu_si256((const __m256i *)(p + 96));
    p += 128;
    length -= 128;
    __m256i k = _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)fold_128.high, (long long)fold_128.low));
    while (length >= 128) {
        x0 = fold_lanes_256(x0, k, _mm256_loadu_si256((const __m256i *)p));
        x1 = fold_lanes_256(x1, k, _mm256_loadu_si256((const __m256i *)(p + 32)));
        x2 = fold_lanes_256(x2, k, _mm256_loadu_si256((const __m256i *)(p + 64)));
        x3 = fold_lanes_256(x3, k, _mm256_loadu_si256((const __m256i *)(p + 96)));
        p += 128;
        length -= 128;
    }
    k = _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)fold_32.high, (long long)fold_32.low));
    x1 = fold_lanes_256(x0, k, x1);
    x2 = fold_lanes_256(x1, k, x2);
    x0 = fold_lanes_256(x2, k, x3);
    while (length >= 32) {
        x0 = fold_lanes_256(x0, k, _mm256_loadu_si256((const __m256i *)p));
        p += 32;
        length -= 32;
    }
    __m128i k16 = _mm_set_epi64x((long long)fold_16.high, (long long)fold_16.low);
    __m128i lane = fold_lane(_mm256_castsi256_si128(x0), k16, _mm256_extracti128_si256(x0, 1));
    while (length >= 16) {
        lane = fold_lane(lane, k16, _mm_loadu_si128((const __m128i *)p));
        p += 16;
        length -= 16;
    }
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(lane));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(lane, 1));
    return crc32c_update_sse42(~(uint32_t)c, p, length);
}

static int best_implementation(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = CRC32C_PORTABLE;
        if (__builtin_cpu_supports("sse4.2")) {
            v = CRC32C_SSE42;
            if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul"))
                v = CRC32C_FOLD_AVX2;
            if (v == CRC32C_FOLD_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
                v = CRC32C_FOLD_AVX512;
        }
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int crc32c_hardware_available(void) { return best_implementation() != CRC32C_PORTABLE; }

int crc32c_best_implementation(void) { return best_implementation(); }

uint32_t crc32c_update_using(int implementation, uint32_t crc, const void *data, size_t length) {
    if (implementation > best_implementation()) __builtin_trap();  // the CPU cannot run it
    switch (implementation) {
    case CRC32C_FOLD_AVX512: return fold_update(crc, data, length);
    case CRC32C_FOLD_AVX2: return fold_update_avx2(crc, data, length);
    case CRC32C_SSE42: return crc32c_update_sse42(crc, data, length);
    default: return crc32c_update_portable(crc, data, length);
    }
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t length) {
    switch (best_implementation()) {
    case CRC32C_FOLD_AVX512: return fold_update(crc, data, length);
    case CRC32C_FOLD_AVX2: return fold_update_avx2(crc, data, length);
    case CRC32C_SSE42: return crc32c_update_sse42(crc, data, length);
    default: return crc32c_update_portable(crc, data, length);
    }
}
#else
int crc32c_hardware_available(void) { return 0; }

int crc32c_best_implementation(void) { return CRC32C_PORTABLE; }

uint32_t crc32c_update_using(int implementation, uint32_t crc, const void *data, size_t length) {
    if (implementation != CRC32C_PORTABLE) __builtin_trap();
    return crc32c_update_portable(crc, data, length);
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t length) {
    return crc32c_update_portable(crc, data, length);
}
#endif
