// The many-tensor job: every tensor's statistics equal computeStats and its histogram equals computeHistogram with
// an automatic range (numpy's answer, see tst_histogram), whatever the grouping; the CUDA batch (small tensors
// packed many per launch) gives the CPU's counts bit for bit; progress reaches the total; cancel stops it.
#include "adversarialtensors.h"
#include "model/tensorlist.h"
#include "model/tensorprofile.h"
#include "testutil.h"

#include <QTemporaryDir>

using namespace ckpt;

class TestTensorProfile : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void equalsSingleTensorRuns_data();
    void equalsSingleTensorRuns();
    void cudaBatchEqualsCpu_data();
    void cudaBatchEqualsCpu();
    void progressAndCancel();
    void badRequests();

private:
    QTemporaryDir m_dir;
    std::map<QString, CheckpointPtr> m_files;
};

void TestTensorProfile::initTestCase()
{
    // Many small tensors of every dtype (2,000 of random sizes up to 20,000 elements, a few empty) beside the
    // adversarial ones: packs of many tensors per launch, segments of several blocks.
    std::vector<test::RawTensor> tensors = test::adversarialTensors(20011);
    test::Lcg rng(3);
    const auto& dtypes = test::histogramDTypes();
    for (int i = 0; i < 2000; ++i) {
        const DType t = dtypes[size_t(rng.next() % dtypes.size())];
        const std::int64_t n = i % 97 == 0 ? 0 : std::int64_t(rng.next() % 20000);
        tensors.push_back({ QStringLiteral("many.%1").arg(i), t, { n }, test::randomBytes(rng, n * dtypeItemSize(t)) });
    }
    const QString path = m_dir.filePath(QStringLiteral("many.safetensors"));
    QVERIFY(test::writeRawSafetensors(path, tensors));
    auto ck = openCheckpoint(path);
    QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
    m_files[QStringLiteral("many")] = *ck;
    if (test::haveTorchFixtures()) { // torch-written: strided views, complex, fp8, big-endian-free dtypes of every kind
        for (const char* name : { "hist.pth", "values.pth", "dtypes.pth", "views.pth" }) {
            auto f = openCheckpoint(test::fixture(QString::fromLatin1(name)));
            QVERIFY2(f, f ? "" : qPrintable(f.error().message()));
            m_files[QString::fromLatin1(name)] = *f;
        }
    }
}

void TestTensorProfile::equalsSingleTensorRuns_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("bins");
    QTest::addColumn<qint64>("groupBytes");
    for (const auto& [name, ck] : m_files)
        for (int bins : { 7, 100 })
            for (qint64 group : { qint64(1) << 28, qint64(50'000) })
                QTest::addRow("%s bins=%d group=%lld", qPrintable(name), bins, group) << name << bins << group;
}

void TestTensorProfile::equalsSingleTensorRuns()
{
    QFETCH(QString, file);
    QFETCH(int, bins);
    QFETCH(qint64, groupBytes);
    const Checkpoint& ck = *m_files.at(file);
    ProfileRequest r;
    r.bins = bins;
    r.backend = HistBackend::Cpu;
    r.groupBytes = groupBytes;
    auto profiles = profileTensors(ck, r);
    QVERIFY2(profiles, profiles ? "" : qPrintable(profiles.error().message()));
    QCOMPARE(profiles->size(), ck.tensors.size());
    int binned = 0;
    for (const TensorProfile& p : *profiles) {
        const QString what = QStringLiteral("tensor %1").arg(p.tensor);
        auto s = computeStats(ck, p.tensor);
        HistRequest h;
        h.bins = bins;
        h.backend = HistBackend::Cpu;
        auto hist = computeHistogram(ck, p.tensor, h);
        QCOMPARE(bool(p.stats), bool(s));
        QCOMPARE(bool(p.histogram), bool(hist));
        if (!s || !hist) {
            QVERIFY2(!p.error.isEmpty(), qPrintable(what));
            continue;
        }
        // Counts and extremes exactly; sums to the last bits, which depend on how the elements were split among threads.
        QCOMPARE(p.stats->numel, s->numel);
        QCOMPARE(p.stats->finite, s->finite);
        QCOMPARE(p.stats->zeros, s->zeros);
        QCOMPARE(p.stats->nan, s->nan);
        QCOMPARE(p.stats->inf, s->inf);
        QCOMPARE(p.stats->min, s->min);
        QCOMPARE(p.stats->max, s->max);
        QCOMPARE(p.stats->absmax, s->absmax);
        auto close = [](std::optional<double> a, std::optional<double> b) {
            return a.has_value() == b.has_value() && (!a || *a == *b || std::fabs(*a - *b) <= 1e-9 * std::max(std::fabs(*a), std::fabs(*b)));
        };
        if (s->absmax && *s->absmax < 1e100) // random bit patterns reach 1e308: their sums are all cancellation
            QVERIFY2(close(p.stats->mean, s->mean) && close(p.stats->std, s->std) && close(p.stats->l2, s->l2), qPrintable(what));
        QVERIFY2(*p.histogram == *hist, qPrintable(what));
        QCOMPARE(p.histogram->backend, QStringLiteral("cpu"));
        ++binned;
    }
    QVERIFY(binned > 0);
}

void TestTensorProfile::cudaBatchEqualsCpu_data()
{
    if (!cudaHistogramAvailable())
        QSKIP(qPrintable(QStringLiteral("no CUDA device: %1").arg(cudaDescription())));
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("bins");
    for (const auto& [name, ck] : m_files)
        for (int bins : { 1, 100, 20000 })
            QTest::addRow("%s bins=%d", qPrintable(name), bins) << name << bins;
}

void TestTensorProfile::cudaBatchEqualsCpu()
{
    QFETCH(QString, file);
    QFETCH(int, bins);
    const Checkpoint& ck = *m_files.at(file);
    ProfileRequest r;
    r.bins = bins;
    r.backend = HistBackend::Cpu;
    auto cpu = profileTensors(ck, r);
    r.backend = HistBackend::Cuda;
    r.groupBytes = 1 << 20; // several groups: the GPU works on one while the CPU computes the next's statistics
    auto gpu = profileTensors(ck, r);
    QVERIFY(cpu && gpu);
    QCOMPARE(gpu->size(), cpu->size());
    int onDevice = 0;
    for (size_t i = 0; i < cpu->size(); ++i) {
        const TensorProfile &a = (*cpu)[i], &b = (*gpu)[i];
        QCOMPARE(b.tensor, a.tensor);
        QCOMPARE(bool(b.histogram), bool(a.histogram));
        if (!a.histogram)
            continue;
        QVERIFY2(*b.histogram == *a.histogram, qPrintable(QStringLiteral("tensor %1 (%2 on %3)").arg(a.tensor).arg(dtypeName(ck.tensors[size_t(a.tensor)].dtype)).arg(b.histogram->backend)));
        onDevice += b.histogram->backend == QLatin1String("cuda");
    }
    QVERIFY(onDevice > int(cpu->size()) / 2);
}

void TestTensorProfile::progressAndCancel()
{
    const Checkpoint& ck = *m_files.at(QStringLiteral("many"));
    for (HistBackend backend : { HistBackend::Cpu, HistBackend::Auto }) {
        ProfileRequest r;
        r.backend = backend;
        r.groupBytes = 100'000;
        std::vector<int> seen;
        auto all = profileTensors(ck, r, [&](int done, int total) {
            QCOMPARE(total, int(ck.tensors.size()));
            seen.push_back(done);
        });
        QVERIFY(all);
        QVERIFY(seen.size() > 5);
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        QCOMPARE(seen.back(), int(ck.tensors.size()));

        std::atomic<bool> cancel { false };
        int calls = 0;
        auto stopped = profileTensors(ck, r, [&](int, int) {
            if (++calls == 2)
                cancel = true;
        }, &cancel);
        QVERIFY(!stopped);
        QVERIFY(stopped.error().message().contains(QLatin1String("cancelled")));
        QVERIFY(calls < int(seen.size()));
    }
}

void TestTensorProfile::badRequests()
{
    const Checkpoint& ck = *m_files.at(QStringLiteral("many"));
    ProfileRequest r;
    r.bins = 0;
    QVERIFY(!profileTensors(ck, r));
    r.bins = 10;
    r.tensors = { 0, -1, int(ck.tensors.size()) };
    auto p = profileTensors(ck, r);
    QVERIFY(p);
    QCOMPARE(p->size(), size_t(3));
    QVERIFY((*p)[0].histogram);
    QVERIFY(!(*p)[1].error.isEmpty() && !(*p)[1].stats);
    QVERIFY(!(*p)[2].error.isEmpty() && !(*p)[2].histogram);
}

QTEST_GUILESS_MAIN(TestTensorProfile)
#include "tst_tensorprofile.moc"
