#include "io/checkpointmerge.h"

#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace ckpt {

namespace {
// One merged weight is assembled on the heap when read (and kept while the file is open): beyond this, per rank.
constexpr std::int64_t kMaxMergedBytes = std::int64_t(8) << 30;
} // namespace

CheckpointMerge::CheckpointMerge(QString path, QString layout)
    : m_ck(std::make_shared<Checkpoint>())
{
    m_ck->path = std::move(path);
    m_ck->layout = std::move(layout);
}

ObjId CheckpointMerge::append(const Checkpoint& part, CheckpointPart info)
{
    Checkpoint& ck = *m_ck;
    const int file = ck.addFile(part.fileHandle());
    const int recordBase = int(ck.records.size());
    const int storageBase = int(ck.storages.size());
    const int tensorBase = int(ck.tensors.size());
    const ObjId objectBase = ObjId(ck.graph.size());
    if (ck.parts.empty()) {
        ck.format = part.format;
        ck.bigEndian = part.bigEndian;
        ck.torchScript = part.torchScript;
        ck.archivePrefix = part.archivePrefix;
    } else if (part.bigEndian != ck.bigEndian) {
        problem(QStringLiteral("%1 was written on a machine of the other byte order than the first file").arg(info.name));
    }
    ck.fileSize += part.fileSize;

    for (Record r : part.records) {
        r.name = info.name + QLatin1Char(':') + r.name;
        r.file = file;
        ck.records.push_back(std::move(r));
    }
    for (StorageInfo s : part.storages) {
        if (s.record >= 0)
            s.record += recordBase;
        ck.storages.push_back(std::move(s));
    }
    for (TensorInfo t : part.tensors) {
        if (t.storage >= 0)
            t.storage += storageBase;
        ck.tensors.push_back(std::move(t));
    }
    const auto shift = [objectBase](ObjId id) { return id == kNoObject ? id : id + objectBase; };
    ck.graph.reserve(ck.graph.size() + part.graph.size());
    for (size_t i = 0; i < part.graph.size(); ++i) {
        PyObject o = part.graph.at(ObjId(i));
        for (auto& item : o.items)
            item = shift(item);
        o.args = shift(o.args);
        o.setState(shift(o.state()));
        if (o.kind == ObjKind::Tensor)
            o.integer += tensorBase;
        else if (o.kind == ObjKind::Storage)
            o.integer += storageBase;
        ck.graph.add(std::move(o));
    }
    for (ImportedGlobal g : part.imports) {
        g.record = info.name + QLatin1Char(':') + g.record;
        ck.imports.push_back(std::move(g));
    }
    for (const auto& m : part.metadata)
        if (!ck.metadata.contains(m))
            ck.metadata.append(m);
    if (part.scriptConstants != kNoObject && ck.scriptConstants == kNoObject)
        ck.scriptConstants = shift(part.scriptConstants);
    info.format = part.format;
    info.size = part.fileSize;
    info.tensorBegin = tensorBase;
    info.tensorEnd = int(ck.tensors.size());
    ck.parts.push_back(std::move(info));
    return shift(part.root);
}

ObjId CheckpointMerge::addString(const QString& text)
{
    PyObject o;
    o.kind = ObjKind::Str;
    o.text = text;
    return m_ck->graph.add(std::move(o));
}

ObjId CheckpointMerge::addDict(const std::vector<std::pair<QString, ObjId>>& items)
{
    PyObject d;
    d.kind = ObjKind::Dict;
    d.items.reserve(items.size() * 2);
    for (const auto& [key, value] : items) {
        d.items.push_back(addString(key));
        d.items.push_back(value);
    }
    return m_ck->graph.add(std::move(d));
}

ObjId CheckpointMerge::addConcat(const QString& name, ConcatSpec spec)
{
    Checkpoint& ck = *m_ck;
    const TensorInfo first = ck.tensors[size_t(spec.tensors.front())];
    TensorInfo t;
    t.dtype = first.dtype;
    t.shape = first.shape;
    t.shape[size_t(spec.dim)] = 0;
    for (int part : spec.tensors)
        t.shape[size_t(spec.dim)] += ck.tensors[size_t(part)].shape[size_t(spec.dim)];
    t.stride.assign(t.shape.size(), 1);
    for (size_t d = t.shape.size(); d-- > 1;)
        t.stride[d - 1] = t.stride[d] * t.shape[d];
    t.requiresGrad = first.requiresGrad;
    t.parameter = first.parameter;
    t.rebuild = QStringLiteral("tensor-parallel merge along dim %1").arg(spec.dim);

    Record r;
    r.name = QStringLiteral("merged:") + name;
    r.size = t.numel() * dtypeItemSize(t.dtype);
    r.compressedSize = r.size;
    r.file = -1;
    r.concat = int(ck.concats.size());
    ck.concats.push_back(std::move(spec));
    StorageInfo s;
    s.key = r.name;
    s.dtype = t.dtype;
    s.numel = t.numel();
    s.location = ck.storages[size_t(first.storage)].location;
    s.record = int(ck.records.size());
    ck.records.push_back(std::move(r));
    t.storage = int(ck.storages.size());
    ck.storages.push_back(std::move(s));
    PyObject o;
    o.kind = ObjKind::Tensor;
    o.integer = std::int64_t(ck.tensors.size());
    ck.tensors.push_back(std::move(t));
    return ck.graph.add(std::move(o));
}

std::shared_ptr<Checkpoint> CheckpointMerge::finish(ObjId root)
{
    m_ck->root = root;
    m_ck->validate();
    return std::move(m_ck);
}

int megatronSplitDim(const QString& key, int ndim)
{
    const QStringList parts = key.split(QLatin1Char('.'));
    if (parts.size() < 2)
        return -2;
    const QString leaf = parts.back(), module = parts[parts.size() - 2];
    const QString parent = parts.size() >= 3 ? parts[parts.size() - 3] : QString();
    const bool weight = leaf == QLatin1String("weight");
    const bool bias = leaf == QLatin1String("bias");
    // Transformer Engine fuses the norm into the next layer: linear_qkv.layer_norm_weight is a replicated norm.
    if (leaf.startsWith(QLatin1String("layer_norm_")))
        return -1;
    if (!weight && !bias)
        return -2;
    static const QStringList column { QStringLiteral("word_embeddings"), QStringLiteral("query_key_value"),
        QStringLiteral("dense_h_to_4h"), QStringLiteral("linear_qkv"), QStringLiteral("linear_fc1"),
        QStringLiteral("output_layer"), QStringLiteral("query"), QStringLiteral("key_value"), QStringLiteral("linear_q"),
        QStringLiteral("linear_kv") };
    static const QStringList row { QStringLiteral("dense_4h_to_h"), QStringLiteral("linear_proj"), QStringLiteral("linear_fc2") };
    // `attention.dense` / `self_attention.dense` is the row-parallel output projection; a bare `dense` elsewhere
    // (a pooler, a head) is not split.
    const bool rowModule = row.contains(module)
        || (module == QLatin1String("dense") && parent.contains(QLatin1String("attention")));
    if (column.contains(module))
        return 0;
    if (rowModule)
        return weight && ndim >= 2 ? 1 : -1; // a row-parallel bias is added after the all-reduce: replicated
    if (module.contains(QLatin1String("norm")) || module == QLatin1String("position_embeddings"))
        return -1;
    return -2;
}

RankStateDict flattenTensorDict(const Checkpoint& ck, ObjId dict, int maxEntries)
{
    RankStateDict out;
    const ObjectGraph& g = ck.graph;
    struct Frame {
        ObjId id;
        QString prefix;
        int depth;
    };
    std::vector<Frame> stack { { dict, {}, 0 } };
    // The memo lets one dict appear many times (2^32 paths from a 1 KB pickle): each dict is walked once, and the
    // walk and the names it builds are bounded.
    QSet<ObjId> seen;
    std::int64_t visits = 0, nameBytes = 0;
    constexpr std::int64_t kMaxVisits = 1 << 24, kMaxNameBytes = std::int64_t(1) << 28;
    // Depth-first in file order: push children in reverse.
    while (!stack.empty() && int(out.size()) < maxEntries && ++visits < kMaxVisits && nameBytes < kMaxNameBytes) {
        const Frame f = stack.back();
        stack.pop_back();
        if (!g.valid(f.id) || f.depth > 32 || seen.contains(f.id))
            continue;
        seen.insert(f.id);
        const PyObject& o = g.at(f.id);
        if (o.kind != ObjKind::Dict)
            continue;
        std::vector<Frame> children;
        for (size_t i = 0; i + 1 < o.items.size(); i += 2) {
            const PyObject& k = g.at(o.items[i]);
            if (k.kind != ObjKind::Str)
                continue;
            const QString name = f.prefix + k.text;
            nameBytes += name.size() * 2;
            const ObjId v = o.items[i + 1];
            if (g.at(v).kind == ObjKind::Tensor)
                out.emplace_back(name, v);
            else if (g.at(v).kind == ObjKind::Dict)
                children.push_back({ v, name + QLatin1Char('.'), f.depth + 1 });
        }
        // Tensors of this level come before those of nested dicts only when the file wrote them so; keep it
        // simple and deterministic: nested dicts follow, in file order.
        std::reverse(children.begin(), children.end());
        for (auto& c : children)
            stack.push_back(std::move(c));
    }
    return out;
}

ObjId mergeTensorParallel(CheckpointMerge& merge, const std::vector<RankStateDict>& ranks, const QString& what)
{
    Checkpoint& ck = merge.checkpoint();
    std::vector<std::pair<QString, ObjId>> items;
    if (ranks.empty())
        return merge.addDict(items);
    // Merged bytes are assembled little-endian from tensorBytes; a big-endian set would be swapped twice.
    if (ck.bigEndian) {
        merge.problem(QStringLiteral("%1: big-endian files are shown per rank only").arg(what));
        return merge.addDict(items);
    }
    std::vector<QHash<QString, ObjId>> byKey(ranks.size());
    for (size_t r = 0; r < ranks.size(); ++r)
        for (const auto& [key, obj] : ranks[r])
            byKey[r].insert(key, obj);
    QStringList unknown, inconsistent, missing;
    for (const auto& [key, obj0] : ranks.front()) {
        std::vector<int> tensors;
        for (size_t r = 0; r < ranks.size(); ++r) {
            const ObjId o = byKey[r].value(key, kNoObject);
            if (o == kNoObject)
                break;
            tensors.push_back(int(ck.graph.at(o).integer));
        }
        if (tensors.size() != ranks.size()) {
            missing << key;
            continue;
        }
        const TensorInfo& t0 = ck.tensors[size_t(tensors.front())];
        std::vector<int> differing;
        bool consistent = t0.error.isEmpty();
        for (int t : tensors) {
            const TensorInfo& ti = ck.tensors[size_t(t)];
            consistent = consistent && ti.error.isEmpty() && ti.dtype == t0.dtype && ti.shape.size() == t0.shape.size();
        }
        if (consistent)
            for (size_t d = 0; d < t0.shape.size(); ++d)
                for (int t : tensors)
                    if (ck.tensors[size_t(t)].shape[d] != t0.shape[d]) {
                        differing.push_back(int(d));
                        break;
                    }
        // Expanded parts (zero strides) would be gathered to their full size before joining: not merged.
        for (int t : tensors)
            for (auto st : ck.tensors[size_t(t)].stride)
                consistent = consistent && st != 0;
        if (!consistent || differing.size() > 1) {
            inconsistent << key;
            continue;
        }
        int dim = differing.empty() ? megatronSplitDim(key, int(t0.shape.size())) : differing.front();
        if (dim == -2) {
            unknown << key;
            continue;
        }
        if (dim == -1 || ranks.size() == 1) {
            items.emplace_back(key, obj0);
            continue;
        }
        std::int64_t bytes = 0;
        for (int t : tensors)
            if (__builtin_add_overflow(bytes, ck.tensors[size_t(t)].nbytes(), &bytes))
                bytes = INT64_MAX;
        if (dim >= int(t0.shape.size()) || bytes > kMaxMergedBytes) {
            inconsistent << key;
            continue;
        }
        items.emplace_back(key, merge.addConcat(key, ConcatSpec { tensors, dim }));
    }
    const auto report = [&](const QStringList& keys, const QString& why) {
        if (keys.isEmpty())
            return;
        merge.problem(QStringLiteral("%1: %2 tensor(s) %3, left out of the merged view (first: %4)")
                          .arg(what)
                          .arg(keys.size())
                          .arg(why, keys.mid(0, 3).join(QStringLiteral(", "))));
    };
    report(missing, QStringLiteral("missing on some rank"));
    report(inconsistent, QStringLiteral("differ in dtype, rank or more than one dimension across ranks"));
    report(unknown, QStringLiteral("have the same shape on every rank and a name that does not tell whether they are split"));
    return merge.addDict(items);
}

QString tensorOrigin(const Checkpoint& ck, int tensor)
{
    if (ck.parts.empty() || tensor < 0 || size_t(tensor) >= ck.tensors.size())
        return {};
    const int part = ck.partOfTensor(tensor);
    if (part >= 0) {
        const CheckpointPart& p = ck.parts[size_t(part)];
        return p.role.isEmpty() ? p.name : QStringLiteral("%1 (%2)").arg(p.name, p.role);
    }
    const ConcatSpec* merged = ck.mergeOf(tensor);
    if (!merged)
        return {};
    const ConcatSpec& spec = *merged;
    QStringList slices;
    std::int64_t at = 0;
    for (int s : spec.tensors) {
        const std::int64_t n = ck.tensors[size_t(s)].shape[size_t(spec.dim)];
        const int p = ck.partOfTensor(s);
        const QString who = p < 0 ? QStringLiteral("?")
            : ck.parts[size_t(p)].tpRank >= 0 ? QStringLiteral("tp %1").arg(ck.parts[size_t(p)].tpRank)
                                               : ck.parts[size_t(p)].name;
        slices << QStringLiteral("%1 [%2, %3)").arg(who).arg(at).arg(at + n);
        at += n;
    }
    return QStringLiteral("merged along dim %1: %2").arg(spec.dim).arg(slices.join(QStringLiteral(", ")));
}

} // namespace ckpt
