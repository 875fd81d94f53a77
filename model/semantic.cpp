#include "model/semantic.h"

#include "io/torchscriptcode.h"

#include "model/objectchildren.h"

#include <QSet>

#include <algorithm>
#include <set>
#include <tuple>

namespace ckpt {
namespace {

const PyObject* dictValue(const ObjectGraph& g, const PyObject& dict, QLatin1String key)
{
    for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
        const PyObject& k = g.at(dict.items[i]);
        if (k.kind == ObjKind::Str && k.text == key)
            return &g.at(dict.items[i + 1]);
    }
    return nullptr;
}

bool isOptimizerDict(const ObjectGraph& g, const PyObject& d)
{
    if (d.kind != ObjKind::Dict)
        return false;
    const PyObject* state = dictValue(g, d, QLatin1String("state"));
    const PyObject* groups = dictValue(g, d, QLatin1String("param_groups"));
    if (!state || !groups || state->kind != ObjKind::Dict || groups->kind != ObjKind::List)
        return false;
    for (ObjId gid : groups->items) {
        const PyObject& grp = g.at(gid);
        if (grp.kind != ObjKind::Dict)
            return false;
        const PyObject* params = dictValue(g, grp, QLatin1String("params"));
        if (!params || params->kind != ObjKind::List)
            return false;
    }
    return true;
}

// A dict whose values are all tensors under string keys.
bool isStateDict(const ObjectGraph& g, const PyObject& d)
{
    if (d.kind != ObjKind::Dict || d.items.empty())
        return false;
    for (size_t i = 0; i + 1 < d.items.size(); i += 2)
        if (g.at(d.items[i]).kind != ObjKind::Str || g.at(d.items[i + 1]).kind != ObjKind::Tensor)
            return false;
    return true;
}

bool hasDottedKey(const ObjectGraph& g, const PyObject& d)
{
    for (size_t i = 0; i + 1 < d.items.size(); i += 2)
        if (g.at(d.items[i]).text.contains(QLatin1Char('.')))
            return true;
    return false;
}

// An nn.Module pickled whole: an object whose attributes hold _parameters, _buffers and _modules.
const PyObject* moduleState(const ObjectGraph& g, const PyObject& o)
{
    if (o.kind != ObjKind::Object || !g.valid(o.state()) || g.at(o.state()).kind != ObjKind::Dict)
        return nullptr;
    const PyObject& st = g.at(o.state());
    return dictValue(g, st, QLatin1String("_parameters")) && dictValue(g, st, QLatin1String("_modules")) ? &st : nullptr;
}

void collectModule(const ObjectGraph& g, const PyObject& o, const QString& prefix, StateDictRef& out, int depth)
{
    const PyObject* st = moduleState(g, o);
    if (!st || depth > kMaxTreeDepth)
        return;
    for (const char* table : { "_parameters", "_buffers" }) {
        const PyObject* d = dictValue(g, *st, QLatin1String(table));
        if (!d || d->kind != ObjKind::Dict)
            continue;
        for (size_t i = 0; i + 1 < d->items.size(); i += 2) {
            const PyObject& k = g.at(d->items[i]);
            const PyObject& v = g.at(d->items[i + 1]);
            if (k.kind == ObjKind::Str && v.kind == ObjKind::Tensor)
                out.entries.emplace_back(prefix + k.text, int(v.integer));
        }
    }
    if (const PyObject* mods = dictValue(g, *st, QLatin1String("_modules")); mods && mods->kind == ObjKind::Dict)
        for (size_t i = 0; i + 1 < mods->items.size(); i += 2) {
            const PyObject& k = g.at(mods->items[i]);
            if (k.kind == ObjKind::Str)
                collectModule(g, g.at(mods->items[i + 1]), prefix + k.text + QLatin1Char('.'), out, depth + 1);
        }
}

QString roleFor(const QStringList& path)
{
    if (path.isEmpty())
        return QStringLiteral("model");
    const QString last = path.back().toLower();
    if (last.contains(QLatin1String("ema")) || last.contains(QLatin1String("average")) || last.contains(QLatin1String("swa")))
        return QStringLiteral("ema");
    static const QStringList modelNames { QStringLiteral("model_state_dict"), QStringLiteral("state_dict"), QStringLiteral("merged_model"),
        QStringLiteral("model"), QStringLiteral("module"), QStringLiteral("net"), QStringLiteral("network"),
        QStringLiteral("weights"), QStringLiteral("params"), QStringLiteral("model_state"), QStringLiteral("generator"),
        QStringLiteral("backbone"), QStringLiteral("encoder") };
    // merged_model_stage_N: a pipeline stage's merged tensor-parallel view (io/checkpointset.cpp)
    return modelNames.contains(last) || last.startsWith(QLatin1String("merged_model")) ? QStringLiteral("model") : QStringLiteral("other");
}

bool isScriptModule(const ObjectGraph& g, const PyObject& o)
{
    return o.kind == ObjKind::Object && o.text.startsWith(QLatin1String("__torch__")) && g.valid(o.state())
        && g.at(o.state()).kind == ObjKind::Dict;
}

// A TorchScript module's attributes: its parameters and buffers as the archive's code declares them (every
// tensor attribute when the class is not declared), submodules recursively.
void collectScriptModule(const ObjectGraph& g, const PyObject& o, const QString& prefix,
    const QHash<QString, ScriptClass>& classes, StateDictRef& out, int depth)
{
    if (!isScriptModule(g, o) || depth > kMaxTreeDepth)
        return;
    const auto cls = classes.constFind(o.qualifiedName());
    const PyObject& st = g.at(o.state());
    for (size_t i = 0; i + 1 < st.items.size(); i += 2) {
        const PyObject& k = g.at(st.items[i]);
        const PyObject& v = g.at(st.items[i + 1]);
        if (k.kind != ObjKind::Str)
            continue;
        if (v.kind == ObjKind::Tensor) {
            const bool buffer = cls != classes.constEnd() && cls->buffers.contains(k.text);
            if (cls != classes.constEnd() && !buffer && !cls->parameters.contains(k.text))
                continue; // a plain tensor attribute: not in state_dict()
            out.entries.emplace_back(prefix + k.text, int(v.integer));
            if (buffer)
                out.declaredBuffers.push_back(prefix + k.text);
        } else if (isScriptModule(g, v)) {
            collectScriptModule(g, v, prefix + k.text + QLatin1Char('.'), classes, out, depth + 1);
        }
    }
}

struct Finder {
    const Checkpoint& ck;
    Semantic& out;
    std::vector<ObjId> onPath;
    QStringList path;
    QHash<QString, ScriptClass> scriptClasses;

    void visit(ObjId id)
    {
        const ObjectGraph& g = ck.graph;
        const PyObject& o = g.at(id);
        if (int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
            return;
        if (isOptimizerDict(g, o)) {
            OptimizerInfo opt;
            opt.path = path;
            opt.dict = id;
            out.optimizers.push_back(std::move(opt));
            return;
        }
        // Dotted keys mark a module hierarchy; an undotted tensor dict (a callback's best score) is a state dict
        // only when its place in the file says so.
        if (isStateDict(g, o) && (hasDottedKey(g, o) || roleFor(path) != QLatin1String("other"))) {
            StateDictRef sd { path, id, roleFor(path), {} };
            for (size_t i = 0; i + 1 < o.items.size(); i += 2)
                sd.entries.emplace_back(g.at(o.items[i]).text, int(g.at(o.items[i + 1]).integer));
            out.stateDicts.push_back(std::move(sd));
            return;
        }
        if (ck.torchScript && isScriptModule(g, o)) {
            if (scriptClasses.isEmpty())
                scriptClasses = ckpt::scriptClasses(ck);
            StateDictRef sd { path, id, QStringLiteral("model"), {} };
            sd.rolesDeclared = !scriptClasses.isEmpty();
            collectScriptModule(g, o, QString(), scriptClasses, sd, 0);
            if (!sd.entries.empty())
                out.stateDicts.push_back(std::move(sd));
            return;
        }
        if (moduleState(g, o)) {
            StateDictRef sd { path, id, QStringLiteral("model"), {} };
            collectModule(g, o, QString(), sd, 0);
            if (!sd.entries.empty())
                out.stateDicts.push_back(std::move(sd));
            return;
        }
        onPath.push_back(id);
        for (const auto& c : objectChildren(g, id)) {
            if (c.viaArgs)
                continue;
            path.push_back(c.key);
            visit(c.id);
            path.pop_back();
        }
        onPath.pop_back();
    }
};

// Tensors with the same view (storage, offset, shape, stride), e.g. tied weights: grouped by storage first,
// since nearly every tensor has a storage of its own, then compared exactly.
bool sameView(const TensorInfo& a, const TensorInfo& b)
{
    return a.storage == b.storage && a.storageOffset == b.storageOffset && a.shape == b.shape && a.stride == b.stride;
}

class ViewSet {
public:
    explicit ViewSet(const Checkpoint& ck)
        : m_ck(ck)
        , m_byStorage(ck.storages.size())
    {
    }
    // Adds the tensor's view; false when an equal view was there already.
    bool insert(int tensor)
    {
        const TensorInfo& t = m_ck.tensors[size_t(tensor)];
        if (t.storage < 0 || size_t(t.storage) >= m_byStorage.size())
            return true;
        auto& list = m_byStorage[size_t(t.storage)];
        for (int other : list)
            if (sameView(m_ck.tensors[size_t(other)], t))
                return false;
        list.push_back(tensor);
        return true;
    }
    bool contains(int tensor) const
    {
        const TensorInfo& t = m_ck.tensors[size_t(tensor)];
        if (t.storage < 0 || size_t(t.storage) >= m_byStorage.size())
            return false;
        for (int other : m_byStorage[size_t(t.storage)])
            if (sameView(m_ck.tensors[size_t(other)], t))
                return true;
        return false;
    }

private:
    const Checkpoint& m_ck;
    std::vector<std::vector<int>> m_byStorage;
};

bool isNumeric(const QString& s, qint64* value = nullptr)
{
    bool ok = false;
    const qint64 v = s.toLongLong(&ok);
    if (value)
        *value = v;
    return ok && !s.isEmpty() && s[0] != QLatin1Char('+') && s[0] != QLatin1Char(' ');
}

QString optimizerKind(const ObjectGraph& g, const OptimizerInfo& opt)
{
    QSet<QString> fields, hyper;
    for (const auto& p : opt.params)
        for (const auto& f : p.fields)
            fields.insert(f.first);
    for (const auto& grp : opt.groups)
        for (const auto& h : grp.hyperParameters)
            hyper.insert(h.first);
    Q_UNUSED(g);
    if (fields.contains(QStringLiteral("exp_avg")) && fields.contains(QStringLiteral("exp_avg_sq")))
        return hyper.contains(QStringLiteral("decoupled_weight_decay")) ? QStringLiteral("AdamW") : QStringLiteral("Adam/AdamW");
    if (fields.contains(QStringLiteral("exp_inf")))
        return QStringLiteral("Adamax");
    if (fields.contains(QStringLiteral("acc_delta")))
        return QStringLiteral("Adadelta");
    if (fields.contains(QStringLiteral("square_avg")))
        return QStringLiteral("RMSprop");
    if (fields.contains(QStringLiteral("sum")))
        return QStringLiteral("Adagrad");
    if (fields.contains(QStringLiteral("momentum_buffer")) || hyper.contains(QStringLiteral("nesterov")))
        return QStringLiteral("SGD");
    if (fields.contains(QStringLiteral("prev")) && fields.contains(QStringLiteral("step_size")))
        return QStringLiteral("Rprop");
    return QStringLiteral("optimizer");
}

void readOptimizer(const Checkpoint& ck, OptimizerInfo& opt)
{
    const ObjectGraph& g = ck.graph;
    const PyObject& d = g.at(opt.dict);
    const PyObject* groups = dictValue(g, d, QLatin1String("param_groups"));
    std::map<std::int64_t, std::pair<int, int>> positionOf; // id -> (position, group)
    int position = 0;
    for (size_t gi = 0; gi < groups->items.size(); ++gi) {
        const PyObject& grp = g.at(groups->items[gi]);
        OptimizerGroup og;
        for (size_t i = 0; i + 1 < grp.items.size(); i += 2) {
            const QString key = keyText(g, grp.items[i]);
            if (key == QLatin1String("params")) {
                for (ObjId p : g.at(grp.items[i + 1]).items) {
                    const PyObject& po = g.at(p);
                    const std::int64_t id = po.kind == ObjKind::Int ? po.integer : position;
                    og.params.push_back(id);
                    positionOf.emplace(id, std::pair { position++, int(gi) });
                }
            } else {
                og.hyperParameters.emplace_back(key, grp.items[i + 1]);
            }
        }
        opt.groups.push_back(std::move(og));
    }
    std::map<int, OptimizerParam> byPosition;
    for (const auto& [id, pg] : positionOf)
        byPosition[pg.first] = OptimizerParam { id, pg.first, pg.second, {}, {} };
    const PyObject* state = dictValue(g, d, QLatin1String("state"));
    for (size_t i = 0; state && i + 1 < state->items.size(); i += 2) {
        const PyObject& k = g.at(state->items[i]);
        if (k.kind != ObjKind::Int)
            continue;
        auto it = positionOf.find(k.integer);
        if (it == positionOf.end())
            continue;
        OptimizerParam& p = byPosition[it->second.first];
        for (const auto& c : objectChildren(g, state->items[i + 1]))
            p.fields.emplace_back(c.key, c.id);
    }
    for (auto& [pos, p] : byPosition)
        opt.params.push_back(std::move(p));
    opt.kind = optimizerKind(g, opt);
}

// Positions count across param_groups in the order parameters were given to the optimizer, usually
// model.parameters(): the state dict's parameters in order, buffers excluded.
void mapOptimizer(const Checkpoint& ck, OptimizerInfo& opt, const Semantic& sem)
{
    if (sem.primary < 0) {
        opt.mappingNote = QStringLiteral("no model state dict to map the optimizer's parameters to");
        return;
    }
    const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
    opt.stateDict = sem.primary;
    std::vector<const std::pair<QString, int>*> candidates;
    ViewSet seen(ck);
    for (const auto& e : sd.entries) {
        const TensorInfo& t = ck.tensors[size_t(e.second)];
        // Parameters are floating point or complex; a tied weight is one parameter (model.parameters() yields
        // it once) although the state dict holds one tensor per key on the shared storage.
        if (looksLikeBufferName(e.first) || !dtypeIsFloatingPoint(t.dtype) || !seen.insert(e.second))
            continue;
        candidates.push_back(&e);
    }
    if (candidates.size() != opt.params.size()) {
        opt.mappingNote = QStringLiteral("the optimizer has %1 parameters but the state dict has %2 candidate parameters; "
                                         "showing optimizer ids")
                              .arg(opt.params.size())
                              .arg(candidates.size());
        return;
    }
    for (size_t i = 0; i < candidates.size(); ++i) {
        const TensorInfo& param = ck.tensors[size_t(candidates[i]->second)];
        for (const auto& [field, obj] : opt.params[i].fields) {
            const PyObject& o = ck.graph.at(obj);
            if (o.kind != ObjKind::Tensor)
                continue;
            const TensorInfo& st = ck.tensors[size_t(o.integer)];
            if (!st.shape.empty() && st.shape != param.shape) {
                opt.mappingNote = QStringLiteral("optimizer id %1 (%2) has shape %3 but parameter %4 in the same position "
                                                 "has shape %5; showing optimizer ids")
                                      .arg(opt.params[i].id)
                                      .arg(field, shapeText(st.shape), candidates[i]->first, shapeText(param.shape));
                return;
            }
        }
    }
    for (size_t i = 0; i < candidates.size(); ++i)
        opt.params[i].parameter = candidates[i]->first;
    opt.mapped = true;
}

QString scalarText(const ObjectGraph& g, ObjId id)
{
    const PyObject& o = g.at(id);
    switch (o.kind) {
    case ObjKind::Int:
    case ObjKind::Float:
    case ObjKind::Bool:
    case ObjKind::Str:
    case ObjKind::NumpyScalar:
    case ObjKind::BigInt:
    case ObjKind::None:
        return o.kind == ObjKind::Str ? o.text : valueText(g, id, 120);
    case ObjKind::Tensor:
        return {};
    case ObjKind::List:
    case ObjKind::Tuple: {
        if (o.items.size() > 8)
            return {};
        QStringList parts;
        for (ObjId c : o.items) {
            const auto k = g.at(c).kind;
            if (k != ObjKind::Int && k != ObjKind::Float && k != ObjKind::Str && k != ObjKind::Bool)
                return {};
            parts << valueText(g, c, 40);
        }
        return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
    }
    case ObjKind::Object: // a str subclass such as torch's TorchVersion
        if (g.valid(o.args) && g.at(o.args).items.size() == 1 && g.at(g.at(o.args).items[0]).kind == ObjKind::Str)
            return g.at(g.at(o.args).items[0]).text;
        return {};
    default:
        return {};
    }
}

void collectMetadata(const Checkpoint& ck, Semantic& sem)
{
    const ObjectGraph& g = ck.graph;
    const PyObject& root = g.at(ck.root);
    if (root.kind != ObjKind::Dict)
        return;
    static const QStringList nested { QStringLiteral("hyper_parameters"), QStringLiteral("hparams"), QStringLiteral("args"),
        QStringLiteral("config"), QStringLiteral("cfg"), QStringLiteral("opt"), QStringLiteral("hyperparameters") };
    for (const auto& c : objectChildren(g, ck.root)) {
        if (sem.metadata.size() >= 64)
            break;
        const QString v = scalarText(g, c.id);
        if (!v.isNull()) {
            sem.metadata.emplace_back(c.key, v);
        } else if (nested.contains(c.key)) {
            for (const auto& h : objectChildren(g, c.id)) {
                const QString hv = scalarText(g, h.id);
                if (!hv.isNull() && sem.metadata.size() < 64)
                    sem.metadata.emplace_back(c.key + QLatin1Char('.') + h.key, hv);
            }
        }
    }
}

void addFindings(const Checkpoint& ck, Semantic& sem)
{
    if (!ck.problems.isEmpty())
        sem.findings.push_back({ FindingKind::InconsistentSet,
            QStringLiteral("%1 (%2 problem(s) with this %3 set of %4 files; what is present is shown)")
                .arg(ck.problems.front())
                .arg(ck.problems.size())
                .arg(ck.layout)
                .arg(ck.parts.size()),
            ck.problems.mid(0, 5) });
    if (sem.primary >= 0) {
        const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
        for (const auto& [prefix, kind, why] : { std::tuple { QStringLiteral("module."), FindingKind::DataParallelPrefix,
                                                      QStringLiteral("saved through nn.DataParallel / DistributedDataParallel") },
                 std::tuple { QStringLiteral("_orig_mod."), FindingKind::CompilePrefix, QStringLiteral("saved from a torch.compile'd model") } }) {
            QStringList keys;
            for (const auto& e : sd.entries)
                if (e.first.startsWith(prefix) || e.first.contains(QLatin1Char('.') + prefix))
                    keys << e.first;
            if (!keys.isEmpty() && keys.size() * 2 >= qsizetype(sd.entries.size()))
                sem.findings.push_back({ kind,
                    QStringLiteral("%1 of %2 keys carry the '%3' prefix (%4): a plain model's load_state_dict will not "
                                   "accept them until it is stripped")
                        .arg(keys.size())
                        .arg(sd.entries.size())
                        .arg(prefix, why),
                    keys.mid(0, 5) });
        }
        // Tied weights: several keys on one storage with the same view.
        std::vector<std::vector<size_t>> byStorage(ck.storages.size()); // entry indices
        std::vector<QStringList> groups;
        std::vector<int> groupOf(sd.entries.size(), -1);
        for (size_t i = 0; i < sd.entries.size(); ++i) {
            const TensorInfo& t = ck.tensors[size_t(sd.entries[i].second)];
            if (t.storage < 0 || size_t(t.storage) >= byStorage.size() || t.numel() <= 0)
                continue;
            for (size_t j : byStorage[size_t(t.storage)])
                if (sameView(ck.tensors[size_t(sd.entries[j].second)], t)) {
                    if (groupOf[j] < 0) {
                        groupOf[j] = int(groups.size());
                        groups.push_back({ sd.entries[j].first });
                    }
                    groups[size_t(groupOf[j])] << sd.entries[i].first;
                    groupOf[i] = groupOf[j];
                    break;
                }
            if (groupOf[i] < 0)
                byStorage[size_t(t.storage)].push_back(i);
        }
        for (const QStringList& keys : groups)
            if (keys.size() > 1)
                sem.findings.push_back({ FindingKind::TiedWeights,
                    QStringLiteral("%1 share one storage").arg(keys.join(QStringLiteral(", "))), keys });
        QSet<QString> floatTypes;
        for (const auto& e : sd.entries)
            if (dtypeIsFloatingPoint(ck.tensors[size_t(e.second)].dtype))
                floatTypes.insert(dtypeName(ck.tensors[size_t(e.second)].dtype));
        if (floatTypes.size() > 1) {
            QStringList names = floatTypes.values();
            names.sort();
            sem.findings.push_back({ FindingKind::MixedDtypes,
                QStringLiteral("mixed floating-point dtypes in the model: %1").arg(names.join(QStringLiteral(", "))), names });
        }
    }
    std::map<QString, int> gpu;
    for (const auto& t : ck.tensors)
        if (t.storage >= 0 && !ck.storages[size_t(t.storage)].location.startsWith(QLatin1String("cpu")))
            ++gpu[ck.storages[size_t(t.storage)].location];
    for (const auto& [location, count] : gpu)
        sem.findings.push_back({ FindingKind::SavedOnGpu,
            QStringLiteral("%1 tensors were saved from %2: torch.load on a machine without it needs map_location='cpu'")
                .arg(count)
                .arg(location),
            { location } });
}

} // namespace

bool looksLikeBufferName(const QString& key)
{
    static constexpr QLatin1String suffixes[] { QLatin1String("running_mean"), QLatin1String("running_var"),
        QLatin1String("num_batches_tracked"), QLatin1String("position_ids"), QLatin1String("inv_freq"),
        QLatin1String("masked_bias"), QLatin1String("relative_position_index") };
    const QStringView last = QStringView(key).mid(key.lastIndexOf(QLatin1Char('.')) + 1);
    return std::any_of(std::begin(suffixes), std::end(suffixes), [&](QLatin1String s) { return last == s; });
}

ModuleTree buildModuleTree(const Checkpoint& ck, const StateDictRef& sd, const std::vector<TensorRole>& roles)
{
    ModuleTree tree;
    // At most one node per dotted component of every key, plus the root: reserved so that the nodes never move.
    size_t components = 1;
    for (const auto& [key, tensor] : sd.entries)
        components += size_t(key.count(QLatin1Char('.'))) + 1;
    tree.nodes.reserve(components);
    tree.nodes.push_back(ModuleNode {});
    // Dotted prefix -> module node. The views point into the nodes' fullName strings, whose buffers stay put
    // when the vector moves them; looking a prefix up then needs no allocation. Module prefixes are closed under
    // taking a shorter prefix, so the longest one known is found first, from the key's end (one lookup for a
    // key whose module holds tensors already), and the missing ones below it are made in order.
    QHash<QStringView, int> moduleOf;
    moduleOf.reserve(qsizetype(sd.entries.size()));
    std::vector<qsizetype> dots;
    for (size_t e = 0; e < sd.entries.size(); ++e) {
        const auto& [key, tensor] = sd.entries[e];
        dots.clear();
        for (qsizetype at = key.indexOf(QLatin1Char('.')); at >= 0; at = key.indexOf(QLatin1Char('.'), at + 1))
            dots.push_back(at);
        int node = 0;
        size_t known = dots.size(); // prefixes [0, known) exist; the search lowers it to the first missing one
        for (; known > 0; --known) {
            auto it = moduleOf.constFind(QStringView(key).left(dots[known - 1]));
            if (it != moduleOf.constEnd()) {
                node = *it;
                break;
            }
        }
        for (size_t level = known; level <= dots.size(); ++level) {
            const bool leaf = level == dots.size();
            const qsizetype start = level == 0 ? 0 : dots[level - 1] + 1;
            const qsizetype end = leaf ? key.size() : dots[level];
            ModuleNode n;
            n.name = key.mid(start, end - start);
            n.fullName = leaf ? key : key.left(end); // a leaf shares the key's buffer
            n.parent = node;
            const int index = int(tree.nodes.size());
            tree.nodes.push_back(std::move(n));
            tree.nodes[size_t(node)].children.push_back(index);
            node = index;
            if (!leaf)
                moduleOf.insert(QStringView(tree.nodes.back().fullName), index);
        }
        ModuleNode& leafNode = tree.nodes[size_t(node)];
        leafNode.tensor = tensor;
        leafNode.role = e < roles.size() ? roles[e] : TensorRole::Parameter;
    }
    if (tree.nodes.capacity() > 2 * tree.nodes.size())
        tree.nodes.shrink_to_fit(); // the bound is loose for deep keys; moving a node keeps its strings' buffers
    // Numeric siblings (layers.0 ... layers.23) in numeric order; the others keep file order. Each name is
    // parsed once, not in every comparison.
    struct Number {
        bool numeric = false;
        qint64 value = 0;
    };
    std::vector<Number> numbers(tree.nodes.size());
    for (size_t i = 1; i < tree.nodes.size(); ++i)
        numbers[i].numeric = isNumeric(tree.nodes[i].name, &numbers[i].value);
    for (auto& n : tree.nodes) {
        if (n.children.size() < 2)
            continue;
        std::stable_sort(n.children.begin(), n.children.end(), [&](int a, int b) {
            const Number& na = numbers[size_t(a)];
            const Number& nb = numbers[size_t(b)];
            return na.numeric && nb.numeric && na.value < nb.value;
        });
    }
    // Aggregates bottom-up: children always come after their parent in the vector.
    for (size_t i = tree.nodes.size(); i-- > 1;) {
        ModuleNode& n = tree.nodes[i];
        if (n.isLeaf()) {
            const TensorInfo& t = ck.tensors[size_t(n.tensor)];
            const std::int64_t numel = t.error.isEmpty() ? t.numel() : 0;
            (n.role == TensorRole::Parameter ? n.parameters : n.bufferElements) += numel;
            n.bytes += numel * dtypeItemSize(t.dtype);
            n.tensors += 1;
            n.dtypeMask |= std::uint64_t(1) << int(t.dtype);
        }
        ModuleNode& p = tree.nodes[size_t(n.parent)];
        p.parameters += n.parameters;
        p.bufferElements += n.bufferElements;
        p.bytes += n.bytes;
        p.tensors += n.tensors;
        p.dtypeMask |= n.dtypeMask;
    }
    // The repeated block: most numeric children, ties to the one holding more parameters (`blocks`, not the
    // numbered Sequential inside one block).
    std::int64_t bestParams = -1;
    for (const ModuleNode& n : tree.nodes) {
        if (n.isLeaf() || n.children.size() < 2
            || !std::all_of(n.children.begin(), n.children.end(), [&](int c) { return numbers[size_t(c)].numeric; }))
            continue;
        const int count = int(n.children.size());
        if (count > tree.repeatedCount || (count == tree.repeatedCount && n.parameters > bestParams)) {
            tree.repeatedCount = count;
            tree.repeatedBlock = n.fullName;
            bestParams = n.parameters;
        }
    }
    return tree;
}

Semantic analyze(const Checkpoint& ck)
{
    Semantic sem;
    if (!ck.graph.valid(ck.root))
        return sem;
    Finder { ck, sem, {}, {}, {} }.visit(ck.root);

    // The model state dict: the first one named like a model, else the largest that is not an EMA copy.
    for (size_t i = 0; i < sem.stateDicts.size() && sem.primary < 0; ++i)
        if (sem.stateDicts[i].role == QLatin1String("model"))
            sem.primary = int(i);
    for (size_t i = 0; i < sem.stateDicts.size(); ++i)
        if (sem.primary < 0 || (sem.stateDicts[size_t(sem.primary)].role != QLatin1String("model")
                && sem.stateDicts[i].role != QLatin1String("ema")
                && sem.stateDicts[i].entries.size() > sem.stateDicts[size_t(sem.primary)].entries.size()))
            sem.primary = int(i);

    for (auto& opt : sem.optimizers) {
        readOptimizer(ck, opt);
        mapOptimizer(ck, opt, sem);
    }
    if (sem.primary >= 0) {
        const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
        // With an optimizer mapped, what it does not optimize is a buffer; a tied key shares its twin's view.
        ViewSet optimized(ck);
        bool anyMapped = false;
        QHash<QString, int> tensorOf;
        tensorOf.reserve(qsizetype(sd.entries.size()));
        for (const auto& [key, tensor] : sd.entries)
            tensorOf.insert(key, tensor);
        for (const auto& opt : sem.optimizers)
            if (opt.mapped && opt.stateDict == sem.primary) {
                anyMapped = true;
                for (const auto& p : opt.params)
                    optimized.insert(tensorOf.value(p.parameter));
            }
        std::vector<TensorRole> roles;
        roles.reserve(sd.entries.size());
        sem.roles.reserve(sd.entries.size());
        for (const auto& [key, tensor] : sd.entries) {
            const TensorInfo& t = ck.tensors[size_t(tensor)];
            const bool buffer = sd.rolesDeclared
                ? std::find(sd.declaredBuffers.begin(), sd.declaredBuffers.end(), key) != sd.declaredBuffers.end()
                : looksLikeBufferName(key) || !dtypeIsFloatingPoint(t.dtype) || (anyMapped && !optimized.contains(tensor));
            roles.push_back(buffer ? TensorRole::Buffer : TensorRole::Parameter);
            sem.roles[key] = roles.back();
        }
        // A key set twice (crafted pickles): every copy takes the last role, as sem.roles says.
        if (sem.roles.size() != sd.entries.size())
            for (size_t e = 0; e < sd.entries.size(); ++e)
                roles[e] = sem.roles[sd.entries[e].first];
        sem.modules = buildModuleTree(ck, sd, roles);
    }
    collectMetadata(ck, sem);
    addFindings(ck, sem);
    return sem;
}

} // namespace ckpt
