#pragma once

// The CUDA backend of the pair metrics (compiled only with CKPTLENS_CUDA; see model/diff.cpp for the contract).
#include "model/diff.h"
#include "model/elementview.h"

#include <atomic>

namespace ckpt {

// Metrics of one aligned pair (equal element counts) on the device, from both memory maps through the shared
// staging buffers. Counts, max |a-b| and "identical" equal the CPU's exactly; sums (mean, relative L2, cosine)
// agree to rounding, their order of addition differing. An Unsupported error for what the device does not decode
// (complex, packed or byte-swapped tensors): the caller computes those on the CPU.
Expected<PairMetrics> cudaComparePair(const ElementView& a, const ElementView& b, double rtol, double atol,
    const std::atomic<bool>* cancel);

} // namespace ckpt
