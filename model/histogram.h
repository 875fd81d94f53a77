#pragma once

#include "io/checkpoint.h"

#include <QJsonObject>

#include <cmath>

#include <atomic>
#include <optional>
#include <vector>

namespace ckpt {

enum class HistScale { Linear, Log10Abs };
enum class HistBackend { Auto, Cpu, Cuda };

struct HistRequest {
    int bins = 100;
    std::optional<std::pair<double, double>> range; // empty: the finite min..max of the (scaled) values
    HistScale scale = HistScale::Linear;
    HistBackend backend = HistBackend::Auto;
    int threads = 0;
    bool keepPages = false; // the mapped pages read stay resident (the caller releases them; see ScanPages)
};

// numpy.histogram's semantics exactly: edges = numpy.linspace(lo, hi, bins + 1) in double; x is in bin i when
// edges[i] <= x < edges[i+1], the last bin also taking x == hi. Values outside [lo, hi] are under/overflow,
// NaN and Inf are counted apart (and, in log scale, zeros, whose log is -inf).
struct Histogram {
    std::vector<std::int64_t> counts;
    std::vector<double> edges;
    std::int64_t underflow = 0, overflow = 0, nan = 0, inf = 0, zeros = 0;
    QString backend; // "cpu" or "cuda"
    double milliseconds = 0;
    bool operator==(const Histogram& o) const
    {
        return counts == o.counts && edges == o.edges && underflow == o.underflow && overflow == o.overflow && nan == o.nan
            && inf == o.inf && zeros == o.zeros;
    }
};

// The bin edges numpy computes for (lo, hi, bins), including its widening of an empty range by 0.5. A range wider
// than the largest double (numpy fails on it) gets finite edges lo * (1 - i/bins) + hi * i/bins.
std::vector<double> histogramEdges(double lo, double hi, int bins);

// The bin of a value known to lie in [edges.front(), edges.back()], as numpy assigns it: an index from the
// scaled offset, corrected by one against the double edges where rounding put it on the wrong side. The
// correction is what makes the answer exact, so the index may come from a multiplication by bins / (hi - lo)
// (`scale`, a few times cheaper than numpy's division) as long as it is off by at most one.
inline int histogramBin(double x, const double* edges, int bins, double lo, double hi, double scale = 0)
{
    const double f = scale > 0 && scale < 1e300 ? (x - lo) * scale
        : std::isfinite(hi - lo)                 ? (x - lo) / (hi - lo) * bins
                                                 : (x * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5) * bins; // wider than DBL_MAX
    int i = f < double(bins) ? int(f) : bins;
    if (i >= bins)
        i = bins - 1;
    if (i < 0)
        i = 0;
    if (x < edges[i])
        --i;
    else if (x >= edges[i + 1] && i != bins - 1)
        ++i;
    return i;
}

Expected<Histogram> computeHistogram(const Checkpoint& ck, int tensor, const HistRequest& request,
    const std::atomic<bool>* cancel = nullptr);

// Whether a CUDA device can run the histogram kernels (built with CUDA and a device present).
bool cudaHistogramAvailable();
QString cudaDescription(); // "NVIDIA H200 (driver 13.0, runtime 13.0)" or why there is none

QJsonObject histogramToJson(const Histogram& h);

} // namespace ckpt
