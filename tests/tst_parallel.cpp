// parallelChunks and WorkerPool hand out every chunk exactly once, whatever the thread count, chunk size and total,
// over many runs in a row on one pool (the CUDA backend gathers each 64 MiB chunk this way); parallelWindows does
// the same one window after another, with its callback between windows (scans release pages there).
#include "model/parallel.h"

#include <QtTest>

#include <stdexcept>

using namespace ckpt;

class TestParallel : public QObject {
    Q_OBJECT
private slots:
    void everyChunkOnce_data();
    void everyChunkOnce();
    void exceptionWaitsForEveryChunk();
    void windowsOneAfterAnother_data();
    void windowsOneAfterAnother();
};

void TestParallel::everyChunkOnce_data()
{
    QTest::addColumn<int>("threads");
    QTest::addColumn<qint64>("total");
    QTest::addColumn<qint64>("chunk");
    for (int threads : { 1, 2, 5, 16 })
        for (qint64 total : { qint64(0), qint64(1), qint64(7), qint64(1000), qint64(100'003) })
            for (qint64 chunk : { qint64(1), qint64(3), qint64(4096) })
                QTest::addRow("threads=%d total=%lld chunk=%lld", threads, total, chunk) << threads << total << chunk;
}

void TestParallel::everyChunkOnce()
{
    QFETCH(int, threads);
    QFETCH(qint64, total);
    QFETCH(qint64, chunk);
    std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
    auto check = [&](const char* what) {
        for (qint64 i = 0; i < total; ++i)
            QVERIFY2(hits[size_t(i)].exchange(0) == 1, qPrintable(QStringLiteral("%1: element %2").arg(QLatin1String(what)).arg(i)));
    };
    auto fn = [&](std::int64_t begin, std::int64_t count, int worker) {
        QVERIFY(worker >= 0 && worker < threads);
        QVERIFY(count > 0 && count <= chunk && begin + count <= total);
        for (std::int64_t i = begin; i < begin + count; ++i)
            hits[size_t(i)].fetch_add(1);
    };
    QVERIFY(parallelChunks(total, chunk, threads, fn));
    check("parallelChunks");
    WorkerPool pool(threads);
    QCOMPARE(pool.threads(), threads);
    for (int run = 0; run < 10; ++run) {
        pool.run(total, chunk, fn);
        check("pool");
    }
}

// A chunk that throws does not leave other chunks running after run() returns: every chunk still runs once, then
// the exception comes out of run(), and the pool works afterwards.
void TestParallel::exceptionWaitsForEveryChunk()
{
    WorkerPool pool(4);
    for (int round = 0; round < 20; ++round) {
        std::vector<std::atomic<int>> hits(1000);
        bool thrown = false;
        try {
            pool.run(1000, 7, [&](std::int64_t begin, std::int64_t count, int) {
                for (std::int64_t i = begin; i < begin + count; ++i)
                    hits[size_t(i)].fetch_add(1);
                if (begin <= 500 && 500 < begin + count)
                    throw std::runtime_error("chunk failed");
            });
        } catch (const std::runtime_error&) {
            thrown = true;
        }
        QVERIFY(thrown);
        for (auto& h : hits)
            QCOMPARE(h.load(), 1);
    }
    std::atomic<int> after { 0 };
    pool.run(100, 1, [&](std::int64_t, std::int64_t, int) { ++after; });
    QCOMPARE(after.load(), 100);
}

void TestParallel::windowsOneAfterAnother_data()
{
    QTest::addColumn<int>("threads");
    QTest::addColumn<qint64>("total");
    QTest::addColumn<qint64>("chunk");
    QTest::addColumn<qint64>("window");
    for (int threads : { 1, 2, 5 })
        for (qint64 total : { qint64(0), qint64(1), qint64(1000), qint64(100'003) })
            for (auto [chunk, window] : { std::pair<qint64, qint64>(3, 1), std::pair<qint64, qint64>(3, 10),
                     std::pair<qint64, qint64>(4096, 10'000), std::pair<qint64, qint64>(4096, 1 << 20) }) {
                if (total / window > 1000)
                    continue; // each window starts its threads: tens of thousands of them only cost time
                QTest::addRow("threads=%d total=%lld chunk=%lld window=%lld", threads, total, chunk, window)
                    << threads << total << chunk << window;
            }
}

// Every element once; windows in order, whole chunks each (a window rounds up to chunks), contiguous from 0 to the
// end; when a window's callback runs, every element of it is done and none after it has started; chunks never
// straddle a window; worker numbers stay below the thread count.
void TestParallel::windowsOneAfterAnother()
{
    QFETCH(int, threads);
    QFETCH(qint64, total);
    QFETCH(qint64, chunk);
    QFETCH(qint64, window);
    const qint64 rounded = (window + chunk - 1) / chunk * chunk;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
    std::atomic<qint64> windowEnd { std::min(rounded, total) };
    std::atomic<bool> straddled { false }, badWorker { false };
    qint64 next = 0;
    bool ordered = true;
    const bool ok = parallelWindows(
        total, chunk, window, threads,
        [&](std::int64_t begin, std::int64_t count, int worker) {
            badWorker = badWorker || worker < 0 || worker >= threads;
            straddled = straddled || begin < windowEnd - rounded || begin + count > windowEnd;
            for (std::int64_t i = begin; i < begin + count; ++i)
                hits[size_t(i)].fetch_add(1);
        },
        [&](std::int64_t begin, std::int64_t count) {
            ordered = ordered && begin == next && (count == rounded || begin + count == total);
            for (qint64 i = begin; i < begin + count && ordered; ++i)
                ordered = hits[size_t(i)].load() == 1;
            for (qint64 i = begin + count; i < total && ordered; ++i)
                ordered = hits[size_t(i)].load() == 0;
            next = begin + count;
            windowEnd = std::min(next + rounded, total);
        });
    QVERIFY(ok);
    QVERIFY(ordered);
    QVERIFY(!straddled);
    QVERIFY(!badWorker);
    QCOMPARE(next, total);
    for (qint64 i = 0; i < total; ++i)
        QVERIFY2(hits[size_t(i)].load() == 1, qPrintable(QStringLiteral("element %1").arg(i)));
}

QTEST_GUILESS_MAIN(TestParallel)
#include "tst_parallel.moc"
