#pragma once

#include "io/dtype.h"
#include "io/mappedfile.h"
#include "io/outputsink.h"
#include "io/plainvalue.h"

#include <QString>

#include <optional>
#include <vector>

namespace ckpt {

// A flat state dict to write: tensors by name, each a view of one of `storages` (tied weights share one).
struct StorageOut {
    DType dtype = DType::Float32;
    std::int64_t numel = 0;      // elements of dtype
    ByteProducer produce;        // exactly numel * itemsize bytes
    // Set when those bytes are a verbatim range of a mapped source file: writers then copy file to file in the
    // kernel (copy_file_range, as cp does) and read the map only for the CRC, instead of calling `produce`.
    std::shared_ptr<const MappedFile> rawFile;
    qint64 rawOffset = 0;
    bool releaseRaw = false;     // the map's pages may be released once read
};

struct TensorOut {
    QString name;
    int storage = -1;
    DType dtype = DType::Float32;
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> stride;
    std::int64_t storageOffset = 0;
    bool requiresGrad = false;
};

struct StateDictOut {
    std::vector<StorageOut> storages;
    std::vector<TensorOut> tensors;
    QList<QPair<QString, QString>> metadata; // safetensors __metadata__ (format: pt is always added)
    // torch only: the object written, with exactly one StateDict node where the tensors go (non-tensor entries
    // kept around them); unset: the OrderedDict of tensors alone, as torch.save(model.state_dict()) writes it.
    std::optional<PlainValue> layout;
};

// The container path of the StateDict node in `layout` (dict keys from the root); empty when there is none or
// it is the root.
QStringList stateDictPath(const PlainValue& layout);

using Progress = std::function<void(std::int64_t bytesDone)>;

struct WriteReport {
    std::int64_t bytes = 0;                // tensor bytes written
    std::vector<std::uint32_t> storageCrc; // CRC-32 of each storage's bytes as produced (to verify the file against)
};

// Looks at the finished file before it replaces anything: given a path that reads it (the temporary, through
// /proc/self/fd) and the writer's report, returns the problem, or nothing when the file may be committed. On a
// problem the temporary is removed and the destination keeps what it held.
using ReadBackCheck = std::function<std::optional<QString>(const QString& readablePath, const WriteReport& report)>;

// torch.save's zip layout (torch >= 1.6, as 2.x writes it): records under archive/, data.pkl at protocol 2 with
// _rebuild_tensor_v2 (v3 for dtypes without a typed storage class) and persistent storage ids numbered in the
// order the pickle first names them, data/<n> stored uncompressed at 64-byte aligned offsets in that order, each
// followed by its data descriptor, zip64 where needed: miniz's layout to the byte, which torch >= 2.6 may assume
// rather than read (see ZipOut::begin). Loadable by torch.load(weights_only=True) and with mmap=True.
Expected<WriteReport> writeTorchZip(const QString& path, const StateDictOut& sd, const Progress& progress = {},
    const std::atomic<bool>* cancel = nullptr, const ReadBackCheck& check = {});
// The same into an opened OutputFile, left unsealed and uncommitted (several files can then be checked before any
// of them replaces anything).
Expected<WriteReport> writeTorchZip(OutputFile& f, const StateDictOut& sd, const Progress& progress = {},
    const std::atomic<bool>* cancel = nullptr);

// safetensors: every tensor stored contiguously on its own (views must already be compact: storage offset 0,
// contiguous strides, one tensor per storage), header ordered as the reference writer does and padded to 8.
Expected<WriteReport> writeSafetensors(const QString& path, const StateDictOut& sd, const Progress& progress = {},
    const std::atomic<bool>* cancel = nullptr, const ReadBackCheck& check = {});
Expected<WriteReport> writeSafetensors(OutputFile& f, const StateDictOut& sd, const Progress& progress = {},
    const std::atomic<bool>* cancel = nullptr);

// Opens `path`, writes with `write`, seals with `check` and commits: the path-taking writers above.
Expected<WriteReport> writeAndCommit(const QString& path,
    const std::function<Expected<WriteReport>(OutputFile&)>& write, const ReadBackCheck& check);

// Appends one storage's bytes to `f` (both writers' data path): a raw source range is copied file to file with
// its CRC-32 read from the map, anything else is produced and written chunk by chunk. `done` counts bytes for
// progress. Returns false on a sink failure, a cancel or a producer failure (reason in `why`).
bool writeStorage(OutputFile& f, const StorageOut& st, std::uint32_t& crc, std::int64_t& done, const Progress& progress,
    const std::atomic<bool>* cancel, QString& why);

// The pickle torch.save writes for `sd` (exposed for tests).
QByteArray torchStateDictPickle(const StateDictOut& sd);

} // namespace ckpt
