#include "model/modulekind.h"

#include <algorithm>

namespace ckpt {
namespace {

bool isIndex(const QString& s)
{
    return !s.isEmpty() && std::all_of(s.begin(), s.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
}

bool embeddingName(const QString& name)
{
    const QString n = name.toLower();
    for (const char* hint : { "emb", "wte", "wpe", "tok", "token", "vocab", "lookup" })
        if (n.contains(QLatin1String(hint)))
            return true;
    return false;
}

} // namespace

QString moduleKind(const Checkpoint& ck, const ModuleTree& tree, int node)
{
    const ModuleNode& n = tree.nodes[size_t(node)];
    if (node == 0)
        return QStringLiteral("state dict");
    if (n.isLeaf())
        return n.role == TensorRole::Parameter ? QStringLiteral("parameter") : QStringLiteral("buffer");
    if (n.children.size() >= 2 && std::all_of(n.children.begin(), n.children.end(), [&](int c) {
            return !tree.nodes[size_t(c)].isLeaf() && isIndex(tree.nodes[size_t(c)].name);
        }))
        return QStringLiteral("list of %1").arg(n.children.size());

    const TensorInfo* weight = nullptr;
    bool bias = false, runningStats = false, inProj = false;
    for (int c : n.children) {
        const ModuleNode& child = tree.nodes[size_t(c)];
        if (!child.isLeaf())
            continue;
        if (child.name == QLatin1String("weight"))
            weight = &ck.tensors[size_t(child.tensor)];
        else if (child.name == QLatin1String("bias"))
            bias = true;
        else if (child.name == QLatin1String("running_mean") || child.name == QLatin1String("running_var"))
            runningStats = true;
        else if (child.name == QLatin1String("in_proj_weight"))
            inProj = true;
    }
    if (inProj)
        return QStringLiteral("Attention");
    if (runningStats)
        return QStringLiteral("BatchNorm");
    if (!weight)
        return QStringLiteral("module");
    switch (weight->shape.size()) {
    case 1: return QStringLiteral("Norm");
    case 2:
        if (!bias && embeddingName(n.name))
            return QStringLiteral("Embedding");
        return QStringLiteral("Linear");
    case 3: return QStringLiteral("Conv1d");
    case 4: return QStringLiteral("Conv2d");
    case 5: return QStringLiteral("Conv3d");
    default: return QStringLiteral("module");
    }
}

} // namespace ckpt
