#pragma once

#include "io/checkpoint.h"

#include <QJsonObject>
#include <QStringList>

#include <optional>
#include <vector>

namespace ckpt {

struct Semantic;

struct RenameRule {
    QString pattern;     // regular expression, applied with QRegularExpression::replace
    QString replacement; // \1 ... back-references
    bool operator==(const RenameRule&) const = default;
};

enum class ExportFormat { Torch, Safetensors };

// What to export, separate from any GUI and saved as JSON (a recipe a user can re-apply).
struct ExportPlan {
    QStringList select;            // container path of the state dict; empty: the detected model state dict
    QStringList include;           // globs on the source keys ('*' crosses dots); empty: everything
    QStringList exclude;
    std::vector<RenameRule> renames;
    std::optional<DType> castTo;   // float16, bfloat16 or float32; floating-point tensors only
    ExportFormat format = ExportFormat::Torch;
    std::int64_t maxShardSize = 0; // bytes; 0: one file

    QJsonObject toJson() const;
    static Expected<ExportPlan> fromJson(const QJsonObject& o);
    bool operator==(const ExportPlan&) const = default;

    // Presets.
    static RenameRule stripPrefix(const QString& prefix);
    static RenameRule addPrefix(const QString& prefix);
};

// One tensor of the output, as the plan resolves it against a checkpoint.
struct PlannedTensor {
    QString sourceKey;
    QString outputKey;
    int tensor = -1;      // index into Checkpoint::tensors
    DType outputDtype = DType::Unknown;
    std::int64_t bytes = 0;
    bool operator==(const PlannedTensor&) const = default;
};

struct ResolvedPlan {
    QStringList statePath;              // the state dict exported
    std::vector<PlannedTensor> tensors; // in source order
    QStringList errors;                 // rename collisions, broken tensors, ...: nothing may be written
    std::int64_t totalBytes = 0;
};

Expected<ResolvedPlan> resolvePlan(const Checkpoint& ck, const Semantic& sem, const ExportPlan& plan);

// Glob with '*' crossing dots and '?' one character, anchored.
bool globMatches(const QString& glob, const QString& key);

// "5GB", "500MB", "1.5GiB", "123" (bytes); 0 on a bad size.
std::int64_t parseSize(const QString& text);

} // namespace ckpt
Q_DECLARE_METATYPE(ckpt::ExportPlan)
