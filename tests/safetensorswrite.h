#pragma once

// A minimal safetensors writer for GUI tests that need a checkpoint of a chosen shape and size without torch:
// float32 tensors, values from a fixed LCG so files are reproducible.
#include "rawsafetensors.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <cstring>
#include <vector>

namespace ckpt::test {

struct StTensor {
    QString name;
    std::vector<std::int64_t> shape;
};

inline std::int64_t numel(const StTensor& t)
{
    std::int64_t n = 1;
    for (auto d : t.shape)
        n *= d;
    return n;
}

inline bool writeSafetensors(const QString& path, const std::vector<StTensor>& tensors, std::uint32_t seed = 1)
{
    QJsonObject header;
    std::int64_t offset = 0;
    for (const StTensor& t : tensors) {
        QJsonArray shape;
        for (auto d : t.shape)
            shape.append(qint64(d));
        const std::int64_t bytes = numel(t) * 4;
        header.insert(t.name,
            QJsonObject { { QStringLiteral("dtype"), QStringLiteral("F32") }, { QStringLiteral("shape"), shape },
                { QStringLiteral("data_offsets"), QJsonArray { qint64(offset), qint64(offset + bytes) } } });
        offset += bytes;
    }
    QFile f;
    if (!openSafetensors(f, path, header))
        return false;
    std::uint32_t state = seed;
    std::vector<float> chunk(1 << 16);
    for (const StTensor& t : tensors) {
        std::int64_t left = numel(t);
        while (left > 0) {
            const auto m = std::min<std::int64_t>(left, std::int64_t(chunk.size()));
            for (std::int64_t i = 0; i < m; ++i) {
                state = state * 1664525u + 1013904223u;
                chunk[size_t(i)] = float(std::int32_t(state >> 8) - (1 << 23)) / float(1 << 23);
            }
            if (f.write(reinterpret_cast<const char*>(chunk.data()), m * 4) != m * 4)
                return false;
            left -= m;
        }
    }
    return f.flush();
}

} // namespace ckpt::test
