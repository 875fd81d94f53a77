// libFuzzer target: arbitrary bytes as a torch data.pkl through ckpt::unpickle, with a persistent-id loader that
// behaves as the torch zip reader's (io/torchzipreader.cpp): ('storage', cls, key, location, numel) tuples become
// Storage nodes, one per key; the resulting descriptors then go through Checkpoint::validate().
#include "verbose.h"

#include "io/checkpoint.h"
#include "io/persistentid.h"
#include "io/unpickler.h"

#include <QHash>

#include <cstddef>
#include <cstdint>
#include <cstdio>

using namespace ckpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    UnpickleTarget target;
    QHash<QString, ObjId> storageNodes;
    PersistentLoad load = [&](UnpickleTarget& t, ObjId pid) -> Expected<ObjId> {
        auto parsed = parsePersistentId(t.graph, pid);
        if (!parsed)
            return parsed.error();
        if (parsed->isModule)
            return Error { ErrorKind::BadPickle, {}, {}, QStringLiteral("'module' persistent id in a zip checkpoint") };
        const StoragePid& sp = parsed->storage;
        if (auto it = storageNodes.find(sp.key); it != storageNodes.end())
            return *it;
        StorageInfo s;
        s.key = sp.key;
        s.location = sp.location;
        s.numel = sp.numel;
        if (auto dt = dtypeFromStorageClass(sp.storageClass))
            s.dtype = *dt;
        else
            s.error = QStringLiteral("unknown storage class");
        // Every storage is backed by the one fake record below, as if data/<key> existed.
        s.record = 0;
        t.storages.push_back(std::move(s));
        ObjId node = t.graph.add(PyObject { .kind = ObjKind::Storage, .integer = std::int64_t(t.storages.size() - 1) });
        storageNodes.insert(sp.key, node);
        return node;
    };

    auto result = unpickle(std::span<const std::uint8_t>(data, size), target, load, QStringLiteral("fuzz.pth"),
        QStringLiteral("archive/data.pkl"));
    if (!result) {
        fuzz::report("unpickle", result.error());
        return 0;
    }
    if (fuzz::verbose())
        std::fprintf(stderr, "unpickle: ok, %zu objects, %zu tensors, %zu storages\n", target.graph.size(),
            target.tensors.size(), target.storages.size());
    if (!target.graph.valid(result->root) || result->consumed > size)
        __builtin_trap();

    // No file behind it: validate() only compares declared sizes with the records, it never reads bytes.
    Checkpoint ck;
    ck.records.push_back(Record { QStringLiteral("archive/data/0"), 0, 4096, 4096, false });
    ck.root = result->root;
    ck.graph = std::move(target.graph);
    ck.tensors = std::move(target.tensors);
    ck.storages = std::move(target.storages);
    ck.imports = std::move(target.imports);
    ck.validate();
    volatile std::int64_t sink = 0;
    for (const auto& t : ck.tensors) {
        if (fuzz::verbose())
            std::fprintf(stderr, "tensor: %s\n", qPrintable(t.error.isEmpty() ? QStringLiteral("valid") : t.error));
        if (t.error.isEmpty())
            sink = sink + t.nbytes() + t.isContiguous();
    }
    (void)sink;
    return 0;
}
