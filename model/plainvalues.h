#pragma once

#include "io/checkpoint.h"
#include "io/plainvalue.h"

#include <optional>

namespace ckpt {

// A parsed object as a plain value (what an export may keep of a non-tensor entry), or why it cannot be one:
// `holdsTensor` is set when a tensor or storage lies inside (the entry is state, not metadata); otherwise `why`
// names what torch.load(weights_only=True) would refuse (an object of some class, a set, ...). numpy scalars
// become Python numbers.
struct PlainConversion {
    std::optional<PlainValue> value;
    bool holdsTensor = false;
    QString why;
};
PlainConversion plainValueOf(const ObjectGraph& g, ObjId id);

// The same, with the tensors of `ck` read back as nothing: for comparing a written file's non-tensor entries.
bool isScalarPlain(const PlainValue& v);

} // namespace ckpt
