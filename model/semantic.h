#pragma once

#include "io/checkpoint.h"

#include <QStringList>

#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace ckpt {

// A dict of tensors keyed by dotted names, found somewhere in the checkpoint's object tree.
struct StateDictRef {
    QStringList path;  // container keys from the root ([] when the root itself is the state dict)
    ObjId dict = kNoObject;
    QString role;      // "model", "ema", "other"
    std::vector<std::pair<QString, int>> entries; // key -> tensor index, in file order
    // TorchScript modules declare which attributes are buffers (code/...py `__buffers__`); empty otherwise.
    std::vector<QString> declaredBuffers;
    bool rolesDeclared = false;
    bool operator==(const StateDictRef&) const = default;
};

enum class TensorRole { Parameter, Buffer };

// The parameter/buffer hierarchy of one state dict: `encoder.layers.3.attn.q_proj.weight` becomes
// encoder > layers > 3 > attn > q_proj > weight. Node 0 is the root; children of numeric names sort numerically.
struct ModuleNode {
    QString name;          // last path component
    QString fullName;      // dotted key (for tensors) or module prefix
    int parent = -1;
    std::vector<int> children;
    int tensor = -1;       // leaf: index into Checkpoint::tensors
    TensorRole role = TensorRole::Parameter;
    // Aggregates over the subtree (a leaf counts itself).
    std::int64_t parameters = 0; // elements of parameters
    std::int64_t bufferElements = 0;
    std::int64_t bytes = 0;
    std::int64_t tensors = 0;
    std::uint64_t dtypeMask = 0; // bit per DType

    bool isLeaf() const { return tensor >= 0; }
    bool operator==(const ModuleNode&) const = default;
};

struct ModuleTree {
    std::vector<ModuleNode> nodes;
    // The largest repeated block (e.g. `layers` with 24 numeric children), for "number of layers".
    QString repeatedBlock;
    int repeatedCount = 0;
};

// One optimizer state dict (`{'state': {id: {...}}, 'param_groups': [...]}`) mapped back to parameter names.
struct OptimizerParam {
    std::int64_t id = 0;       // the key in `state` (position across param_groups, or id(p) before torch 0.4)
    int position = 0;          // position across param_groups
    int group = 0;
    QString parameter;         // mapped state dict key, empty when the mapping is ambiguous
    std::vector<std::pair<QString, ObjId>> fields; // exp_avg, exp_avg_sq, momentum_buffer, step, ...
};

struct OptimizerGroup {
    std::vector<std::pair<QString, ObjId>> hyperParameters; // everything but `params`
    std::vector<std::int64_t> params;
};

struct OptimizerInfo {
    QStringList path;
    ObjId dict = kNoObject;
    QString kind;              // best guess from the state and group keys: "Adam/AdamW", "SGD", ...
    std::vector<OptimizerGroup> groups;
    std::vector<OptimizerParam> params; // in position order
    int stateDict = -1;        // index into Semantic::stateDicts it was mapped against
    bool mapped = false;
    QString mappingNote;       // why the mapping is ambiguous, when it is
};

enum class FindingKind { DataParallelPrefix, CompilePrefix, TiedWeights, SavedOnGpu, MixedDtypes, NonFinite, InconsistentSet };

struct Finding {
    FindingKind kind;
    QString message;
    QStringList keys; // the keys concerned (first few)
};

struct Semantic {
    std::vector<StateDictRef> stateDicts;
    int primary = -1;          // the model state dict
    ModuleTree modules;        // of the primary state dict
    std::unordered_map<QString, TensorRole> roles; // key -> role, for the primary state dict
    std::vector<OptimizerInfo> optimizers;
    std::vector<Finding> findings;
    // Scalars worth a summary line: epoch, step, versions, learning rate, ... (label, rendered value)
    std::vector<std::pair<QString, QString>> metadata;
};

Semantic analyze(const Checkpoint& ck);

// `roles`: one per entry of `sd`, in its order.
ModuleTree buildModuleTree(const Checkpoint& ck, const StateDictRef& sd, const std::vector<TensorRole>& roles);

// Buffers by name alone (BatchNorm running stats and the like), when no optimizer says otherwise.
bool looksLikeBufferName(const QString& key);

} // namespace ckpt
