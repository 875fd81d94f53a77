#include "model/dtypecast.h"

#include "model/elementdecode.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace ckpt {

std::uint16_t floatToHalf(float f)
{
    // Port of fp16_ieee_from_fp32_value (Maratos Dukhan's FP16, used by c10::Half): the float arithmetic does the
    // rounding, so it is exactly IEEE round-to-nearest-even.
    const float scaleToInf = std::bit_cast<float>(std::uint32_t(0x77800000)); // 0x1.0p+112f
    const float scaleToZero = std::bit_cast<float>(std::uint32_t(0x08800000)); // 0x1.0p-110f
    float base = (std::fabs(f) * scaleToInf) * scaleToZero;
    const std::uint32_t w = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t shl1w = w + w;
    const std::uint32_t sign = w & 0x80000000u;
    std::uint32_t bias = shl1w & 0xFF000000u;
    if (bias < 0x71000000u)
        bias = 0x71000000u;
    base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(base);
    const std::uint32_t expBits = (bits >> 13) & 0x00007C00u;
    const std::uint32_t mantissaBits = bits & 0x00000FFFu;
    const std::uint32_t nonsign = expBits + mantissaBits;
    return std::uint16_t((sign >> 16) | (shl1w > 0xFF000000u ? 0x7E00u : nonsign));
}

std::uint16_t floatToBFloat16(float f)
{
    if (std::isnan(f))
        return 0x7FC0;
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t roundingBias = ((u >> 16) & 1) + 0x7FFF;
    return std::uint16_t((u + roundingBias) >> 16);
}

namespace {

#if defined(__x86_64__)
// Eight floats per step, bit for bit floatToBFloat16: u + 0x7FFF + ((u >> 16) & 1), NaN to 0x7FC0. The sum is
// taken modulo 2^32 as the scalar code's uint32 is, and an arithmetic shift lets the signed 32-to-16 pack keep
// the high halves exactly. Returns the overflow count of the elements done; `i` is where the scalar loop goes on.
std::int64_t floatsToBFloat16Sse2(const std::uint8_t* src, std::uint8_t* dst, std::int64_t n, std::int64_t& i)
{
    const __m128i one = _mm_set1_epi32(1), bias = _mm_set1_epi32(0x7FFF), absMask = _mm_set1_epi32(0x7FFFFFFF);
    const __m128i infBits = _mm_set1_epi32(0x7F800000), quietNan = _mm_set1_epi32(0x7FC00000);
    const __m128i highAbs = _mm_set1_epi32(0x7FFF0000);
    __m128i overflow = _mm_setzero_si128(); // per lane; a lane that overflows adds -(-1)
    auto convert = [&](__m128i u) {
        const __m128i a = _mm_and_si128(u, absMask);
        const __m128i nan = _mm_cmpgt_epi32(a, infBits), finite = _mm_cmplt_epi32(a, infBits);
        __m128i r = _mm_add_epi32(u, _mm_add_epi32(_mm_and_si128(_mm_srli_epi32(u, 16), one), bias));
        overflow = _mm_sub_epi32(overflow, _mm_and_si128(finite, _mm_cmpeq_epi32(_mm_and_si128(r, highAbs), infBits)));
        r = _mm_or_si128(_mm_and_si128(nan, quietNan), _mm_andnot_si128(nan, r));
        return _mm_srai_epi32(r, 16);
    };
    std::int64_t total = 0;
    while (i + 8 <= n) {
        // Lane counts are 32-bit: fold them into the total at least every 2^30 steps.
        const std::int64_t end = std::min(n, i + (std::int64_t(1) << 30)) - 7;
        for (; i < end; i += 8) {
            const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * 4));
            const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * 4 + 16));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * 2), _mm_packs_epi32(convert(lo), convert(hi)));
        }
        alignas(16) std::uint32_t lanes[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(lanes), overflow);
        total += std::int64_t(lanes[0]) + lanes[1] + lanes[2] + lanes[3];
        overflow = _mm_setzero_si128();
    }
    return total;
}

// Eight floats per step with the F16C instruction, which rounds to nearest even as floatToHalf does; a group
// holding a NaN is left to the scalar code, which makes every NaN 0x7E00 (F16C would keep payload bits).
__attribute__((target("avx,f16c,popcnt"))) std::int64_t floatsToHalfF16c(const std::uint8_t* src, std::uint8_t* dst,
    std::int64_t n, std::int64_t& i)
{
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 inf = _mm256_castsi256_ps(_mm256_set1_epi32(0x7F800000));
    const __m128i halfAbs = _mm_set1_epi16(0x7FFF), halfInf = _mm_set1_epi16(0x7C00);
    std::int64_t overflow = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 f = _mm256_loadu_ps(reinterpret_cast<const float*>(src + i * 4));
        const __m256 a = _mm256_and_ps(f, absMask);
        if (_mm256_movemask_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q)) != 0)
            break;
        const __m128i h = _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * 2), h);
        const int finite = _mm256_movemask_ps(_mm256_cmp_ps(a, inf, _CMP_LT_OQ));
        const __m128i isInf = _mm_cmpeq_epi16(_mm_and_si128(h, halfAbs), halfInf);
        const int toInf = _mm_movemask_epi8(_mm_packs_epi16(isInf, _mm_setzero_si128())); // a bit per element
        overflow += __builtin_popcount(unsigned(toInf & finite));
    }
    return overflow;
}

bool haveF16c()
{
    // clang 14's __builtin_cpu_supports does not know "f16c": its CPUID bit (leaf 1, ECX bit 29) is read directly;
    // "avx" also checks that the OS saves the AVX registers.
    static const bool yes = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        return __builtin_cpu_supports("avx") && __builtin_cpu_supports("popcnt") && __get_cpuid(1, &a, &b, &c, &d)
            && (c & (1u << 29)) != 0;
    }();
    return yes;
}
#endif

} // namespace

bool castable(DType t)
{
    return dtypeIsFloatingPoint(t) && t != DType::Complex32 && t != DType::Complex64 && t != DType::Complex128;
}

std::int64_t castElements(DType from, const std::uint8_t* src, DType to, std::uint8_t* dst, std::int64_t n)
{
    if (from == to) {
        std::memcpy(dst, src, size_t(n * dtypeItemSize(from)));
        return 0;
    }
    std::int64_t overflow = 0;
    if (from == DType::Float32 && (to == DType::BFloat16 || to == DType::Float16)) {
        // The common case (float32 weights to half precision) without the trip through double.
        const std::uint16_t inf = to == DType::BFloat16 ? 0x7F80 : 0x7C00;
        auto scalar = [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                float f;
                std::memcpy(&f, src + i * 4, 4);
                const std::uint16_t h = to == DType::BFloat16 ? floatToBFloat16(f) : floatToHalf(f);
                overflow += (h & 0x7FFF) == inf && std::isfinite(f);
                std::memcpy(dst + i * 2, &h, 2);
            }
        };
        std::int64_t i = 0;
#if defined(__x86_64__)
        if (to == DType::BFloat16) {
            overflow += floatsToBFloat16Sse2(src, dst, n, i);
        } else if (haveF16c()) {
            for (;;) {
                overflow += floatsToHalfF16c(src, dst, n, i); // stops before a group with a NaN, or near the end
                if (i + 8 > n)
                    break;
                scalar(i, i + 8);
                i += 8;
            }
        }
#endif
        scalar(i, n);
        return overflow;
    }
    // Decode to double (exact for every source format), then through float as torch does.
    constexpr std::int64_t kBlock = 4096;
    double tmp[kBlock];
    for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t k = std::min(kBlock, n - b);
        decodeElements(from, src + b * dtypeItemSize(from), k, dtypeItemSize(from), false, tmp);
        for (std::int64_t i = 0; i < k; ++i) {
            const double d = tmp[i];
            const float f = from == DType::Float64 ? static_cast<float>(d) : float(d);
            switch (to) {
            case DType::Float16: {
                const std::uint16_t h = floatToHalf(f);
                overflow += std::isfinite(d) && (h & 0x7FFF) == 0x7C00;
                std::memcpy(dst + (b + i) * 2, &h, 2);
                break;
            }
            case DType::BFloat16: {
                const std::uint16_t h = floatToBFloat16(f);
                overflow += std::isfinite(d) && (h & 0x7FFF) == 0x7F80;
                std::memcpy(dst + (b + i) * 2, &h, 2);
                break;
            }
            case DType::Float32:
                overflow += std::isfinite(d) && std::isinf(f);
                std::memcpy(dst + (b + i) * 4, &f, 4);
                break;
            case DType::Float64:
                std::memcpy(dst + (b + i) * 8, &d, 8);
                break;
            default:
                break;
            }
        }
    }
    return overflow;
}

} // namespace ckpt
