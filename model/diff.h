#pragma once

#include "io/checkpoint.h"
#include "model/exportplan.h"
#include "model/histogram.h"

#include <QJsonObject>

#include <atomic>
#include <functional>
#include <optional>

namespace ckpt {

struct Semantic;

enum class DiffStatus { Equal, Close, Different, Shape, Dtype, OnlyA, OnlyB };
QString diffStatusName(DiffStatus s); // "equal", "close", ...

struct DiffOptions {
    double rtol = 1e-5; // numpy.allclose's defaults
    double atol = 1e-8;
    std::vector<RenameRule> rules; // applied to both sides' keys, in order
    int threads = 0;
    // Auto: pairs of kGpuDiffElements or more on the GPU when there is one (smaller ones are not worth the trip).
    HistBackend backend = HistBackend::Auto;
};
inline constexpr std::int64_t kGpuDiffElements = 1 << 20;

// Metrics of one aligned pair, computed in double from both memory maps.
struct PairMetrics {
    double maxAbs = 0;      // max |a-b| over pairs where both are finite
    double meanAbs = 0;
    double relL2 = 0;       // ||a-b|| / ||a||
    std::optional<double> cosine; // undefined when either norm is 0
    std::int64_t differing = 0;   // elements whose values differ (NaN equals NaN here)
    std::int64_t notClose = 0;    // elements failing |a-b| <= atol + rtol*|b| (NaN never close)
    bool identical = false;       // same dtype and the same bytes
    QString backend = QStringLiteral("cpu"); // where the elements were compared: "cpu" or "cuda"
    bool operator==(const PairMetrics& o) const
    {
        return maxAbs == o.maxAbs && meanAbs == o.meanAbs && relL2 == o.relL2 && cosine == o.cosine && differing == o.differing
            && notClose == o.notClose && identical == o.identical;
    }
};

struct TensorDiff {
    QString key;                 // the aligned (normalised) key
    QString group;               // "state_dict", "optimizer", "tensors"
    QStringList pathA, pathB;    // container paths in each file (empty on the side that lacks it)
    int tensorA = -1, tensorB = -1;
    DiffStatus status = DiffStatus::Equal;
    std::optional<PairMetrics> metrics; // for pairs of equal shape
};

struct ScalarDiff {
    QString key;
    QString a, b; // rendered values; null when absent on that side
};

struct DiffResult {
    std::vector<TensorDiff> tensors;
    std::vector<ScalarDiff> scalars; // metadata (epoch, step, hyper-parameters) that differ
    std::map<DiffStatus, int> counts;
    std::vector<RenameRule> suggestedRules; // prefixes one side has and the other lacks
    bool anyDifference() const;
};

// Rules that would align the two sides: strip `module.`, `_orig_mod.` or `model.` when one side's keys all carry
// the prefix and the other's do not.
std::vector<RenameRule> suggestRules(const QStringList& keysA, const QStringList& keysB);

Expected<DiffResult> diffCheckpoints(const Checkpoint& a, const Checkpoint& b, const DiffOptions& options,
    const std::function<void(int done, int total)>& progress = {}, const std::atomic<bool>* cancel = nullptr);

// Metrics for two tensors of the same shape (dtypes may differ: compared after upcasting to double).
Expected<PairMetrics> comparePair(const Checkpoint& a, int tensorA, const Checkpoint& b, int tensorB, double rtol, double atol,
    int threads = 0, const std::atomic<bool>* cancel = nullptr, HistBackend backend = HistBackend::Auto);

QJsonObject diffToJson(const DiffResult& r);

// What model.load_state_dict(checkpoint, strict=True) would say, with the reference standing for the model.
struct SizeMismatch {
    QString key;
    std::vector<std::int64_t> shape, expected;
    bool operator==(const SizeMismatch&) const = default;
};

struct LoadCheck {
    QStringList missing;     // in the reference, not in the checkpoint
    QStringList unexpected;  // in the checkpoint, not in the reference
    std::vector<SizeMismatch> sizeMismatch;
    QString suggestion;      // the normalisation rule that would fix it, when one does
    std::vector<RenameRule> suggestedRules;
    bool loads() const { return missing.isEmpty() && unexpected.isEmpty() && sizeMismatch.empty(); }
};

Expected<LoadCheck> checkLoad(const Checkpoint& checkpoint, const Checkpoint& reference, const std::vector<RenameRule>& rules = {});
QJsonObject loadCheckToJson(const LoadCheck& c);

} // namespace ckpt
