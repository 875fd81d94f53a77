#pragma once

#include "io/error.h"
#include "io/mappedfile.h"
#include "io/pyobject.h"
#include "io/tensorinfo.h"

#include <QList>
#include <QPair>

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace ckpt {

enum class Format { TorchZip, TorchLegacy, Safetensors };
QString formatName(Format f); // "torch-zip", "torch-legacy", "safetensors"

// Everything a checkpoint declares, parsed eagerly; tensor bytes stay in the memory map until asked for.
// Immutable after open, so it is shared across threads as std::shared_ptr<const Checkpoint>.
class Checkpoint {
public:
    QString path;
    Format format = Format::TorchZip;
    qint64 fileSize = 0;
    QString archivePrefix;            // torch zip: folder all records live in ("archive", the file stem, ...)
    bool bigEndian = false;           // torch zip `byteorder` record / legacy sys_info
    bool torchScript = false;         // torch zip with constants.pkl (torch.jit.save)
    QList<QPair<QString, QString>> metadata; // safetensors __metadata__; torch zip small text records

    ObjectGraph graph;
    ObjId root = kNoObject;
    std::vector<Record> records;
    std::vector<StorageInfo> storages;
    std::vector<TensorInfo> tensors;
    std::vector<ImportedGlobal> imports;

    // The bytes of a storage (from its record offset), or why they cannot be read.
    Expected<std::span<const std::uint8_t>> storageBytes(int storage) const;
    // The tensor's elements, gathered through its strides into a contiguous little-endian buffer.
    Expected<QByteArray> tensorBytes(int tensor) const;
    // Bytes of a record; deflated records are inflated once and cached.
    Expected<std::span<const std::uint8_t>> recordBytes(int record) const;

    const MappedFile& file() const { return *m_file; }
    void setFile(std::shared_ptr<const MappedFile> f) { m_file = std::move(f); }

    // Marks tensors whose storage is broken or too short, checks shapes and strides for overflow.
    void validate();

private:
    std::shared_ptr<const MappedFile> m_file;
    mutable std::mutex m_inflateMutex;
    mutable std::map<int, QByteArray> m_inflated;
};

using CheckpointPtr = std::shared_ptr<const Checkpoint>;

// Detects the format from the first bytes (not the extension) and reads all metadata.
Expected<CheckpointPtr> openCheckpoint(const QString& path);

// Readers for one format each; `file` is already mapped.
Expected<std::shared_ptr<Checkpoint>> readTorchZip(std::shared_ptr<const MappedFile> file);
Expected<std::shared_ptr<Checkpoint>> readTorchLegacy(std::shared_ptr<const MappedFile> file);
Expected<std::shared_ptr<Checkpoint>> readSafetensors(std::shared_ptr<const MappedFile> file);

} // namespace ckpt
