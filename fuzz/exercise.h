#pragma once
// What every fuzzer does with a checkpoint that opened: touch each descriptor the way the model and the GUI do,
// then read the bytes of tensors whose size is sane, so the validated descriptors are proven safe to follow.

#include "verbose.h"

#include "io/checkpoint.h"

#include <cstdint>

namespace ckpt::fuzz {

// Tensors larger than this are not gathered: a stride-0 (expanded) tensor may legitimately claim far more
// elements than its file holds, and the fuzzer must not stall allocating them.
inline constexpr std::int64_t kMaxGatherBytes = 64 * 1024 * 1024;

inline void exercise(const Checkpoint& ck)
{
    volatile std::int64_t sink = 0;
    for (size_t i = 0; i < ck.storages.size(); ++i) {
        const StorageInfo& s = ck.storages[i];
        if (s.error.isEmpty()) {
            sink = sink + s.nbytes();
            auto bytes = ck.storageBytes(int(i));
            if (bytes && !bytes->empty())
                sink = sink + bytes->front() + bytes->back();
        }
    }
    for (size_t i = 0; i < ck.tensors.size(); ++i) {
        const TensorInfo& t = ck.tensors[i];
        if (verbose())
            std::fprintf(stderr, "tensor %zu: %s\n", i, qPrintable(t.error.isEmpty() ? QStringLiteral("valid") : t.error));
        if (!t.error.isEmpty())
            continue;
        // numel()/nbytes()/isContiguous() are what summaries and the tensor table call on every valid tensor.
        const std::int64_t n = t.numel();
        const std::int64_t nb = t.nbytes();
        sink = sink + n + nb + t.isContiguous();
        if (nb >= 0 && nb <= kMaxGatherBytes) {
            auto bytes = ck.tensorBytes(int(i));
            if (bytes && !bytes->isEmpty())
                sink = sink + bytes->front() + bytes->back();
        }
    }
    (void)sink;
}

} // namespace ckpt::fuzz
