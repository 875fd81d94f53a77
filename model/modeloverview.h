#pragma once

#include "model/semantic.h"
#include "model/statsresult.h"
#include "model/summary.h"

namespace ckpt {

class TensorNames;

// What the file summary shows beside CheckpointSummary: the model's size in total and per top-level module,
// its largest tensors, the repeated block, the optimizers and the training metadata.
struct ModuleSize {
    QString name;
    std::int64_t parameters = 0;
    std::int64_t bytes = 0;
    bool operator==(const ModuleSize&) const = default;
};

struct NamedTensor {
    QString name;
    int tensor = -1;
    std::int64_t bytes = 0;
    bool operator==(const NamedTensor&) const = default;
};

struct ModelOverview {
    QString stateDict;                  // where the model's state dict is ("model_state_dict"), empty: none
    std::int64_t parameters = 0;
    std::int64_t bufferElements = 0;
    std::int64_t modelBytes = 0;
    std::int64_t modelTensors = 0;
    std::vector<ModuleSize> topModules; // in file order
    std::vector<NamedTensor> largest;   // whole file, largest first
    QString repeatedBlock;
    int layers = 0;
    QStringList optimizers;             // one line each
    QStringList otherStateDicts;        // "model_ema (ema, 42 tensors)"
    bool operator==(const ModelOverview&) const = default;
};

ModelOverview overview(const Checkpoint& ck, const Semantic& sem, const TensorNames& names, int largestCount = 10);

// The NaN/Inf banner line once statistics found any: how many tensors, the first few by name.
Finding nonFiniteFinding(const std::vector<int>& tensors, const std::vector<std::int64_t>& counts, const TensorNames& names);

} // namespace ckpt
