#pragma once

#include "io/checkpoint.h"

#include <QStringList>

#include <vector>

namespace ckpt {

// A tensor as reached from the root object: the container keys on the way, then the descriptor index. A tensor
// referenced from two places appears twice, once per path, as torch.load would give it twice.
struct TensorEntry {
    QStringList path;
    int tensor = -1;
    bool operator==(const TensorEntry&) const = default;
};

// Depth-first in container order, which is the order torch.save wrote the tensors.
std::vector<TensorEntry> listTensors(const Checkpoint& ck);

} // namespace ckpt
