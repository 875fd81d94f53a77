#pragma once

// Writes a safetensors file of any dtype from raw element bytes, for tests that need exact bit patterns (NaN
// payloads, subnormals, values on bin edges) without torch. Tensors are written in the order given, back to back
// (safetensors allows no holes), so elements may be unaligned in the file, as real files' can be.
#include "io/dtype.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdint>
#include <vector>

namespace ckpt::test {

struct RawTensor {
    QString name;
    DType dtype = DType::Float32;
    std::vector<std::int64_t> shape;
    QByteArray bytes; // numel * item size, little-endian
};

// Creates `path` and writes the 8-byte length and the JSON header, padded so the data starts 16-byte aligned;
// the tensor bytes follow.
inline bool openSafetensors(QFile& f, const QString& path, const QJsonObject& header)
{
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while ((json.size() + 8) % 16)
        json += ' ';
    f.setFileName(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    const std::uint64_t n = std::uint64_t(json.size());
    char len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = char((n >> (8 * i)) & 0xff);
    return f.write(len, 8) == 8 && f.write(json) == json.size();
}

inline bool writeRawSafetensors(const QString& path, const std::vector<RawTensor>& tensors)
{
    QJsonObject header;
    std::int64_t offset = 0;
    for (const RawTensor& t : tensors) {
        QJsonArray shape;
        for (auto d : t.shape)
            shape.append(qint64(d));
        header.insert(t.name, QJsonObject { { QStringLiteral("dtype"), dtypeSafetensorsName(t.dtype) }, { QStringLiteral("shape"), shape },
                                  { QStringLiteral("data_offsets"), QJsonArray { qint64(offset), qint64(offset + t.bytes.size()) } } });
        offset += t.bytes.size();
    }
    QFile f;
    if (!openSafetensors(f, path, header))
        return false;
    for (const RawTensor& t : tensors)
        f.write(t.bytes);
    return f.flush();
}

} // namespace ckpt::test
