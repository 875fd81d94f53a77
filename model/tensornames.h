#pragma once

#include "model/semantic.h"

#include <mutex>

namespace ckpt {

// A readable name for any tensor of a file: its key in the model's state dict when it has one
// ("blocks.0.0.weight"), its parameter for mapped optimizer state ("blocks.0.0.weight (optimizer exp_avg)"), else
// its path of container keys ("ema/3"). The paths are walked once, on the first other tensor asked for.
class TensorNames {
public:
    TensorNames(CheckpointPtr ck, std::shared_ptr<const Semantic> sem);
    QString name(int tensor) const;

private:
    CheckpointPtr m_ck;
    std::shared_ptr<const Semantic> m_sem;
    std::vector<QString> m_keys;            // state dict keys by tensor
    mutable std::vector<QString> m_paths;   // filled on first use
    mutable std::once_flag m_pathsOnce;
};

} // namespace ckpt
