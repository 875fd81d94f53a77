#pragma once

#include "io/checkpoint.h"

#include <QStringList>

#include <memory>
#include <utility>
#include <vector>

namespace ckpt {

// Assembles one Checkpoint out of several opened files: each file's objects, records, storages and tensors are
// appended with their indices shifted, so everything downstream (trees, statistics, compare, export) sees one
// checkpoint while the bytes stay in each file's own memory map.
class CheckpointMerge {
public:
    CheckpointMerge(QString path, QString layout);

    // Appends an opened single-file checkpoint; returns its root in the merged graph.
    ObjId append(const Checkpoint& part, CheckpointPart info);

    ObjId addString(const QString& text);
    // A plain dict of string keys.
    ObjId addDict(const std::vector<std::pair<QString, ObjId>>& items);
    // A tensor that is `spec` concatenated (tensor-parallel slices); the parts must share dtype and rank.
    ObjId addConcat(const QString& name, ConcatSpec spec);

    void problem(QString text) { m_ck->problems << std::move(text); }
    Checkpoint& checkpoint() { return *m_ck; }

    // Validates and hands the result over; the merge is unusable afterwards.
    std::shared_ptr<Checkpoint> finish(ObjId root);

private:
    std::shared_ptr<Checkpoint> m_ck;
};

// Tensor-parallel slices of one state dict, one list per rank in rank order: `key -> tensor object`.
using RankStateDict = std::vector<std::pair<QString, ObjId>>;

// Builds the merged logical view of tensor-parallel ranks: for each key every rank holds, either one tensor
// (replicated, e.g. layer norms) or the concatenation along the split dimension. The dimension comes from the
// shapes when they differ in exactly one place, else from the Megatron naming conventions (column-parallel
// weights split rows, row-parallel ones columns). Tensors whose split cannot be told are left out and counted
// in a problem line. Returns the merged dict object.
ObjId mergeTensorParallel(CheckpointMerge& merge, const std::vector<RankStateDict>& ranks, const QString& what);

// The split dimension Megatron uses for a parameter name: 0 column-parallel, 1 row-parallel weight,
// -1 replicated, -2 unknown; `ndim` is the tensor's number of dimensions.
int megatronSplitDim(const QString& key, int ndim);

// The dotted `key -> tensor object` entries of a (possibly nested, as Megatron writes it) dict of tensors.
RankStateDict flattenTensorDict(const Checkpoint& ck, ObjId dict, int maxEntries = 1 << 22);

// Where a tensor's bytes come from in a multi-file checkpoint: its part, or the ranks and index ranges a merged
// tensor is made of; empty for single files.
QString tensorOrigin(const Checkpoint& ck, int tensor);

} // namespace ckpt
