#include "io/checkpoint.h"
#include "io/persistentid.h"
#include "io/unpickler.h"
#include "io/ziparchive.h"

#include <spdlog/spdlog.h>

#include <QHash>

#include <algorithm>
#include <future>
#include <new>
#include <optional>
#include <system_error>

namespace ckpt {
namespace {

// Storage keys are "0", "1", ... in files of torch >= 1.8 and memory addresses before: a dense vector serves the
// common case without hashing 60,000 strings, a hash the rest.
template <typename T>
class KeyIndex {
public:
    // The dense range is fixed here: had it grown with the vector, a key stored sparse could later be looked up
    // as dense and missed.
    explicit KeyIndex(size_t expected)
        : m_denseLimit(std::int64_t(std::min<size_t>(expected, 1u << 24)) * 4 + 1024)
    {
        m_dense.reserve(std::min<size_t>(expected, 1u << 24));
    }
    size_t size() const { return m_count; }
    void insert(QStringView key, T value)
    {
        ++m_count;
        if (auto n = denseKey(key); n >= 0) {
            if (size_t(n) == m_dense.size())
                m_dense.push_back(kAbsent); // keys counted up from 0: the usual case
            else if (size_t(n) > m_dense.size())
                m_dense.resize(size_t(n) + 1, kAbsent);
            m_dense[size_t(n)] = value;
        } else {
            m_sparse.insert(key.toString(), value);
        }
    }
    T find(QStringView key) const
    {
        if (auto n = denseKey(key); n >= 0)
            return size_t(n) < m_dense.size() ? m_dense[size_t(n)] : kAbsent;
        return m_sparse.value(key.toString(), kAbsent);
    }
    static constexpr T kAbsent = T(-1);

private:
    std::int64_t denseKey(QStringView key) const
    {
        if (key.isEmpty() || key.size() > 7 || (key.size() > 1 && key[0] == QLatin1Char('0')))
            return -1;
        std::int64_t n = 0;
        for (QChar c : key) {
            if (c < QLatin1Char('0') || c > QLatin1Char('9'))
                return -1;
            n = n * 10 + (c.unicode() - '0');
        }
        return n < m_denseLimit ? n : -1;
    }
    std::int64_t m_denseLimit;
    std::vector<T> m_dense;
    QHash<QString, T> m_sparse;
    size_t m_count = 0;
};

} // namespace

namespace {

// The folder every record of a torch zip sits under ("archive/", the file stem, ...), taken from the first entry's
// name with its slash; empty when that name has none.
QString archiveFolderOf(const QString& firstName)
{
    const qsizetype slash = firstName.indexOf(QLatin1Char('/'));
    return slash > 0 ? firstName.left(slash + 1) : QString();
}

// data.pkl among the first entries, if it is stored (not deflated) there: the pickle can then be interpreted while
// the rest of the central directory is listed.
std::optional<Record> earlyDataPkl(const MappedFile& file, std::uint64_t& declaredEntries)
{
    auto head = listZipEntries(file, 4, &declaredEntries);
    if (!head || head->empty())
        return std::nullopt;
    const QString name = archiveFolderOf(head->front().name) + QStringLiteral("data.pkl");
    for (const Record& r : *head)
        if (r.name == name)
            return r.deflated ? std::nullopt : std::optional<Record>(r);
    return std::nullopt;
}

} // namespace

Expected<std::shared_ptr<Checkpoint>> readTorchZip(std::shared_ptr<const MappedFile> file)
{
    // Listing the central directory of a 60,000-tensor file costs about a quarter of interpreting its pickle: it
    // runs on another thread while data.pkl, which torch writes first, is interpreted here. Storages find their
    // records once both are done.
    std::future<Expected<std::vector<Record>>> listing;
    try {
        listing = std::async(std::launch::async, [file] { return listZipEntries(*file); });
    } catch (const std::system_error&) {
        listing = std::async(std::launch::deferred, [file] { return listZipEntries(*file); });
    }
    std::uint64_t declaredEntries = 0; // checked against the central directory's size: 46 bytes an entry at least
    const std::optional<Record> early = earlyDataPkl(*file, declaredEntries);
    // Only a hint for reservations, and the directory is not yet read past its first entries: a storage costs a
    // pickle at least a BINPERSID and its id tuple, so the pickle's size bounds it too.
    const size_t expectedStorages = early ? size_t(std::min<std::uint64_t>(declaredEntries, std::uint64_t(early->size) / 8 + 64)) : 1024;

    UnpickleTarget target;
    // torch writes one data/<key> record per storage and, in a state dict, one tensor per storage: reserving for
    // that many spares the vectors' growth copies.
    const auto reserveFor = [&target](size_t records) {
        try {
            target.storages.reserve(records);
            target.tensors.reserve(records);
        } catch (const std::bad_alloc&) {
            // a hint: the vectors grow as the pickle asks
        }
    };
    // Storages of data.pkl live in data/<key>; those of a TorchScript archive's constants.pkl in constants/<key>,
    // with keys counted from 0 again: one node index per pickle. Records are looked up afterwards (resolveRecords).
    const auto makeLoad = [](KeyIndex<ObjId>& storageNodes, const QString& folder) {
        const bool dataFolder = folder == QLatin1String("data/");
        // Every storage of a file names one class or a few, the same memoized string each time: the last one's
        // dtype is kept rather than searched for again.
        return PersistentLoad([&storageNodes, folder, dataFolder, lastClass = QString(), lastType = std::optional<DType>()](
                                  UnpickleTarget& t, ObjId pid) mutable -> Expected<ObjId> {
            auto parsed = parsePersistentId(t.graph, pid);
            if (!parsed)
                return parsed.error();
            if (parsed->isModule)
                return Error { ErrorKind::BadPickle, {}, {}, QStringLiteral("'module' persistent id in a zip checkpoint") };
            StoragePid& sp = parsed->storage;
            if (ObjId known = storageNodes.find(sp.key); known != storageNodes.kAbsent)
                return known;
            if (sp.storageClass.constData() != lastClass.constData() || sp.storageClass != lastClass) {
                lastType = dtypeFromStorageClass(sp.storageClass);
                lastClass = sp.storageClass;
            }
            StorageInfo s;
            s.numel = sp.numel;
            if (lastType)
                s.dtype = *lastType;
            else
                s.error = QStringLiteral("unknown storage class torch.%1").arg(sp.storageClass.left(64));
            s.key = dataFolder ? std::move(sp.key) : folder + sp.key;
            s.location = std::move(sp.location);
            t.storages.push_back(std::move(s));
            ObjId node = t.graph.add(PyObject { .kind = ObjKind::Storage, .integer = std::int64_t(t.storages.size() - 1) });
            const QString& key = t.storages.back().key;
            storageNodes.insert(dataFolder ? QStringView(key) : QStringView(key).mid(folder.size()), node);
            return node;
        });
    };
    const auto resolveRecords = [&target](size_t from, const KeyIndex<int>& records, const QString& prefix,
                                    const QString& folder) {
        for (size_t i = from; i < target.storages.size(); ++i) {
            StorageInfo& s = target.storages[i];
            const QStringView key = folder == QLatin1String("data/") ? QStringView(s.key) : QStringView(s.key).mid(folder.size());
            if (int rec = records.find(key); rec != records.kAbsent)
                s.record = rec;
            else if (s.error.isEmpty())
                s.error = QStringLiteral("record %1%2%3 is missing").arg(prefix, folder, key.left(64));
        }
    };
    KeyIndex<ObjId> storageNodes { expectedStorages }; // torch loads each key once; tensors sharing it share it
    const PersistentLoad load = makeLoad(storageNodes, QStringLiteral("data/"));
    std::optional<Expected<UnpickleResult>> earlyResult;
    if (early) {
        reserveFor(expectedStorages);
        const auto bytes = file->bytes().subspan(size_t(early->offset), size_t(early->size));
        earlyResult = unpickle(bytes, target, load, file->path(), early->name);
    }

    auto entries = listing.get();
    if (!entries)
        return entries.error();
    auto ck = std::make_shared<Checkpoint>();
    ck->format = Format::TorchZip;
    ck->setFile(file);
    ck->records = std::move(*entries);
    if (ck->records.empty())
        return Error { ErrorKind::NotACheckpoint, file->path(), {}, QStringLiteral("an empty zip archive") };

    // Every record sits under one folder whose name varies (file stem, "archive"): take it from the first entry.
    const QString prefix = archiveFolderOf(ck->records.front().name);
    ck->archivePrefix = prefix.isEmpty() ? QString() : prefix.chopped(1);

    QHash<QString, int> byName;              // records other than data/<key>
    KeyIndex<int> dataRecords(ck->records.size()); // data/<key> -> record
    const QString dataPrefix = prefix + QStringLiteral("data/");
    for (size_t i = 0; i < ck->records.size(); ++i) {
        const QString& n = ck->records[i].name;
        if (n.startsWith(dataPrefix))
            dataRecords.insert(QStringView(n).mid(dataPrefix.size()), int(i));
        else if (n.startsWith(prefix))
            byName.insert(n.mid(prefix.size()), int(i));
    }
    auto pkl = byName.find(QStringLiteral("data.pkl"));
    if (pkl == byName.end())
        return Error { ErrorKind::NotACheckpoint, file->path(), {},
            QStringLiteral("a zip archive without %1data.pkl: not a torch.save file").arg(prefix) };
    ck->torchScript = byName.contains(QStringLiteral("constants.pkl"));

    for (const char* small : { "version", ".data/version", "byteorder", ".format_version", ".storage_alignment",
             ".data/serialization_id" }) {
        auto it = byName.find(QString::fromLatin1(small));
        if (it == byName.end() || ck->records[size_t(*it)].size > 256)
            continue;
        auto bytes = ck->recordBytes(*it);
        if (!bytes)
            continue;
        QString text = QString::fromUtf8(reinterpret_cast<const char*>(bytes->data()), qsizetype(bytes->size())).trimmed();
        ck->metadata.append({ QString::fromLatin1(small), text });
        if (qstrcmp(small, "byteorder") == 0)
            ck->bigEndian = text == QLatin1String("big");
    }

    // The early interpretation counts only when it read the record the full listing names data.pkl (a zip may
    // hold one name twice; the last entry wins, as before).
    if (!earlyResult || ck->records[size_t(*pkl)] != *early) {
        target = UnpickleTarget {};
        storageNodes = KeyIndex<ObjId>(ck->records.size());
        reserveFor(dataRecords.size());
        auto pklBytes = ck->recordBytes(*pkl);
        if (!pklBytes)
            return pklBytes.error();
        earlyResult = unpickle(*pklBytes, target, load, file->path(), prefix + QStringLiteral("data.pkl"));
    }
    if (!*earlyResult)
        return earlyResult->error();
    ck->root = (*earlyResult)->root;
    resolveRecords(0, dataRecords, prefix, QStringLiteral("data/"));
    // TorchScript: the tensor constants the code refers to (CONSTANTS.c0, ...) come from constants.pkl.
    if (auto cpk = byName.find(QStringLiteral("constants.pkl")); ck->torchScript && cpk != byName.end()) {
        KeyIndex<int> constantRecords(ck->records.size());
        const QString constantsPrefix = prefix + QStringLiteral("constants/");
        for (size_t i = 0; i < ck->records.size(); ++i)
            if (ck->records[i].name.startsWith(constantsPrefix))
                constantRecords.insert(QStringView(ck->records[i].name).mid(constantsPrefix.size()), int(i));
        KeyIndex<ObjId> constantNodes(ck->records.size());
        const PersistentLoad constantLoad = makeLoad(constantNodes, QStringLiteral("constants/"));
        const size_t firstConstant = target.storages.size();
        // A damaged constants.pkl costs the constants, not the module (data.pkl parsed).
        auto cbytes = ck->recordBytes(*cpk);
        auto constants = cbytes ? unpickle(*cbytes, target, constantLoad, file->path(), prefix + QStringLiteral("constants.pkl"))
                                : Expected<UnpickleResult>(cbytes.error());
        if (constants)
            ck->scriptConstants = constants->root;
        else
            spdlog::warn("{}: constants.pkl: {}", file->path().toStdString(), constants.error().message().toStdString());
        resolveRecords(firstConstant, constantRecords, prefix, QStringLiteral("constants/"));
    }
    ck->graph = std::move(target.graph);
    ck->tensors = std::move(target.tensors);
    ck->storages = std::move(target.storages);
    ck->imports = std::move(target.imports);
    return ck;
}

} // namespace ckpt
