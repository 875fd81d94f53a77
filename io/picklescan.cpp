#include "io/picklescan.h"

#include "io/checkpoint.h"
#include "io/mappedfile.h"
#include "io/ziparchive.h"

#include <cstring>

namespace ckpt {
namespace {

// Persistent ids become inert storage placeholders: a scan needs the calls, not the bytes.
Expected<ObjId> placeholder(UnpickleTarget& t, ObjId pid)
{
    t.storages.push_back(StorageInfo { QStringLiteral("scan"), DType::UInt8, 0, QStringLiteral("cpu"), -1, 0, {} });
    Q_UNUSED(pid);
    return t.graph.add(PyObject { .kind = ObjKind::Storage, .integer = std::int64_t(t.storages.size() - 1) });
}

// Unpickles consecutive pickles from `data` (legacy files hold five, a raw file may hold several).
bool isLegacyMagic(const ScannedPickle& p)
{
    if (!p.target.graph.valid(p.root))
        return false;
    const PyObject& o = p.target.graph.at(p.root);
    return o.kind == ObjKind::BigInt
        && (o.text == QLatin1String("0x1950a86a20f9469cfc6c") || o.text == QLatin1String("119547037146038801333356"));
}

void scanStream(std::span<const std::uint8_t> data, const QString& path, const QString& record, PickleScan& out, int maxPickles)
{
    size_t pos = 0;
    bool legacy = false;
    for (int i = 0; i < maxPickles && pos < data.size(); ++i) {
        if (i == 1 && !out.pickles.empty() && isLegacyMagic(out.pickles.back())) {
            legacy = true; // torch < 1.6: magic, protocol, sys_info, the object, the storage keys; then raw bytes
            out.format = QStringLiteral("torch-legacy");
        }
        if (legacy && i >= 5)
            break;
        if (i > 0 && !legacy && data[pos] != 0x80)
            break; // a raw file's later bytes are not another binary pickle
        ScannedPickle p;
        p.record = maxPickles > 1 ? QStringLiteral("%1 #%2").arg(legacy ? QStringLiteral("legacy") : record).arg(i + 1) : record;
        auto r = unpickle(data.subspan(pos), p.target, placeholder, path, p.record);
        if (r) {
            p.root = r->root;
            pos += r->consumed;
        } else {
            p.error = r.error().what;
        }
        const bool failed = !r;
        out.pickles.push_back(std::move(p));
        if (failed)
            break;
    }
}

} // namespace

Expected<PickleScan> scanPickles(const QString& path)
{
    auto mapped = MappedFile::open(path);
    if (!mapped)
        return mapped.error();
    const MappedFile& f = **mapped;
    const auto bytes = f.bytes();
    PickleScan scan;
    scan.path = path;
    if (looksLikeZip(bytes)) {
        scan.format = QStringLiteral("torch-zip");
        auto records = listZipEntries(f);
        if (!records)
            return records.error();
        for (const Record& r : *records) {
            if (!r.name.endsWith(QLatin1String(".pkl")))
                continue;
            QByteArray inflated;
            std::span<const std::uint8_t> data;
            if (r.deflated) {
                auto in = inflateZipEntry(f, r);
                if (!in)
                    return in.error();
                inflated = *in;
                data = { reinterpret_cast<const std::uint8_t*>(inflated.constData()), size_t(inflated.size()) };
            } else {
                data = f.slice(r.offset, r.size);
            }
            scanStream(data, path, r.name, scan, 1);
        }
        return scan;
    }
    if (bytes.size() >= 9 && bytes[8] == '{') {
        scan.format = QStringLiteral("safetensors"); // a JSON header and raw bytes: nothing can run
        return scan;
    }
    // A legacy torch file is five pickles in a row, then raw storages; a plain pickle file one or more.
    scan.format = QStringLiteral("pickle");
    const bool pickleStart = !bytes.empty() && bytes[0] != 0 && (bytes[0] == 0x80 || std::strchr("(]}cNIJKLSUVX", bytes[0]) != nullptr);
    if (!pickleStart)
        return Error { ErrorKind::NotACheckpoint, path, {}, QStringLiteral("neither a pickle, a zip of pickles nor safetensors") };
    scanStream(bytes, path, QStringLiteral("pickle"), scan, 16);
    return scan;
}

} // namespace ckpt
