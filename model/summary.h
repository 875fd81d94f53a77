#pragma once

#include "io/checkpoint.h"

#include <QJsonObject>
#include <QStringList>

#include <map>
#include <vector>

namespace ckpt {

struct DTypeTotals {
    std::int64_t tensors = 0;
    std::int64_t elements = 0;
    std::int64_t bytes = 0;
    bool operator==(const DTypeTotals&) const = default;
};

struct CheckpointSummary {
    QString path;
    Format format = Format::TorchZip;
    qint64 fileSize = 0;
    std::int64_t tensorCount = 0;
    std::int64_t brokenTensors = 0;
    std::int64_t totalElements = 0;
    std::int64_t tensorBytes = 0;  // sum over tensors (a tied weight counts twice)
    std::int64_t storageBytes = 0; // sum over distinct storages (what the file holds)
    std::map<QString, DTypeTotals> byDtype;
    QStringList devices;           // distinct devices storages were saved from
    QStringList topLevelKeys;      // all of them, or the first few when summarize() was asked for fewer
    std::int64_t topLevelKeyCount = 0;
    QString rootType;
    std::int64_t importedGlobals = 0;
    // Multi-file checkpoints: the layout, each file, what is inconsistent; merged tensor-parallel views are not
    // counted in the totals above (their bytes are the ranks' bytes).
    QString layout;
    std::vector<CheckpointPart> parts;
    QStringList problems;
    std::int64_t mergedTensors = 0;
    bool operator==(const CheckpointSummary&) const = default;
};

// `maxKeys` >= 0 lists only that many top-level keys (the count is always complete): the text summary shows 50 of a
// state dict's maybe 60,000, and copying them all costs a tenth of a `ckptlens-cli info` on such a file.
CheckpointSummary summarize(const Checkpoint& ck, qsizetype maxKeys = -1);
QJsonObject summaryToJson(const CheckpointSummary& s);
// Lists the first kSummaryTextKeys top-level keys.
QString summaryToText(const CheckpointSummary& s);
inline constexpr int kSummaryTextKeys = 50;

QString formatBytes(std::int64_t bytes);

} // namespace ckpt
