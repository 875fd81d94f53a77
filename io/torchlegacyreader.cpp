#include "io/checkpoint.h"
#include "io/persistentid.h"
#include "io/unpickler.h"

#include <QHash>

#include <cstring>

namespace ckpt {
namespace {

// 0x1950a86a20f9469cfc6c, as our unpickler renders it from LONG1 (hex) or from protocol-0 LONG text (decimal).
bool isLegacyMagic(const PyObject& o)
{
    return o.kind == ObjKind::BigInt
        && (o.text == QLatin1String("0x1950a86a20f9469cfc6c") || o.text == QLatin1String("119547037146038801333356"));
}

} // namespace

Expected<std::shared_ptr<Checkpoint>> readTorchLegacy(std::shared_ptr<const MappedFile> file)
{
    auto ck = std::make_shared<Checkpoint>();
    ck->format = Format::TorchLegacy;
    ck->setFile(file);
    const auto all = file->bytes();
    size_t pos = 0;
    UnpickleTarget target;
    auto next = [&](const QString& what, const PersistentLoad& load) -> Expected<UnpickleResult> {
        auto r = unpickle(all.subspan(pos), target, load, file->path(), what);
        if (r)
            pos += r->consumed;
        return r;
    };
    auto notLegacy = [&](const QString& why) {
        return Error { ErrorKind::NotACheckpoint, file->path(), {}, why };
    };

    auto magic = next(QStringLiteral("magic number pickle"), {});
    if (!magic || !isLegacyMagic(target.graph.at(magic->root)))
        return notLegacy(QStringLiteral("a pickle without torch's legacy magic number: not a torch.save file"));
    auto proto = next(QStringLiteral("protocol version pickle"), {});
    if (!proto)
        return proto.error();
    if (const auto& p = target.graph.at(proto->root); p.kind != ObjKind::Int || p.integer != 1001)
        return Error { ErrorKind::Unsupported, file->path(), QStringLiteral("protocol version pickle"),
            QStringLiteral("legacy protocol version is not 1001") };
    auto sysInfo = next(QStringLiteral("sys_info pickle"), {});
    if (!sysInfo)
        return sysInfo.error();
    {
        const auto& d = target.graph.at(sysInfo->root);
        for (size_t i = 0; d.kind == ObjKind::Dict && i + 1 < d.items.size(); i += 2) {
            QString k;
            if (textOf(target.graph.at(d.items[i]), k) && k == QLatin1String("little_endian"))
                ck->bigEndian = target.graph.at(d.items[i + 1]).integer == 0;
        }
    }

    QHash<QString, int> rootStorage; // root key -> storage index
    QHash<QString, ObjId> nodes;     // key (root or view) -> Storage node
    std::vector<std::pair<int, int>> views; // (view storage, root storage)
    PersistentLoad load = [&](UnpickleTarget& t, ObjId pid) -> Expected<ObjId> {
        auto parsed = parsePersistentId(t.graph, pid);
        if (!parsed)
            return parsed.error();
        if (parsed->isModule) // a whole nn.Module pickled with its source: the class object stands for it
            return parsed->moduleClass != kNoObject ? parsed->moduleClass : pid;
        const StoragePid& sp = parsed->storage;
        auto dt = dtypeFromStorageClass(sp.storageClass);
        auto addStorage = [&](const QString& key, std::int64_t numel) {
            StorageInfo s;
            s.key = key;
            s.location = sp.location;
            s.numel = numel;
            if (dt)
                s.dtype = *dt;
            else
                s.error = QStringLiteral("unknown storage class torch.%1").arg(sp.storageClass.left(64));
            t.storages.push_back(std::move(s));
            int index = int(t.storages.size() - 1);
            nodes.insert(key, t.graph.add(PyObject { .kind = ObjKind::Storage, .integer = index }));
            return index;
        };
        if (!rootStorage.contains(sp.key))
            rootStorage.insert(sp.key, addStorage(sp.key, sp.numel));
        if (sp.viewMetadata == kNoObject)
            return nodes.value(sp.key);
        const auto& vm = t.graph.at(sp.viewMetadata);
        QString viewKey;
        if (vm.kind != ObjKind::Tuple || vm.items.size() != 3 || !textOf(t.graph.at(vm.items[0]), viewKey)
            || t.graph.at(vm.items[1]).kind != ObjKind::Int || t.graph.at(vm.items[2]).kind != ObjKind::Int)
            return Error { ErrorKind::BadLegacy, {}, {}, QStringLiteral("storage view metadata is malformed") };
        if (!nodes.contains(viewKey)) {
            const std::int64_t offset = t.graph.at(vm.items[1]).integer, size = t.graph.at(vm.items[2]).integer;
            int view = addStorage(viewKey, size);
            auto& v = t.storages[size_t(view)];
            if (offset < 0 || __builtin_mul_overflow(offset, std::int64_t(dtypeItemSize(v.dtype)), &v.recordByteOffset))
                v.error = QStringLiteral("storage view offset %1 is invalid").arg(offset);
            views.emplace_back(view, rootStorage.value(sp.key));
        }
        return nodes.value(viewKey);
    };
    auto main = next(QStringLiteral("object pickle"), load);
    if (!main)
        return main.error();
    ck->root = main->root;
    auto keys = next(QStringLiteral("storage key list pickle"), {});
    if (!keys)
        return keys.error();
    const auto& keyList = target.graph.at(keys->root);
    if (keyList.kind != ObjKind::List && keyList.kind != ObjKind::Tuple)
        return Error { ErrorKind::BadLegacy, file->path(), QStringLiteral("storage key list pickle"),
            QStringLiteral("is not a list") };

    // Raw storages follow in key-list order, each an int64 element count then the bytes.
    qint64 cursor = qint64(pos);
    for (ObjId k : keyList.items) {
        QString key;
        if (!textOf(target.graph.at(k), key))
            return Error { ErrorKind::BadLegacy, file->path(), QStringLiteral("storage key list"),
                QStringLiteral("a key is not a string") };
        auto it = rootStorage.find(key);
        if (it == rootStorage.end())
            return Error { ErrorKind::BadLegacy, file->path(), QStringLiteral("storage %1").arg(key.left(64)),
                QStringLiteral("listed in the key list but no tensor refers to it") };
        auto& s = target.storages[size_t(*it)];
        if (!s.error.isEmpty()) // without the element size the following storages cannot be located
            return Error { ErrorKind::Unsupported, file->path(), QStringLiteral("storage %1").arg(key.left(64)), s.error };
        if (!file->contains(cursor, 8))
            return Error { ErrorKind::Truncated, file->path(), QStringLiteral("storage %1").arg(key),
                QStringLiteral("file ends at byte %1 before the storage's size field").arg(file->size()) };
        std::int64_t count = 0;
        std::memcpy(&count, all.data() + cursor, 8);
        if (ck->bigEndian)
            count = std::int64_t(__builtin_bswap64(std::uint64_t(count)));
        std::int64_t nbytes = 0;
        if (count < 0 || __builtin_mul_overflow(count, std::int64_t(dtypeItemSize(s.dtype)), &nbytes)
            || !file->contains(cursor + 8, nbytes))
            return Error { ErrorKind::Truncated, file->path(), QStringLiteral("storage %1").arg(key),
                QStringLiteral("declares %1 elements, more than the %2 bytes left in the file")
                    .arg(count)
                    .arg(file->size() - cursor - 8) };
        if (count != s.numel && s.error.isEmpty())
            s.error = QStringLiteral("file holds %1 elements, the pickle declares %2").arg(count).arg(s.numel);
        ck->records.push_back(Record { key, cursor + 8, nbytes, nbytes, false });
        s.record = int(ck->records.size() - 1);
        cursor += 8 + nbytes;
    }
    for (auto [view, root] : views)
        target.storages[size_t(view)].record = target.storages[size_t(root)].record;

    ck->graph = std::move(target.graph);
    ck->tensors = std::move(target.tensors);
    ck->storages = std::move(target.storages);
    ck->imports = std::move(target.imports);
    return ck;
}

} // namespace ckpt
