#pragma once

#include "io/checkpoint.h"

#include <QHash>
#include <QStringList>

namespace ckpt {

// What a TorchScript archive's generated code declares for one module class (code/__torch__/....py):
//   class Conv2d(Module):
//     __parameters__ = ["weight", "bias", ]
//     __buffers__ = []
// torch.jit.load takes the parameter/buffer split from these lines; so do we.
struct ScriptClass {
    QString qualifiedName; // "__torch__.torch.nn.modules.conv.Conv2d"
    QStringList parameters;
    QStringList buffers;
    QString record;        // the code record that defines it
};

// The code records of a TorchScript archive (`<prefix>/code/...py`), in archive order; empty for other files.
std::vector<int> scriptCodeRecords(const Checkpoint& ck);

// A code record's text (inflated when deflated); refuses records over 64 MB.
Expected<QString> scriptCodeText(const Checkpoint& ck, int record);

// Module classes declared by the archive's code, by qualified name.
QHash<QString, ScriptClass> scriptClasses(const Checkpoint& ck);

} // namespace ckpt
