#include "model/exporter.h"

#include "io/crc32.h"
#include "model/dtypecast.h"
#include "model/elementview.h"
#include "model/objectchildren.h"
#include "model/parallel.h"
#include "model/plainvalues.h"
#include "model/tensorlist.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>

#include <cerrno>
#include <cstring>
#include <map>

#include <sys/resource.h>
#include <sys/stat.h>

namespace ckpt {
namespace {

constexpr std::int64_t kChunkBytes = 8 << 20;
// Casts go through a buffer small enough to stay in the CPU's cache between the cast and the write.
constexpr std::int64_t kCastChunkBytes = 1 << 20;

void byteswap(std::uint8_t* p, std::int64_t count, int width)
{
    for (std::int64_t i = 0; i < count; ++i)
        std::reverse(p + i * width, p + (i + 1) * width);
}

// A producer over `count` source elements cast from `from` to `to`: read straight from `direct` when the elements
// lie there contiguously in little-endian order, else fetched by `fetch(begin, n, out)` (gathered through strides,
// byte-swapped after). `release(begin, n)` is told when source elements are done with.
ByteProducer castingProducer(const std::uint8_t* direct, std::function<void(std::int64_t, std::int64_t, std::uint8_t*)> fetch,
    std::int64_t count, DType from, DType to, bool swap, std::shared_ptr<std::atomic<std::int64_t>> overflow,
    std::function<void(std::int64_t, std::int64_t)> release = {})
{
    return [=](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>* cancel, QString&) {
        const int inItem = dtypeItemSize(from), outItem = dtypeItemSize(to);
        const std::int64_t step = std::max<std::int64_t>(1, kCastChunkBytes / std::max(inItem, outItem));
        const std::int64_t bufferElements = std::min(step, std::max<std::int64_t>(count, 1));
        // Buffers kept per thread from one storage to the next: fresh ones for each storage meant the kernel
        // zeroing new pages for every one of hundreds of storages (5% of a bfloat16 export's time in perf).
        static thread_local std::vector<std::uint8_t> in, outBuf;
        if (!direct && in.size() < size_t(bufferElements * inItem))
            in.resize(size_t(bufferElements * inItem));
        if (from != to && outBuf.size() < size_t(bufferElements * outItem))
            outBuf.resize(size_t(bufferElements * outItem));
        for (std::int64_t b = 0; b < count; b += step) {
            if (cancel && cancel->load())
                return false;
            const std::int64_t n = std::min(step, count - b);
            const std::uint8_t* src = direct ? direct + b * inItem : in.data();
            if (!direct) {
                fetch(b, n, in.data());
                if (swap && inItem > 1)
                    byteswap(in.data(), n, inItem);
            }
            if (from == to) {
                if (!write(src, size_t(n * inItem)))
                    return false;
            } else {
                *overflow += castElements(from, src, to, outBuf.data(), n);
                if (!write(outBuf.data(), size_t(n * outItem)))
                    return false;
            }
            if (release)
                release(b, n);
        }
        return true;
    };
}

// Whether a storage's bytes lie in the file's memory map (and so may be released after use), not in an
// inflated copy on the heap, which releasing would zero.
bool inMap(const Checkpoint& ck, int storage)
{
    if (storage < 0 || size_t(storage) >= ck.storages.size())
        return false;
    const int record = ck.storages[size_t(storage)].record;
    return ck.recordIsMapped(record);
}

// Straight from the map, no copy: a contiguous little-endian range written as it is.
ByteProducer mappedProducer(const std::uint8_t* base, std::int64_t nbytes, bool release = false)
{
    return [=](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>* cancel, QString&) {
        for (std::int64_t b = 0; b < nbytes; b += kChunkBytes) {
            if (cancel && cancel->load())
                return false;
            const size_t n = size_t(std::min(kChunkBytes, nbytes - b));
            if (!write(base + b, n))
                return false;
            if (release)
                MappedFile::releasePages(base + b, n); // written: keep the resident set small on multi-GB sources
        }
        return true;
    };
}

// A storage whose bytes are copied verbatim from a file's map is marked so that writers copy it file to file.
void markRaw(StorageOut& st, const Checkpoint& ck, int storage, const std::uint8_t* base, std::int64_t nbytes)
{
    if (!inMap(ck, storage) || nbytes <= 0)
        return;
    for (int i = 0; i < ck.fileCount(); ++i) {
        const qint64 offset = ck.file(i).offsetOf(base);
        if (offset >= 0 && ck.file(i).contains(offset, nbytes)) {
            st.rawFile = ck.fileHandle(i);
            st.rawOffset = offset;
            st.releaseRaw = true;
            return;
        }
    }
}

// Every file of an export stays open (an unnamed temporary) until all of them are checked; a many-shard export
// can pass the default limit of 1024 descriptors, so the soft limit is raised toward the hard one when needed.
std::optional<QString> makeRoomForOpenFiles(int files)
{
    rlimit lim {};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return std::nullopt;
    const rlim_t need = rlim_t(files) + 256; // what the process holds open besides
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need)
        return std::nullopt;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need)
        return QStringLiteral("an export into %1 files keeps them all open until each is checked, and this process may open "
                              "only %2 (raise `ulimit -n` or the shard size)")
            .arg(files)
            .arg(qulonglong(lim.rlim_max));
    lim.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        return QStringLiteral("cannot raise the open-file limit to %1 for %2 output files").arg(qulonglong(need)).arg(files);
    return std::nullopt;
}

struct Unit { // what goes into one shard together: a storage and the tensors on it
    StorageOut storage;
    std::vector<TensorOut> tensors;
    std::int64_t bytes = 0;
};

Expected<std::vector<Unit>> buildUnits(const Checkpoint& ck, const ResolvedPlan& rp, ExportFormat format,
    std::shared_ptr<std::atomic<std::int64_t>> overflow)
{
    std::vector<Unit> units;
    if (format == ExportFormat::Safetensors) {
        // One contiguous storage per tensor: views are gathered, tied weights written twice.
        for (const auto& p : rp.tensors) {
            const TensorInfo& t = ck.tensors[size_t(p.tensor)];
            auto view = elementViewForScan(ck, p.tensor);
            if (!view && t.numel() > 0)
                return view.error();
            Unit u;
            u.storage.dtype = p.outputDtype;
            u.storage.numel = t.numel();
            if (t.numel() == 0)
                u.storage.produce = mappedProducer(nullptr, 0);
            else if (t.isContiguous() && p.outputDtype == t.dtype && !view->swap) {
                u.storage.produce = mappedProducer(view->base, t.nbytes(), inMap(ck, t.storage));
                markRaw(u.storage, ck, t.storage, view->base, t.nbytes());
            }
            else {
                const ElementView v = *view;
                const bool dense = t.isContiguous() && !v.swap;
                const bool release = dense && inMap(ck, t.storage);
                u.storage.produce = castingProducer(
                    dense ? v.base : nullptr, [v](std::int64_t b, std::int64_t n, std::uint8_t* out) { gatherRange(v, b, n, out); },
                    t.numel(), t.dtype, p.outputDtype, v.swap, overflow, [v, release](std::int64_t b, std::int64_t n) {
                        if (release)
                            MappedFile::releasePages(v.base + b * v.itemSize, size_t(n * v.itemSize));
                    });
            }
            TensorOut to { p.outputKey, 0, p.outputDtype, t.shape, {}, 0, false };
            to.stride.resize(t.shape.size());
            std::int64_t st = 1;
            for (size_t d = t.shape.size(); d-- > 0;) {
                to.stride[d] = st;
                st *= std::max<std::int64_t>(t.shape[d], 1);
            }
            u.bytes = u.storage.numel * dtypeItemSize(p.outputDtype);
            u.tensors.push_back(std::move(to));
            units.push_back(std::move(u));
        }
        return units;
    }
    // torch: tensors on one source storage (same dtypes) share one output storage holding only the element range
    // they reach, so tied weights stay tied and a slice of a big storage does not drag the rest along.
    std::map<std::tuple<int, DType, DType>, size_t> unitOf;
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges; // [lo, hi) in elements, per unit
    std::vector<const PlannedTensor*> firstOf;
    for (const auto& p : rp.tensors) {
        const TensorInfo& t = ck.tensors[size_t(p.tensor)];
        auto key = std::tuple { t.numel() > 0 ? t.storage : -1 - int(&p - rp.tensors.data()), t.dtype, p.outputDtype };
        auto [it, fresh] = unitOf.emplace(key, units.size());
        if (fresh) {
            units.emplace_back();
            ranges.emplace_back(INT64_MAX, INT64_MIN);
            firstOf.push_back(&p);
        }
        if (t.numel() > 0) {
            std::int64_t last = t.storageOffset;
            for (size_t d = 0; d < t.shape.size(); ++d)
                last += (t.shape[d] - 1) * t.stride[d];
            auto& r = ranges[it->second];
            r.first = std::min(r.first, t.storageOffset);
            r.second = std::max(r.second, last + 1);
        }
        units[it->second].tensors.push_back(TensorOut { p.outputKey, 0, p.outputDtype, t.shape, t.stride, t.storageOffset, t.requiresGrad });
    }
    for (size_t u = 0; u < units.size(); ++u) {
        const PlannedTensor& p = *firstOf[u];
        const TensorInfo& t = ck.tensors[size_t(p.tensor)];
        auto [lo, hi] = ranges[u];
        if (lo == INT64_MAX)
            lo = hi = 0;
        for (auto& to : units[u].tensors) {
            std::int64_t numel = 1;
            for (auto d : to.shape)
                numel *= d;
            to.storageOffset = numel == 0 ? 0 : to.storageOffset - lo; // an empty view needs no bytes
        }
        units[u].storage.dtype = p.outputDtype;
        units[u].storage.numel = hi - lo;
        units[u].bytes = (hi - lo) * dtypeItemSize(p.outputDtype);
        if (hi == lo) {
            units[u].storage.produce = mappedProducer(nullptr, 0);
            for (auto& to : units[u].tensors)
                to.storageOffset = 0;
            continue;
        }
        auto bytes = ck.storageBytes(t.storage);
        if (!bytes)
            return bytes.error();
        const int item = dtypeItemSize(t.dtype);
        const std::uint8_t* base = bytes->data() + lo * item;
        const bool swap = ck.bigEndian && item > 1;
        const bool release = inMap(ck, t.storage);
        if (p.outputDtype == t.dtype && !swap) {
            units[u].storage.produce = mappedProducer(base, (hi - lo) * item, release);
            markRaw(units[u].storage, ck, t.storage, base, (hi - lo) * item);
        }
        else
            units[u].storage.produce = castingProducer(swap ? nullptr : base,
                [base, item](std::int64_t b, std::int64_t n, std::uint8_t* out) { std::memcpy(out, base + b * item, size_t(n * item)); },
                hi - lo, t.dtype, p.outputDtype, swap, overflow,
                [base, item, release](std::int64_t b, std::int64_t n) {
                    if (release)
                        MappedFile::releasePages(base + b * item, size_t(n * item));
                });
    }
    return units;
}

// Shards: whole units in order, a new shard when the next unit would pass the limit.
std::vector<std::vector<size_t>> splitIntoShards(const std::vector<Unit>& units, std::int64_t maxShardSize)
{
    std::vector<std::vector<size_t>> shards(1);
    std::int64_t inShard = 0;
    for (size_t u = 0; u < units.size(); ++u) {
        const std::int64_t b = units[u].bytes;
        if (maxShardSize > 0 && inShard > 0 && inShard + b > maxShardSize) {
            shards.emplace_back();
            inShard = 0;
        }
        shards.back().push_back(u);
        inShard += b;
    }
    return shards;
}

// The metadata key the output writes itself, which a kept entry cannot also have: "total_size" in a shard index,
// "format" in a single safetensors file (a torch file keeps entries in its pickle, where nothing is reserved).
QString reservedMetadataKey(const ExportPlan& plan, int files)
{
    return files > 1 ? QStringLiteral("total_size") : plan.format == ExportFormat::Safetensors ? QStringLiteral("format") : QString();
}

QString reservedKeyWhy(const QString& key, int files)
{
    return QStringLiteral("%1 holds its own %2").arg(files > 1 ? QStringLiteral("the shard index") : QStringLiteral("safetensors metadata"), key);
}

QString shardName(const QString& out, int index, int count)
{
    const QFileInfo fi(out);
    const QString stem = fi.completeBaseName(), suffix = fi.suffix();
    return fi.dir().filePath(QStringLiteral("%1-%2-of-%3%4")
                                 .arg(stem)
                                 .arg(index, 5, 10, QLatin1Char('0'))
                                 .arg(count, 5, 10, QLatin1Char('0'))
                                 .arg(suffix.isEmpty() ? QString() : QLatin1Char('.') + suffix));
}

// Whether the object at `id` is `expected`: plain values equal, the StateDict node a dict holding the tensors
// (not compared here) and exactly the expected other items.
bool sameLayout(const ObjectGraph& g, ObjId id, const PlainValue& expected)
{
    using K = PlainValue::Kind;
    if (!g.valid(id))
        return false;
    const PyObject& o = g.at(id);
    if (expected.kind != K::StateDict && expected.kind != K::Dict) {
        auto v = plainValueOf(g, id);
        return v.value && *v.value == expected;
    }
    if (o.kind != ObjKind::Dict)
        return false;
    std::vector<std::pair<ObjId, ObjId>> items;
    for (size_t i = 0; i + 1 < o.items.size(); i += 2)
        if (expected.kind != K::StateDict || g.at(o.items[i + 1]).kind != ObjKind::Tensor)
            items.emplace_back(o.items[i], o.items[i + 1]);
    if (items.size() * 2 != expected.items.size())
        return false;
    for (size_t i = 0; i < items.size(); ++i)
        if (!sameLayout(g, items[i].first, expected.items[2 * i]) || !sameLayout(g, items[i].second, expected.items[2 * i + 1]))
            return false;
    return true;
}

// The files a checkpoint was read from (every shard of a set, its index), as device and inode: an output that is
// one of them, under any name or through a hard link, would be destroyed by the rename.
std::vector<std::pair<dev_t, ino_t>> sourceIdentities(const Checkpoint& ck)
{
    std::vector<std::pair<dev_t, ino_t>> ids;
    auto add = [&](const QString& path) {
        struct stat st {};
        if (!path.isEmpty() && ::stat(QFile::encodeName(path).constData(), &st) == 0 && S_ISREG(st.st_mode))
            ids.emplace_back(st.st_dev, st.st_ino);
    };
    add(ck.path);
    for (int i = 0; i < ck.fileCount(); ++i)
        add(ck.file(i).path());
    for (const auto& part : ck.parts)
        add(part.path);
    return ids;
}

bool isSource(const std::vector<std::pair<dev_t, ino_t>>& sources, const QString& path)
{
    struct stat st {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return false;
    return std::find(sources.begin(), sources.end(), std::pair { st.st_dev, st.st_ino }) != sources.end();
}

// The kept non-tensor entries as metadata (safetensors __metadata__, a shard index): dotted key -> JSON.
std::vector<std::pair<QString, PlainValue>> othersAsMetadata(const ResolvedPlan& rp)
{
    std::vector<std::pair<QString, PlainValue>> out;
    if (!rp.layout)
        return out;
    // Walk the layout: entries beside the state dict under their dotted path, inside it under their key.
    std::function<void(const PlainValue&, const QString&)> walk = [&](const PlainValue& level, const QString& prefix) {
        for (size_t i = 0; i + 1 < level.items.size(); i += 2) {
            const PlainValue& k = level.items[i];
            const PlainValue& v = level.items[i + 1];
            const QString key = prefix + k.keyText();
            if (v.kind == PlainValue::Kind::StateDict)
                walk(v, QString());
            else if (level.kind == PlainValue::Kind::Dict && v.kind == PlainValue::Kind::Dict && !stateDictPath(v).isEmpty())
                walk(v, key + QLatin1Char('.'));
            else
                out.emplace_back(key, v);
        }
    };
    walk(*rp.layout, QString());
    return out;
}

} // namespace

std::optional<QString> verifyWritten(const QString& file, const StateDictOut& sd, const WriteReport& report,
    const std::atomic<bool>* cancel)
{
    auto ck = openCheckpointFile(file);
    if (!ck)
        return QStringLiteral("the written file does not read back: %1").arg(ck.error().what);
    // With non-tensor entries kept, the tensors sit at the layout's state dict path, the rest around them.
    const QStringList prefix = sd.layout ? stateDictPath(*sd.layout) : QStringList {};
    if (sd.layout && !sameLayout((*ck)->graph, (*ck)->root, *sd.layout))
        return QStringLiteral("the written file's non-tensor entries do not read back as planned");
    std::map<QString, const TensorInfo*> got;
    for (const auto& e : listTensors(**ck))
        if (e.path.size() == prefix.size() + 1 && e.path.mid(0, prefix.size()) == prefix)
            got[e.path.back()] = &(*ck)->tensors[size_t(e.tensor)];
    if (got.size() != sd.tensors.size())
        return QStringLiteral("the written file holds %1 tensors, %2 were planned").arg(got.size()).arg(sd.tensors.size());
    if (report.storageCrc.size() != sd.storages.size())
        return QStringLiteral("the writer reported %1 storages, %2 were planned").arg(report.storageCrc.size()).arg(sd.storages.size());
    // Names, dtypes, shapes and sizes first; then every storage's bytes in 8 MiB pieces on all cores, the pieces'
    // CRCs combined per storage. Bytes that lie in the file as they are (every writer here stores them so) are read
    // with pread, not through the map: the pages of a file just written were measured at 1.5-2 GB/s through a map
    // (most of it faults) against 7 GB/s with pread into a buffer (BENCHMARKS.md run 12). Nothing of the output
    // enters the resident set either.
    struct Piece {
        const std::uint8_t* data;
        size_t size;
        const MappedFile* file; // with `offset`, where to pread the bytes; null: read them at `data`
        qint64 offset;
    };
    struct Checked {
        const TensorOut* tensor;
        size_t firstPiece, pieces;
    };
    std::vector<Piece> pieces;
    std::vector<Checked> storages;
    std::vector<bool> checked(sd.storages.size(), false);
    for (const auto& t : sd.tensors) {
        auto it = got.find(t.name);
        if (it == got.end() || it->second->dtype != t.dtype || it->second->shape != t.shape || !it->second->error.isEmpty())
            return QStringLiteral("tensor %1 does not read back as written").arg(t.name);
        if (checked[size_t(t.storage)])
            continue;
        checked[size_t(t.storage)] = true;
        const StorageOut& planned = sd.storages[size_t(t.storage)];
        const std::int64_t nbytes = planned.numel * dtypeItemSize(planned.dtype);
        auto bytes = (*ck)->storageBytes(it->second->storage);
        if (!bytes)
            return QStringLiteral("tensor %1: %2").arg(t.name, bytes.error().what);
        if (std::int64_t(bytes->size()) != nbytes)
            return QStringLiteral("tensor %1: its storage holds %2 bytes, %3 were written").arg(t.name).arg(bytes->size()).arg(nbytes);
        const MappedFile* in = nullptr;
        qint64 at = -1;
        if ((*ck)->recordIsMapped((*ck)->storages[size_t(it->second->storage)].record))
            for (int f = 0; f < (*ck)->fileCount() && !in; ++f)
                if (at = (*ck)->file(f).offsetOf(bytes->data()); at >= 0)
                    in = &(*ck)->file(f);
        storages.push_back({ &t, pieces.size(), 0 });
        for (std::int64_t b = 0; b < nbytes; b += kChunkBytes)
            pieces.push_back({ bytes->data() + b, size_t(std::min(kChunkBytes, nbytes - b)), in, in ? at + b : -1 });
        storages.back().pieces = pieces.size() - storages.back().firstPiece;
    }
    std::vector<std::uint32_t> crcs(pieces.size());
    std::vector<std::vector<std::uint8_t>> buffers(static_cast<size_t>(defaultThreadCount()));
    std::atomic<int> readErrno { 0 };
    const bool done = parallelChunks(std::int64_t(pieces.size()), 1, int(buffers.size()),
        [&](std::int64_t begin, std::int64_t count, int worker) {
            for (std::int64_t i = begin; i < begin + count; ++i) {
                const Piece& p = pieces[size_t(i)];
                const std::uint8_t* data = p.data;
                if (p.file) {
                    auto& buffer = buffers[size_t(worker)];
                    buffer.resize(size_t(kChunkBytes));
                    errno = 0;
                    if (!p.file->readAt(p.offset, buffer.data(), p.size)) {
                        readErrno = errno != 0 ? errno : EIO; // 0: the file ended before the piece
                        continue;
                    }
                    data = buffer.data();
                }
                crcs[size_t(i)] = crc32(0, data, p.size);
            }
        },
        cancel);
    if (!done)
        return QStringLiteral("cancelled");
    if (const int e = readErrno.load(); e != 0)
        return QStringLiteral("the written file cannot be read back: %1").arg(QString::fromLocal8Bit(std::strerror(e)));
    for (const Checked& c : storages) {
        std::uint32_t crc = 0;
        for (size_t i = c.firstPiece; i < c.firstPiece + c.pieces; ++i)
            crc = i == c.firstPiece ? crcs[i] : crc32Combine(crc, crcs[i], std::int64_t(pieces[i].size));
        const std::uint32_t expected = report.storageCrc[size_t(c.tensor->storage)];
        if (crc != expected)
            return QStringLiteral("tensor %1 reads back with other bytes than were written (CRC-32 %2, expected %3)")
                .arg(c.tensor->name)
                .arg(crc, 8, 16, QLatin1Char('0'))
                .arg(expected, 8, 16, QLatin1Char('0'));
    }
    return std::nullopt;
}

Expected<bool> markUnwritableOthers(const Checkpoint& ck, ResolvedPlan& rp, const ExportPlan& plan)
{
    const auto metadata = othersAsMetadata(rp);
    const auto named = [&](const QString& key) {
        return std::any_of(metadata.begin(), metadata.end(), [&](const auto& kv) { return kv.first == key; });
    };
    // The shard count costs a pass over the plan's tensors: only asked for when a kept entry has a reserved name.
    if (!named(QStringLiteral("total_size")) && !named(QStringLiteral("format")))
        return true;
    auto units = buildUnits(ck, rp, plan.format, std::make_shared<std::atomic<std::int64_t>>(0));
    if (!units)
        return units.error();
    const int files = int(splitIntoShards(*units, plan.maxShardSize).size());
    const QString key = reservedMetadataKey(plan, files);
    if (key.isEmpty() || !named(key))
        return true;
    // The entry's metadata key: its output key inside a flattened container, its dotted path beside the state dict.
    for (PlannedOther& o : rp.others)
        if (o.kept && (o.outputKey.isEmpty() ? o.path.join(QLatin1Char('.')) : o.outputKey) == key) {
            o.kept = false;
            o.why = reservedKeyWhy(key, files);
            rp.warnings << notKeptWarning(key, o.why);
        }
    return true;
}

Expected<std::int64_t> countCastOverflow(const Checkpoint& ck, const ResolvedPlan& rp, const std::atomic<bool>* cancel)
{
    // The export's own cast, its output thrown away: the count is the one the export reports, by construction.
    // Safetensors units are one per planned tensor, in order, each over exactly that tensor's elements.
    auto overflow = std::make_shared<std::atomic<std::int64_t>>(0);
    auto units = buildUnits(ck, rp, ExportFormat::Safetensors, overflow);
    if (!units)
        return units.error();
    const auto discard = [](const std::uint8_t*, size_t) { return true; };
    for (size_t i = 0; i < rp.tensors.size(); ++i) {
        const PlannedTensor& p = rp.tensors[i];
        const TensorInfo& t = ck.tensors[size_t(p.tensor)];
        if (p.outputDtype == t.dtype || t.numel() == 0 || !dtypeIsFloatingPoint(p.outputDtype))
            continue;
        QString why;
        if (!(*units)[i].storage.produce(discard, cancel, why))
            return Error { ErrorKind::Io, ck.path, {}, why.isEmpty() ? QStringLiteral("cancelled") : why };
    }
    return overflow->load();
}

Expected<ExportResult> runExport(const Checkpoint& ck, const ResolvedPlan& rp, const ExportPlan& plan, const QString& out,
    const Progress& progress, const std::atomic<bool>* cancel)
{
    if (!rp.errors.isEmpty())
        return Error { ErrorKind::Unsupported, ck.path, QStringLiteral("export plan"), rp.errors.join(QStringLiteral("; ")) };
    auto overflow = std::make_shared<std::atomic<std::int64_t>>(0);
    auto units = buildUnits(ck, rp, plan.format, overflow);
    if (!units)
        return units.error();

    const auto shards = splitIntoShards(*units, plan.maxShardSize);
    const int count = int(shards.size());
    QStringList files;
    for (int s = 0; s < count; ++s)
        files << (count == 1 ? out : shardName(out, s + 1, count));
    const QString index = count > 1 ? out + QStringLiteral(".index.json") : QString();
    // Checked here, not left to the first file's creation: with shards, that error would name a shard file the user
    // never typed.
    const QFileInfo folder(QFileInfo(out).absolutePath());
    if (!folder.isDir())
        return Error { ErrorKind::Io, out, {},
            QStringLiteral("the destination folder %1 %2").arg(QDir::toNativeSeparators(folder.filePath()),
                folder.exists() ? QStringLiteral("is not a folder") : QStringLiteral("does not exist")) };
    const auto sources = sourceIdentities(ck);
    for (const QString& f : files + QStringList { index })
        if (!f.isEmpty() && isSource(sources, f))
            return Error { ErrorKind::Io, f, {}, QStringLiteral("refusing to write over a file of the checkpoint being exported from") };
    // Kept non-tensor entries: in the pickle of a single torch file; as JSON metadata of a single safetensors
    // file or of a sharded export's index (shards are flat state dicts, as Hugging Face loaders expect).
    // A kept entry under a key the format writes itself (safetensors' "format", the index's "total_size") would be
    // a second value under that key, which readers resolve by taking one: it is left out, and the user told.
    std::vector<std::pair<QString, PlainValue>> otherMetadata;
    QStringList reservedWarnings;
    const QString reserved = reservedMetadataKey(plan, count);
    for (auto& [k, v] : othersAsMetadata(rp)) {
        if (!reserved.isEmpty() && k == reserved)
            reservedWarnings << notKeptWarning(k, reservedKeyWhy(k, count));
        else
            otherMetadata.emplace_back(std::move(k), std::move(v));
    }

    // Every file (shards, then the index) is written to its temporary, flushed and checked first; only when all of
    // them are sound do they replace anything, one rename each, so a failure leaves every destination as it was.
    struct Pending {
        std::unique_ptr<OutputFile> file;
        StateDictOut sd;
        WriteReport report;
    };
    if (auto problem = makeRoomForOpenFiles(count + (count > 1 ? 1 : 0)))
        return Error { ErrorKind::Io, out, {}, *problem };
    std::vector<std::unique_ptr<Pending>> pending;
    std::int64_t before = 0;
    PlainValue weightMap = PlainValue::dict({});
    for (int s = 0; s < count; ++s) {
        auto& job = *pending.emplace_back(std::make_unique<Pending>());
        StateDictOut& sd = job.sd;
        if (count == 1 && plan.format == ExportFormat::Torch)
            sd.layout = rp.layout;
        if (count == 1 && plan.format == ExportFormat::Safetensors)
            for (const auto& [k, v] : otherMetadata) // strings as they are, anything else as JSON text
                sd.metadata.append({ k, v.kind == PlainValue::Kind::Str ? v.text : v.toJsonText() });
        for (size_t u : shards[size_t(s)]) {
            sd.storages.push_back((*units)[u].storage);
            for (auto t : (*units)[u].tensors) {
                t.storage = int(sd.storages.size() - 1);
                weightMap.items.push_back(PlainValue::str(t.name));
                weightMap.items.push_back(PlainValue::str(QFileInfo(files[s]).fileName()));
                sd.tensors.push_back(std::move(t));
            }
        }
        const Progress shardProgress = [&, before](std::int64_t done) {
            if (progress)
                progress(before + done);
        };
        job.file = std::make_unique<OutputFile>(files[s]);
        if (auto ok = job.file->open(); !ok)
            return ok.error();
        auto written = plan.format == ExportFormat::Safetensors ? writeSafetensors(*job.file, sd, shardProgress, cancel)
                                                                : writeTorchZip(*job.file, sd, shardProgress, cancel);
        if (!written)
            return written.error();
        job.report = *written;
        Pending* j = &job;
        if (auto ok = job.file->seal([j, cancel](const QString& readable) { return verifyWritten(readable, j->sd, j->report, cancel); }); !ok)
            return ok.error();
        before += written->bytes;
    }
    if (count > 1) {
        PlainValue meta = PlainValue::dict({});
        for (const auto& [k, v] : otherMetadata) {
            meta.items.push_back(PlainValue::str(k));
            meta.items.push_back(v);
        }
        meta.items.push_back(PlainValue::str(QStringLiteral("total_size")));
        meta.items.push_back(PlainValue::int64(before));
        const PlainValue idx = PlainValue::dict(
            { PlainValue::str(QStringLiteral("metadata")), std::move(meta), PlainValue::str(QStringLiteral("weight_map")), std::move(weightMap) });
        // As Hugging Face's tools write it: json.dumps(index, indent=2, sort_keys=True) + "\n".
        const QByteArray json = (idx.toJsonText({ .sortKeys = true, .indent = 2, .asciiOnly = true }) + QLatin1Char('\n')).toUtf8();
        auto& job = *pending.emplace_back(std::make_unique<Pending>());
        job.file = std::make_unique<OutputFile>(index);
        if (auto ok = job.file->open(); !ok)
            return ok.error();
        if (!job.file->write(json.constData(), json.size()))
            return Error { ErrorKind::Io, index, {}, QStringLiteral("cannot write the shard index: %1").arg(job.file->error().what) };
        if (auto ok = job.file->seal(); !ok)
            return ok.error();
    }
    ExportResult result;
    for (auto& job : pending) {
        if (auto ok = job->file->commit(); !ok) {
            // A rename failed after every file was checked: the ones before it are sound and already replaced what
            // was there, so they stay; the error says which.
            Error e = ok.error();
            if (!result.files.isEmpty())
                e.what += QStringLiteral("; already written: %1").arg(result.files.join(QStringLiteral(", ")));
            return e;
        }
        result.files << job->file->path();
    }
    result.bytes = before;
    result.overflow = overflow->load();
    result.warnings += rp.warnings;
    for (const QString& w : reservedWarnings) // already there when markUnwritableOthers ran
        if (!result.warnings.contains(w))
            result.warnings << w;
    if (plan.format == ExportFormat::Safetensors) {
        std::map<int, QStringList> shared;
        for (const auto& p : rp.tensors)
            if (ck.tensors[size_t(p.tensor)].numel() > 0)
                shared[ck.tensors[size_t(p.tensor)].storage] << p.outputKey;
        for (const auto& [storage, keys] : shared)
            if (keys.size() > 1)
                result.warnings << QStringLiteral("safetensors cannot share storage: %1 were written as separate copies").arg(keys.join(QStringLiteral(", ")));
    }
    return result;
}

} // namespace ckpt
