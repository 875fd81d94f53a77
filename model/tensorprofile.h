#pragma once

#include "io/checkpoint.h"
#include "model/histogram.h"
#include "model/tensorstats.h"

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

namespace ckpt {

// Statistics and a histogram of one tensor, from a many-tensor run.
struct TensorProfile {
    int tensor = -1;
    std::optional<TensorStats> stats;
    std::optional<Histogram> histogram; // linear, over the finite min..max (numpy's auto range), or 0..1 with none
    QString error;                      // why stats or histogram are missing
};

struct ProfileRequest {
    int bins = 100;
    HistBackend backend = HistBackend::Auto;
    std::vector<int> tensors; // descriptor indices; empty: every tensor of the file
    int threads = 0;          // CPU workers (0: all cores)
    std::int64_t groupBytes = std::int64_t(256) << 20; // element bytes per group (a group may exceed it by one tensor)
};

using ProfileProgress = std::function<void(int done, int total)>;

// Statistics and histograms of many tensors in one job. Tensors go in groups of about groupBytes: the
// statistics of a group are computed on the CPU (many small tensors side by side, a large one on every core),
// which also gives the histogram's range, so each histogram needs one pass; with a CUDA device the group's
// histograms then run on the GPU (small tensors packed, many per launch) while the CPU goes on with the next
// group's statistics. The histograms equal computeHistogram's with an automatic range, on either backend.
// `progress` is called after each group (from the calling thread); a cancel returns an error.
Expected<std::vector<TensorProfile>> profileTensors(const Checkpoint& ck, const ProfileRequest& request,
    const ProfileProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);

} // namespace ckpt
