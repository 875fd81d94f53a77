#include "io/checkpoint.h"

#include "io/ziparchive.h"

#include <spdlog/spdlog.h>

#include <QElapsedTimer>

#include <algorithm>
#include <cstring>
#include <new>

namespace ckpt {

QString formatName(Format f)
{
    switch (f) {
    case Format::TorchZip: return QStringLiteral("torch-zip");
    case Format::TorchLegacy: return QStringLiteral("torch-legacy");
    case Format::Safetensors: return QStringLiteral("safetensors");
    }
    return QStringLiteral("unknown");
}

Expected<std::span<const std::uint8_t>> Checkpoint::recordBytes(int record) const
{
    if (record < 0 || size_t(record) >= records.size())
        return Error { ErrorKind::MissingRecord, path, {}, QStringLiteral("record %1 does not exist").arg(record) };
    const Record& r = records[size_t(record)];
    const auto asSpan = [](const QByteArray& b) {
        return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.constData()), size_t(b.size()));
    };
    if (r.concat >= 0) {
        {
            std::lock_guard lock(m_inflateMutex);
            if (auto it = m_inflated.find(record); it != m_inflated.end())
                return asSpan(it->second);
        }
        if (size_t(r.concat) >= concats.size())
            return Error { ErrorKind::MissingRecord, path, r.name, QStringLiteral("merge %1 does not exist").arg(r.concat) };
        // Built outside the lock: the parts' own records may need inflating, which takes the same lock.
        auto merged = buildConcat(concats[size_t(r.concat)]);
        if (!merged)
            return merged.error();
        if (merged->size() != r.size)
            return Error { ErrorKind::OutOfBounds, path, r.name,
                QStringLiteral("merged %1 bytes, %2 expected").arg(merged->size()).arg(r.size) };
        std::lock_guard lock(m_inflateMutex);
        return asSpan(m_inflated.emplace(record, std::move(*merged)).first->second);
    }
    if (r.file < 0 || size_t(r.file) >= m_files.size())
        return Error { ErrorKind::MissingRecord, path, r.name, QStringLiteral("file %1 does not exist").arg(r.file) };
    const MappedFile& f = *m_files[size_t(r.file)];
    if (!r.deflated)
        return f.slice(r.offset, r.size);
    std::lock_guard lock(m_inflateMutex);
    auto it = m_inflated.find(record);
    if (it == m_inflated.end()) {
        auto bytes = inflateZipEntry(f, r);
        if (!bytes)
            return bytes.error();
        it = m_inflated.emplace(record, std::move(*bytes)).first;
    }
    return asSpan(it->second);
}

Expected<QByteArray> Checkpoint::buildConcat(const ConcatSpec& spec) const
{
    if (spec.tensors.empty())
        return Error { ErrorKind::MissingRecord, path, {}, QStringLiteral("a merge of no tensors") };
    std::vector<QByteArray> pieces;
    std::int64_t outer = 1, inner = 1;
    const TensorInfo* first = nullptr;
    for (int t : spec.tensors) {
        if (t < 0 || size_t(t) >= tensors.size())
            return Error { ErrorKind::MissingRecord, path, {}, QStringLiteral("merge part %1 does not exist").arg(t) };
        auto b = tensorBytes(t);
        if (!b)
            return b.error();
        pieces.push_back(std::move(*b));
        first = first ? first : &tensors[size_t(t)];
    }
    const int item = dtypeItemSize(first->dtype);
    if (spec.dim < 0 || size_t(spec.dim) >= first->shape.size())
        return Error { ErrorKind::OutOfBounds, path, {}, QStringLiteral("merge along dimension %1").arg(spec.dim) };
    for (int d = 0; d < spec.dim; ++d)
        outer *= first->shape[size_t(d)];
    for (size_t d = size_t(spec.dim) + 1; d < first->shape.size(); ++d)
        inner *= first->shape[d];
    qint64 total = 0;
    for (const auto& p : pieces)
        total += p.size();
    QByteArray out;
    try {
        out = QByteArray(qsizetype(total), Qt::Uninitialized);
    } catch (const std::bad_alloc&) {
        return Error { ErrorKind::LimitExceeded, path, {}, QStringLiteral("out of memory for a merged %1 bytes").arg(total) };
    }
    for (size_t p = 0; p < pieces.size(); ++p)
        if (pieces[p].size() != outer * tensors[size_t(spec.tensors[p])].shape[size_t(spec.dim)] * inner * item)
            return Error { ErrorKind::OutOfBounds, path, {}, QStringLiteral("merge part %1 has an unexpected size").arg(p) };
    // Row-major: for each index before the merge dimension, each rank's block of that dimension in turn.
    char* dst = out.data();
    for (std::int64_t o = 0; o < outer; ++o)
        for (size_t p = 0; p < pieces.size(); ++p) {
            const std::int64_t block = tensors[size_t(spec.tensors[p])].shape[size_t(spec.dim)] * inner * item;
            std::memcpy(dst, pieces[p].constData() + o * block, size_t(block));
            dst += block;
        }
    return out;
}

const ConcatSpec* Checkpoint::mergeOfStorage(int storage) const
{
    if (storage < 0 || size_t(storage) >= storages.size())
        return nullptr;
    const int r = storages[size_t(storage)].record;
    if (r < 0 || size_t(r) >= records.size() || records[size_t(r)].concat < 0 || size_t(records[size_t(r)].concat) >= concats.size())
        return nullptr;
    return &concats[size_t(records[size_t(r)].concat)];
}

int Checkpoint::partOfTensor(int tensor) const
{
    for (size_t i = 0; i < parts.size(); ++i)
        if (tensor >= parts[i].tensorBegin && tensor < parts[i].tensorEnd)
            return int(i);
    return -1;
}

Expected<std::span<const std::uint8_t>> Checkpoint::storageBytes(int storage) const
{
    if (storage < 0 || size_t(storage) >= storages.size())
        return Error { ErrorKind::MissingRecord, path, {}, QStringLiteral("storage %1 does not exist").arg(storage) };
    const StorageInfo& s = storages[size_t(storage)];
    if (!s.error.isEmpty())
        return Error { ErrorKind::OutOfBounds, path, QStringLiteral("storage %1").arg(s.key), s.error };
    auto rec = recordBytes(s.record);
    if (!rec)
        return rec.error();
    // validate() checks this for files from openCheckpoint(); a reader's result is not validated yet.
    std::int64_t nbytes = 0;
    if (s.recordByteOffset < 0 || s.numel < 0
        || __builtin_mul_overflow(s.numel, std::int64_t(dtypeItemSize(s.dtype)), &nbytes)
        || size_t(s.recordByteOffset) > rec->size() || size_t(nbytes) > rec->size() - size_t(s.recordByteOffset))
        return Error { ErrorKind::OutOfBounds, path, QStringLiteral("storage %1").arg(s.key),
            QStringLiteral("needs %1 elements at byte %2 but its record holds %3 bytes")
                .arg(s.numel)
                .arg(s.recordByteOffset)
                .arg(rec->size()) };
    return rec->subspan(size_t(s.recordByteOffset), size_t(nbytes));
}

namespace {

constexpr qint64 kMaxGatherBytes = qint64(1) << 30;

void swapElements(char* data, qint64 count, int width)
{
    for (qint64 i = 0; i < count; ++i) {
        char* e = data + i * width;
        for (int a = 0, b = width - 1; a < b; ++a, --b)
            std::swap(e[a], e[b]);
    }
}

} // namespace

Expected<QByteArray> Checkpoint::tensorBytes(int tensor) const
{
    if (tensor < 0 || size_t(tensor) >= tensors.size())
        return Error { ErrorKind::MissingRecord, path, {}, QStringLiteral("tensor %1 does not exist").arg(tensor) };
    const TensorInfo& t = tensors[size_t(tensor)];
    if (!t.error.isEmpty())
        return Error { ErrorKind::OutOfBounds, path, QStringLiteral("tensor %1").arg(tensor), t.error };
    auto src = storageBytes(t.storage);
    if (!src)
        return src.error();
    const int item = dtypeItemSize(t.dtype);
    const qint64 n = t.numel();
    // A tensor with a zero stride (torch.expand) gathers to more bytes than its storage holds: cap that, so a
    // 4-byte storage expanded to 2^40 elements is refused instead of allocated.
    if (t.nbytes() > std::max<qint64>(qint64(src->size()), kMaxGatherBytes))
        return Error { ErrorKind::LimitExceeded, path, QStringLiteral("tensor %1").arg(tensor),
            QStringLiteral("gathering its %1 elements takes %2 bytes, more than its storage (%3 bytes) or %4 bytes")
                .arg(n)
                .arg(t.nbytes())
                .arg(src->size())
                .arg(kMaxGatherBytes) };
    QByteArray out;
    try {
        out = QByteArray(qsizetype(n * item), Qt::Uninitialized);
    } catch (const std::bad_alloc&) {
        return Error { ErrorKind::LimitExceeded, path, QStringLiteral("tensor %1").arg(tensor),
            QStringLiteral("out of memory for its %1 bytes").arg(t.nbytes()) };
    }
    const auto* base = src->data() + t.storageOffset * item;
    if (t.isContiguous()) {
        if (n)
            std::memcpy(out.data(), base, size_t(n * item));
    } else {
        // Odometer walk over the indices; validate() proved every element lies inside the storage.
        const size_t dims = t.shape.size();
        std::vector<std::int64_t> idx(dims, 0);
        char* dst = out.data();
        std::int64_t off = 0;
        for (qint64 k = 0; k < n; ++k) {
            std::memcpy(dst + k * item, base + off * item, size_t(item));
            for (size_t d = dims; d-- > 0;) {
                if (++idx[d] < t.shape[d]) {
                    off += t.stride[d];
                    break;
                }
                off -= t.stride[d] * (t.shape[d] - 1);
                idx[d] = 0;
            }
        }
    }
    if (bigEndian && item > 1) {
        const bool complex = t.dtype == DType::Complex64 || t.dtype == DType::Complex128 || t.dtype == DType::Complex32;
        const int width = complex ? item / 2 : item;
        swapElements(out.data(), n * item / width, width);
    }
    return out;
}

void Checkpoint::validate()
{
    for (auto& s : storages) {
        if (!s.error.isEmpty())
            continue;
        std::int64_t nbytes = 0;
        if (s.numel < 0 || __builtin_mul_overflow(s.numel, std::int64_t(dtypeItemSize(s.dtype)), &nbytes)) {
            s.error = QStringLiteral("declared size %1 elements is invalid").arg(s.numel);
            continue;
        }
        if (s.record < 0 || size_t(s.record) >= records.size()) {
            s.error = QStringLiteral("no record holds this storage's bytes");
            continue;
        }
        const Record& r = records[size_t(s.record)];
        if (r.concat < 0 && (r.file < 0 || r.file >= fileCount())) {
            s.error = QStringLiteral("record %1 lies in no file").arg(r.name);
            continue;
        }
        if (r.deflated && !deflatedSizePlausible(r)) {
            s.error = QStringLiteral("record %1 declares %2 bytes inflated from %3: impossible for deflate")
                          .arg(r.name)
                          .arg(r.size)
                          .arg(r.compressedSize);
            continue;
        }
        if (s.recordByteOffset < 0 || s.recordByteOffset > r.size || nbytes > r.size - s.recordByteOffset)
            s.error = QStringLiteral("storage needs %1 bytes at offset %2 but record %3 holds %4")
                          .arg(nbytes)
                          .arg(s.recordByteOffset)
                          .arg(r.name)
                          .arg(r.size);
    }
    for (auto& t : tensors) {
        if (!t.error.isEmpty())
            continue;
        if (t.storage < 0 || size_t(t.storage) >= storages.size()) {
            t.error = QStringLiteral("no storage");
            continue;
        }
        const StorageInfo& s = storages[size_t(t.storage)];
        if (!s.error.isEmpty()) {
            t.error = QStringLiteral("storage %1: %2").arg(s.key, s.error);
            continue;
        }
        if (t.dtype == DType::Unknown) {
            t.error = QStringLiteral("unknown dtype");
            continue;
        }
        std::int64_t numel = 1, last = t.storageOffset;
        bool bad = t.storageOffset < 0;
        for (size_t d = 0; d < t.shape.size() && !bad; ++d) {
            if (t.shape[d] < 0 || t.stride[d] < 0) {
                bad = true;
                break;
            }
            std::int64_t span = 0;
            bad = __builtin_mul_overflow(numel, t.shape[d], &numel)
                || (t.shape[d] > 0 && (__builtin_mul_overflow(t.shape[d] - 1, t.stride[d], &span)
                        || __builtin_add_overflow(last, span, &last)));
        }
        const int item = dtypeItemSize(t.dtype);
        std::int64_t nbytes = 0;
        if (bad || __builtin_mul_overflow(numel, std::int64_t(item), &nbytes)) {
            t.error = QStringLiteral("negative or overflowing size, stride or offset");
            continue;
        }
        if (numel == 0)
            continue;
        std::int64_t endByte = 0;
        if (__builtin_add_overflow(last, 1, &endByte) || __builtin_mul_overflow(endByte, std::int64_t(item), &endByte)
            || endByte > s.nbytes())
            t.error = QStringLiteral("tensor reaches element %1 but storage %2 holds %3 bytes (%4 per element)")
                          .arg(last)
                          .arg(s.key)
                          .arg(s.nbytes())
                          .arg(item);
    }
}

Expected<CheckpointPtr> openCheckpointFile(const QString& path)
{
    QElapsedTimer timer;
    timer.start();
    auto mapped = MappedFile::open(path);
    if (!mapped)
        return mapped.error();
    auto file = *mapped;
    const auto head = file->bytes().first(size_t(std::min<qint64>(file->size(), 512)));

    Expected<std::shared_ptr<Checkpoint>> result = Error { ErrorKind::NotACheckpoint, path, {}, {} };
    if (looksLikeZip(head)) {
        result = readTorchZip(file);
    } else if (head.size() >= 8 && std::memcmp(head.data(), "PYTORCH1", 8) == 0) {
        return Error { ErrorKind::Unsupported, path, {},
            QStringLiteral("torch 1.0 preview format (PYTORCH1), which torch itself no longer reads") };
    } else if (head.size() >= 262 && std::memcmp(head.data() + 257, "ustar", 5) == 0) {
        return Error { ErrorKind::Unsupported, path, {},
            QStringLiteral("a tar archive: the pre-0.1.10 torch tar format is not supported") };
    } else if (head.size() >= 9 && head[8] == '{') {
        result = readSafetensors(file);
    } else if (!head.empty() && (head[0] == 0x80 || head[0] == 'L' || head[0] == 'I')) {
        result = readTorchLegacy(file);
    } else {
        QString hex;
        for (size_t i = 0; i < std::min<size_t>(8, head.size()); ++i)
            hex += QStringLiteral("%1 ").arg(head[i], 2, 16, QLatin1Char('0'));
        return Error { ErrorKind::NotACheckpoint, path, {},
            QStringLiteral("not a PyTorch or safetensors checkpoint (starts with bytes %1)").arg(hex.trimmed()) };
    }
    if (!result)
        return result.error();
    auto ck = std::move(*result);
    ck->path = path;
    ck->fileSize = file->size();
    ck->validate();
    spdlog::debug("opened {} ({}, {} tensors, {} storages, {} objects) in {} ms", path.toStdString(),
        formatName(ck->format).toStdString(), ck->tensors.size(), ck->storages.size(), ck->graph.size(),
        timer.elapsed());
    return CheckpointPtr(std::move(ck));
}

} // namespace ckpt
