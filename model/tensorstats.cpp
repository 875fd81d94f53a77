#include "model/tensorstats.h"

#include "model/elementview.h"
#include "model/parallel.h"
#include "model/patterncounts.h"

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstring>
#include <limits>
#include <vector>

namespace ckpt {
namespace {

// Running moments of finite values. Each chunk is summed in two passes while it sits in cache (mean, then
// squared deviations), and chunks are combined with Chan et al.'s pairwise formula, so the variance keeps full
// double precision even when the mean dwarfs the spread.
struct Accumulator {
    std::int64_t n = 0, zeros = 0, nan = 0, inf = 0;
    double mean = 0, m2 = 0, sumsq = 0;
    double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity(), absmax = 0;

    void addChunk(const double* v, std::int64_t count)
    {
        addChunkOf([v](std::int64_t i) { return v[i]; }, count);
    }
#if defined(__SSE2__)
    // Dense float32 straight from the memory map, four elements per step in SSE2 (x86-64's baseline): the loop is
    // bound by instructions (the two vCPUs of the benchmark machine share one core), and the scalar loop spends
    // about 13 per element. Runs of four holding a NaN or an infinity take the scalar rule element by element.
    void addFloats(const std::uint8_t* p, std::int64_t count)
    {
        static constexpr std::uint8_t kOnes[16] = { 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 };
        const __m128i expMask = _mm_set1_epi32(0x7f800000);
        auto special = [&](__m128 f) {
            const __m128i e = _mm_and_si128(_mm_castps_si128(f), expMask);
            return _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(e, expMask)));
        };
        auto load = [p](std::int64_t i) { return _mm_loadu_ps(reinterpret_cast<const float*>(p + 4 * i)); };
        __m128d sA = _mm_setzero_pd(), sB = sA, qA = sA, qB = sA;
        __m128d loA = _mm_set1_pd(min), loB = loA, hiA = _mm_set1_pd(max), hiB = hiA;
        std::int64_t finite = 0, zero = 0;
        double s = 0, q = 0, lo = min, hi = max; // the scalar path's share
        auto scalar = [&](double x) {
            if (!std::isfinite(x)) {
                nan += std::isnan(x);
                inf += std::isinf(x);
                return;
            }
            ++finite;
            zero += x == 0;
            s += x;
            q += x * x;
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        };
        float tmp[4];
        std::int64_t i = 0;
        for (; i + 4 <= count; i += 4) {
            const __m128 f = load(i);
            if (special(f)) {
                _mm_storeu_ps(tmp, f);
                for (float x : tmp)
                    scalar(double(x));
                continue;
            }
            const __m128d a = _mm_cvtps_pd(f), b = _mm_cvtps_pd(_mm_movehl_ps(f, f));
            zero += kOnes[_mm_movemask_ps(_mm_cmpeq_ps(f, _mm_setzero_ps()))];
            finite += 4;
            sA = _mm_add_pd(sA, a);
            sB = _mm_add_pd(sB, b);
            qA = _mm_add_pd(qA, _mm_mul_pd(a, a));
            qB = _mm_add_pd(qB, _mm_mul_pd(b, b));
            loA = _mm_min_pd(loA, a);
            loB = _mm_min_pd(loB, b);
            hiA = _mm_max_pd(hiA, a);
            hiB = _mm_max_pd(hiB, b);
        }
        for (; i < count; ++i) {
            float x;
            std::memcpy(&x, p + 4 * i, 4);
            scalar(double(x));
        }
        zeros += zero;
        if (!finite)
            return;
        double v[2];
        auto sum2 = [&](__m128d x) {
            _mm_storeu_pd(v, x);
            return v[0] + v[1];
        };
        auto min2 = [&](__m128d x) {
            _mm_storeu_pd(v, x);
            return std::min(v[0], v[1]);
        };
        auto max2 = [&](__m128d x) {
            _mm_storeu_pd(v, x);
            return std::max(v[0], v[1]);
        };
        min = std::min({ lo, min2(loA), min2(loB) });
        max = std::max({ hi, max2(hiA), max2(hiB) });
        absmax = std::max(std::fabs(min), std::fabs(max));
        const double chunkMean = (sum2(sA) + sum2(sB) + s) / double(finite);
        const double sq = sum2(qA) + sum2(qB) + q;
        const __m128d m = _mm_set1_pd(chunkMean);
        __m128d eA = _mm_setzero_pd(), eB = eA;
        double e = 0;
        for (i = 0; i + 4 <= count; i += 4) {
            const __m128 f = load(i);
            if (special(f)) {
                _mm_storeu_ps(tmp, f);
                for (float x : tmp)
                    if (std::isfinite(x))
                        e += (double(x) - chunkMean) * (double(x) - chunkMean);
                continue;
            }
            const __m128d a = _mm_sub_pd(_mm_cvtps_pd(f), m), b = _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(f, f)), m);
            eA = _mm_add_pd(eA, _mm_mul_pd(a, a));
            eB = _mm_add_pd(eB, _mm_mul_pd(b, b));
        }
        for (; i < count; ++i) {
            float x;
            std::memcpy(&x, p + 4 * i, 4);
            if (std::isfinite(x))
                e += (double(x) - chunkMean) * (double(x) - chunkMean);
        }
        merge(finite, chunkMean, sum2(eA) + sum2(eB) + e, sq);
    }
#endif

    // `at(i)` gives element i as a double: decoded doubles, or floats read straight from the memory map.
    template <typename At>
    void addChunkOf(At at, std::int64_t count)
    {
        std::int64_t finite = 0;
        double sum = 0, sq = 0, lo = min, hi = max;
        for (std::int64_t i = 0; i < count; ++i) {
            const double x = at(i);
            if (!std::isfinite(x)) {
                nan += std::isnan(x);
                inf += std::isinf(x);
                continue;
            }
            ++finite;
            zeros += x == 0;
            sum += x;
            sq += x * x;
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
        if (!finite)
            return;
        min = lo;
        max = hi;
        absmax = std::max(std::fabs(lo), std::fabs(hi));
        const double chunkMean = sum / double(finite);
        double chunkM2 = 0;
        for (std::int64_t i = 0; i < count; ++i) {
            const double x = at(i);
            if (std::isfinite(x)) {
                const double d = x - chunkMean;
                chunkM2 += d * d;
            }
        }
        merge(finite, chunkMean, chunkM2, sq);
    }

    void merge(std::int64_t nb, double meanB, double m2B, double sqB)
    {
        if (nb == 0)
            return;
        const std::int64_t total = n + nb;
        const double delta = meanB - mean;
        mean += delta * double(nb) / double(total);
        m2 += m2B + delta * delta * double(n) * double(nb) / double(total);
        sumsq += sqB;
        n = total;
    }

    void merge(const Accumulator& o)
    {
        zeros += o.zeros;
        nan += o.nan;
        inf += o.inf;
        if (o.n) {
            min = std::min(min, o.min);
            max = std::max(max, o.max);
            absmax = std::max(absmax, o.absmax);
        }
        merge(o.n, o.mean, o.m2, o.sumsq);
    }
};

constexpr std::int64_t kChunk = 1 << 15; // 256 KiB of doubles: stays in L2 for the second pass

TensorStats finish(const Accumulator& all, std::int64_t numel)
{
    TensorStats s;
    s.numel = numel;
    s.finite = all.n;
    s.zeros = all.zeros;
    s.nan = all.nan;
    s.inf = all.inf;
    s.l2 = std::sqrt(all.sumsq);
    if (all.n > 0) {
        s.min = all.min;
        s.max = all.max;
        s.absmax = all.absmax;
        s.mean = all.mean;
    }
    if (all.n > 1)
        s.std = std::sqrt(all.m2 / double(all.n - 1));
    return s;
}

// <= 16-bit dtypes: one pass of pattern counts, then the moments over the distinct values weighted by their counts
// (the mean first, then the squared deviations: two passes over at most 65,536 values).
Expected<TensorStats> statsFromPatterns(const Checkpoint& ck, int tensor, const ElementView& v, int workers,
    const std::atomic<bool>* cancel, const std::function<void(std::int64_t, std::int64_t)>& afterWindow)
{
    const auto counts = countPatterns(v, workers, cancel, afterWindow);
    if (!counts)
        return Error { ErrorKind::Io, ck.path, QStringLiteral("tensor %1").arg(tensor), QStringLiteral("cancelled") };
    const std::vector<double> value = patternValues(v);
    Accumulator a;
    double sum = 0;
    for (size_t p = 0; p < value.size(); ++p) {
        const std::int64_t c = (*counts)[p];
        const double x = value[p];
        if (!c)
            continue;
        if (!std::isfinite(x)) {
            (std::isnan(x) ? a.nan : a.inf) += c;
            continue;
        }
        a.n += c;
        a.zeros += x == 0 ? c : 0;
        sum += double(c) * x;
        a.sumsq += double(c) * x * x;
        a.min = std::min(a.min, x);
        a.max = std::max(a.max, x);
    }
    if (a.n) {
        a.mean = sum / double(a.n);
        for (size_t p = 0; p < value.size(); ++p)
            if ((*counts)[p] && std::isfinite(value[p])) {
                const double d = value[p] - a.mean;
                a.m2 += double((*counts)[p]) * d * d;
            }
        a.absmax = std::max(std::fabs(a.min), std::fabs(a.max));
    }
    return finish(a, v.numel);
}


// afterWindow: what to do with each scanned window of the tensor (release its pages), or nothing.
Expected<TensorStats> statsOfView(const Checkpoint& ck, int tensor, const ElementView& v, int threads,
    const std::atomic<bool>* cancel, const std::function<void(std::int64_t, std::int64_t)>& afterWindow)
{
    // Small tensors are not worth waking threads for.
    const int workers = v.numel < 4 * kChunk ? 1 : (threads > 0 ? threads : defaultThreadCount());
    if (patternCountable(v))
        return statsFromPatterns(ck, tensor, v, workers, cancel, afterWindow);
    // Dense float32, the common case: read in place, no decoded copy.
    const bool directF32 = v.dtype == DType::Float32 && isDense(v) && !v.swap;
    std::vector<Accumulator> acc(static_cast<size_t>(workers));
    std::vector<std::vector<double>> buffers(static_cast<size_t>(workers));
    const bool done = parallelWindows(
        v.numel, kChunk, scanWindowElements(v), workers,
        [&](std::int64_t begin, std::int64_t count, int w) {
            if (directF32) {
#if defined(__SSE2__)
                acc[size_t(w)].addFloats(v.base + begin * 4, count);
                return;
#endif
                const std::uint8_t* p = v.base + begin * 4;
                acc[size_t(w)].addChunkOf(
                    [p](std::int64_t i) {
                        float f;
                        std::memcpy(&f, p + 4 * i, 4);
                        return double(f);
                    },
                    count);
                return;
            }
            auto& buf = buffers[size_t(w)];
            buf.resize(size_t(kChunk));
            decodeRange(v, begin, count, buf.data());
            acc[size_t(w)].addChunk(buf.data(), count);
        },
        afterWindow, cancel);
    if (!done)
        return Error { ErrorKind::Io, ck.path, QStringLiteral("tensor %1").arg(tensor), QStringLiteral("cancelled") };
    Accumulator all;
    for (const auto& a : acc)
        all.merge(a);
    return finish(all, v.numel);
}

} // namespace

// A pass over every tensor (the CLI's stats, the GUI's background job) then holds about one scan window resident
// (32 MiB), not one tensor: GPT-2-medium's stats peaked at 214 MiB with its 205 MB embedding resident whole, 53 MiB now.
Expected<TensorStats> computeStats(
    const Checkpoint& ck, int tensor, int threads, const std::atomic<bool>* cancel, ScanPages pages)
{
    auto view = elementViewForScan(ck, tensor);
    if (!view)
        return view.error();
    return statsOfView(ck, tensor, *view, threads, cancel,
        pages == ScanPages::Release ? scannedPagesReleaser(ck, tensor, *view) : nullptr);
}

QJsonObject statsToJson(const TensorStats& s)
{
    QJsonObject o {
        { QStringLiteral("numel"), qint64(s.numel) },
        { QStringLiteral("zeros"), qint64(s.zeros) },
        { QStringLiteral("nan"), qint64(s.nan) },
        { QStringLiteral("inf"), qint64(s.inf) },
        { QStringLiteral("l2"), s.l2 },
    };
    auto put = [&](const char* key, const std::optional<double>& v) {
        if (v)
            o.insert(QLatin1String(key), *v);
    };
    put("min", s.min);
    put("max", s.max);
    put("mean", s.mean);
    put("std", s.std);
    put("absmax", s.absmax);
    return o;
}

QDebug operator<<(QDebug d, const TensorStats& s)
{
    QDebugStateSaver saver(d);
    d.nospace() << "TensorStats(numel=" << s.numel << ", min=" << s.min.value_or(NAN) << ", max=" << s.max.value_or(NAN)
                << ", mean=" << s.mean.value_or(NAN) << ", std=" << s.std.value_or(NAN) << ", l2=" << s.l2
                << ", zeros=" << s.zeros << ", nan=" << s.nan << ", inf=" << s.inf << ')';
    return d;
}

} // namespace ckpt
