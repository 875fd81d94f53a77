#include "model/exportplan.h"

#include "model/dtypecast.h"
#include "model/objectchildren.h"
#include "model/plainvalues.h"
#include "model/semantic.h"
#include "model/tensorlist.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <functional>
#include <map>

namespace ckpt {

bool globMatches(const QString& glob, const QString& key)
{
    QString rx;
    for (QChar c : glob) {
        if (c == QLatin1Char('*'))
            rx += QStringLiteral(".*");
        else if (c == QLatin1Char('?'))
            rx += QLatin1Char('.');
        else
            rx += QRegularExpression::escape(QString(c));
    }
    return QRegularExpression(QRegularExpression::anchoredPattern(rx)).match(key).hasMatch();
}

bool keyPatternMatches(const QString& pattern, const QString& key)
{
    if (pattern.startsWith(QLatin1String("re:"))) {
        const QRegularExpression re(pattern.mid(3));
        return re.isValid() && re.match(key).hasMatch();
    }
    return globMatches(pattern, key);
}

std::optional<QString> patternError(const QString& pattern)
{
    if (!pattern.startsWith(QLatin1String("re:")))
        return std::nullopt;
    const QRegularExpression re(pattern.mid(3));
    if (re.isValid())
        return std::nullopt;
    return QStringLiteral("'%1': %2 (at %3)").arg(pattern, re.errorString()).arg(re.patternErrorOffset());
}

std::int64_t parseSize(const QString& text)
{
    static const QRegularExpression re(QStringLiteral(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*$)"));
    const auto m = re.match(text);
    if (!m.hasMatch())
        return 0;
    const double value = m.captured(1).toDouble();
    const QString unit = m.captured(2).toUpper();
    const double base = m.captured(3).isEmpty() ? 1000.0 : 1024.0; // "5GB" is 5e9, as Hugging Face reads it
    const int power = unit.isEmpty() ? 0 : QStringLiteral("KMGT").indexOf(unit) + 1;
    double bytes = value;
    for (int i = 0; i < power; ++i)
        bytes *= base;
    return bytes >= 1 && bytes < 9e18 ? std::int64_t(bytes) : 0;
}

RenameRule ExportPlan::stripPrefix(const QString& prefix)
{
    return { QLatin1Char('^') + QRegularExpression::escape(prefix), QString() };
}

RenameRule ExportPlan::addPrefix(const QString& prefix)
{
    return { QStringLiteral("^"), prefix };
}

QJsonObject ExportPlan::toJson() const
{
    QJsonArray renamesJson;
    for (const auto& r : renames)
        renamesJson.append(QJsonObject { { QStringLiteral("pattern"), r.pattern }, { QStringLiteral("replacement"), r.replacement } });
    QJsonObject o { { QStringLiteral("ckptlens_recipe"), 1 }, { QStringLiteral("select"), QJsonArray::fromStringList(select) },
        { QStringLiteral("include"), QJsonArray::fromStringList(include) }, { QStringLiteral("exclude"), QJsonArray::fromStringList(exclude) },
        { QStringLiteral("renames"), renamesJson },
        { QStringLiteral("format"), format == ExportFormat::Safetensors ? QStringLiteral("safetensors") : QStringLiteral("torch") },
        { QStringLiteral("max_shard_size"), qint64(maxShardSize) }, { QStringLiteral("keep_others"), keepOthers } };
    if (castTo)
        o.insert(QStringLiteral("dtype"), dtypeName(*castTo));
    return o;
}

Expected<ExportPlan> ExportPlan::fromJson(const QJsonObject& o)
{
    auto bad = [](QString what) { return Error { ErrorKind::Unsupported, {}, QStringLiteral("recipe"), std::move(what) }; };
    if (o.value(QLatin1String("ckptlens_recipe")).toInt() != 1)
        return bad(QStringLiteral("not a Checkpoint Lens export recipe (version 1)"));
    ExportPlan p;
    p.select = o.value(QLatin1String("select")).toVariant().toStringList();
    p.include = o.value(QLatin1String("include")).toVariant().toStringList();
    p.exclude = o.value(QLatin1String("exclude")).toVariant().toStringList();
    for (const auto& r : o.value(QLatin1String("renames")).toArray()) {
        const QJsonObject ro = r.toObject();
        if (!ro.value(QLatin1String("pattern")).isString())
            return bad(QStringLiteral("a rename rule without a pattern"));
        p.renames.push_back({ ro.value(QLatin1String("pattern")).toString(), ro.value(QLatin1String("replacement")).toString() });
    }
    const QString fmt = o.value(QLatin1String("format")).toString(QStringLiteral("torch"));
    if (fmt != QLatin1String("torch") && fmt != QLatin1String("safetensors"))
        return bad(QStringLiteral("unknown format '%1'").arg(fmt));
    p.format = fmt == QLatin1String("safetensors") ? ExportFormat::Safetensors : ExportFormat::Torch;
    p.maxShardSize = o.value(QLatin1String("max_shard_size")).toInteger();
    p.keepOthers = o.value(QLatin1String("keep_others")).toBool(false);
    if (o.contains(QLatin1String("dtype"))) {
        auto dt = dtypeFromTorchName(o.value(QLatin1String("dtype")).toString());
        if (!dt || !castable(*dt))
            return bad(QStringLiteral("cannot cast to '%1'").arg(o.value(QLatin1String("dtype")).toString()));
        p.castTo = *dt;
    }
    return p;
}

namespace {

QString pathText(const QStringList& path)
{
    return path.isEmpty() ? QStringLiteral("<root>") : path.join(QLatin1Char('/'));
}

// The object at a container path (dict keys, list indices, attribute names as the tree shows them).
ObjId objectAt(const Checkpoint& ck, const QStringList& path)
{
    ObjId id = ck.root;
    for (const QString& k : path) {
        if (!ck.graph.valid(id))
            return kNoObject;
        ObjId next = kNoObject;
        for (const auto& c : objectChildren(ck.graph, id))
            if (c.key == k) {
                next = c.id;
                break;
            }
        id = next;
    }
    return ck.graph.valid(id) ? id : kNoObject;
}

// Non-tensor leaves inside an exported container, under their dotted keys; containers are walked into, so an
// optimizer's param_groups become "param_groups.0.lr", ...
void collectInside(const ObjectGraph& g, ObjId id, QStringList& path, int prefixLength, std::vector<ObjId>& onPath,
    std::vector<std::pair<PlannedOther, std::optional<PlainValue>>>& out)
{
    if (int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
        return;
    onPath.push_back(id);
    for (const auto& c : objectChildren(g, id)) {
        const PyObject& v = g.at(c.id);
        path.push_back(c.key);
        if (v.kind == ObjKind::Tensor || v.kind == ObjKind::Storage) {
        } else if (hasChildren(g, c.id) && (v.kind == ObjKind::Dict || v.kind == ObjKind::List || v.kind == ObjKind::Tuple)) {
            collectInside(g, c.id, path, prefixLength, onPath, out);
        } else {
            auto conv = plainValueOf(g, c.id);
            if (!conv.holdsTensor) {
                PlannedOther o { path, path.mid(prefixLength).join(QLatin1Char('.')), valueText(g, c.id, 80), conv.value.has_value(), conv.why };
                out.emplace_back(std::move(o), std::move(conv.value));
            }
        }
        path.pop_back();
    }
    onPath.pop_back();
}

} // namespace

static void resolveOthers(const Checkpoint& ck, const ExportPlan&, ObjId container, ResolvedPlan& out,
    std::map<QString, QString>& seen, const std::function<QString(QString)>& rename,
    const std::function<bool(const QString&)>& passes);

QString notKeptWarning(const QString& entry, const QString& why)
{
    return QStringLiteral("%1 is not kept: %2").arg(entry, why);
}

Expected<ResolvedPlan> resolvePlan(const Checkpoint& ck, const Semantic& sem, const ExportPlan& plan)
{
    const StateDictRef* sd = nullptr;
    ResolvedPlan out;
    std::vector<std::pair<QString, int>> flatEntries;
    if (plan.select.isEmpty()) {
        if (sem.primary < 0)
            return Error { ErrorKind::NotACheckpoint, ck.path, {}, QStringLiteral("no state dict found to export; use --select") };
        sd = &sem.stateDicts[size_t(sem.primary)];
    } else {
        for (const auto& s : sem.stateDicts)
            if (s.path == plan.select)
                sd = &s;
    }
    ObjId container = kNoObject;
    if (!sd) {
        // Any other container: its tensors flattened to dotted keys relative to it.
        container = objectAt(ck, plan.select);
        const ObjKind kind = ck.graph.valid(container) ? ck.graph.at(container).kind : ObjKind::None;
        if (container == kNoObject || kind == ObjKind::Tensor || !hasChildren(ck.graph, container)) {
            QStringList known;
            for (const auto& s : sem.stateDicts)
                known << pathText(s.path);
            return Error { ErrorKind::NotACheckpoint, ck.path, plan.select.join(QLatin1Char('/')),
                QStringLiteral("%1; state dicts in this file: %2")
                    .arg(container == kNoObject ? QStringLiteral("no such container") : QStringLiteral("is not a container"),
                        known.isEmpty() ? QStringLiteral("none") : known.join(QStringLiteral(", "))) };
        }
        for (const auto& e : listTensors(ck))
            if (e.path.size() > plan.select.size() && e.path.mid(0, plan.select.size()) == plan.select)
                flatEntries.emplace_back(e.path.mid(plan.select.size()).join(QLatin1Char('.')), e.tensor);
        out.flattened = true;
    }
    const auto& entries = sd ? sd->entries : flatEntries;
    std::vector<QRegularExpression> rules;
    for (const auto& r : plan.renames) {
        QRegularExpression re(r.pattern);
        if (!re.isValid())
            return Error { ErrorKind::Unsupported, {}, QStringLiteral("rename rule '%1'").arg(r.pattern), re.errorString() };
        rules.push_back(re);
    }
    for (const QString& pattern : plan.include + plan.exclude)
        if (auto problem = patternError(pattern))
            return Error { ErrorKind::Unsupported, {}, QStringLiteral("key pattern"), *problem };
    out.statePath = sd ? sd->path : plan.select;
    auto rename = [&](QString name) {
        for (size_t i = 0; i < rules.size(); ++i)
            name.replace(rules[i], plan.renames[i].replacement);
        return name;
    };
    auto passes = [&](const QString& key) {
        if (!plan.include.isEmpty()
            && std::none_of(plan.include.begin(), plan.include.end(), [&](const QString& g) { return keyPatternMatches(g, key); }))
            return false;
        return std::none_of(plan.exclude.begin(), plan.exclude.end(), [&](const QString& g) { return keyPatternMatches(g, key); });
    };
    std::map<QString, QString> seen; // output key -> source key
    for (const auto& [key, tensor] : entries) {
        if (!passes(key))
            continue;
        const QString name = rename(key);
        const TensorInfo& t = ck.tensors[size_t(tensor)];
        if (!t.error.isEmpty())
            out.errors << QStringLiteral("%1 is broken: %2").arg(key, t.error);
        if (name.isEmpty())
            out.errors << QStringLiteral("%1 is renamed to an empty key").arg(key);
        if (auto [it, fresh] = seen.emplace(name, key); !fresh)
            out.errors << QStringLiteral("%1 and %2 would both be written as %3").arg(it->second, key, name);
        PlannedTensor p { key, name, tensor, t.dtype, 0 };
        if (plan.castTo && castable(t.dtype))
            p.outputDtype = *plan.castTo;
        p.bytes = t.error.isEmpty() ? t.numel() * dtypeItemSize(p.outputDtype) : 0;
        out.totalBytes += p.bytes;
        out.tensors.push_back(p);
    }
    if (out.tensors.empty())
        out.errors << QStringLiteral("nothing to export: no key of %1 passes the include/exclude filters").arg(pathText(out.statePath));
    if (plan.keepOthers)
        resolveOthers(ck, plan, container, out, seen, rename, passes);
    return out;
}

static void resolveOthers(const Checkpoint& ck, const ExportPlan&, ObjId container, ResolvedPlan& out,
    std::map<QString, QString>& seen, const std::function<QString(QString)>& rename,
    const std::function<bool(const QString&)>& passes)
{
    const ObjectGraph& g = ck.graph;
    using K = PlainValue::Kind;
    PlainValue inner;
    inner.kind = K::StateDict;
    // Inside a flattened container: its non-tensor leaves, filtered and renamed as its tensors' keys are.
    if (container != kNoObject) {
        std::vector<std::pair<PlannedOther, std::optional<PlainValue>>> found;
        QStringList path = out.statePath;
        std::vector<ObjId> onPath;
        collectInside(g, container, path, int(out.statePath.size()), onPath, found);
        for (auto& [o, value] : found) {
            if (!passes(o.outputKey))
                continue;
            o.outputKey = rename(o.outputKey);
            if (o.kept) {
                if (auto [it, fresh] = seen.emplace(o.outputKey, o.path.mid(out.statePath.size()).join(QLatin1Char('.'))); !fresh)
                    out.errors << QStringLiteral("%1 and %2 would both be written as %3").arg(it->second, o.path.join(QLatin1Char('.')), o.outputKey);
                inner.items.push_back(PlainValue::str(o.outputKey));
                inner.items.push_back(std::move(*value));
            } else {
                out.warnings << notKeptWarning(o.path.join(QLatin1Char('/')), o.why);
            }
            out.others.push_back(std::move(o));
        }
    }
    // Beside it, from the root down: entries of each dict on the path that hold no tensor. Ones that do (an
    // optimizer, another model) are what the export leaves out, as without keepOthers.
    std::vector<PlainValue> levels;
    ObjId id = ck.root;
    bool nestable = true;
    for (int depth = 0; depth < out.statePath.size(); ++depth) {
        const PyObject& o = g.at(id);
        if (o.kind != ObjKind::Dict) {
            nestable = false;
            out.warnings << QStringLiteral("%1 is not a dict: the entries beside the exported state dict there are not kept")
                                .arg(pathText(out.statePath.mid(0, depth)));
            break;
        }
        PlainValue level;
        level.kind = K::Dict;
        level.ordered = o.text == QLatin1String("collections.OrderedDict");
        ObjId next = kNoObject;
        for (size_t i = 0; i + 1 < o.items.size(); i += 2) {
            const PyObject& key = g.at(o.items[i]);
            const QString k = keyText(g, o.items[i]);
            if (key.kind == ObjKind::Str && k == out.statePath[depth] && next == kNoObject) {
                next = o.items[i + 1];
                level.items.push_back(PlainValue::str(k));
                level.items.push_back(PlainValue {}); // the next level goes here
                continue;
            }
            auto conv = plainValueOf(g, o.items[i + 1]);
            if (conv.holdsTensor)
                continue;
            QStringList path = out.statePath.mid(0, depth);
            path << k;
            auto keyValue = plainValueOf(g, o.items[i]);
            PlannedOther other { path, {}, valueText(g, o.items[i + 1], 80), conv.value && keyValue.value,
                conv.value ? keyValue.why : conv.why };
            if (other.kept) {
                level.items.push_back(std::move(*keyValue.value));
                level.items.push_back(std::move(*conv.value));
            } else {
                out.warnings << notKeptWarning(path.join(QLatin1Char('/')), other.why);
            }
            out.others.push_back(std::move(other));
        }
        if (next == kNoObject) {
            nestable = false;
            break;
        }
        levels.push_back(std::move(level));
        id = next;
    }
    if (!nestable) {
        // Only the inside entries keep their places; the tensors go at the root.
        levels.clear();
        for (auto& o : out.others)
            if (o.outputKey.isEmpty() && o.kept) {
                o.kept = false;
                o.why = QStringLiteral("the path to the exported state dict passes through something other than a dict");
            }
    }
    PlainValue layout = std::move(inner);
    for (size_t l = levels.size(); l-- > 0;) {
        PlainValue& level = levels[l];
        for (size_t i = 0; i + 1 < level.items.size(); i += 2)
            if (level.items[i].kind == K::Str && level.items[i].text == out.statePath[int(l)] && level.items[i + 1].kind == K::None
                && i + 1 < level.items.size()) {
                level.items[i + 1] = std::move(layout);
                break;
            }
        layout = std::move(level);
    }
    if (layout.kind != K::StateDict || !layout.items.empty())
        out.layout = std::move(layout);
}

} // namespace ckpt
