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

// How much of the mapping that holds `p` is in this process's resident set, in KiB (Rss in /proc/self/smaps);
// -1 when no mapping holds it or smaps cannot be read.
inline qint64 residentKiB(const void* p)
{
    QFile smaps(QStringLiteral("/proc/self/smaps"));
    if (!smaps.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    const auto at = quintptr(p);
    bool inside = false;
    for (QByteArray line = smaps.readLine(); !line.isEmpty(); line = smaps.readLine()) {
        const qsizetype dash = line.indexOf('-'), space = line.indexOf(' ');
        bool lo = false, hi = false;
        if (dash > 0 && space > dash) {
            const quintptr begin = line.left(dash).toULongLong(&lo, 16);
            const quintptr end = line.mid(dash + 1, space - dash - 1).toULongLong(&hi, 16);
            if (lo && hi) {
                inside = at >= begin && at < end;
                continue;
            }
        }
        if (inside && line.startsWith("Rss:"))
            return line.mid(4).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

} // namespace ckpt::test
