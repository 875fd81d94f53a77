#pragma once

#include <cstddef>
#include <cstdint>

namespace ckpt {

// CRC-32 as zip records carry it (zlib's crc32: reflected polynomial 0xEDB88320, pre- and post-inverted), continued
// from `crc` (0 to start). With PCLMULQDQ (every x86-64 CPU since 2010) it folds 64 bytes per step, several times
// faster than zlib 1.2.13's table-driven code, which export pays for once when writing and once when verifying.
std::uint32_t crc32(std::uint32_t crc, const void* data, size_t length);

// The CRC-32 of A followed by B from the CRCs of A and B and B's length (zlib's crc32_combine): lets pieces of one
// range be checksummed on several threads.
std::uint32_t crc32Combine(std::uint32_t crcA, std::uint32_t crcB, std::int64_t lengthB);

} // namespace ckpt
