#include "io/crc32.h"

#include <zlib.h>

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ckpt {
namespace {

std::uint32_t zlibCrc(std::uint32_t crc, const std::uint8_t* p, size_t n)
{
    // zlib takes uInt lengths.
    while (n > 0) {
        const uInt k = uInt(std::min<size_t>(n, 1u << 30));
        crc = std::uint32_t(::crc32(uLong(crc), p, k));
        p += k;
        n -= k;
    }
    return crc;
}

#if defined(__x86_64__)
// Carry-less multiplication folding ("Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction",
// Gopal et al., Intel 2009), the bit-reflected constants of its appendix for the zip polynomial; the same scheme
// as Chromium's zlib crc32_sse42_simd_ and Linux's crc32-pclmul. Takes the un-inverted register; `n` is a multiple
// of 16 and at least 64.
#define CKPT_CLMUL __attribute__((target("pclmul,sse4.1")))

CKPT_CLMUL inline __m128i load(const std::uint8_t* p)
{
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// acc * k (both halves, carry-less) + next: one 128-bit fold.
CKPT_CLMUL inline __m128i fold(__m128i acc, __m128i k, __m128i next)
{
    const __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x11), next), lo);
}

CKPT_CLMUL std::uint32_t foldCrc(std::uint32_t crc, const std::uint8_t* buf, size_t n)
{
    alignas(16) static const std::uint64_t k1k2[] = { 0x0154442bd4, 0x01c6e41596 };
    alignas(16) static const std::uint64_t k3k4[] = { 0x01751997d0, 0x00ccaa009e };
    alignas(16) static const std::uint64_t k5k0[] = { 0x0163cd6124, 0x0000000000 };
    alignas(16) static const std::uint64_t poly[] = { 0x01db710641, 0x01f7011641 };

    __m128i x1 = load(buf), x2 = load(buf + 16), x3 = load(buf + 32), x4 = load(buf + 48);
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128(int(crc)));
    __m128i x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(k1k2));
    buf += 64;
    n -= 64;
    while (n >= 64) {
        x1 = fold(x1, x0, load(buf));
        x2 = fold(x2, x0, load(buf + 16));
        x3 = fold(x3, x0, load(buf + 32));
        x4 = fold(x4, x0, load(buf + 48));
        buf += 64;
        n -= 64;
    }
    // Four lanes into one, then any 16-byte blocks left.
    x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
    x1 = fold(fold(fold(x1, x0, x2), x0, x3), x0, x4);
    for (; n >= 16; buf += 16, n -= 16)
        x1 = fold(x1, x0, load(buf));

    // 128 bits to 64, then Barrett reduction to 32.
    const __m128i mask = _mm_setr_epi32(~0, 0, ~0, 0);
    x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    x0 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(k5k0));
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask), x0, 0x00), x2);
    x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(poly));
    x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask), x0, 0x10);
    x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, mask), x0, 0x00);
    return std::uint32_t(_mm_extract_epi32(_mm_xor_si128(x1, x2), 1));
}

bool haveClmul()
{
    static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    return yes;
}
#endif

} // namespace

std::uint32_t crc32(std::uint32_t crc, const void* data, size_t length)
{
    auto p = static_cast<const std::uint8_t*>(data);
#if defined(__x86_64__)
    if (length >= 64 && haveClmul()) {
        const size_t bulk = length & ~size_t(15);
        crc = ~foldCrc(~crc, p, bulk);
        p += bulk;
        length -= bulk;
    }
#endif
    return zlibCrc(crc, p, length);
}

std::uint32_t crc32Combine(std::uint32_t crcA, std::uint32_t crcB, std::int64_t lengthB)
{
    static_assert(sizeof(z_off_t) == 8, "crc32_combine takes the length as z_off_t");
    return std::uint32_t(::crc32_combine(uLong(crcA), uLong(crcB), z_off_t(lengthB)));
}

} // namespace ckpt
