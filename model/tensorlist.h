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

// Depth-first in container order, which is the order torch.save wrote the tensors. A pickle can share one
// subtree exponentially often; the listing stops at kMaxListedPathKeys keys over all paths (`truncated` says so).
std::vector<TensorEntry> listTensors(const Checkpoint& ck, bool* truncated = nullptr);
inline constexpr size_t kMaxListedPathKeys = 8'000'000;

} // namespace ckpt
