#include "model/tensorlist.h"

#include "model/objectchildren.h"

namespace ckpt {
namespace {

struct Walker {
    const ObjectGraph& g;
    std::vector<TensorEntry>& out;
    QStringList path;
    std::vector<ObjId> onPath; // a pickle can build cycles through the memo
    size_t budget = 20'000'000; // and share subtrees exponentially often: bound the walk

    void visit(ObjId id)
    {
        if (budget == 0)
            return;
        --budget;
        const PyObject& o = g.at(id);
        if (o.kind == ObjKind::Tensor) {
            out.push_back({ path, int(o.integer) });
            return;
        }
        if (int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
            return;
        onPath.push_back(id);
        for (const auto& child : objectChildren(g, id)) {
            path.push_back(child.key);
            visit(child.id);
            path.pop_back();
        }
        onPath.pop_back();
    }
};

} // namespace

std::vector<TensorEntry> listTensors(const Checkpoint& ck)
{
    std::vector<TensorEntry> out;
    if (!ck.graph.valid(ck.root))
        return out;
    Walker w { ck.graph, out, {}, {} };
    w.visit(ck.root);
    return out;
}

} // namespace ckpt
