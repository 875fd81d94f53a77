#pragma once

// The CUDA histogram backend (compiled only with CKPTLENS_CUDA; see model/histogram.cpp for the contract).
#include "model/elementview.h"
#include "model/histogram.h"

namespace ckpt {

Expected<Histogram> cudaHistogram(const ElementView& view, const HistRequest& request, const std::atomic<bool>* cancel);

} // namespace ckpt
