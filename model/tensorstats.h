#pragma once

#include "io/checkpoint.h"

#include <QDebug>
#include <QJsonObject>

#include <atomic>
#include <optional>

namespace ckpt {

// Value statistics of one tensor. min/max/mean/std/l2/absmax are over the finite values (complex tensors: over
// magnitudes); counts are over all elements. Undefined figures are empty (min of no finite value, std of fewer
// than two).
struct TensorStats {
    std::int64_t numel = 0;
    std::int64_t finite = 0;
    std::int64_t zeros = 0;
    std::int64_t nan = 0;
    std::int64_t inf = 0;
    std::optional<double> min, max, mean, std, absmax;
    double l2 = 0;

    bool operator==(const TensorStats&) const = default;
};

QDebug operator<<(QDebug d, const TensorStats& s);
QJsonObject statsToJson(const TensorStats& s);

// What a pass does with the mapped pages it read: release them as it goes (a pass over a whole file holds one scan
// window resident), or keep them for a second pass that follows at once (the profile's histogram after its
// statistics: reading the page cache twice cost hist --all 60% more time), whose caller then releases them.
enum class ScanPages { Release, Keep };

// One pass over the elements straight from the memory map, accumulated in double, chunked over `threads`
// workers (0: all cores). Returns an error for broken or undecodable tensors, or when cancelled.
Expected<TensorStats> computeStats(const Checkpoint& ck, int tensor, int threads = 0,
    const std::atomic<bool>* cancel = nullptr, ScanPages pages = ScanPages::Release);

} // namespace ckpt
