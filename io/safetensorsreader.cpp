#include "io/checkpoint.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>

namespace ckpt {
namespace {

constexpr qint64 kMaxHeader = 100'000'000; // the reference implementation's cap

bool toInt64(const QJsonValue& v, std::int64_t& out)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    if (d < 0 || d > 9.007199254740992e15 || d != double(std::int64_t(d)))
        return false;
    out = v.toInteger();
    return true;
}

} // namespace

// Validated as safetensors' Metadata::validate() does: offsets sorted are contiguous from 0, each tensor's byte
// count equals its shape product times the dtype size (overflow-checked), and the buffer ends at end of file.
Expected<std::shared_ptr<Checkpoint>> readSafetensors(std::shared_ptr<const MappedFile> file)
{
    auto bad = [&](QString where, QString what, ErrorKind kind = ErrorKind::BadSafetensors) {
        return Error { kind, file->path(), std::move(where), std::move(what) };
    };
    if (file->size() < 8)
        return bad({}, QStringLiteral("shorter than the 8-byte header length"), ErrorKind::Truncated);
    std::uint64_t n = 0;
    std::memcpy(&n, file->bytes().data(), 8);
    if (n > std::uint64_t(kMaxHeader))
        return bad(QStringLiteral("header"), QStringLiteral("declared header length %1 exceeds the 100 MB limit").arg(n),
            ErrorKind::LimitExceeded);
    if (qint64(n) > file->size() - 8)
        return bad(QStringLiteral("header"),
            QStringLiteral("declared header length %1 exceeds the file (%2 bytes)").arg(n).arg(file->size()),
            ErrorKind::Truncated);
    const auto header = file->slice(8, qint64(n));
    QJsonParseError perr;
    const QJsonDocument doc = QJsonDocument::fromJson(
        QByteArray::fromRawData(reinterpret_cast<const char*>(header.data()), qsizetype(header.size())), &perr);
    if (perr.error != QJsonParseError::NoError)
        return bad(QStringLiteral("header byte %1").arg(perr.offset), QStringLiteral("invalid JSON: %1").arg(perr.errorString()));
    if (!doc.isObject())
        return bad(QStringLiteral("header"), QStringLiteral("JSON is not an object"));

    auto ck = std::make_shared<Checkpoint>();
    ck->format = Format::Safetensors;
    ck->setFile(file);
    const qint64 dataStart = 8 + qint64(n);
    ck->records.push_back(Record { QStringLiteral("data"), dataStart, file->size() - dataStart, file->size() - dataStart, false });

    struct Entry {
        QString name;
        DType dtype;
        std::vector<std::int64_t> shape;
        std::int64_t begin, end;
    };
    std::vector<Entry> entries;
    const QJsonObject obj = doc.object();
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const QString name = it.key();
        if (name == QLatin1String("__metadata__")) {
            if (!it->isObject())
                return bad(name, QStringLiteral("is not an object of strings"));
            const QJsonObject md = it->toObject();
            for (auto m = md.begin(); m != md.end(); ++m) {
                if (!m->isString())
                    return bad(QStringLiteral("__metadata__.%1").arg(m.key()), QStringLiteral("value is not a string"));
                ck->metadata.append({ m.key(), m->toString() });
            }
            continue;
        }
        if (!it->isObject())
            return bad(name, QStringLiteral("tensor entry is not an object"));
        const QJsonObject t = it->toObject();
        Entry e { name, DType::Unknown, {}, 0, 0 };
        auto dt = dtypeFromSafetensorsName(t.value(QLatin1String("dtype")).toString());
        if (!dt)
            return bad(name, QStringLiteral("unknown dtype '%1'").arg(t.value(QLatin1String("dtype")).toString().left(32)));
        e.dtype = *dt;
        const QJsonValue shape = t.value(QLatin1String("shape"));
        if (!shape.isArray())
            return bad(name, QStringLiteral("shape is not an array"));
        for (const QJsonValue d : shape.toArray()) {
            std::int64_t v = 0;
            if (!toInt64(d, v))
                return bad(name, QStringLiteral("shape holds something that is not a non-negative integer"));
            e.shape.push_back(v);
        }
        const QJsonArray off = t.value(QLatin1String("data_offsets")).toArray();
        if (off.size() != 2 || !toInt64(off[0], e.begin) || !toInt64(off[1], e.end))
            return bad(name, QStringLiteral("data_offsets is not a pair of non-negative integers"));
        if (e.end < e.begin)
            return bad(name, QStringLiteral("data_offsets end %1 is before begin %2").arg(e.end).arg(e.begin));
        std::int64_t numel = 1, nbytes = 0;
        for (auto d : e.shape)
            if (__builtin_mul_overflow(numel, d, &numel))
                return bad(name, QStringLiteral("shape element count overflows"), ErrorKind::LimitExceeded);
        if (__builtin_mul_overflow(numel, std::int64_t(dtypeItemSize(e.dtype)), &nbytes) || nbytes != e.end - e.begin)
            return bad(name, QStringLiteral("holds %1 bytes but shape and dtype need %2").arg(e.end - e.begin).arg(nbytes));
        entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::int64_t expected = 0;
    for (const auto& e : entries) {
        if (e.begin != expected)
            return bad(e.name, QStringLiteral("data starts at %1, expected %2: offsets must be contiguous").arg(e.begin).arg(expected));
        expected = e.end;
    }
    if (expected != file->size() - dataStart)
        return bad(QStringLiteral("data buffer"),
            QStringLiteral("tensors cover %1 bytes but the buffer holds %2").arg(expected).arg(file->size() - dataStart),
            expected > file->size() - dataStart ? ErrorKind::Truncated : ErrorKind::BadSafetensors);

    PyObject root { .kind = ObjKind::Dict };
    for (auto& e : entries) {
        StorageInfo s { e.name, e.dtype, (e.end - e.begin) / dtypeItemSize(e.dtype), QStringLiteral("cpu"), 0, e.begin, {} };
        ck->storages.push_back(std::move(s));
        TensorInfo t;
        t.dtype = e.dtype;
        t.shape = e.shape;
        t.stride.resize(e.shape.size());
        std::int64_t st = 1;
        for (size_t d = e.shape.size(); d-- > 0;) {
            t.stride[d] = st;
            // With a zero dimension the product of the others is unchecked: [0, 2^40, 2^40] is a valid, empty tensor.
            if (__builtin_mul_overflow(st, std::max<std::int64_t>(e.shape[d], 1), &st))
                t.error = QStringLiteral("strides overflow");
        }
        t.storage = int(ck->storages.size() - 1);
        ck->tensors.push_back(std::move(t));
        root.items.push_back(ck->graph.add(PyObject { .kind = ObjKind::Str, .text = e.name }));
        root.items.push_back(ck->graph.add(PyObject { .kind = ObjKind::Tensor, .integer = std::int64_t(ck->tensors.size() - 1) }));
    }
    ck->root = ck->graph.add(std::move(root));
    return ck;
}

} // namespace ckpt
