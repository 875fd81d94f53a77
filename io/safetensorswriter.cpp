#include "io/statedictwriter.h"


#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace ckpt {
namespace {

// The reference writer sorts by dtype, largest enum value first (which groups wide types before narrow ones
// and keeps every tensor aligned to its element size), then by name.
int referenceDtypeRank(DType t)
{
    static const DType order[] = { DType::Bool, DType::UInt8, DType::Int8, DType::Float8_e5m2, DType::Float8_e4m3fn,
        DType::Int16, DType::UInt16, DType::Float16, DType::BFloat16, DType::Int32, DType::UInt32, DType::Float32,
        DType::Complex64, DType::Float64, DType::Int64, DType::UInt64 };
    for (size_t i = 0; i < std::size(order); ++i)
        if (order[i] == t)
            return int(i);
    return -1;
}

QByteArray jsonString(const QString& s)
{
    // QJsonDocument escapes exactly as JSON requires; take the quoted string out of a one-element array.
    QByteArray a = QJsonDocument(QJsonArray { s }).toJson(QJsonDocument::Compact);
    return a.mid(1, a.size() - 2);
}

} // namespace

Expected<WriteReport> writeSafetensors(const QString& path, const StateDictOut& sd, const Progress& progress,
    const std::atomic<bool>* cancel, const ReadBackCheck& check)
{
    return writeAndCommit(path, [&](OutputFile& f) { return writeSafetensors(f, sd, progress, cancel); }, check);
}

Expected<WriteReport> writeSafetensors(OutputFile& f, const StateDictOut& sd, const Progress& progress,
    const std::atomic<bool>* cancel)
{
    const QString& path = f.path();
    std::vector<size_t> order(sd.tensors.size());
    for (size_t i = 0; i < order.size(); ++i) {
        const TensorOut& t = sd.tensors[i];
        const StorageOut& s = sd.storages[size_t(t.storage)];
        if (dtypeSafetensorsName(t.dtype).isEmpty())
            return Error { ErrorKind::Unsupported, path, t.name, QStringLiteral("safetensors has no %1 dtype").arg(dtypeName(t.dtype)) };
        std::int64_t numel = 1;
        for (auto d : t.shape)
            numel *= d;
        if (t.storageOffset != 0 || s.numel != numel)
            return Error { ErrorKind::Unsupported, path, t.name, QStringLiteral("safetensors needs each tensor in a storage of its own") };
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int ra = referenceDtypeRank(sd.tensors[a].dtype), rb = referenceDtypeRank(sd.tensors[b].dtype);
        return ra != rb ? ra > rb : sd.tensors[a].name < sd.tensors[b].name;
    });

    // Header written by hand so keys keep this order (QJsonObject would sort them).
    QByteArray header = "{\"__metadata__\":{\"format\":\"pt\"";
    for (const auto& [k, v] : sd.metadata)
        if (k != QLatin1String("format"))
            header += ',' + jsonString(k) + ':' + jsonString(v);
    header += '}';
    std::int64_t offset = 0;
    for (size_t i : order) {
        const TensorOut& t = sd.tensors[i];
        const std::int64_t nbytes = sd.storages[size_t(t.storage)].numel * dtypeItemSize(t.dtype);
        header += ',' + jsonString(t.name) + ":{\"dtype\":\"" + dtypeSafetensorsName(t.dtype).toLatin1() + "\",\"shape\":[";
        for (size_t d = 0; d < t.shape.size(); ++d)
            header += (d ? "," : "") + QByteArray::number(qlonglong(t.shape[d]));
        header += "],\"data_offsets\":[" + QByteArray::number(qlonglong(offset)) + ',' + QByteArray::number(qlonglong(offset + nbytes)) + "]}";
        offset += nbytes;
    }
    header += '}';
    header += QByteArray((8 - header.size() % 8) % 8, ' ');

    quint64 n = quint64(header.size());
    QByteArray len;
    for (int i = 0; i < 8; ++i)
        len += char((n >> (8 * i)) & 0xff);
    bool ok = f.write(len.constData(), 8) && f.write(header.constData(), header.size());
    std::int64_t done = 0;
    WriteReport report;
    report.storageCrc.assign(sd.storages.size(), 0);
    for (size_t k = 0; ok && k < order.size(); ++k) {
        const TensorOut& t = sd.tensors[order[k]];
        QString why;
        std::uint32_t crc = 0;
        ok = writeStorage(f, sd.storages[size_t(t.storage)], crc, done, progress, cancel, why);
        report.storageCrc[size_t(t.storage)] = crc;
        if (!ok && !why.isEmpty())
            return Error { ErrorKind::Io, path, t.name, why };
    }
    if (cancel && cancel->load())
        return Error { ErrorKind::Io, path, {}, QStringLiteral("cancelled; nothing was written") };
    if (!ok)
        return f.error();
    if (done != offset)
        return Error { ErrorKind::Io, path, {}, QStringLiteral("produced %1 bytes, the header declares %2").arg(done).arg(offset) };
    report.bytes = done;
    return report;
}

} // namespace ckpt
