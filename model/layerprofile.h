#pragma once

#include "model/semantic.h"
#include "model/statsresult.h"

#include <functional>

namespace ckpt {

// One block of a repeated stack (`layers.7`): its size and, once statistics are known for all its parameters,
// the L2 norm of all of them together (sqrt of the sum of their squared norms).
struct LayerFigures {
    QString name;                 // "7"
    QString fullName;             // "encoder.layers.7"
    int node = -1;                // in ModuleTree::nodes
    std::int64_t parameters = 0;
    std::int64_t bytes = 0;
    std::int64_t tensors = 0;
    std::optional<double> l2;
    std::int64_t nonFinite = 0;   // NaN and Inf among the block's known values

    bool operator==(const LayerFigures&) const = default;
};

struct LayerProfile {
    QString block;                // the stack's module name ("encoder.layers")
    int node = -1;
    std::vector<LayerFigures> layers;
    int l2Known = 0;              // layers whose L2 is known

    bool operator==(const LayerProfile&) const = default;
};

QDebug operator<<(QDebug d, const LayerFigures& f);

// Modules whose children are all numbered (ModuleList, Sequential), most children first, then most parameters.
std::vector<int> repeatedBlocks(const ModuleTree& tree);

// `stats(tensor)`: what is known about a tensor, nullptr while unknown.
using StatsLookup = std::function<const StatsResult*(int tensor)>;
LayerProfile layerProfile(const ModuleTree& tree, int blockNode, const StatsLookup& stats);

} // namespace ckpt
