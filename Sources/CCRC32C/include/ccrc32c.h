#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's v2 record batches.
///
/// `crc` is the value returned by a previous call (0 to start), so a checksum can be computed over
/// several pieces: crc32c_update(crc32c_update(0, a, n), b, m) == crc32c over a followed by b.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it (checked once at run time) and a portable
/// slicing-by-8 table otherwise; both give identical results.
uint32_t crc32c_update(uint32_t crc, const void *data, size_t length);

/// The portable slicing-by-8 implementation, exposed so tests can check it against the hardware path.
uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t length);

/// 1 when crc32c_update uses the SSE4.2 instruction on this CPU, else 0.
int crc32c_hardware_available(void);

#endif
