#pragma once

#include "io/checkpoint.h"

#include <QString>

#include <vector>

namespace ckpt {

// The one definition of "what is inside an object" shared by the tree model, the tensor listing and the CLI:
// dict entries by key, list/tuple/set elements by index, an inert object's items, attributes (BUILD state) and
// call arguments.
struct ObjectChild {
    QString key;
    ObjId id = kNoObject;
    bool viaArgs = false; // reached through an opaque call's arguments, not a container
};

std::vector<ObjectChild> objectChildren(const ObjectGraph& g, ObjId id);
bool hasChildren(const ObjectGraph& g, ObjId id);
// At least as many as objectChildren() returns, without building them (for budgets).
size_t childCountBound(const ObjectGraph& g, ObjId id);

// A dict key as a path element: strings as they are, ints as decimal, others as a Python-like repr.
QString keyText(const ObjectGraph& g, ObjId key);
// Short Python-like rendering of a scalar or the type of a container ("OrderedDict", "list", "tensor").
QString typeText(const ObjectGraph& g, ObjId id);
QString valueText(const ObjectGraph& g, ObjId id, int maxChars = 200);
// "[3, 4]": how shapes and strides are written everywhere in the program.
QString shapeText(const std::vector<std::int64_t>& v);

// Nesting beyond this is shown as a leaf; a hostile pickle can nest millions deep.
inline constexpr int kMaxTreeDepth = 256;

} // namespace ckpt
