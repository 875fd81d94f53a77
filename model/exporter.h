#pragma once

#include "io/statedictwriter.h"
#include "model/exportplan.h"

namespace ckpt {

struct ExportResult {
    QStringList files;          // written, in order (shards, then the index)
    std::int64_t bytes = 0;     // tensor bytes written
    std::int64_t overflow = 0;  // finite values that became infinite in the cast
    QStringList warnings;
};

// How many finite values the plan's cast turns into infinities (float16 saturates above 65504); read before
// writing so a user can decide.
Expected<std::int64_t> countCastOverflow(const Checkpoint& ck, const ResolvedPlan& rp, const std::atomic<bool>* cancel = nullptr);

// What resolvePlan cannot know, since it depends on how the tensors split into shards: a kept entry named as a key
// the output writes itself ("total_size" in a shard index, "format" in a single safetensors file) cannot be
// written. Marks such an entry not kept, with a warning, as resolvePlan does for entries it cannot keep (runExport
// leaves it out either way). For a preview or a dry run, before anything is written.
Expected<bool> markUnwritableOthers(const Checkpoint& ck, ResolvedPlan& rp, const ExportPlan& plan);

// Writes the plan's tensors from the source's memory map to `out` (streamed, converted on the way when cast):
// one file, or with plan.maxShardSize shards named <stem>-00001-of-0000N.<ext> beside <stem>.<ext>.index.json.
// Every file goes through a temporary and an fsync, and is read back and checked against the plan (verifyWritten);
// only when every file of the export passed are they renamed into place, so a failure while writing or checking
// leaves every destination as it was.
Expected<ExportResult> runExport(const Checkpoint& ck, const ResolvedPlan& rp, const ExportPlan& plan, const QString& out,
    const Progress& progress = {}, const std::atomic<bool>* cancel = nullptr);

// The read-back check runExport makes of each written file: our reader finds exactly sd's tensors (names, dtypes,
// shapes) and every storage's bytes have the CRC-32 the writer reported for what it produced. Returns the problem,
// or nothing when the file is as planned. (Public so tests can hand it a wrong report.)
std::optional<QString> verifyWritten(const QString& file, const StateDictOut& sd, const WriteReport& report,
    const std::atomic<bool>* cancel = nullptr);

} // namespace ckpt
