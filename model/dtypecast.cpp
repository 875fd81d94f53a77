#include "model/dtypecast.h"

#include "model/elementdecode.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

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
        for (std::int64_t i = 0; i < n; ++i) {
            float f;
            std::memcpy(&f, src + i * 4, 4);
            const std::uint16_t h = to == DType::BFloat16 ? floatToBFloat16(f) : floatToHalf(f);
            overflow += (h & 0x7FFF) == inf && std::isfinite(f);
            std::memcpy(dst + i * 2, &h, 2);
        }
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
