#pragma once

#include "io/error.h"
#include "io/pyobject.h"
#include "io/tensorinfo.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ckpt {

// Limits that keep a hostile pickle from exhausting memory; every real checkpoint stays far below them.
struct UnpickleLimits {
    size_t maxObjects = 64u * 1024 * 1024;
    size_t maxStack = 16u * 1024 * 1024;
    size_t maxMarks = 1u * 1024 * 1024;
    size_t maxTensorDims = 64;
};

// State shared by the pickles of one file: the object arena, tensors, storages, imports.
struct UnpickleTarget {
    ObjectGraph graph;
    std::vector<TensorInfo> tensors;
    std::vector<StorageInfo> storages;
    std::vector<ImportedGlobal> imports;
};

// Called for PERSID/BINPERSID with the persistent id object; returns the object that stands for it (usually a
// Storage node the callback added to target.storages), or a message saying why the id is invalid.
using PersistentLoad = std::function<Expected<ObjId>(UnpickleTarget& target, ObjId pid)>;

struct UnpickleResult {
    ObjId root = kNoObject;
    size_t consumed = 0; // bytes up to and including STOP
};

// A restricted pickle interpreter (protocols 0-5). It never imports or calls anything: known constructors are
// interpreted, all others become inert Object nodes. Errors carry `file` and `record`.
Expected<UnpickleResult> unpickle(std::span<const std::uint8_t> data, UnpickleTarget& target,
    const PersistentLoad& persistentLoad, const QString& file, const QString& record,
    const UnpickleLimits& limits = {});

} // namespace ckpt
