#pragma once

#include "model/semantic.h"

namespace ckpt {

// The optimizer state kept for one parameter: which optimizer, its entry, and the group's hyperparameters.
struct ParameterState {
    int optimizer = -1;                 // index into Semantic::optimizers
    const OptimizerInfo* info = nullptr;
    const OptimizerParam* param = nullptr;
    const OptimizerGroup* group = nullptr;
};

// Every mapped optimizer entry for a state dict key; a tied key finds its twin's entry through the shared view.
std::vector<ParameterState> optimizerStateFor(const Checkpoint& ck, const Semantic& sem, const QString& key);

// The tensors among an entry's fields ("exp_avg", "exp_avg_sq", "momentum_buffer"), as (field, tensor index).
std::vector<std::pair<QString, int>> stateTensors(const Checkpoint& ck, const OptimizerParam& param);

} // namespace ckpt
