#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace ckpt {

// Runs fn(begin, count, worker) over [0, total) in chunks of `chunk` on `threads` workers (0: one per core),
// each chunk exactly once. Stops handing out chunks once `cancel` is set. Returns false when cancelled.
bool parallelChunks(std::int64_t total, std::int64_t chunk, int threads,
    const std::function<void(std::int64_t begin, std::int64_t count, int worker)>& fn,
    const std::atomic<bool>* cancel = nullptr);

int defaultThreadCount();

} // namespace ckpt
