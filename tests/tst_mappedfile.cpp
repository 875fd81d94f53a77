// io/mappedfile: bounded reads beside the map (readAt) and releasing streamed pages. A pass over a file in chunks,
// each released after use, must leave about nothing of the file resident, even where a later fault maps pages of
// a released chunk again (fault-around, and whole large folios on recent kernels: a bfloat16 export left 36 KiB
// behind for every 1 MiB cast chunk, 65 MiB of a 1.4 GB file, before releasePages widened its range back to the
// 2 MiB boundary); and it never touches memory that is not a map of ours.
#include "io/mappedfile.h"
#include "testutil.h"

#include <QTemporaryDir>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

using namespace ckpt;

namespace {

// `mib` MiB of bytes that vary, written in 8 MiB pieces, synced and dropped from the page cache: the map then reads
// it back through readahead, as a checkpoint opened after a while is read, and readahead builds the large folios
// (pages written just now sit in small ones, where the residue below does not show).
QString writeSample(const QTemporaryDir& dir, int mib)
{
    const QString path = dir.filePath(QStringLiteral("sample.bin"));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return {};
    QByteArray piece(8 << 20, Qt::Uninitialized);
    for (int written = 0; written < mib; written += 8) {
        for (qsizetype i = 0; i < piece.size(); ++i)
            piece[i] = char((i * 131 + written) & 0xff);
        if (f.write(piece.constData(), qint64(std::min(8, mib - written)) << 20) <= 0)
            return {};
    }
    if (!f.flush() || fsync(f.handle()) != 0 || posix_fadvise(f.handle(), 0, 0, POSIX_FADV_DONTNEED) != 0)
        return {};
    return path;
}

} // namespace

class TestMappedFile : public QObject {
    Q_OBJECT
private slots:
    void readAt_data()
    {
        QTest::addColumn<qint64>("offset");
        QTest::addColumn<qint64>("length");
        QTest::addColumn<bool>("ok");
        QTest::newRow("start") << qint64(0) << qint64(30) << true;
        QTest::newRow("middle, unaligned") << qint64(4093) << qint64(9) << true;
        QTest::newRow("up to the end") << qint64((1 << 20) - 30) << qint64(30) << true;
        QTest::newRow("nothing") << qint64(100) << qint64(0) << true;
        QTest::newRow("one byte past the end") << qint64((1 << 20) - 29) << qint64(30) << false;
        QTest::newRow("beyond the end") << qint64(1 << 21) << qint64(1) << false;
        QTest::newRow("negative offset") << qint64(-1) << qint64(4) << false;
    }

    void readAt()
    {
        QFETCH(qint64, offset);
        QFETCH(qint64, length);
        QFETCH(bool, ok);
        QTemporaryDir dir;
        QByteArray bytes(1 << 20, Qt::Uninitialized);
        for (qsizetype i = 0; i < bytes.size(); ++i)
            bytes[i] = char(i * 7 + i / 251);
        const QString path = dir.filePath(QStringLiteral("f.bin"));
        QVERIFY(test::writeFile(path, bytes));
        auto file = MappedFile::open(path);
        QVERIFY(file);
        QByteArray out(int(std::max<qint64>(length, 1)), '\xee');
        QCOMPARE((*file)->readAt(offset, out.data(), size_t(length)), ok);
        if (ok)
            QCOMPARE(out.left(int(length)), bytes.mid(offset, length));
    }

    // Every byte of a 96 MiB file read in 1 MiB chunks that start off page boundaries (as tensor data does: 64 bytes
    // into a zip record that itself starts anywhere), each released once read; after each release the next chunk's
    // first byte is read, as a neighbouring thread starting on it would (the export's casts run on several threads).
    // That fault maps pages around it again, released ones of the chunk before included: the fault-around window
    // and, on recent kernels, the whole readahead folio. Measured on Linux 6.18 (ext4): 10.8 MiB left resident
    // without the widening, nothing with it. At most a little of the file may stay.
    void releasedChunksLeaveNothingBehind()
    {
        QTemporaryDir dir;
        const int mib = 96;
        const QString path = writeSample(dir, mib);
        QVERIFY(!path.isEmpty());
        auto file = MappedFile::open(path);
        QVERIFY(file);
        const std::uint8_t* base = (*file)->bytes().data();
        QVERIFY(test::residentKiB(base) >= 0);
        std::uint64_t sum = 0;
        const qint64 chunk = 1 << 20, start = (1000 << 10) + 64;
        for (qint64 at = start; at < (*file)->size(); at += chunk) {
            const qint64 n = std::min(chunk, (*file)->size() - at);
            for (qint64 i = 0; i < n; i += 64)
                sum += base[at + i];
            MappedFile::releasePages(base + at, size_t(n));
            if (at + n < (*file)->size())
                sum += base[at + n];
        }
        QVERIFY(sum > 0);
        const qint64 resident = test::residentKiB(base);
        QVERIFY2(resident <= 1024,
            qPrintable(QStringLiteral("%1 KiB of %2 MiB still resident").arg(resident).arg(mib)));
    }

    // Releasing never reaches outside the map it was asked about: a heap buffer beside it keeps its bytes.
    void releaseStaysInsideTheMap()
    {
        QTemporaryDir dir;
        const QString path = writeSample(dir, 8);
        auto file = MappedFile::open(path);
        QVERIFY(file);
        const auto bytes = (*file)->bytes();
        std::uint64_t before = 0;
        for (size_t i = 0; i < bytes.size(); i += 4096)
            before += bytes[i];
        // The first bytes of the map: widening back to a 2 MiB boundary must stop at the map's start.
        MappedFile::releasePages(bytes.data() + 100, 1000);
        MappedFile::releasePages(bytes.data() + (3 << 20) + 5, 1 << 20);
        std::uint64_t after = 0;
        for (size_t i = 0; i < bytes.size(); i += 4096)
            after += bytes[i];
        QCOMPARE(after, before); // the file's bytes come back from the page cache
        // Memory that is not a map of ours is never released, whatever address it has.
        std::vector<std::uint8_t> heap(4 << 20, 0x5a);
        MappedFile::releasePages(heap.data() + (2 << 20), 4096);
        QCOMPARE(heap[2 << 20], std::uint8_t(0x5a));
    }
};

QTEST_GUILESS_MAIN(TestMappedFile)
#include "tst_mappedfile.moc"
