#include "model/optimizerstate.h"

namespace ckpt {
namespace {

int tensorOfKey(const Semantic& sem, const QString& key)
{
    if (sem.primary < 0)
        return -1;
    for (const auto& [k, t] : sem.stateDicts[size_t(sem.primary)].entries)
        if (k == key)
            return t;
    return -1;
}

bool sameView(const TensorInfo& a, const TensorInfo& b)
{
    return a.storage == b.storage && a.storage >= 0 && a.storageOffset == b.storageOffset && a.shape == b.shape
        && a.stride == b.stride;
}

} // namespace

std::vector<ParameterState> optimizerStateFor(const Checkpoint& ck, const Semantic& sem, const QString& key)
{
    std::vector<ParameterState> out;
    if (sem.primary < 0)
        return out;
    // The key itself first, then the keys tied to it (one parameter under several names).
    QStringList names { key };
    const auto& entries = sem.stateDicts[size_t(sem.primary)].entries;
    const int tensor = tensorOfKey(sem, key);
    if (tensor >= 0)
        for (const auto& [k, t] : entries)
            if (k != key && sameView(ck.tensors[size_t(t)], ck.tensors[size_t(tensor)]))
                names << k;
    for (size_t o = 0; o < sem.optimizers.size(); ++o) {
        const OptimizerInfo& opt = sem.optimizers[o];
        if (!opt.mapped || opt.stateDict != sem.primary)
            continue;
        const OptimizerParam* found = nullptr;
        for (const QString& name : names) {
            for (const OptimizerParam& p : opt.params)
                if (p.parameter == name) {
                    found = &p;
                    break;
                }
            if (found)
                break;
        }
        if (!found)
            continue;
        const OptimizerGroup* group
            = found->group >= 0 && size_t(found->group) < opt.groups.size() ? &opt.groups[size_t(found->group)] : nullptr;
        out.push_back({ int(o), &opt, found, group });
    }
    return out;
}

std::vector<std::pair<QString, int>> stateTensors(const Checkpoint& ck, const OptimizerParam& param)
{
    std::vector<std::pair<QString, int>> out;
    for (const auto& [field, obj] : param.fields) {
        if (!ck.graph.valid(obj))
            continue;
        const PyObject& o = ck.graph.at(obj);
        if (o.kind == ObjKind::Tensor && !ck.tensors[size_t(o.integer)].shape.empty())
            out.emplace_back(field, int(o.integer));
    }
    return out;
}

} // namespace ckpt
