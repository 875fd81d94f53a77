#pragma once

// Deterministic tensors of every dtype the histogram kernels decode, chosen to break a careless backend: every
// bit pattern (NaN payloads, infinities, subnormals, negative zero), smooth data that piles onto a few bins,
// values exactly on and beside bin edges, constants, all-NaN and empty tensors.
#include "model/histogram.h"
#include "rawsafetensors.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace ckpt::test {

class Lcg {
public:
    explicit Lcg(std::uint64_t seed)
        : m_state(seed)
    {
    }
    std::uint64_t next()
    {
        m_state = m_state * 6364136223846793005ull + 1442695040888963407ull;
        return m_state >> 11;
    }
    double uniform() { return double(next() >> 11) / double(1ull << 42); } // [0, 1)
    double normal() // sum of uniforms: smooth and peaked, cheap, deterministic
    {
        double s = 0;
        for (int i = 0; i < 4; ++i)
            s += uniform();
        return (s - 2.0) * 1.7320508075688772;
    }

private:
    std::uint64_t m_state;
};

inline const std::vector<DType>& histogramDTypes()
{
    static const std::vector<DType> all { DType::Float64, DType::Float32, DType::Float16, DType::BFloat16, DType::Float8_e4m3fn,
        DType::Float8_e5m2, DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8, DType::UInt16, DType::UInt32,
        DType::UInt64, DType::Bool };
    return all;
}

// Stores doubles in a float or integer dtype (float16/float8 get random bit patterns instead: no encoder here).
inline QByteArray encode(DType t, const std::vector<double>& values)
{
    const int item = dtypeItemSize(t);
    QByteArray out(qsizetype(values.size()) * item, '\0');
    char* p = out.data();
    for (size_t i = 0; i < values.size(); ++i) {
        const double v = values[i];
        auto put = [&](auto x) { std::memcpy(p + i * size_t(item), &x, sizeof x); };
        switch (t) {
        case DType::Float64: put(v); break;
        case DType::Float32: put(float(v)); break;
        case DType::BFloat16: {
            const float f = float(v);
            std::uint32_t bits;
            std::memcpy(&bits, &f, 4);
            put(std::uint16_t(bits >> 16));
            break;
        }
        case DType::Int8: put(std::int8_t(std::fmod(std::trunc(v), 128.0))); break;
        case DType::Int16: put(std::int16_t(std::fmod(std::trunc(v), 32768.0))); break;
        case DType::Int32: put(std::int32_t(std::fmod(std::trunc(v), 2147483648.0))); break;
        case DType::Int64: put(std::int64_t(std::trunc(v))); break;
        case DType::UInt8: put(std::uint8_t(std::fmod(std::fabs(std::trunc(v)), 256.0))); break;
        case DType::UInt16: put(std::uint16_t(std::fmod(std::fabs(std::trunc(v)), 65536.0))); break;
        case DType::UInt32: put(std::uint32_t(std::fmod(std::fabs(std::trunc(v)), 4294967296.0))); break;
        case DType::UInt64: put(std::uint64_t(std::fabs(std::trunc(v)))); break;
        case DType::Bool: put(std::uint8_t(v != 0)); break;
        default: return {};
        }
    }
    return out;
}

inline QByteArray randomBytes(Lcg& rng, qsizetype n)
{
    QByteArray out(n, '\0');
    for (qsizetype i = 0; i < n; ++i)
        out[i] = char(rng.next() & 0xff);
    return out;
}

// name -> tensor for each dtype: "<dtype>.bits", ".smooth", ".edges", ".constant", ".nan", ".empty".
inline std::vector<RawTensor> adversarialTensors(std::int64_t n = 100003)
{
    std::vector<RawTensor> out;
    Lcg rng(7);
    for (DType t : histogramDTypes()) {
        const QString base = dtypeName(t);
        const int item = dtypeItemSize(t);
        const bool encodable = !encode(t, { 0.0 }).isEmpty();
        out.push_back({ base + QStringLiteral(".bits"), t, { n }, randomBytes(rng, n * item) });
        std::vector<double> smooth(static_cast<size_t>(n)), edges, constant(1000, 3.0), nan(777, std::numeric_limits<double>::quiet_NaN());
        const double spread = dtypeIsFloatingPoint(t) ? 0.3 : 40.0;
        for (auto& v : smooth)
            v = rng.normal() * spread;
        // On and beside the edges of (-1, 1) and (-0.5, 0.25) for the bin counts the tests ask for.
        for (int bins : { 1, 7, 100, 20000 })
            for (auto [lo, hi] : { std::pair { -1.0, 1.0 }, std::pair { -0.5, 0.25 } })
                for (double e : histogramEdges(lo, hi, bins))
                    if (edges.size() < 60000)
                        for (double x : { e, std::nextafter(e, -INFINITY), std::nextafter(e, INFINITY) })
                            edges.push_back(dtypeIsFloatingPoint(t) ? x : x * 100);
        if (encodable) {
            out.push_back({ base + QStringLiteral(".smooth"), t, { n }, encode(t, smooth) });
            out.push_back({ base + QStringLiteral(".edges"), t, { std::int64_t(edges.size()) }, encode(t, edges) });
            out.push_back({ base + QStringLiteral(".constant"), t, { 10, 100 }, encode(t, constant) });
            if (dtypeIsFloatingPoint(t))
                out.push_back({ base + QStringLiteral(".nan"), t, { 777 }, encode(t, nan) });
        } else { // float16 / float8: a peaked distribution of bit patterns (small exponents dominate)
            QByteArray peaked(n * item, '\0');
            for (qsizetype i = 0; i < peaked.size(); ++i)
                peaked[i] = char((i % item == item - 1) ? (0x38 + (rng.next() % 8)) : (rng.next() & 0xff));
            out.push_back({ base + QStringLiteral(".smooth"), t, { n }, peaked });
        }
        out.push_back({ base + QStringLiteral(".empty"), t, { 0 }, QByteArray() });
    }
    return out;
}

// The requests every adversarial tensor is binned with.
inline std::vector<HistRequest> adversarialRequests(DType t)
{
    std::vector<HistRequest> out;
    for (int bins : { 1, 7, 100, 20000 }) {
        HistRequest r;
        r.bins = bins;
        out.push_back(r);
        r.range = dtypeIsFloatingPoint(t) ? std::pair { -0.5, 0.25 } : std::pair { -50.0, 25.0 };
        out.push_back(r);
        r.range = std::pair { -1.0, 1.0 };
        out.push_back(r);
    }
    return out;
}

} // namespace ckpt::test
