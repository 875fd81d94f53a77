#pragma once

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>
#include <QtTest>

namespace ckpt::test {

// Fixtures written by real torch at test time (ctest runs gen_fixtures first).
inline QString fixture(const QString& name)
{
    return QStringLiteral(CKPTLENS_FIXTURE_DIR "/") + name;
}

inline bool haveTorchFixtures()
{
    return QFileInfo::exists(fixture(QStringLiteral("manifest.json")));
}

// ../shared/fixtures/external beside the clone; absent in a user's clone.
inline QString externalDir()
{
    return QDir::cleanPath(QStringLiteral(CKPTLENS_EXTERNAL_FIXTURES));
}

inline QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

} // namespace ckpt::test
