#include "model/tensorlist.h"

#include "model/objectchildren.h"

namespace ckpt {
namespace {

struct Walker {
    const ObjectGraph& g;
    std::vector<TensorEntry>& out;
    QStringList path;
    std::vector<ObjId> onPath; // a pickle can build cycles through the memo
    size_t budget = 20'000'000; // nodes visited: a pickle can share subtrees exponentially often
    size_t keys = 0;            // path keys stored: what the entries cost in memory
    bool truncated = false;
    // Subtrees already walked that reach no tensor: a pickle can refer to one big container of plain values many
    // times (100,000 references to a 100,000-entry dict spent the whole budget, 14 s under ASan, to list nothing).
    // Only a walk that nothing cut short proves it: a cycle or the depth cap may have hidden a tensor that the same
    // object reaches when entered from elsewhere.
    std::vector<bool> tensorFree = std::vector<bool>(g.size());
    size_t cuts = 0;

    void visit(ObjId id)
    {
        if (budget == 0 || truncated) {
            truncated = true;
            return;
        }
        --budget;
        const PyObject& o = g.at(id);
        if (o.kind == ObjKind::Tensor) {
            keys += size_t(path.size()) + 1;
            if (keys > kMaxListedPathKeys) {
                truncated = true;
                return;
            }
            out.push_back({ path, int(o.integer) });
            return;
        }
        if (tensorFree[id])
            return;
        if (int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end()) {
            ++cuts;
            return;
        }
        const size_t listedBefore = out.size(), cutsBefore = cuts;
        onPath.push_back(id);
        for (const auto& child : objectChildren(g, id)) {
            path.push_back(child.key);
            visit(child.id);
            path.pop_back();
        }
        onPath.pop_back();
        if (!truncated && out.size() == listedBefore && cuts == cutsBefore)
            tensorFree[id] = true;
    }
};

} // namespace

std::vector<TensorEntry> listTensors(const Checkpoint& ck, bool* truncated)
{
    std::vector<TensorEntry> out;
    if (truncated)
        *truncated = false;
    if (!ck.graph.valid(ck.root))
        return out;
    Walker w { ck.graph, out, {}, {} };
    w.visit(ck.root);
    if (truncated)
        *truncated = w.truncated;
    return out;
}

} // namespace ckpt
