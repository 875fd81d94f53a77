#include "model/heatmap.h"

#include "model/parallel.h"

#include <cmath>
#include <limits>

namespace ckpt {
namespace {

constexpr std::int64_t kRunElements = 1 << 16;

} // namespace

Expected<HeatMap> heatMap(const Checkpoint& ck, int tensor, const SliceSpec& spec, int maxCols, int maxRows,
    int threads, const std::atomic<bool>* cancel)
{
    auto reader = SliceReader::open(ck, tensor, spec);
    if (!reader)
        return reader.error();
    HeatMap m;
    m.rows = reader->rows();
    m.cols = reader->cols();
    if (m.rows == 0 || m.cols == 0)
        return m;
    maxCols = std::max(1, maxCols);
    maxRows = std::max(1, maxRows);
    m.rowsPerCell = (m.rows + maxRows - 1) / maxRows;
    m.colsPerCell = (m.cols + maxCols - 1) / maxCols;
    m.cellRows = int((m.rows + m.rowsPerCell - 1) / m.rowsPerCell);
    m.cellCols = int((m.cols + m.colsPerCell - 1) / m.colsPerCell);
    const size_t cells = size_t(m.cellRows) * size_t(m.cellCols);
    constexpr double inf = std::numeric_limits<double>::infinity();
    m.min.assign(cells, inf);
    m.max.assign(cells, -inf);
    m.mean.assign(cells, 0);
    std::vector<std::int64_t> finite(cells, 0);
    std::vector<std::int64_t> nonFinite(size_t(m.cellRows), 0);

    // One band of cell rows per chunk: no two workers touch the same cell.
    const std::int64_t elementsPerBand = m.rowsPerCell * m.cols;
    const int workers = elementsPerBand * m.cellRows < (1 << 17) ? 1 : threads;
    std::vector<std::vector<double>> buffers(size_t(workers > 0 ? workers : defaultThreadCount()));
    const bool done = parallelChunks(
        m.cellRows, 1, workers,
        [&](std::int64_t band, std::int64_t, int w) {
            auto& buffer = buffers[size_t(w)];
            buffer.resize(size_t(std::min(m.cols, kRunElements)));
            const std::int64_t first = band * m.rowsPerCell;
            const std::int64_t last = std::min(m.rows, first + m.rowsPerCell);
            const size_t base = size_t(band) * size_t(m.cellCols);
            for (std::int64_t r = first; r < last; ++r) {
                // A row of a flattened tensor can hold most of it: read it in runs, never whole.
                for (std::int64_t c0 = 0; c0 < m.cols; c0 += kRunElements) {
                    if (cancel && cancel->load(std::memory_order_relaxed))
                        return;
                    const std::int64_t n = std::min(kRunElements, m.cols - c0);
                    reader->read(r, 1, c0, n, buffer.data());
                    for (std::int64_t i = 0; i < n; ++i) {
                        const double x = buffer[size_t(i)];
                        const size_t cell = base + size_t((c0 + i) / m.colsPerCell);
                        if (!std::isfinite(x)) {
                            ++nonFinite[size_t(band)];
                            continue;
                        }
                        m.min[cell] = std::min(m.min[cell], x);
                        m.max[cell] = std::max(m.max[cell], x);
                        m.mean[cell] += x;
                        ++finite[cell];
                    }
                }
            }
        },
        cancel);
    if (!done)
        return Error { ErrorKind::Io, ck.path, QStringLiteral("tensor %1").arg(tensor), QStringLiteral("cancelled") };

    double lo = inf, hi = -inf;
    for (size_t i = 0; i < cells; ++i) {
        if (finite[i] == 0) {
            m.min[i] = m.max[i] = m.mean[i] = std::numeric_limits<double>::quiet_NaN();
            continue;
        }
        m.mean[i] /= double(finite[i]);
        lo = std::min(lo, m.min[i]);
        hi = std::max(hi, m.max[i]);
    }
    if (lo <= hi) {
        m.lo = lo;
        m.hi = hi;
    }
    for (auto n : nonFinite)
        m.nonFinite += n;
    return m;
}

} // namespace ckpt
