#pragma once

#include "model/tensorstats.h"

#include <QDebug>
#include <QString>

#include <optional>
#include <vector>

namespace ckpt {

// The statistics of one tensor as the background job hands them over: figures, or why there are none.
struct StatsResult {
    int tensor = -1;
    std::optional<TensorStats> stats;
    QString error; // undecodable dtype, broken descriptor, ...

    bool operator==(const StatsResult&) const = default;
};

using StatsBatch = std::vector<StatsResult>;

inline QDebug operator<<(QDebug d, const StatsResult& r)
{
    QDebugStateSaver saver(d);
    d.nospace() << "StatsResult(" << r.tensor << ", ";
    if (r.stats)
        d << *r.stats;
    else
        d << "error=" << r.error;
    return d << ')';
}

} // namespace ckpt
