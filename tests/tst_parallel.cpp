// parallelChunks and WorkerPool hand out every chunk exactly once, whatever the thread count, chunk size and total,
// over many runs in a row on one pool (the CUDA backend gathers each 64 MiB chunk this way).
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

QTEST_GUILESS_MAIN(TestParallel)
#include "tst_parallel.moc"
