// The background statistics job: every tensor computed and equal to computeStats, cancel stops it, a previous
// file's late results are dropped, a requested tensor goes first, a reopened file is served from the cache.
#include "model/statsjob.h"
#include "testutil.h"

#include <QSignalSpy>
#include <QThread>

#include <map>

using namespace ckpt;

namespace {

CheckpointPtr open(const QString& name)
{
    auto ck = openCheckpoint(test::fixture(name));
    return ck ? *ck : nullptr;
}

StatsResult expected(const Checkpoint& ck, int tensor)
{
    StatsResult r;
    r.tensor = tensor;
    auto s = computeStats(ck, tensor, 1);
    if (s)
        r.stats = *s;
    else
        r.error = s.error().what;
    return r;
}

// Every result a spy on resultsReady saw, in delivery order.
std::vector<StatsResult> delivered(const QSignalSpy& spy)
{
    std::vector<StatsResult> out;
    for (const auto& args : spy) {
        const auto batch = args.at(1).value<StatsBatch>();
        out.insert(out.end(), batch.begin(), batch.end());
    }
    return out;
}

constexpr int kTimeout = 60'000;

} // namespace

class TestStatsJob : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void allTensors_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("threads");
        QTest::newRow("values: specials, subnormals, big views") << QStringLiteral("values.pth") << 1;
        QTest::newRow("dtypes: every dtype, some undecodable") << QStringLiteral("dtypes.pth") << 1;
        QTest::newRow("values on all cores") << QStringLiteral("values.pth") << 0;
    }

    void allTensors()
    {
        QFETCH(QString, file);
        QFETCH(int, threads);
        const CheckpointPtr ck = open(file);
        QVERIFY(ck);
        StatsJob job;
        job.setThreads(threads);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        QSignalSpy progress(&job, &StatsJob::progress);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(ck);
        job.startAll();
        QVERIFY(job.isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QVERIFY(!job.isRunning());
        const int n = int(ck->tensors.size());
        QCOMPARE(progress.last().at(0).toInt(), n);
        QCOMPARE(progress.last().at(1).toInt(), n);
        for (const auto& args : results)
            QCOMPARE(args.at(0).value<quint64>(), job.generation());

        std::map<int, StatsResult> byTensor;
        for (const StatsResult& r : delivered(results))
            QVERIFY2(byTensor.emplace(r.tensor, r).second, "a tensor was delivered twice");
        QCOMPARE(int(byTensor.size()), n);
        QCOMPARE(job.knownCount(), n);
        for (int t = 0; t < n; ++t) {
            const StatsResult want = expected(*ck, t);
            if (threads == 1) {
                QCOMPARE(byTensor[t], want);
            } else {
                // Chunks are summed in whatever order the workers take them: equal but for the last bits.
                QCOMPARE(byTensor[t].stats.has_value(), want.stats.has_value());
                if (want.stats) {
                    QCOMPARE(byTensor[t].stats->min, want.stats->min);
                    QCOMPARE(byTensor[t].stats->nan, want.stats->nan);
                    QCOMPARE(byTensor[t].stats->zeros, want.stats->zeros);
                    QVERIFY(std::fabs(byTensor[t].stats->l2 - want.stats->l2) <= 1e-9 * std::max(1.0, want.stats->l2));
                }
            }
            QCOMPARE(*job.result(t), byTensor[t]);
        }
    }

    void cancelStops()
    {
        const CheckpointPtr ck = open(QStringLiteral("many.pth"));
        QVERIFY(ck);
        const int n = int(ck->tensors.size());
        QVERIFY(n >= 5000);
        StatsJob job;
        job.setThreads(1);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(ck);
        job.startAll();
        job.cancel();
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.at(0).at(0).toBool(), true);
        QVERIFY(!job.isRunning());
        // What was in flight when cancel came may still land; after that, nothing.
        QTest::qWait(300);
        const int settled = int(delivered(results).size());
        QTest::qWait(300);
        QCOMPARE(int(delivered(results).size()), settled);
        QVERIFY2(settled < n, qPrintable(QString::number(settled)));
        QCOMPARE(job.knownCount(), settled);

        // Starting again resumes: nothing is computed twice, and the run completes.
        job.startAll();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeout);
        QCOMPARE(finished.at(1).at(0).toBool(), false);
        QCOMPARE(int(delivered(results).size()), n);
        QCOMPARE(job.knownCount(), n);
    }

    void staleGenerationDropped()
    {
        const CheckpointPtr values = open(QStringLiteral("values.pth"));
        const CheckpointPtr views = open(QStringLiteral("views.pth"));
        QVERIFY(values && views);
        StatsJob job;
        job.setThreads(1);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(values);
        const quint64 first = job.generation();
        job.startAll();
        // The worker computes and posts results while this thread does not process events; they are queued for
        // the old generation when the file changes.
        QThread::msleep(300);
        job.setCheckpoint(views);
        QVERIFY(job.generation() != first);
        job.startAll();
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() >= 2, kTimeout); // the cancelled first run, then the second
        QCOMPARE(finished.last().at(0).toBool(), false);
        for (const auto& args : results)
            QCOMPARE(args.at(0).value<quint64>(), job.generation());
        const auto got = delivered(results);
        QCOMPARE(int(got.size()), int(views->tensors.size()));
        for (const StatsResult& r : got)
            QCOMPARE(r, expected(*views, r.tensor));
    }

    void requestedFirst()
    {
        const CheckpointPtr ck = open(QStringLiteral("many.pth"));
        QVERIFY(ck);
        const int last = int(ck->tensors.size()) - 1;
        StatsJob job;
        job.setThreads(1);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(ck);

        // Asked for before the run: it is the first result.
        job.request(last);
        job.startAll();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        auto got = delivered(results);
        QCOMPARE(got.front().tensor, last);
        QCOMPARE(got.front(), expected(*ck, last));

        // Asked for during a run: ahead of the tensors before it in file order.
        job.setCheckpoint(nullptr);
        job.setCheckpoint(open(QStringLiteral("many.pth"))); // same file: served from the cache
        QCOMPARE(job.knownCount(), last + 1);
        results.clear();
        job.request(std::vector<int> { 7, 3 });
        QTRY_COMPARE_WITH_TIMEOUT(int(delivered(results).size()), 2, kTimeout);
        got = delivered(results);
        QCOMPARE(got[0].tensor, 7);
        QCOMPARE(got[1].tensor, 3);
    }

    void requestDuringRun()
    {
        const CheckpointPtr ck = open(QStringLiteral("many.pth"));
        const int last = int(ck->tensors.size()) - 1;
        StatsJob job;
        job.setThreads(1);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(ck);
        job.startAll();
        job.request(last);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        std::vector<int> order;
        for (const StatsResult& r : delivered(results))
            order.push_back(r.tensor);
        const auto at = [&](int t) { return std::find(order.begin(), order.end(), t) - order.begin(); };
        QVERIFY2(at(last) < at(last - 1), qPrintable(QStringLiteral("%1 vs %2").arg(at(last)).arg(at(last - 1))));
        QCOMPARE(int(order.size()), last + 1);
    }

    void cachePerFile()
    {
        const CheckpointPtr values = open(QStringLiteral("values.pth"));
        StatsJob job;
        job.setThreads(1);
        QSignalSpy finished(&job, &StatsJob::finished);
        job.setCheckpoint(values);
        job.startAll();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        const StatsResult big = *job.result(8);

        job.setCheckpoint(open(QStringLiteral("views.pth")));
        QCOMPARE(job.knownCount(), 0);
        QVERIFY(!job.result(0));
        job.setCheckpoint(open(QStringLiteral("values.pth"))); // opened again: a new Checkpoint, same file
        QCOMPARE(job.knownCount(), int(values->tensors.size()));
        QCOMPARE(*job.result(8), big);
        QSignalSpy results(&job, &StatsJob::resultsReady);
        job.request(8);
        QTRY_COMPARE(results.count(), 1);
        QCOMPARE(results.at(0).at(1).value<StatsBatch>().front(), big);
        job.startAll(); // nothing left to do: finishes at once
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeout);
        QCOMPARE(finished.last().at(0).toBool(), false);
    }

    void noCheckpoint()
    {
        StatsJob job;
        QSignalSpy results(&job, &StatsJob::resultsReady);
        job.request(0);
        job.startAll();
        job.cancel();
        QVERIFY(!job.isRunning());
        QCOMPARE(job.knownCount(), 0);
        QVERIFY(!job.result(0));
        QTest::qWait(50);
        QCOMPARE(results.count(), 0);
    }
};

QTEST_GUILESS_MAIN(TestStatsJob)
#include "tst_statsjob.moc"
