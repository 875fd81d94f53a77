#pragma once

#include "io/checkpoint.h"
#include "model/modeloverview.h"
#include "model/safety.h"
#include "model/summary.h"

#include <QString>

#include <memory>
#include <utility>
#include <vector>

namespace ckpt {

class TensorNames;
struct Semantic;

// Everything opening a checkpoint computes before a window can show it: the parse, the summary, the module tree
// and findings, the overview, the safety scan. It reads the file and walks every tensor (tens of milliseconds per
// ten thousand tensors), so the window does it off the GUI thread; the result is plain values, shared read-only.
struct LoadedCheckpoint {
    QString path; // absolute
    Expected<CheckpointPtr> checkpoint = Error {};
    Expected<SafetyReport> scan = Error {};
    // The rest only when the checkpoint opened.
    std::shared_ptr<const CheckpointSummary> summary;
    std::shared_ptr<const Semantic> sem;
    std::shared_ptr<TensorNames> names;
    ModelOverview overview;
    std::vector<std::pair<QString, int>> blocks; // repeated blocks: name and module node
    qint64 milliseconds = 0;
};

// Any thread. A failed open still scans the file: a raw pickle is no checkpoint, but what it would run is worth
// saying.
LoadedCheckpoint loadCheckpoint(const QString& path);

} // namespace ckpt
