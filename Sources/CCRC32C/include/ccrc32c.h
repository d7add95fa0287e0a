#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's v2 record batches.
///
/// `crc` is the value returned by a previous call (0 to start), so a checksum can be computed over
/// several pieces: crc32c_update(crc32c_update(0, a, n), b, m) == crc32c over a followed by b.
/// Uses the fastest implementation the CPU has (checked once at run time); all give identical results.
uint32_t crc32c_update(uint32_t crc, const void *data, size_t length);

/// The portable slicing-by-8 implementation, exposed so tests can check it against the hardware path.
uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t length);

/// 1 when crc32c_update uses CPU instructions (SSE4.2, or VPCLMULQDQ with AVX2 or AVX-512) on this CPU, else 0.
int crc32c_hardware_available(void);

/// The implementations, from slowest to fastest; a CPU that runs one runs those before it.
enum {
    CRC32C_PORTABLE = 0,     ///< slicing-by-8 tables
    CRC32C_SSE42 = 1,        ///< crc32q, three streams interleaved
    CRC32C_FOLD_AVX2 = 2,    ///< 256-bit carry-less multiplication folding (AVX2 VPCLMULQDQ), crc32q for the rest
    CRC32C_FOLD_AVX512 = 3,  ///< 512-bit carry-less multiplication folding (VPCLMULQDQ), crc32q for the rest
};

/// The implementation crc32c_update uses on this CPU.
int crc32c_best_implementation(void);

/// crc32c_update through one given implementation, so tests can check each against the others. Traps if the CPU
/// cannot run it (implementation > crc32c_best_implementation()).
uint32_t crc32c_update_using(int implementation, uint32_t crc, const void *data, size_t length);

#endif
