#pragma once

// The CUDA histogram backend (compiled only with CKPTLENS_CUDA; see model/histogram.cpp for the contract).
#include "model/elementview.h"
#include "model/histogram.h"

#include <optional>

namespace ckpt {

Expected<Histogram> cudaHistogram(const ElementView& view, const HistRequest& request, const std::atomic<bool>* cancel);

// One tensor of a many-tensor run, its range already known (the finite min..max from its statistics, or given).
struct HistBatchItem {
    ElementView view;
    double lo = 0, hi = 1;
};

// Linear histograms of many tensors with one bin count. Small tensors are packed together into one upload and
// one kernel launch (a block per segment of up to 32K elements, each adding into its own tensor's bins); large
// ones stream through the single-tensor path. An empty entry is one the device does not bin (byte-swapped,
// complex, packed or empty tensors): the caller bins it on the CPU. An error means the device failed.
Expected<std::vector<std::optional<Histogram>>> cudaHistogramBatch(const std::vector<HistBatchItem>& items, int bins,
    const std::atomic<bool>* cancel);

} // namespace ckpt
