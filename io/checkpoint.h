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

// One file of a checkpoint spread over several (a shard, a rank's file, ...).
struct CheckpointPart {
    QString path;             // absolute
    QString name;             // relative to the set's folder, as shown
    Format format = Format::TorchZip;
    qint64 size = 0;
    QString role;             // "shard 2 of 30", "model states, tensor-parallel rank 1", ...
    int tensorBegin = 0;      // the part's tensors are Checkpoint::tensors[tensorBegin, tensorEnd)
    int tensorEnd = 0;
    int tpRank = -1;          // tensor-parallel rank, -1 when the layout has none
    int ppRank = -1;          // pipeline stage
    int dpRank = -1;          // data-parallel (ZeRO) rank
    bool operator==(const CheckpointPart&) const = default;
};

// A tensor that exists only as the concatenation of others (tensor-parallel slices of one logical weight).
struct ConcatSpec {
    std::vector<int> tensors; // in rank order
    int dim = 0;
    bool operator==(const ConcatSpec&) const = default;
};

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

    // Multi-file checkpoints (sharded sets, training-framework folders); empty for a single file.
    QString layout;                   // "huggingface-sharded", "deepspeed", "megatron", ...; empty for one file
    std::vector<CheckpointPart> parts;
    QStringList problems;             // what is inconsistent about the set (missing shard, key in no file, ...)
    std::vector<ConcatSpec> concats;  // merged tensor-parallel views, backing records with concat >= 0

    ObjectGraph graph;
    ObjId root = kNoObject;
    ObjId scriptConstants = kNoObject; // TorchScript archives: the constants.pkl tuple (tensors the code uses)
    std::vector<Record> records;
    std::vector<StorageInfo> storages;
    std::vector<TensorInfo> tensors;
    std::vector<ImportedGlobal> imports;

    // The bytes of a storage (from its record offset), or why they cannot be read.
    Expected<std::span<const std::uint8_t>> storageBytes(int storage) const;
    // The tensor's elements, gathered through its strides into a contiguous little-endian buffer.
    Expected<QByteArray> tensorBytes(int tensor) const;
    // Bytes of a record; deflated records are inflated once and cached, merged (concat) records built once.
    Expected<std::span<const std::uint8_t>> recordBytes(int record) const;

    const MappedFile& file(int i = 0) const { return *m_files[size_t(i)]; }
    const std::shared_ptr<const MappedFile>& fileHandle(int i = 0) const { return m_files[size_t(i)]; }
    int fileCount() const { return int(m_files.size()); }
    void setFile(std::shared_ptr<const MappedFile> f) { m_files = { std::move(f) }; }
    int addFile(std::shared_ptr<const MappedFile> f)
    {
        m_files.push_back(std::move(f));
        return int(m_files.size()) - 1;
    }
    // True when the record's bytes are the file's own mapped pages (not an inflated or merged heap copy): only
    // those may be handed to MappedFile::releasePages.
    bool recordIsMapped(int record) const
    {
        return record >= 0 && size_t(record) < records.size() && !records[size_t(record)].deflated
            && records[size_t(record)].concat < 0;
    }
    // The merge a storage (or a tensor's storage) stands for when it is a merged tensor-parallel view, else null.
    const ConcatSpec* mergeOfStorage(int storage) const;
    const ConcatSpec* mergeOf(int tensor) const
    {
        return tensor >= 0 && size_t(tensor) < tensors.size() ? mergeOfStorage(tensors[size_t(tensor)].storage) : nullptr;
    }
    // Index of the part a tensor was read from, -1 for single files and merged views.
    int partOfTensor(int tensor) const;

    // Marks tensors whose storage is broken or too short, checks shapes and strides for overflow.
    void validate();

private:
    Expected<QByteArray> buildConcat(const ConcatSpec& spec) const;

    std::vector<std::shared_ptr<const MappedFile>> m_files;
    mutable std::mutex m_inflateMutex;
    mutable std::map<int, QByteArray> m_inflated;
};

using CheckpointPtr = std::shared_ptr<const Checkpoint>;

// Opens what a user points at: a file (format from its first bytes, not the extension), a Hugging Face
// `*.index.json`, one shard of a sharded set (opens the whole set), or a folder (a sharded set, a DeepSpeed,
// Megatron or Lightning checkpoint folder). Reads metadata only.
Expected<CheckpointPtr> openCheckpoint(const QString& path);
// Exactly one file, never the set it belongs to.
Expected<CheckpointPtr> openCheckpointFile(const QString& path);

// Readers for one format each; `file` is already mapped.
Expected<std::shared_ptr<Checkpoint>> readTorchZip(std::shared_ptr<const MappedFile> file);
Expected<std::shared_ptr<Checkpoint>> readTorchLegacy(std::shared_ptr<const MappedFile> file);
Expected<std::shared_ptr<Checkpoint>> readSafetensors(std::shared_ptr<const MappedFile> file);

} // namespace ckpt
