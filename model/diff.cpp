#include "model/diff.h"

#include "model/elementview.h"
#include "model/objectchildren.h"
#include "model/parallel.h"
#include "model/semantic.h"
#include "model/tensorlist.h"

#include "ckptlens-config.h"
#if CKPTLENS_WITH_CUDA
#include "model/cuda/cudadiff.h"
#endif

#include <QJsonArray>
#include <QRegularExpression>

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <map>

namespace ckpt {
namespace {

struct Item {
    QString key;
    QString group;
    QStringList path;
    int tensor = -1;
};

QString applyRules(QString key, const std::vector<std::pair<QRegularExpression, QString>>& rules)
{
    for (const auto& [re, replacement] : rules)
        key.replace(re, replacement);
    return key;
}

// What one side offers for alignment: its model state dict (or every tensor by path when it has none) and its
// first optimizer's state per parameter name.
std::vector<Item> itemsOf(const Checkpoint& ck, const Semantic& sem, const std::vector<std::pair<QRegularExpression, QString>>& rules)
{
    std::vector<Item> items;
    if (sem.primary >= 0) {
        const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
        for (const auto& [key, tensor] : sd.entries)
            items.push_back({ applyRules(key, rules), QStringLiteral("state_dict"), sd.path + QStringList { key }, tensor });
    } else {
        for (const auto& e : listTensors(ck))
            items.push_back({ applyRules(e.path.join(QLatin1Char('.')), rules), QStringLiteral("tensors"), e.path, e.tensor });
    }
    if (!sem.optimizers.empty()) {
        const OptimizerInfo& opt = sem.optimizers.front();
        for (const auto& p : opt.params)
            for (const auto& [field, obj] : p.fields) {
                const PyObject& o = ck.graph.at(obj);
                if (o.kind != ObjKind::Tensor)
                    continue;
                const QString name = p.parameter.isEmpty() ? QStringLiteral("id%1").arg(p.id) : applyRules(p.parameter, rules);
                items.push_back({ QStringLiteral("optimizer.%1.%2").arg(name, field), QStringLiteral("optimizer"),
                    opt.path + QStringList { QStringLiteral("state"), QString::number(p.id), field }, int(o.integer) });
            }
    }
    return items;
}

std::vector<std::pair<QRegularExpression, QString>> compileRules(const std::vector<RenameRule>& rules, QString& error)
{
    std::vector<std::pair<QRegularExpression, QString>> out;
    for (const auto& r : rules) {
        QRegularExpression re(r.pattern);
        if (!re.isValid())
            error = QStringLiteral("rule '%1': %2").arg(r.pattern, re.errorString());
        out.emplace_back(re, r.replacement);
    }
    return out;
}

struct PairAccumulator {
    double maxAbs = 0, sumAbs = 0, sumSq = 0, dot = 0, normA = 0, normB = 0;
    std::int64_t finitePairs = 0, differing = 0, notClose = 0;
    bool bitEqual = true;

    void add(const double* a, const double* b, std::int64_t n, double rtol, double atol)
    {
        for (std::int64_t i = 0; i < n; ++i) {
            const double x = a[i], y = b[i];
            const bool xn = std::isnan(x), yn = std::isnan(y);
            differing += !(x == y || (xn && yn));
            if (std::isfinite(x) && std::isfinite(y)) {
                const double d = std::fabs(x - y);
                maxAbs = std::max(maxAbs, d);
                sumAbs += d;
                sumSq += d * d;
                dot += x * y;
                normA += x * x;
                normB += y * y;
                ++finitePairs;
                notClose += !(d <= atol + rtol * std::fabs(y));
            } else {
                // numpy.isclose: infinities are close when equal, NaN never is.
                notClose += !(std::isinf(x) && x == y);
            }
        }
    }
    void merge(const PairAccumulator& o)
    {
        maxAbs = std::max(maxAbs, o.maxAbs);
        sumAbs += o.sumAbs;
        sumSq += o.sumSq;
        dot += o.dot;
        normA += o.normA;
        normB += o.normB;
        finitePairs += o.finitePairs;
        differing += o.differing;
        notClose += o.notClose;
        bitEqual = bitEqual && o.bitEqual;
    }
};

constexpr std::int64_t kChunk = 1 << 15;

bool prefixOnAll(const QStringList& keys, const QString& prefix)
{
    return !keys.isEmpty() && std::all_of(keys.begin(), keys.end(), [&](const QString& k) { return k.startsWith(prefix); });
}
bool prefixOnNone(const QStringList& keys, const QString& prefix)
{
    return std::none_of(keys.begin(), keys.end(), [&](const QString& k) { return k.startsWith(prefix); });
}

QStringList primaryKeys(const Semantic& sem, const Checkpoint& ck)
{
    QStringList keys;
    if (sem.primary >= 0) {
        for (const auto& e : sem.stateDicts[size_t(sem.primary)].entries)
            keys << e.first;
    } else {
        for (const auto& e : listTensors(ck))
            keys << e.path.join(QLatin1Char('.'));
    }
    return keys;
}

QJsonArray shapeJson(const std::vector<std::int64_t>& v)
{
    QJsonArray a;
    for (auto x : v)
        a.append(qint64(x));
    return a;
}

} // namespace

QString diffStatusName(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return QStringLiteral("equal");
    case DiffStatus::Close: return QStringLiteral("close");
    case DiffStatus::Different: return QStringLiteral("different");
    case DiffStatus::Shape: return QStringLiteral("shape");
    case DiffStatus::Dtype: return QStringLiteral("dtype");
    case DiffStatus::OnlyA: return QStringLiteral("only_a");
    case DiffStatus::OnlyB: return QStringLiteral("only_b");
    }
    return QStringLiteral("?");
}

bool DiffResult::anyDifference() const
{
    for (const auto& [status, n] : counts)
        if (n > 0 && status != DiffStatus::Equal && status != DiffStatus::Close)
            return true;
    return false;
}

std::vector<RenameRule> suggestRules(const QStringList& keysA, const QStringList& keysB)
{
    std::vector<RenameRule> rules;
    QStringList a = keysA, b = keysB;
    // Wrappers nest (DataParallel around a compiled model), so peel repeatedly.
    for (bool changed = true; changed;) {
        changed = false;
        for (const QString& prefix : { QStringLiteral("module."), QStringLiteral("_orig_mod."), QStringLiteral("model.") }) {
            const bool onA = prefixOnAll(a, prefix) && prefixOnNone(b, prefix);
            const bool onB = prefixOnAll(b, prefix) && prefixOnNone(a, prefix);
            if (!onA && !onB)
                continue;
            rules.push_back(ExportPlan::stripPrefix(prefix));
            for (QString& k : onA ? a : b)
                k.remove(0, prefix.size());
            changed = true;
        }
    }
    return rules;
}

namespace {

// release: what to do with each compared window of the two tensors (release their mapped pages), or nothing.
Expected<PairMetrics> compareViews(const Checkpoint& a, const Expected<ElementView>& va, const Expected<ElementView>& vb,
    double rtol, double atol, int threads, const std::atomic<bool>* cancel, HistBackend backend,
    const std::function<void(std::int64_t, std::int64_t)>& release)
{
    if (!va)
        return va.error();
    if (!vb)
        return vb.error();
    if (va->numel != vb->numel)
        return Error { ErrorKind::OutOfBounds, a.path, {}, QStringLiteral("tensors of different sizes cannot be compared") };
    const bool sameType = va->dtype == vb->dtype && va->swap == vb->swap;
    PairMetrics m;
    m.identical = true;
    // The same bytes (one storage seen twice, or two files' identical records) need no decoding. Compared a scan
    // window at a time, each released once compared, so that two multi-GB tensors are never resident whole.
    if (sameType && isDense(*va) && isDense(*vb)) {
        const std::int64_t window = scanWindowElements(*va);
        bool same = true, allZero = true; // identical: the cosine is 1 unless the tensor is all zeros (undefined)
        for (std::int64_t from = 0; same && from < va->numel; from += window) {
            const std::int64_t count = std::min(window, va->numel - from);
            const size_t n = size_t(count * va->itemSize);
            const std::uint8_t* x = va->base + from * va->itemSize;
            same = va->base == vb->base || std::memcmp(x, vb->base + from * va->itemSize, n) == 0;
            if (same && allZero)
                allZero = x[0] == 0 && (n == 1 || std::memcmp(x, x + 1, n - 1) == 0);
            if (release)
                release(from, count);
        }
        if (same) {
            if (va->numel > 0 && !allZero)
                m.cosine = 1.0;
            return m;
        }
    }
#if CKPTLENS_WITH_CUDA
    if (backend != HistBackend::Cpu && (backend == HistBackend::Cuda || va->numel >= kGpuDiffElements) && cudaHistogramAvailable()) {
        auto g = cudaComparePair(*va, *vb, rtol, atol, cancel);
        if (g || (cancel && cancel->load()))
            return g;
        if (g.error().kind != ErrorKind::Unsupported)
            spdlog::warn("CUDA comparison failed ({}); using the CPU", g.error().what.toStdString());
    }
#else
    Q_UNUSED(backend);
#endif
    const int workers = va->numel < 4 * kChunk ? 1 : (threads > 0 ? threads : defaultThreadCount());
    std::vector<PairAccumulator> acc(static_cast<size_t>(workers));
    struct Buffers {
        std::vector<double> x, y;
        std::vector<std::uint8_t> rx, ry;
    };
    std::vector<Buffers> buf(static_cast<size_t>(workers));
    const bool done = parallelWindows(
        va->numel, kChunk, scanWindowElements(*va), workers,
        [&](std::int64_t begin, std::int64_t count, int w) {
            Buffers& bw = buf[size_t(w)];
            PairAccumulator& pa = acc[size_t(w)];
            if (sameType && pa.bitEqual) {
                bw.rx.resize(size_t(kChunk * va->itemSize));
                bw.ry.resize(size_t(kChunk * va->itemSize));
                gatherRange(*va, begin, count, bw.rx.data());
                gatherRange(*vb, begin, count, bw.ry.data());
                pa.bitEqual = std::memcmp(bw.rx.data(), bw.ry.data(), size_t(count * va->itemSize)) == 0;
            }
            bw.x.resize(size_t(kChunk));
            bw.y.resize(size_t(kChunk));
            decodeRange(*va, begin, count, bw.x.data());
            decodeRange(*vb, begin, count, bw.y.data());
            pa.add(bw.x.data(), bw.y.data(), count, rtol, atol);
        },
        release, cancel);
    if (!done)
        return Error { ErrorKind::Io, a.path, {}, QStringLiteral("cancelled") };
    PairAccumulator all;
    all.bitEqual = sameType;
    for (const auto& p : acc)
        all.merge(p);
    m.maxAbs = all.maxAbs;
    m.meanAbs = all.finitePairs ? all.sumAbs / double(all.finitePairs) : 0;
    m.relL2 = all.normA > 0 ? std::sqrt(all.sumSq) / std::sqrt(all.normA) : (all.sumSq > 0 ? INFINITY : 0);
    if (all.normA > 0 && all.normB > 0)
        m.cosine = all.dot / (std::sqrt(all.normA) * std::sqrt(all.normB));
    m.differing = all.differing;
    m.notClose = all.notClose;
    m.identical = all.bitEqual; // -0.0 against 0.0 differs in bits only: "close", not "equal"
    return m;
}

} // namespace

Expected<PairMetrics> comparePair(const Checkpoint& a, int tensorA, const Checkpoint& b, int tensorB, double rtol, double atol,
    int threads, const std::atomic<bool>* cancel, HistBackend backend)
{
    const auto va = elementViewForScan(a, tensorA);
    const auto vb = elementViewForScan(b, tensorB);
    const auto releaseA = va ? scannedPagesReleaser(a, tensorA, *va) : nullptr;
    const auto releaseB = vb ? scannedPagesReleaser(b, tensorB, *vb) : nullptr;
    std::function<void(std::int64_t, std::int64_t)> release;
    if (releaseA || releaseB)
        release = [&](std::int64_t begin, std::int64_t count) {
            if (releaseA)
                releaseA(begin, count);
            if (releaseB)
                releaseB(begin, count);
        };
    auto m = compareViews(a, va, vb, rtol, atol, threads, cancel, backend, release);
    // What a path that does not go by windows read (the GPU's copy), and what a cancelled pass left.
    if (va)
        releaseScannedPages(a, tensorA, *va);
    if (vb)
        releaseScannedPages(b, tensorB, *vb);
    return m;
}

Expected<DiffResult> diffCheckpoints(const Checkpoint& a, const Checkpoint& b, const DiffOptions& options,
    const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel)
{
    const Semantic semA = analyze(a), semB = analyze(b);
    DiffResult result;
    std::vector<RenameRule> rules = options.rules;
    result.suggestedRules = suggestRules(primaryKeys(semA, a), primaryKeys(semB, b));
    if (rules.empty())
        rules = result.suggestedRules;
    QString ruleError;
    const auto compiled = compileRules(rules, ruleError);
    if (!ruleError.isEmpty())
        return Error { ErrorKind::Unsupported, {}, QStringLiteral("normalisation"), ruleError };

    const auto itemsA = itemsOf(a, semA, compiled), itemsB = itemsOf(b, semB, compiled);
    std::map<QString, size_t> inB;
    for (size_t i = 0; i < itemsB.size(); ++i)
        inB.emplace(itemsB[i].key, i);
    std::vector<bool> matchedB(itemsB.size(), false);
    for (const Item& ia : itemsA) {
        TensorDiff d { ia.key, ia.group, ia.path, {}, ia.tensor, -1, DiffStatus::OnlyA, std::nullopt };
        if (auto it = inB.find(ia.key); it != inB.end() && !matchedB[it->second]) {
            matchedB[it->second] = true;
            d.pathB = itemsB[it->second].path;
            d.tensorB = itemsB[it->second].tensor;
        }
        result.tensors.push_back(std::move(d));
    }
    for (size_t i = 0; i < itemsB.size(); ++i)
        if (!matchedB[i])
            result.tensors.push_back({ itemsB[i].key, itemsB[i].group, {}, itemsB[i].path, -1, itemsB[i].tensor, DiffStatus::OnlyB, std::nullopt });

    int done = 0;
    const int total = int(result.tensors.size());
    for (TensorDiff& d : result.tensors) {
        if (cancel && cancel->load())
            return Error { ErrorKind::Io, a.path, {}, QStringLiteral("cancelled") };
        if (d.tensorA >= 0 && d.tensorB >= 0) {
            const TensorInfo& ta = a.tensors[size_t(d.tensorA)];
            const TensorInfo& tb = b.tensors[size_t(d.tensorB)];
            if (ta.shape != tb.shape) {
                d.status = DiffStatus::Shape;
            } else if (!ta.error.isEmpty() || !tb.error.isEmpty()) {
                d.status = DiffStatus::Different; // a broken side cannot be shown equal
            } else {
                auto m = comparePair(a, d.tensorA, b, d.tensorB, options.rtol, options.atol, options.threads, cancel, options.backend);
                if (!m) {
                    d.status = DiffStatus::Different;
                } else {
                    d.metrics = *m;
                    d.status = ta.dtype != tb.dtype ? DiffStatus::Dtype
                        : m->identical              ? DiffStatus::Equal
                        : m->notClose == 0          ? DiffStatus::Close
                                                    : DiffStatus::Different;
                }
            }
        }
        ++result.counts[d.status];
        if (progress)
            progress(++done, total);
    }

    std::map<QString, QString> ma(semA.metadata.begin(), semA.metadata.end()), mb(semB.metadata.begin(), semB.metadata.end());
    for (const auto& [k, v] : ma)
        if (!mb.count(k) || mb[k] != v)
            result.scalars.push_back({ k, v, mb.count(k) ? mb[k] : QString() });
    for (const auto& [k, v] : mb)
        if (!ma.count(k))
            result.scalars.push_back({ k, QString(), v });
    return result;
}

QJsonObject diffToJson(const DiffResult& r)
{
    QJsonObject summary;
    for (DiffStatus s : { DiffStatus::Equal, DiffStatus::Close, DiffStatus::Different, DiffStatus::Shape, DiffStatus::Dtype,
             DiffStatus::OnlyA, DiffStatus::OnlyB }) {
        auto it = r.counts.find(s);
        summary.insert(diffStatusName(s), it == r.counts.end() ? 0 : it->second);
    }
    QJsonArray tensors;
    for (const auto& d : r.tensors) {
        QJsonObject o { { QStringLiteral("key"), d.key }, { QStringLiteral("group"), d.group },
            { QStringLiteral("path_a"), QJsonArray::fromStringList(d.pathA) }, { QStringLiteral("path_b"), QJsonArray::fromStringList(d.pathB) },
            { QStringLiteral("status"), diffStatusName(d.status) } };
        if (d.metrics) {
            o.insert(QStringLiteral("max_abs"), d.metrics->maxAbs);
            o.insert(QStringLiteral("mean_abs"), d.metrics->meanAbs);
            o.insert(QStringLiteral("rel_l2"), std::isfinite(d.metrics->relL2) ? QJsonValue(d.metrics->relL2) : QJsonValue(QStringLiteral("inf")));
            if (d.metrics->cosine)
                o.insert(QStringLiteral("cosine"), *d.metrics->cosine);
            o.insert(QStringLiteral("differing"), qint64(d.metrics->differing));
            o.insert(QStringLiteral("backend"), d.metrics->backend);
        }
        tensors.append(o);
    }
    QJsonArray scalars;
    for (const auto& s : r.scalars)
        scalars.append(QJsonObject { { QStringLiteral("key"), s.key }, { QStringLiteral("a"), s.a.isNull() ? QJsonValue() : QJsonValue(s.a) },
            { QStringLiteral("b"), s.b.isNull() ? QJsonValue() : QJsonValue(s.b) } });
    QJsonArray rules;
    for (const auto& rule : r.suggestedRules)
        rules.append(QJsonObject { { QStringLiteral("pattern"), rule.pattern }, { QStringLiteral("replacement"), rule.replacement } });
    return QJsonObject { { QStringLiteral("summary"), summary }, { QStringLiteral("tensors"), tensors },
        { QStringLiteral("metadata"), scalars }, { QStringLiteral("suggested_rules"), rules } };
}

Expected<LoadCheck> checkLoad(const Checkpoint& checkpoint, const Checkpoint& reference, const std::vector<RenameRule>& rules)
{
    const Semantic sc = analyze(checkpoint), sr = analyze(reference);
    if (sc.primary < 0)
        return Error { ErrorKind::NotACheckpoint, checkpoint.path, {}, QStringLiteral("no state dict found") };
    if (sr.primary < 0)
        return Error { ErrorKind::NotACheckpoint, reference.path, {}, QStringLiteral("no state dict found in the reference") };
    QString ruleError;
    const auto compiled = compileRules(rules, ruleError);
    if (!ruleError.isEmpty())
        return Error { ErrorKind::Unsupported, {}, QStringLiteral("normalisation"), ruleError };

    // BatchNorm's _load_from_state_dict supplies a missing num_batches_tracked itself when the state dict's
    // per-module version (from its _metadata) is absent or below 2, so torch does not report it missing.
    const ObjectGraph& g = checkpoint.graph;
    const PyObject& sdObj = g.at(sc.stateDicts[size_t(sc.primary)].dict);
    const PyObject* metadata = nullptr;
    if (sdObj.kind == ObjKind::Dict && g.valid(sdObj.state()) && g.at(sdObj.state()).kind == ObjKind::Dict)
        for (const auto& child : objectChildren(g, sdObj.state()))
            if (child.key == QLatin1String("_metadata") && g.at(child.id).kind == ObjKind::Dict)
                metadata = &g.at(child.id);
    auto batchNormFillsIn = [&](const QString& key) {
        if (!metadata)
            return true;
        const QString module = key.left(key.size() - qsizetype(strlen("num_batches_tracked")) - 1);
        for (size_t i = 0; i + 1 < metadata->items.size(); i += 2)
            if (g.at(metadata->items[i]).text == module)
                for (const auto& f : objectChildren(g, metadata->items[i + 1]))
                    if (f.key == QLatin1String("version"))
                        return g.at(f.id).kind != ObjKind::Int || g.at(f.id).integer < 2;
        return true;
    };
    auto evaluate = [&](const std::vector<std::pair<QRegularExpression, QString>>& rs) {
        LoadCheck c;
        std::map<QString, int> ref;
        for (const auto& [k, t] : sr.stateDicts[size_t(sr.primary)].entries)
            ref.emplace(k, t);
        std::map<QString, int> ck;
        QStringList order;
        for (const auto& [k, t] : sc.stateDicts[size_t(sc.primary)].entries) {
            const QString key = applyRules(k, rs);
            ck.emplace(key, t);
            order << key;
        }
        for (const auto& [k, t] : sr.stateDicts[size_t(sr.primary)].entries)
            if (!ck.count(k) && !(k.endsWith(QLatin1String("num_batches_tracked")) && batchNormFillsIn(k)))
                c.missing << k;
        for (const QString& k : order) {
            auto it = ref.find(k);
            if (it == ref.end()) {
                c.unexpected << k;
                continue;
            }
            const auto& shape = checkpoint.tensors[size_t(ck[k])].shape;
            const auto& expected = reference.tensors[size_t(it->second)].shape;
            if (shape != expected)
                c.sizeMismatch.push_back({ k, shape, expected });
        }
        return c;
    };
    LoadCheck c = evaluate(compiled);
    if (!c.loads()) {
        // The classic multi-GPU problem and its cousins: try each prefix rule alone and in the wrapping order.
        const std::vector<std::vector<RenameRule>> candidates {
            { ExportPlan::stripPrefix(QStringLiteral("module.")) }, { ExportPlan::stripPrefix(QStringLiteral("_orig_mod.")) },
            { ExportPlan::stripPrefix(QStringLiteral("model.")) },
            { ExportPlan::stripPrefix(QStringLiteral("module.")), ExportPlan::stripPrefix(QStringLiteral("_orig_mod.")) },
            { ExportPlan::addPrefix(QStringLiteral("module.")) }, { ExportPlan::addPrefix(QStringLiteral("model.")) } };
        const QStringList names { QStringLiteral("strip the 'module.' prefix (saved through DataParallel/DDP)"),
            QStringLiteral("strip the '_orig_mod.' prefix (saved from torch.compile)"), QStringLiteral("strip the 'model.' prefix"),
            QStringLiteral("strip 'module.' then '_orig_mod.'"), QStringLiteral("add a 'module.' prefix (the reference is wrapped in DataParallel)"),
            QStringLiteral("add a 'model.' prefix") };
        for (size_t i = 0; i < candidates.size(); ++i) {
            QString unused;
            auto all = compiled;
            const auto extra = compileRules(candidates[i], unused);
            all.insert(all.end(), extra.begin(), extra.end());
            const LoadCheck t = evaluate(all);
            if (t.missing.isEmpty() && t.unexpected.isEmpty()) { // the keys line up under this rule
                c.suggestion = t.sizeMismatch.empty() ? names[qsizetype(i)]
                                                      : names[qsizetype(i)] + QStringLiteral(" (shapes still differ for %1 keys)").arg(t.sizeMismatch.size());
                c.suggestedRules = candidates[i];
                break;
            }
        }
        if (c.suggestion.isEmpty() && !c.sizeMismatch.empty() && c.missing.isEmpty() && c.unexpected.isEmpty())
            c.suggestion = QStringLiteral("keys match but %1 shapes differ: the checkpoint is for a differently sized model").arg(c.sizeMismatch.size());
    }
    return c;
}

QJsonObject loadCheckToJson(const LoadCheck& c)
{
    QJsonArray mismatch;
    for (const auto& m : c.sizeMismatch)
        mismatch.append(QJsonObject { { QStringLiteral("key"), m.key }, { QStringLiteral("shape"), shapeJson(m.shape) },
            { QStringLiteral("expected_shape"), shapeJson(m.expected) } });
    return QJsonObject { { QStringLiteral("missing"), QJsonArray::fromStringList(c.missing) },
        { QStringLiteral("unexpected"), QJsonArray::fromStringList(c.unexpected) }, { QStringLiteral("size_mismatch"), mismatch },
        { QStringLiteral("suggestion"), c.suggestion }, { QStringLiteral("loads"), c.loads() } };
}

} // namespace ckpt
