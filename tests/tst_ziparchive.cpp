// Our central-directory parser (io/ziparchive.cpp) must list exactly what QuaZip lists: names, sizes, methods
// and data offsets (QuaZip's from the local header), for torch-written, external and hand-built zip64 files; and
// listing a zip of large entries leaves their bytes out of the resident set (local headers of sparse regions are
// read with pread, not through the map).
#include "io/ziparchive.h"
#include "testutil.h"

#include <QBuffer>
#include <QDirIterator>
#include <QTemporaryDir>

#include <quazip.h>
#include <quazipfile.h>
#include <unzip.h>

#include <fcntl.h>
#include <unistd.h>

using namespace ckpt;

class TestZipArchive : public QObject {
    Q_OBJECT
private slots:
    void matchesQuaZip_data();
    void matchesQuaZip();
    void zip64ExtraFields();
    void deflatedEntryInflates();
    void sparseHeadersStayOutOfTheResidentSet();
};

static std::vector<Record> quazipList(const QString& path)
{
    std::vector<Record> out;
    QuaZip zip(path);
    if (!zip.open(QuaZip::mdUnzip))
        return out;
    unzFile uf = zip.getUnzFile();
    for (bool more = zip.goToFirstFile(); more; more = zip.goToNextFile()) {
        QuaZipFileInfo64 info;
        zip.getCurrentFileInfo(&info);
        int method = 0, level = 0;
        Record r { info.name, -1, qint64(info.uncompressedSize), qint64(info.compressedSize), info.method == 8 };
        if (unzOpenCurrentFile2(uf, &method, &level, 1) == UNZ_OK) {
            r.offset = qint64(unzGetCurrentFileZStreamPos64(uf));
            unzCloseCurrentFile(uf);
        }
        out.push_back(r);
    }
    return out;
}

void TestZipArchive::matchesQuaZip_data()
{
    QTest::addColumn<QString>("path");
    QStringList files;
    for (const QString& dir : { QStringLiteral(CKPTLENS_FIXTURE_DIR), test::externalDir() }) {
        QDirIterator it(dir, QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString f = it.next();
            QFile file(f);
            if (file.open(QIODevice::ReadOnly) && file.read(4) == QByteArray("PK\x03\x04", 4))
                files << f;
        }
    }
    if (files.isEmpty())
        QSKIP("no zip fixtures (gen_fixtures has not run and ../shared is absent)");
    files.sort();
    for (const QString& f : files)
        QTest::newRow(qPrintable(QFileInfo(f).fileName())) << f;
}

void TestZipArchive::matchesQuaZip()
{
    QFETCH(QString, path);
    auto mapped = MappedFile::open(path);
    QVERIFY(mapped);
    auto ours = listZipEntries(**mapped);
    QVERIFY2(ours, ours ? "" : qPrintable(ours.error().message()));
    const auto theirs = quazipList(path);
    QCOMPARE(ours->size(), theirs.size());
    for (size_t i = 0; i < theirs.size(); ++i)
        QCOMPARE((*ours)[i], theirs[i]);
}

// One stored entry whose central directory defers sizes and offset to a zip64 extended-information field, as
// writers do past 4 GiB, followed by zip64 end records.
static QByteArray zip64Sample(const QByteArray& name, const QByteArray& data)
{
    auto u16 = [](quint16 v) { return QByteArray(reinterpret_cast<const char*>(&v), 2); };
    auto u32 = [](quint32 v) { return QByteArray(reinterpret_cast<const char*>(&v), 4); };
    auto u64 = [](quint64 v) { return QByteArray(reinterpret_cast<const char*>(&v), 8); };
    QByteArray z;
    z += u32(0x04034b50) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(quint32(data.size()))
        + u32(quint32(data.size())) + u16(quint16(name.size())) + u16(0) + name + data;
    const quint64 cdOffset = quint64(z.size());
    const QByteArray extra = u16(1) + u16(24) + u64(quint64(data.size())) + u64(quint64(data.size())) + u64(0);
    z += u32(0x02014b50) + u16(45) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(0xFFFFFFFF)
        + u32(0xFFFFFFFF) + u16(quint16(name.size())) + u16(quint16(extra.size())) + u16(0) + u16(0) + u16(0) + u32(0)
        + u32(0xFFFFFFFF) + name + extra;
    const quint64 cdSize = quint64(z.size()) - cdOffset;
    const quint64 z64 = quint64(z.size());
    z += u32(0x06064b50) + u64(44) + u16(45) + u16(45) + u32(0) + u32(0) + u64(1) + u64(1) + u64(cdSize)
        + u64(cdOffset);
    z += u32(0x07064b50) + u32(0) + u64(z64) + u32(1);
    z += u32(0x06054b50) + u16(0) + u16(0) + u16(0xFFFF) + u16(0xFFFF) + u32(0xFFFFFFFF) + u32(0xFFFFFFFF) + u16(0);
    return z;
}

void TestZipArchive::zip64ExtraFields()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("z64.zip"));
    QVERIFY(test::writeFile(path, zip64Sample("archive/data/0", "0123456789abcdef")));
    auto mapped = MappedFile::open(path);
    QVERIFY(mapped);
    auto ours = listZipEntries(**mapped);
    QVERIFY2(ours, ours ? "" : qPrintable(ours.error().message()));
    QCOMPARE(ours->size(), size_t(1));
    const Record& r = ours->front();
    QCOMPARE(r.name, QStringLiteral("archive/data/0"));
    QCOMPARE(r.size, 16);
    QCOMPARE(r.offset, 30 + 14);
    QCOMPARE(QByteArray(reinterpret_cast<const char*>((*mapped)->slice(r.offset, r.size).data()), 16),
        QByteArray("0123456789abcdef"));
    QCOMPARE(quazipList(path), *ours);
}

void TestZipArchive::deflatedEntryInflates()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("deflated.zip"));
    const QByteArray payload = QByteArray("tensor bytes ").repeated(1000);
    {
        QuaZip zip(path);
        QVERIFY(zip.open(QuaZip::mdCreate));
        QuaZipFile f(&zip);
        QVERIFY(f.open(QIODevice::WriteOnly, QuaZipNewInfo(QStringLiteral("archive/data/0"))));
        f.write(payload);
        f.close();
        zip.close();
    }
    {
        // Out of the page cache, so that the map reads it back through readahead, in large folios, as it reads a
        // checkpoint opened after a while (pages just written sit in small ones, where through-the-map headers
        // would cost little).
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(fsync(f.handle()), 0);
        QCOMPARE(posix_fadvise(f.handle(), 0, 0, POSIX_FADV_DONTNEED), 0);
    }
    auto mapped = MappedFile::open(path);
    QVERIFY(mapped);
    auto list = listZipEntries(**mapped);
    QVERIFY(list);
    QVERIFY(list->front().deflated);
    QVERIFY(list->front().compressedSize < payload.size());
    auto inflated = inflateZipEntry(**mapped, list->front());
    QVERIFY2(inflated, inflated ? "" : qPrintable(inflated.error().message()));
    QCOMPARE(*inflated, payload);
}

// Small entries (dense headers, read through the map), then 24 entries of 1 MiB (sparse: one header per MiB, read
// with pread), then small ones again. Offsets as QuaZip reads them. Of the map, only what lies around the two dense
// ends is resident: measured on Linux 6.18, 140 KiB; reading every header through the map, 1500 KiB (each fault
// maps the fault-around window or the readahead folio around a header).
void TestZipArchive::sparseHeadersStayOutOfTheResidentSet()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("mixed.zip"));
    {
        QuaZip zip(path);
        QVERIFY(zip.open(QuaZip::mdCreate));
        const auto add = [&](const QString& name, const QByteArray& bytes) {
            QuaZipFile f(&zip);
            QVERIFY(f.open(QIODevice::WriteOnly, QuaZipNewInfo(name), nullptr, 0, 0, 0));
            QCOMPARE(f.write(bytes), qint64(bytes.size()));
            f.close();
        };
        QByteArray big(1 << 20, Qt::Uninitialized);
        for (qsizetype i = 0; i < big.size(); ++i)
            big[i] = char(i * 13);
        for (int i = 0; i < 20; ++i)
            add(QStringLiteral("archive/data/small%1").arg(i), QByteArray(100, char(i)));
        for (int i = 0; i < 24; ++i)
            add(QStringLiteral("archive/data/big%1").arg(i), big);
        for (int i = 0; i < 20; ++i)
            add(QStringLiteral("archive/data/tail%1").arg(i), QByteArray(100, char(i)));
        zip.close();
    }
    {
        // Out of the page cache, so that the map reads it back through readahead, in large folios, as it reads a
        // checkpoint opened after a while (pages just written sit in small ones, where through-the-map headers
        // would cost little).
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(fsync(f.handle()), 0);
        QCOMPARE(posix_fadvise(f.handle(), 0, 0, POSIX_FADV_DONTNEED), 0);
    }
    auto mapped = MappedFile::open(path);
    QVERIFY(mapped);
    auto ours = listZipEntries(**mapped);
    QVERIFY2(ours, ours ? "" : qPrintable(ours.error().message()));
    QCOMPARE(ours->size(), size_t(64));
    QCOMPARE(quazipList(path), *ours);
    const qint64 resident = test::residentKiB((*mapped)->bytes().data());
    QVERIFY(resident >= 0);
    qInfo("%lld KiB of the map resident after listing", qlonglong(resident));
    QVERIFY2(resident <= 512, qPrintable(QStringLiteral("%1 KiB of the map resident").arg(resident)));
}

QTEST_GUILESS_MAIN(TestZipArchive)
#include "tst_ziparchive.moc"
