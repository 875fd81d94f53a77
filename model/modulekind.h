#pragma once

#include "model/semantic.h"

namespace ckpt {

// What a module probably is, guessed from the names and shapes of its tensors: "Linear", "Embedding",
// "Conv2d", "BatchNorm", "Norm", "Attention" (nn.MultiheadAttention), "list of 12", or "module". A state dict does not name
// classes, so this is a reading aid and never drives anything else.
QString moduleKind(const Checkpoint& ck, const ModuleTree& tree, int node);

} // namespace ckpt
