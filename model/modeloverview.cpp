#include "model/modeloverview.h"

#include "model/tensornames.h"

#include <QLocale>

#include <algorithm>
#include <numeric>

namespace ckpt {

ModelOverview overview(const Checkpoint& ck, const Semantic& sem, const TensorNames& names, int largestCount)
{
    ModelOverview o;
    if (sem.primary >= 0 && !sem.modules.nodes.empty()) {
        const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
        o.stateDict = sd.path.isEmpty() ? QStringLiteral("<root>") : sd.path.join(QLatin1Char('/'));
        const ModuleNode& root = sem.modules.nodes.front();
        o.parameters = root.parameters;
        o.bufferElements = root.bufferElements;
        o.modelBytes = root.bytes;
        o.modelTensors = root.tensors;
        for (int c : root.children) {
            const ModuleNode& n = sem.modules.nodes[size_t(c)];
            o.topModules.push_back({ n.name, n.parameters, n.bytes });
        }
        o.repeatedBlock = sem.modules.repeatedBlock;
        o.layers = sem.modules.repeatedCount;
    }
    for (size_t i = 0; i < sem.stateDicts.size(); ++i)
        if (int(i) != sem.primary) {
            const StateDictRef& sd = sem.stateDicts[i];
            o.otherStateDicts << QStringLiteral("%1 (%2, %3 tensors)")
                                     .arg(sd.path.isEmpty() ? QStringLiteral("<root>") : sd.path.join(QLatin1Char('/')), sd.role)
                                     .arg(sd.entries.size());
        }
    for (const OptimizerInfo& opt : sem.optimizers)
        o.optimizers << QStringLiteral("%1 at %2: %3 parameters in %4 group(s)%5")
                            .arg(opt.kind, opt.path.join(QLatin1Char('/')))
                            .arg(opt.params.size())
                            .arg(opt.groups.size())
                            .arg(opt.mapped ? QStringLiteral(", mapped to parameter names") : QStringLiteral("; ") + opt.mappingNote);

    std::vector<int> order(ck.tensors.size());
    std::iota(order.begin(), order.end(), 0);
    const auto bytes = [&](int t) { return ck.tensors[size_t(t)].error.isEmpty() ? ck.tensors[size_t(t)].nbytes() : 0; };
    const size_t keep = std::min(order.size(), size_t(std::max(0, largestCount)));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(keep), order.end(), [&](int a, int b) {
        const auto ba = bytes(a), bb = bytes(b);
        return ba != bb ? ba > bb : a < b;
    });
    for (size_t i = 0; i < keep; ++i)
        o.largest.push_back({ names.name(order[i]), order[i], bytes(order[i]) });
    return o;
}

Finding nonFiniteFinding(const std::vector<int>& tensors, const std::vector<std::int64_t>& counts, const TensorNames& names)
{
    Finding f { FindingKind::NonFinite, {}, {} };
    std::int64_t total = 0;
    for (auto c : counts)
        total += c;
    for (size_t i = 0; i < tensors.size() && i < 5; ++i)
        f.keys << names.name(tensors[i]);
    QString list = f.keys.join(QStringLiteral(", "));
    if (tensors.size() > 5)
        list += QStringLiteral(", ...");
    f.message = QStringLiteral("%1 NaN/Inf %2 in %3 %4: %5")
                    .arg(QLocale().toString(qlonglong(total)), total == 1 ? QStringLiteral("value") : QStringLiteral("values"))
                    .arg(tensors.size())
                    .arg(tensors.size() == 1 ? QStringLiteral("tensor") : QStringLiteral("tensors"), list);
    return f;
}

} // namespace ckpt
