#pragma once

#include "io/error.h"
#include "io/pyobject.h"
#include "io/unpickler.h"

#include <vector>

namespace ckpt {

// Every pickle a file holds, interpreted (never executed) for what it imports and calls: each pickle record of a
// zip (data.pkl, constants.pkl, anything else ending in .pkl), the five pickles of a legacy torch file, or a raw
// pickle file (.pkl). safetensors files hold no pickle.
struct ScannedPickle {
    QString record;            // "archive/data.pkl", "pickle", ...
    UnpickleTarget target;     // imports, and the object graph to locate each call in
    ObjId root = kNoObject;
    QString error;             // the pickle is malformed from this point (what was read before still counts)
};

struct PickleScan {
    QString path;
    QString format;            // "torch-zip", "torch-legacy", "pickle", "safetensors"
    std::vector<ScannedPickle> pickles;
};

Expected<PickleScan> scanPickles(const QString& path);

} // namespace ckpt
