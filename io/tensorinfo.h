#pragma once

#include "io/dtype.h"

#include <QDebug>
#include <QString>

#include <cstdint>
#include <vector>

namespace ckpt {

// One byte range of the checkpoint file that backs storages: a zip record, a legacy raw storage, the
// safetensors data buffer.
struct Record {
    QString name;
    qint64 offset = 0;        // where the (possibly compressed) bytes start in the file
    qint64 size = 0;          // uncompressed size
    qint64 compressedSize = 0;
    bool deflated = false;
    int file = 0;             // which file of a multi-file checkpoint (Checkpoint::parts) holds it
    int concat = -1;          // >= 0: no bytes on disk; the merge Checkpoint::concats[concat] of other tensors

    bool operator==(const Record&) const = default;
};

// A storage as the pickle declares it. Several tensors may share one (tied weights, views).
struct StorageInfo {
    QString key;             // storage key as written: "0", "1", ... or a memory address in older files
    DType dtype = DType::UInt8; // element type of the storage class (UInt8 for UntypedStorage)
    std::int64_t numel = 0;  // declared elements of dtype
    QString location;        // device the storage was saved from: "cpu", "cuda:0", ...
    int record = -1;         // backing record, -1 when missing
    std::int64_t recordByteOffset = 0; // legacy storage views start inside their root storage
    QString error;           // non-empty: this storage cannot be read

    std::int64_t nbytes() const { return numel * dtypeItemSize(dtype); }
    bool operator==(const StorageInfo&) const = default;
};

// A tensor descriptor: where its elements live and how to walk them. Sizes, strides and offset in elements.
struct TensorInfo {
    DType dtype = DType::Unknown;
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> stride;
    std::int64_t storageOffset = 0;
    int storage = -1;        // index into Checkpoint::storages
    bool requiresGrad = false;
    bool parameter = false;  // rebuilt through torch.nn.Parameter
    QString rebuild;         // the rebuild function that made it ("_rebuild_tensor_v2", ...)
    QString error;           // non-empty: the descriptor is broken and its bytes cannot be read

    // Valid once the descriptor passed validation (overflow-checked there).
    std::int64_t numel() const;
    std::int64_t nbytes() const { return numel() * dtypeItemSize(dtype); }
    bool isContiguous() const;
    bool operator==(const TensorInfo&) const = default;
};

QDebug operator<<(QDebug d, const TensorInfo& t);
QDebug operator<<(QDebug d, const StorageInfo& s);

} // namespace ckpt
