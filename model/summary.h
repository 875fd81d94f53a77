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
    QStringList topLevelKeys;
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

CheckpointSummary summarize(const Checkpoint& ck);
QJsonObject summaryToJson(const CheckpointSummary& s);
QString summaryToText(const CheckpointSummary& s);

QString formatBytes(std::int64_t bytes);

} // namespace ckpt
