#include "model/histogram.h"

#include "model/elementview.h"
#include "model/patterncounts.h"
#include "model/parallel.h"

#include "ckptlens-config.h"
#if CKPTLENS_WITH_CUDA
#include "model/cuda/cudahistogram.h"
#endif

#include <QElapsedTimer>
#include <QJsonArray>

#include <spdlog/spdlog.h>

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstring>
#include <limits>
#include <optional>

namespace ckpt {
namespace {

constexpr std::int64_t kChunk = 1 << 15;

double scaled(double x, HistScale scale)
{
    return scale == HistScale::Linear ? x : std::log10(std::fabs(x));
}

struct MinMax {
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
};

struct Private {
    std::vector<std::int64_t> counts;
    std::int64_t under = 0, over = 0, nan = 0, inf = 0, zeros = 0;
};

// Dense float32 and bfloat16 on a linear scale, the common case, read as floats in registers instead of through a
// decoded double buffer. Both widen to double exactly, so the bins are the same as the general path's.
float loadF32(const std::uint8_t* p, std::int64_t i)
{
    float f;
    std::memcpy(&f, p + i * 4, 4);
    return f;
}

float loadBF16(const std::uint8_t* p, std::int64_t i)
{
    std::uint16_t h;
    std::memcpy(&h, p + i * 2, 2);
    const std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

template <float (*Load)(const std::uint8_t*, std::int64_t)>
void minMaxDense(const std::uint8_t* base, std::int64_t begin, std::int64_t count, MinMax& m)
{
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (std::int64_t i = begin; i < begin + count; ++i) {
        const float x = Load(base, i);
        const bool finite = (x - x) == 0.0f; // false for NaN and both infinities; branch-free, so it vectorizes
        lo = finite && x < lo ? x : lo;
        hi = finite && x > hi ? x : hi;
    }
    m.lo = std::min(m.lo, double(lo));
    m.hi = std::max(m.hi, double(hi));
}

// Four count arrays, used in turn: runs of equal bins (common in smooth data) would otherwise serialize on one
// counter's load-add-store.
constexpr int kLanes = 4;

template <float (*Load)(const std::uint8_t*, std::int64_t)>
void binDense(const std::uint8_t* base, std::int64_t begin, std::int64_t count, const double* edges, int bins, double lo,
    double hi, double scale, Private& p)
{
    std::int64_t* counts = p.counts.data();
    for (std::int64_t i = begin; i < begin + count; ++i) {
        const double x = Load(base, i);
        if (!(x >= lo && x <= hi)) { // NaN fails both comparisons
            if (std::isnan(x))
                ++p.nan;
            else if (std::isinf(x))
                ++p.inf;
            else {
                p.zeros += x == 0;
                ++(x < lo ? p.under : p.over);
            }
            continue;
        }
        p.zeros += x == 0;
        ++counts[(i & (kLanes - 1)) * bins + histogramBin(x, edges, bins, lo, hi, scale)];
    }
}

#if defined(__SSE2__)
// Dense float32 in SSE2 (x86-64's baseline), four elements per step: the scalar loops are bound by instructions.
void minMaxF32Sse2(const std::uint8_t* base, std::int64_t begin, std::int64_t count, MinMax& m)
{
    const __m128i expMask = _mm_set1_epi32(0x7f800000);
    const __m128 posInf = _mm_set1_ps(std::numeric_limits<float>::infinity()), negInf = _mm_set1_ps(-std::numeric_limits<float>::infinity());
    __m128 lo = posInf, hi = negInf;
    const float* f = reinterpret_cast<const float*>(base) + begin;
    std::int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const __m128 x = _mm_loadu_ps(f + i);
        // NaN and infinities (exponent all ones) are replaced by the neutral value of each side.
        const __m128 special = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(x), expMask), expMask));
        lo = _mm_min_ps(lo, _mm_or_ps(_mm_and_ps(special, posInf), _mm_andnot_ps(special, x)));
        hi = _mm_max_ps(hi, _mm_or_ps(_mm_and_ps(special, negInf), _mm_andnot_ps(special, x)));
    }
    float l[4], h[4];
    _mm_storeu_ps(l, lo);
    _mm_storeu_ps(h, hi);
    for (int k = 0; k < 4; ++k) {
        m.lo = std::min(m.lo, double(l[k]));
        m.hi = std::max(m.hi, double(h[k]));
    }
    for (; i < count; ++i) {
        float x;
        std::memcpy(&x, base + (begin + i) * 4, 4);
        if (std::isfinite(x)) {
            m.lo = std::min(m.lo, double(x));
            m.hi = std::max(m.hi, double(x));
        }
    }
}

// The index estimate (range check, offset, scale, truncation) four at a time; the correction against the double
// edges and the counting stay scalar, as in binDense. Runs of four with anything outside [lo, hi] (or NaN) take
// binDense's rule element by element.
void binF32Sse2(const std::uint8_t* base, std::int64_t begin, std::int64_t count, const double* edges, int bins, double lo,
    double hi, double scale, Private& p)
{
    if (!(scale > 0 && scale < 1e300)) { // degenerate ranges: numpy's division, element by element
        binDense<loadF32>(base, begin, count, edges, bins, lo, hi, scale, p);
        return;
    }
    std::int64_t* counts = p.counts.data();
    static constexpr std::uint8_t kOnes[16] = { 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 };
    const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), vscale = _mm_set1_pd(scale);
    // The correction against the edges can only change the estimate for values within rounding distance of an
    // edge. The estimate f = (x - lo) * scale and an edge's position are each off by at most a few ulps of
    // (|lo| + |hi|) in units of a bin; when that is below 1e-7 of a bin, a fractional part of f at least 1e-6 away
    // from an integer settles the bin without looking at the edges. Ranges far from zero relative to their width
    // (lo = 1e8, hi = 1e8 + 1e-3) fail the bound and always take the correction.
    const bool settle = (std::fabs(lo) + std::fabs(hi)) / (hi - lo) * double(bins) < 1e8;
    const __m128d margin = _mm_set1_pd(1e-6), oneMinus = _mm_set1_pd(1 - 1e-6);
    const float* f = reinterpret_cast<const float*>(base) + begin;
    std::int64_t i = 0;
    alignas(16) std::int32_t idx[4];
    alignas(16) double xs[4];
    for (; i + 4 <= count; i += 4) {
        const __m128 x = _mm_loadu_ps(f + i);
        const __m128d a = _mm_cvtps_pd(x), b = _mm_cvtps_pd(_mm_movehl_ps(x, x));
        const __m128d inA = _mm_and_pd(_mm_cmpge_pd(a, vlo), _mm_cmple_pd(a, vhi));
        const __m128d inB = _mm_and_pd(_mm_cmpge_pd(b, vlo), _mm_cmple_pd(b, vhi));
        if ((_mm_movemask_pd(inA) & _mm_movemask_pd(inB)) != 3) {
            binDense<loadF32>(base, begin + i, 4, edges, bins, lo, hi, scale, p);
            continue;
        }
        p.zeros += kOnes[_mm_movemask_ps(_mm_cmpeq_ps(x, _mm_setzero_ps()))];
        // (x - lo) * scale is within [0, bins]: truncation to int32 cannot overflow.
        const __m128d fa = _mm_mul_pd(_mm_sub_pd(a, vlo), vscale), fb = _mm_mul_pd(_mm_sub_pd(b, vlo), vscale);
        const __m128i ia = _mm_cvttpd_epi32(fa);
        const __m128i ib = _mm_cvttpd_epi32(fb);
        _mm_store_si128(reinterpret_cast<__m128i*>(idx), _mm_unpacklo_epi64(ia, ib));
        if (settle) {
            const __m128d ra = _mm_sub_pd(fa, _mm_cvtepi32_pd(ia)), rb = _mm_sub_pd(fb, _mm_cvtepi32_pd(ib));
            const int clear = _mm_movemask_pd(_mm_and_pd(_mm_cmpge_pd(ra, margin), _mm_cmple_pd(ra, oneMinus)))
                | (_mm_movemask_pd(_mm_and_pd(_mm_cmpge_pd(rb, margin), _mm_cmple_pd(rb, oneMinus))) << 2);
            if (clear == 15) { // f < bins here: its fraction would be 0 at f == bins
                ++counts[(i & (kLanes - 1)) * bins + idx[0]];
                ++counts[((i + 1) & (kLanes - 1)) * bins + idx[1]];
                ++counts[((i + 2) & (kLanes - 1)) * bins + idx[2]];
                ++counts[((i + 3) & (kLanes - 1)) * bins + idx[3]];
                continue;
            }
        }
        _mm_store_pd(xs, a);
        _mm_store_pd(xs + 2, b);
        for (int k = 0; k < 4; ++k) {
            int j = idx[k] >= bins ? bins - 1 : idx[k];
            const double v = xs[k];
            if (v < edges[j])
                --j;
            else if (v >= edges[j + 1] && j != bins - 1)
                ++j;
            ++counts[((i + k) & (kLanes - 1)) * bins + j];
        }
    }
    if (i < count)
        binDense<loadF32>(base, begin + i, count - i, edges, bins, lo, hi, scale, p);
}
#endif

} // namespace

std::vector<double> histogramEdges(double lo, double hi, int bins)
{
    if (lo == hi) { // numpy widens an empty range
        lo -= 0.5;
        hi += 0.5;
    }
    std::vector<double> e(size_t(bins) + 1);
    const double step = (hi - lo) / bins;
    for (int i = 0; i <= bins; ++i) {
        const double t = double(i) / bins;
        e[size_t(i)] = !std::isfinite(step) ? lo * (1 - t) + hi * t : step == 0 ? lo + t * (hi - lo) : double(i) * step + lo;
    }
    e[size_t(bins)] = hi;
    return e;
}

Expected<Histogram> computeHistogram(const Checkpoint& ck, int tensor, const HistRequest& request, const std::atomic<bool>* cancel)
{
    if (request.bins < 1 || request.bins > 10'000'000)
        return Error { ErrorKind::LimitExceeded, ck.path, {}, QStringLiteral("bin count %1 outside 1..10000000").arg(request.bins) };
    if (request.range && !(request.range->first <= request.range->second && std::isfinite(request.range->first) && std::isfinite(request.range->second)))
        return Error { ErrorKind::Unsupported, ck.path, {}, QStringLiteral("the range must be finite with lo <= hi") };
    auto view = elementViewForScan(ck, tensor);
    if (!view)
        return view.error();
    QElapsedTimer timer;
    timer.start();

#if CKPTLENS_WITH_CUDA
    // Log scale stays on the CPU: the device's log10 may differ from the host's in the last bit, and the two
    // backends must give the same counts.
    if (request.backend != HistBackend::Cpu && request.scale == HistScale::Linear && cudaHistogramAvailable()) {
        auto h = cudaHistogram(*view, request, cancel);
        if (!request.keepPages)
            releaseScannedPages(ck, tensor, *view); // copied to the device
        if (h) {
            h->milliseconds = double(timer.nsecsElapsed()) / 1e6;
            return h;
        }
        if (cancel && cancel->load())
            return Error { ErrorKind::Io, ck.path, {}, QStringLiteral("cancelled") };
        if (h.error().kind != ErrorKind::Unsupported) // complex or byte-swapped: the CPU's by design
            spdlog::warn("CUDA histogram failed ({}); using the CPU", h.error().what.toStdString());
    } else if (request.backend == HistBackend::Cuda) {
        if (request.scale != HistScale::Linear)
            spdlog::info("log-scale histograms are binned on the CPU (the device's log10 rounds differently)");
        else
            spdlog::warn("no CUDA device for the histogram; using the CPU");
    }
#else
    if (request.backend == HistBackend::Cuda)
        spdlog::warn("this build has no CUDA support; using the CPU for the histogram");
#endif

    const ElementView& v = *view;
    // Every pass goes by scan windows, each released once done: a histogram of a multi-GB tensor, or of every tensor
    // of a file (hist --all), holds one window of it resident (1.39 GB peak for hist --all of GPT-2-medium before).
    // The two passes of an automatic range each read the page cache (a caller that has the range, the profile,
    // skips the first).
    const auto release = request.keepPages ? nullptr : scannedPagesReleaser(ck, tensor, v);
    const std::int64_t window = scanWindowElements(v);
    const int patternWorkers = request.threads > 0 ? request.threads : defaultThreadCount();
    if (patternCountable(v)) { // one pass, exact: see model/patterncounts.h
        auto counted = countPatterns(v, v.numel < 4 * kChunk ? 1 : patternWorkers, cancel, release);
        if (!counted)
            return Error { ErrorKind::Io, ck.path, {}, QStringLiteral("cancelled") };
        const size_t patterns = counted->size();
        const std::vector<double> value = patternValues(v);
        Histogram h;
        double lo = 0, hi = 1;
        if (request.range) {
            lo = request.range->first;
            hi = request.range->second;
        } else {
            MinMax m;
            for (size_t p = 0; p < patterns; ++p) {
                if (!(*counted)[p])
                    continue;
                const double sv = scaled(value[p], request.scale);
                if (std::isfinite(sv)) {
                    m.lo = std::min(m.lo, sv);
                    m.hi = std::max(m.hi, sv);
                }
            }
            if (m.lo <= m.hi) {
                lo = m.lo;
                hi = m.hi;
            }
        }
        h.edges = histogramEdges(lo, hi, request.bins);
        lo = h.edges.front();
        hi = h.edges.back();
        h.counts.assign(size_t(request.bins), 0);
        const double scale = double(request.bins) / (hi - lo);
        for (size_t p = 0; p < patterns; ++p) {
            const std::int64_t c = (*counted)[p];
            if (!c)
                continue;
            const double raw = value[p];
            if (std::isnan(raw)) {
                h.nan += c;
                continue;
            }
            if (std::isinf(raw)) {
                h.inf += c;
                continue;
            }
            if (raw == 0) {
                h.zeros += c;
                if (request.scale == HistScale::Log10Abs)
                    continue;
            }
            const double sv = scaled(raw, request.scale);
            if (sv < lo)
                h.underflow += c;
            else if (sv > hi)
                h.overflow += c;
            else
                h.counts[size_t(histogramBin(sv, h.edges.data(), request.bins, lo, hi, scale))] += c;
        }
        h.backend = QStringLiteral("cpu");
        h.milliseconds = double(timer.nsecsElapsed()) / 1e6;
        return h;
    }
    const bool fastPath = request.scale == HistScale::Linear && isDense(v) && !v.swap
        && (v.dtype == DType::Float32 || v.dtype == DType::BFloat16);
    const bool isF32 = v.dtype == DType::Float32;
    const int workers = v.numel < 4 * kChunk ? 1 : (request.threads > 0 ? request.threads : defaultThreadCount());
    std::vector<std::vector<double>> buffers(static_cast<size_t>(workers));
    auto decode = [&](std::int64_t begin, std::int64_t count, int w) -> double* {
        auto& b = buffers[size_t(w)];
        b.resize(size_t(kChunk));
        decodeRange(v, begin, count, b.data());
        return b.data();
    };

    double lo = 0, hi = 1; // numpy's range for no data
    if (request.range) {
        lo = request.range->first;
        hi = request.range->second;
    } else {
        std::vector<MinMax> mm(static_cast<size_t>(workers));
        if (!parallelWindows(v.numel, kChunk, window, workers, [&](std::int64_t begin, std::int64_t count, int w) {
                if (fastPath) {
#if defined(__SSE2__)
                    if (isF32) {
                        minMaxF32Sse2(v.base, begin, count, mm[size_t(w)]);
                        return;
                    }
#endif
                    (isF32 ? minMaxDense<loadF32> : minMaxDense<loadBF16>)(v.base, begin, count, mm[size_t(w)]);
                    return;
                }
                const double* x = decode(begin, count, w);
                MinMax& m = mm[size_t(w)];
                for (std::int64_t i = 0; i < count; ++i) {
                    const double s = scaled(x[i], request.scale);
                    if (std::isfinite(s)) {
                        m.lo = std::min(m.lo, s);
                        m.hi = std::max(m.hi, s);
                    }
                }
            }, release, cancel))
            return Error { ErrorKind::Io, ck.path, {}, QStringLiteral("cancelled") };
        MinMax all;
        for (const auto& m : mm) {
            all.lo = std::min(all.lo, m.lo);
            all.hi = std::max(all.hi, m.hi);
        }
        if (all.lo <= all.hi) {
            lo = all.lo;
            hi = all.hi;
        }
    }
    Histogram h;
    h.edges = histogramEdges(lo, hi, request.bins);
    lo = h.edges.front();
    hi = h.edges.back();
    const int bins = request.bins;
    std::vector<Private> priv(static_cast<size_t>(workers));
    const double* edges = h.edges.data();
    const double scale = double(bins) / (hi - lo); // histogramBin falls back to numpy's division when not finite
    if (!parallelWindows(v.numel, kChunk, window, workers, [&](std::int64_t begin, std::int64_t count, int w) {
            Private& p = priv[size_t(w)];
            if (fastPath) {
                if (p.counts.empty())
                    p.counts.assign(size_t(bins) * kLanes, 0);
#if defined(__SSE2__)
                if (isF32) {
                    binF32Sse2(v.base, begin, count, edges, bins, lo, hi, scale, p);
                    return;
                }
#endif
                (isF32 ? binDense<loadF32> : binDense<loadBF16>)(v.base, begin, count, edges, bins, lo, hi, scale, p);
                return;
            }
            if (p.counts.empty())
                p.counts.assign(size_t(bins), 0);
            const double* x = decode(begin, count, w);
            for (std::int64_t i = 0; i < count; ++i) {
                const double raw = x[i];
                if (std::isnan(raw)) {
                    ++p.nan;
                    continue;
                }
                if (std::isinf(raw)) {
                    ++p.inf;
                    continue;
                }
                if (raw == 0) {
                    ++p.zeros;
                    if (request.scale == HistScale::Log10Abs)
                        continue; // log10(0) is -inf: counted as a zero, not binned
                }
                const double s = scaled(raw, request.scale);
                if (s < lo) {
                    ++p.under;
                } else if (s > hi) {
                    ++p.over;
                } else {
                    ++p.counts[size_t(histogramBin(s, edges, bins, lo, hi, scale))];
                }
            }
        }, release, cancel))
        return Error { ErrorKind::Io, ck.path, {}, QStringLiteral("cancelled") };
    h.counts.assign(size_t(bins), 0);
    for (const auto& p : priv) {
        for (size_t i = 0; i < p.counts.size(); ++i)
            h.counts[i % size_t(bins)] += p.counts[i]; // the fast path's lanes fold onto the same bins
        h.underflow += p.under;
        h.overflow += p.over;
        h.nan += p.nan;
        h.inf += p.inf;
        h.zeros += p.zeros;
    }
    h.backend = QStringLiteral("cpu");
    h.milliseconds = double(timer.nsecsElapsed()) / 1e6;
    return h;
}

#if !CKPTLENS_WITH_CUDA
bool cudaHistogramAvailable()
{
    return false;
}

QString cudaDescription()
{
    return QStringLiteral("CPU only (built without CUDA)");
}
#endif

QJsonObject histogramToJson(const Histogram& h)
{
    QJsonArray edges, counts;
    for (double e : h.edges)
        edges.append(e);
    for (auto c : h.counts)
        counts.append(qint64(c));
    return QJsonObject { { QStringLiteral("edges"), edges }, { QStringLiteral("counts"), counts },
        { QStringLiteral("underflow"), qint64(h.underflow) }, { QStringLiteral("overflow"), qint64(h.overflow) },
        { QStringLiteral("nan"), qint64(h.nan) }, { QStringLiteral("inf"), qint64(h.inf) }, { QStringLiteral("zeros"), qint64(h.zeros) },
        { QStringLiteral("backend"), h.backend }, { QStringLiteral("milliseconds"), h.milliseconds } };
}

} // namespace ckpt
