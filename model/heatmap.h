#pragma once

#include "model/valueslice.h"

#include <atomic>
#include <optional>

namespace ckpt {

// A slice downsampled to a grid of at most maxCols x maxRows cells. Each cell covers a block of
// rowsPerCell x colsPerCell elements and keeps their minimum, maximum and mean, so a single outlier still shows
// and the global extremes are exactly those of the slice. Plain numbers: the widget picks colours.
struct HeatMap {
    std::int64_t rows = 0, cols = 0;                 // of the slice
    int cellRows = 0, cellCols = 0;
    std::int64_t rowsPerCell = 1, colsPerCell = 1;
    std::vector<double> min, max, mean;              // per cell, row-major; NaN where a cell has no finite value
    std::optional<double> lo, hi;                    // over every finite value of the slice
    std::int64_t nonFinite = 0;

    size_t cell(int r, int c) const { return size_t(r) * size_t(cellCols) + size_t(c); }
    bool operator==(const HeatMap&) const = default;
};

Expected<HeatMap> heatMap(const Checkpoint& ck, int tensor, const SliceSpec& spec, int maxCols, int maxRows,
    int threads = 0, const std::atomic<bool>* cancel = nullptr);

} // namespace ckpt
