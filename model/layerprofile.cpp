#include "model/layerprofile.h"

#include <algorithm>
#include <cmath>

namespace ckpt {
namespace {

bool isIndex(const QString& s)
{
    if (s.isEmpty())
        return false;
    return std::all_of(s.begin(), s.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
}

} // namespace

QDebug operator<<(QDebug d, const LayerFigures& f)
{
    QDebugStateSaver saver(d);
    d.nospace() << "LayerFigures(" << f.fullName << ", params=" << f.parameters << ", l2=" << f.l2.value_or(-1) << ')';
    return d;
}

std::vector<int> repeatedBlocks(const ModuleTree& tree)
{
    std::vector<int> out;
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
        const ModuleNode& n = tree.nodes[i];
        if (n.isLeaf() || n.children.size() < 2)
            continue;
        if (std::all_of(n.children.begin(), n.children.end(), [&](int c) {
                const ModuleNode& child = tree.nodes[size_t(c)];
                return !child.isLeaf() && isIndex(child.name);
            }))
            out.push_back(int(i));
    }
    std::stable_sort(out.begin(), out.end(), [&](int a, int b) {
        const ModuleNode& na = tree.nodes[size_t(a)];
        const ModuleNode& nb = tree.nodes[size_t(b)];
        if (na.children.size() != nb.children.size())
            return na.children.size() > nb.children.size();
        return na.parameters > nb.parameters;
    });
    return out;
}

LayerProfile layerProfile(const ModuleTree& tree, int blockNode, const StatsLookup& stats)
{
    LayerProfile p;
    if (blockNode < 0 || size_t(blockNode) >= tree.nodes.size())
        return p;
    const ModuleNode& block = tree.nodes[size_t(blockNode)];
    p.block = block.fullName;
    p.node = blockNode;
    for (int c : block.children) {
        const ModuleNode& n = tree.nodes[size_t(c)];
        LayerFigures f { n.name, n.fullName, c, n.parameters, n.bytes, n.tensors, std::nullopt, 0 };
        double sumSquares = 0;
        bool complete = true;
        // Depth-first over the block's subtree; leaves are its tensors.
        std::vector<int> stack { c };
        while (!stack.empty()) {
            const ModuleNode& m = tree.nodes[size_t(stack.back())];
            stack.pop_back();
            stack.insert(stack.end(), m.children.begin(), m.children.end());
            if (!m.isLeaf())
                continue;
            const StatsResult* r = stats ? stats(m.tensor) : nullptr;
            if (r && r->stats)
                f.nonFinite += r->stats->nan + r->stats->inf;
            if (m.role != TensorRole::Parameter)
                continue;
            if (!r)
                complete = false;
            else if (r->stats)
                sumSquares += r->stats->l2 * r->stats->l2;
        }
        if (complete) {
            f.l2 = std::sqrt(sumSquares);
            ++p.l2Known;
        }
        p.layers.push_back(std::move(f));
    }
    return p;
}

} // namespace ckpt
