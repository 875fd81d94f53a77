#pragma once

#include "io/checkpoint.h"
#include "io/plainvalue.h"

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
    // Container path of what is exported: a detected state dict, or any dict/list/object, flattened to dotted keys
    // (optimizer/state -> "0.exp_avg", ...); empty: the detected model state dict.
    QStringList select;
    // Patterns on the source keys, before renaming: a glob ('*' crosses dots, '?' one character, whole key), or a
    // regular expression when written "re:PATTERN" (searched anywhere in the key, as Python's re.search).
    QStringList include;           // empty: everything
    QStringList exclude;
    // Non-tensor entries (epoch, config, hyper-parameters) are kept: those inside the exported container under
    // their dotted keys, and those beside it on the way from the root, the exported state dict staying at its
    // path ({"model": {...}, "epoch": 3} for a model without its optimizer). Sharded exports and safetensors
    // keep them as JSON in the index's or the header's metadata.
    bool keepOthers = false;
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

// A non-tensor entry of the source and what the plan does with it.
struct PlannedOther {
    QStringList path;     // container path from the root
    QString outputKey;    // dotted key in the output's flat dict; empty for entries kept beside the state dict
    QString summary;      // short Python-like rendering of the value
    bool kept = false;
    QString why;          // not kept: why (an object torch.load(weights_only=True) refuses, ...)
    bool operator==(const PlannedOther&) const = default;
};

struct ResolvedPlan {
    QStringList statePath;              // the state dict exported
    bool flattened = false;             // a container that is not a detected state dict, flattened to dotted keys
    std::vector<PlannedTensor> tensors; // in source order
    std::vector<PlannedOther> others;   // with keepOthers: every non-tensor entry found, kept or not
    QStringList warnings;               // written anyway (an other entry that cannot be kept, ...)
    // keepOthers: the object a torch file holds, the tensors at its StateDict node (unset: the flat state dict).
    std::optional<PlainValue> layout;
    QStringList errors;                 // rename collisions, broken tensors, ...: nothing may be written
    std::int64_t totalBytes = 0;
};

Expected<ResolvedPlan> resolvePlan(const Checkpoint& ck, const Semantic& sem, const ExportPlan& plan);

// The warning for a non-tensor entry left out of the output ("epoch is not kept: ..."), one wording for resolvePlan
// and the exporter, whose warnings are compared to tell a stated warning from a new one.
QString notKeptWarning(const QString& entry, const QString& why);

// Glob with '*' crossing dots and '?' one character, anchored.
bool globMatches(const QString& glob, const QString& key);
// An include/exclude pattern: "re:REGEX" searched in the key, else a glob (globMatches). An invalid regular
// expression matches nothing; patternError says why.
bool keyPatternMatches(const QString& pattern, const QString& key);
std::optional<QString> patternError(const QString& pattern);

// "5GB", "500MB", "1.5GiB", "123" (bytes); 0 on a bad size.
std::int64_t parseSize(const QString& text);

} // namespace ckpt
Q_DECLARE_METATYPE(ckpt::ExportPlan)
