#pragma once

#include "io/error.h"
#include "io/pyobject.h"

namespace ckpt {

// The ('storage', StorageClass, key, location, numel[, view_metadata]) tuple torch writes as a persistent id.
struct StoragePid {
    QString storageClass; // "FloatStorage", "UntypedStorage", ...
    QString key;
    QString location;
    std::int64_t numel = 0;
    ObjId viewMetadata = kNoObject; // legacy only: (view_key, offset, view_size) or None
};

// Returns the parsed id, or a BadPickle error whose `what` says which field is wrong. 'module' ids (legacy
// whole-module pickles) are reported through `isModule` with the class object in `moduleClass`.
struct PidParse {
    bool isModule = false;
    ObjId moduleClass = kNoObject;
    StoragePid storage;
};
Expected<PidParse> parsePersistentId(const ObjectGraph& g, ObjId pid);

// str or bytes as text (torch decodes ascii bytes written by Python 2).
bool textOf(const PyObject& o, QString& out);

} // namespace ckpt
