#include "model/elementdecode.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace ckpt {
namespace {

template <typename T>
T load(const std::uint8_t* p, bool swap)
{
    T v;
    std::memcpy(&v, p, sizeof(T));
    if (swap) {
        if constexpr (sizeof(T) == 2)
            v = std::bit_cast<T>(__builtin_bswap16(std::bit_cast<std::uint16_t>(v)));
        else if constexpr (sizeof(T) == 4)
            v = std::bit_cast<T>(__builtin_bswap32(std::bit_cast<std::uint32_t>(v)));
        else if constexpr (sizeof(T) == 8)
            v = std::bit_cast<T>(__builtin_bswap64(std::bit_cast<std::uint64_t>(v)));
    }
    return v;
}

// Generic 8-bit float: `expBits` exponent bits with `bias`, the rest mantissa. `fnuz` formats have a single NaN
// (0x80) and no negative zero or infinity; e4m3fn has no infinity and NaN only at S.1111.111; e5m2 is IEEE-like.
double decodeFloat8(std::uint8_t b, int expBits, int bias, bool ieeeSpecials, bool fnuz)
{
    const int manBits = 7 - expBits;
    const bool neg = b & 0x80;
    const int e = (b >> manBits) & ((1 << expBits) - 1);
    const int m = b & ((1 << manBits) - 1);
    if (fnuz && b == 0x80)
        return std::numeric_limits<double>::quiet_NaN();
    if (ieeeSpecials && e == (1 << expBits) - 1)
        return m ? std::numeric_limits<double>::quiet_NaN() : (neg ? -INFINITY : INFINITY);
    if (!ieeeSpecials && !fnuz && e == (1 << expBits) - 1 && m == (1 << manBits) - 1)
        return std::numeric_limits<double>::quiet_NaN();
    double v = e == 0 ? std::ldexp(double(m), 1 - bias - manBits) : std::ldexp(double(m | (1 << manBits)), e - bias - manBits);
    return neg ? -v : v;
}

struct Float8Tables {
    std::array<double, 256> e4m3fn, e5m2, e4m3fnuz, e5m2fnuz;
    Float8Tables()
    {
        for (int i = 0; i < 256; ++i) {
            e4m3fn[size_t(i)] = decodeFloat8(std::uint8_t(i), 4, 7, false, false);
            e5m2[size_t(i)] = decodeFloat8(std::uint8_t(i), 5, 15, true, false);
            e4m3fnuz[size_t(i)] = decodeFloat8(std::uint8_t(i), 4, 8, false, true);
            e5m2fnuz[size_t(i)] = decodeFloat8(std::uint8_t(i), 5, 16, false, true);
        }
    }
};

const Float8Tables& float8Tables()
{
    static const Float8Tables tables;
    return tables;
}

template <typename T, typename F>
void decodeLoop(const std::uint8_t* src, std::int64_t n, std::int64_t stride, bool swap, double* out, F convert)
{
    if (stride == std::int64_t(sizeof(T)) && !swap) {
        for (std::int64_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, src + i * std::int64_t(sizeof(T)), sizeof(T));
            out[i] = convert(v);
        }
        return;
    }
    for (std::int64_t i = 0; i < n; ++i)
        out[i] = convert(load<T>(src + i * stride, swap));
}

double complexMagnitude(double re, double im)
{
    if (std::isnan(re) || std::isnan(im))
        return std::numeric_limits<double>::quiet_NaN();
    return std::hypot(re, im);
}

} // namespace

double halfToDouble(std::uint16_t bits)
{
    const int sign = bits >> 15, exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
    double v;
    if (exp == 0)
        v = std::ldexp(double(mant), -24);
    else if (exp == 31)
        v = mant ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
    else
        v = std::ldexp(double(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

double bfloat16ToDouble(std::uint16_t bits)
{
    return double(std::bit_cast<float>(std::uint32_t(bits) << 16));
}

double float8ToDouble(DType type, std::uint8_t bits)
{
    const auto& t = float8Tables();
    switch (type) {
    case DType::Float8_e4m3fn: return t.e4m3fn[bits];
    case DType::Float8_e5m2: return t.e5m2[bits];
    case DType::Float8_e4m3fnuz: return t.e4m3fnuz[bits];
    case DType::Float8_e5m2fnuz: return t.e5m2fnuz[bits];
    default: return std::numeric_limits<double>::quiet_NaN();
    }
}

bool dtypeDecodable(DType type)
{
    switch (type) {
    case DType::Unknown:
    case DType::QInt8:
    case DType::QUInt8:
    case DType::QInt32:
    case DType::QUInt4x2:
    case DType::QUInt2x4:
        return false;
    default:
        return true;
    }
}

void decodeElements(DType type, const std::uint8_t* src, std::int64_t n, std::int64_t stride, bool swap, double* out)
{
    switch (type) {
    case DType::Float64: decodeLoop<double>(src, n, stride, swap, out, [](double v) { return v; }); break;
    case DType::Float32: decodeLoop<float>(src, n, stride, swap, out, [](float v) { return double(v); }); break;
    case DType::Float16: decodeLoop<std::uint16_t>(src, n, stride, swap, out, halfToDouble); break;
    case DType::BFloat16: decodeLoop<std::uint16_t>(src, n, stride, swap, out, bfloat16ToDouble); break;
    case DType::Float8_e4m3fn:
    case DType::Float8_e5m2:
    case DType::Float8_e4m3fnuz:
    case DType::Float8_e5m2fnuz: {
        const auto& t = float8Tables();
        const double* table = type == DType::Float8_e4m3fn ? t.e4m3fn.data()
            : type == DType::Float8_e5m2                   ? t.e5m2.data()
            : type == DType::Float8_e4m3fnuz               ? t.e4m3fnuz.data()
                                                           : t.e5m2fnuz.data();
        for (std::int64_t i = 0; i < n; ++i)
            out[i] = table[src[i * stride]];
        break;
    }
    case DType::Int8: decodeLoop<std::int8_t>(src, n, stride, swap, out, [](std::int8_t v) { return double(v); }); break;
    case DType::Int16: decodeLoop<std::int16_t>(src, n, stride, swap, out, [](std::int16_t v) { return double(v); }); break;
    case DType::Int32: decodeLoop<std::int32_t>(src, n, stride, swap, out, [](std::int32_t v) { return double(v); }); break;
    case DType::Int64: decodeLoop<std::int64_t>(src, n, stride, swap, out, [](std::int64_t v) { return double(v); }); break;
    case DType::UInt8: decodeLoop<std::uint8_t>(src, n, stride, swap, out, [](std::uint8_t v) { return double(v); }); break;
    case DType::UInt16: decodeLoop<std::uint16_t>(src, n, stride, swap, out, [](std::uint16_t v) { return double(v); }); break;
    case DType::UInt32: decodeLoop<std::uint32_t>(src, n, stride, swap, out, [](std::uint32_t v) { return double(v); }); break;
    case DType::UInt64: decodeLoop<std::uint64_t>(src, n, stride, swap, out, [](std::uint64_t v) { return double(v); }); break;
    case DType::Bool:
        for (std::int64_t i = 0; i < n; ++i)
            out[i] = src[i * stride] ? 1.0 : 0.0;
        break;
    case DType::Complex32:
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint8_t* p = src + i * stride;
            out[i] = complexMagnitude(halfToDouble(load<std::uint16_t>(p, swap)), halfToDouble(load<std::uint16_t>(p + 2, swap)));
        }
        break;
    case DType::Complex64:
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint8_t* p = src + i * stride;
            out[i] = complexMagnitude(load<float>(p, swap), load<float>(p + 4, swap));
        }
        break;
    case DType::Complex128:
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint8_t* p = src + i * stride;
            out[i] = complexMagnitude(load<double>(p, swap), load<double>(p + 8, swap));
        }
        break;
    default:
        for (std::int64_t i = 0; i < n; ++i)
            out[i] = std::numeric_limits<double>::quiet_NaN();
        break;
    }
}

} // namespace ckpt
