// Histograms equal numpy.histogram exactly (tests/gen_fixtures.py stores numpy's counts and edges for every
// tensor of hist.pth and several requests), on the CPU backend and, where a CUDA device exists, on the GPU.
#include "adversarialtensors.h"
#include "model/elementview.h"
#include "model/histogram.h"
#include "model/tensorlist.h"
#include "testutil.h"

#include <QTemporaryDir>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <cmath>

using namespace ckpt;

class TestHistogram : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matchesNumpy_data();
    void matchesNumpy();
    void cudaMatchesCpu_data();
    void cudaMatchesCpu();
    void patternCountsMatchElementRule_data();
    void patternCountsMatchElementRule();
    void edgesAreNumpyLinspace();
    void badRequests();
    void cli();

private:
    CheckpointPtr m_ck;
    CheckpointPtr m_patterns;
    std::map<QString, int> m_tensor;
};

void TestHistogram::initTestCase()
{
    if (!test::haveTorchFixtures())
        return;
    auto ck = openCheckpoint(test::fixture(QStringLiteral("hist.pth")));
    QVERIFY(ck);
    m_ck = *ck;
    for (const auto& e : listTensors(*m_ck))
        m_tensor[e.path.join(QLatin1Char('.'))] = e.tensor;
}

static HistRequest requestFrom(const QJsonObject& r, HistBackend backend)
{
    HistRequest req;
    req.bins = r[QLatin1String("bins")].toInt();
    if (r.contains(QLatin1String("range")))
        req.range = std::pair { r[QLatin1String("range")].toArray()[0].toDouble(), r[QLatin1String("range")].toArray()[1].toDouble() };
    req.scale = r[QLatin1String("log_abs")].toBool() ? HistScale::Log10Abs : HistScale::Linear;
    req.backend = backend;
    return req;
}

void TestHistogram::matchesNumpy_data()
{
    if (!m_ck)
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch and numpy");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QJsonObject>("expected");
    const QJsonObject all = QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("hist_truth.json")))).object();
    QVERIFY(!all.isEmpty());
    for (auto it = all.begin(); it != all.end(); ++it)
        for (const auto& r : it->toArray()) {
            const QJsonObject o = r.toObject();
            QTest::addRow("%s bins=%d%s%s", qPrintable(it.key()), o[QLatin1String("bins")].toInt(),
                o.contains(QLatin1String("range")) ? " range" : "", o[QLatin1String("log_abs")].toBool() ? " log" : "")
                << it.key() << o;
        }
}

void TestHistogram::matchesNumpy()
{
    QFETCH(QString, name);
    QFETCH(QJsonObject, expected);
    auto h = computeHistogram(*m_ck, m_tensor.at(name), requestFrom(expected, HistBackend::Cpu));
    QVERIFY2(h, h ? "" : qPrintable(h.error().message()));
    QCOMPARE(h->backend, QStringLiteral("cpu"));
    const QJsonArray counts = expected[QLatin1String("counts")].toArray(), edges = expected[QLatin1String("edges")].toArray();
    QCOMPARE(qsizetype(h->counts.size()), counts.size());
    for (qsizetype i = 0; i < counts.size(); ++i)
        QVERIFY2(h->counts[size_t(i)] == counts[i].toInteger(),
            qPrintable(QStringLiteral("bin %1: %2, numpy %3").arg(i).arg(h->counts[size_t(i)]).arg(counts[i].toInteger())));
    for (qsizetype i = 0; i < edges.size(); ++i)
        QCOMPARE(h->edges[size_t(i)], edges[i].toDouble()); // bit for bit: both are numpy.linspace in double
    QCOMPARE(h->underflow, expected[QLatin1String("underflow")].toInteger());
    QCOMPARE(h->overflow, expected[QLatin1String("overflow")].toInteger());
    QCOMPARE(h->nan, expected[QLatin1String("nan")].toInteger());
    QCOMPARE(h->inf, expected[QLatin1String("inf")].toInteger());
    QCOMPARE(h->zeros, expected[QLatin1String("zeros")].toInteger());
    // More threads than chunks, or one: the same counts.
    HistRequest one = requestFrom(expected, HistBackend::Cpu);
    one.threads = 1;
    QCOMPARE(*computeHistogram(*m_ck, m_tensor.at(name), one), *h);
}

void TestHistogram::cudaMatchesCpu_data()
{
    if (!cudaHistogramAvailable())
        QSKIP(qPrintable(QStringLiteral("no CUDA device: %1").arg(cudaDescription())));
    matchesNumpy_data();
}

void TestHistogram::cudaMatchesCpu()
{
    QFETCH(QString, name);
    QFETCH(QJsonObject, expected);
    const HistRequest cpu = requestFrom(expected, HistBackend::Cpu), gpu = requestFrom(expected, HistBackend::Cuda);
    auto a = computeHistogram(*m_ck, m_tensor.at(name), cpu);
    auto b = computeHistogram(*m_ck, m_tensor.at(name), gpu);
    QVERIFY(a && b);
    const DType t = m_ck->tensors[size_t(m_tensor.at(name))].dtype;
    if (gpu.scale == HistScale::Linear && t != DType::Complex64 && t != DType::Complex128) // magnitudes stay on the CPU
        QCOMPARE(b->backend, QStringLiteral("cuda"));
    QCOMPARE(*b, *a);
}

// Dtypes of <= 16 bits are binned by counting bit patterns, dense float32 four at a time in SSE2; this checks both
// against the rule applied element by element (decoded, then histogramBin against the same edges), on every bit
// pattern, smooth data and edge values of float32, bfloat16, float16, float8, int8/16, uint8/16 and bool, in linear
// and log scale, with automatic and given ranges.
void TestHistogram::patternCountsMatchElementRule_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<int>("request");
    static QTemporaryDir dir;
    static CheckpointPtr ck;
    if (!ck) {
        std::vector<test::RawTensor> small;
        for (auto& t : test::adversarialTensors(300007))
            if (dtypeItemSize(t.dtype) <= 2 || t.dtype == DType::Float32) // float32: the SSE2 path
                small.push_back(std::move(t));
        const QString path = dir.filePath(QStringLiteral("small.safetensors"));
        QVERIFY(test::writeRawSafetensors(path, small));
        auto opened = openCheckpoint(path);
        QVERIFY(opened);
        ck = *opened;
    }
    m_patterns = ck;
    for (const auto& e : listTensors(*ck))
        for (int r = 0; r < 14; ++r)
            QTest::addRow("%s #%d", qPrintable(e.path.join(QLatin1Char('.'))), r) << e.tensor << r;
}

void TestHistogram::patternCountsMatchElementRule()
{
    QFETCH(int, index);
    QFETCH(int, request);
    const Checkpoint& ck = *m_patterns;
    auto requests = test::adversarialRequests(ck.tensors[size_t(index)].dtype);
    HistRequest log;
    log.scale = HistScale::Log10Abs;
    log.bins = 16;
    requests.push_back(log);
    log.range = std::pair { -3.0, 2.0 };
    requests.push_back(log);
    const HistRequest r = requests[size_t(request)];
    auto h = computeHistogram(ck, index, r);
    QVERIFY2(h, h ? "" : qPrintable(h.error().message()));
    auto v = elementView(ck, index);
    QVERIFY(v);
    std::vector<double> x(size_t(v->numel));
    decodeRange(*v, 0, v->numel, x.data());
    auto scaled = [&](double d) { return r.scale == HistScale::Linear ? d : std::log10(std::fabs(d)); };
    double lo = 0, hi = 1;
    if (r.range) {
        lo = r.range->first;
        hi = r.range->second;
    } else {
        double mn = INFINITY, mx = -INFINITY;
        for (double d : x)
            if (std::isfinite(scaled(d)) && !(r.scale != HistScale::Linear && d == 0)) {
                mn = std::min(mn, scaled(d));
                mx = std::max(mx, scaled(d));
            }
        if (mn <= mx) {
            lo = mn;
            hi = mx;
        }
    }
    Histogram want;
    want.edges = histogramEdges(lo, hi, r.bins);
    want.counts.assign(size_t(r.bins), 0);
    for (double d : x) {
        if (std::isnan(d)) {
            ++want.nan;
            continue;
        }
        if (std::isinf(d)) {
            ++want.inf;
            continue;
        }
        if (d == 0) {
            ++want.zeros;
            if (r.scale != HistScale::Linear)
                continue;
        }
        const double s = scaled(d);
        if (s < want.edges.front())
            ++want.underflow;
        else if (s > want.edges.back())
            ++want.overflow;
        else
            ++want.counts[size_t(histogramBin(s, want.edges.data(), r.bins, want.edges.front(), want.edges.back()))];
    }
    QCOMPARE(*h, want);
}

void TestHistogram::edgesAreNumpyLinspace()
{
    // numpy.linspace(0.1, 0.7, 7) has 0.30000000000000004 in the middle: the same formula gives the same bits.
    const auto e = histogramEdges(0.1, 0.7, 6);
    QCOMPARE(e[2], 0.30000000000000004);
    QCOMPARE(e.back(), 0.7);
    const auto widened = histogramEdges(3.0, 3.0, 4); // numpy widens an empty range by 0.5 on each side
    QCOMPARE(widened.front(), 2.5);
    QCOMPARE(widened.back(), 3.5);
    const double edges[] = { 0.0, 0.25, 0.5, 0.75, 1.0 };
    QCOMPARE(histogramBin(1.0, edges, 4, 0.0, 1.0), 3); // the last bin takes hi
    QCOMPARE(histogramBin(0.5, edges, 4, 0.0, 1.0), 2); // a value on an inner edge goes right
    QCOMPARE(histogramBin(0.4999999999999999, edges, 4, 0.0, 1.0), 1);
}

void TestHistogram::badRequests()
{
    if (!m_ck)
        QSKIP("no fixtures");
    HistRequest r;
    r.bins = 0;
    QVERIFY(!computeHistogram(*m_ck, m_tensor.at(QStringLiteral("constant")), r));
    r.bins = 10;
    r.range = std::pair { 2.0, 1.0 };
    QVERIFY(!computeHistogram(*m_ck, m_tensor.at(QStringLiteral("constant")), r));
    r.range = std::pair { 0.0, INFINITY };
    QVERIFY(!computeHistogram(*m_ck, m_tensor.at(QStringLiteral("constant")), r));
}

void TestHistogram::cli()
{
    if (!m_ck)
        QSKIP("no fixtures");
    QProcess p;
    p.start(QStringLiteral(CKPTLENS_CLI), { QStringLiteral("hist"), test::fixture(QStringLiteral("hist.pth")), QStringLiteral("--key"),
                                              QStringLiteral("with_specials"), QStringLiteral("--bins"), QStringLiteral("4"),
                                              QStringLiteral("--range"), QStringLiteral("-1"), QStringLiteral("1"), QStringLiteral("--json"),
                                              QStringLiteral("--backend"), QStringLiteral("cpu") });
    QVERIFY(p.waitForFinished(30'000));
    QCOMPARE(p.exitCode(), 0);
    const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
    // values 0, -0, 1e-30, -2, inf, nan, 0.25, 7 in [-1, 1] with 4 bins: 0, -0, 1e-30 in bin 2; 0.25 in bin 2
    QCOMPARE(o[QLatin1String("counts")].toArray(), (QJsonArray { 0, 0, 4, 0 }));
    QCOMPARE(o[QLatin1String("underflow")].toInt(), 1);
    QCOMPARE(o[QLatin1String("overflow")].toInt(), 1);
    QCOMPARE(o[QLatin1String("nan")].toInt(), 1);
    QCOMPARE(o[QLatin1String("inf")].toInt(), 1);
    QCOMPARE(o[QLatin1String("backend")].toString(), QStringLiteral("cpu"));
    QCOMPARE(o[QLatin1String("edges")].toArray().size(), 5);

    // hist --all: every tensor's statistics and histogram, in listing order; a --key that matches nothing is an error.
    p.start(QStringLiteral(CKPTLENS_CLI), { QStringLiteral("hist"), test::fixture(QStringLiteral("hist.pth")), QStringLiteral("--all"),
                                              QStringLiteral("--bins"), QStringLiteral("10"), QStringLiteral("--json") });
    QVERIFY(p.waitForFinished(30'000));
    QCOMPARE(p.exitCode(), 0);
    const QJsonArray all = QJsonDocument::fromJson(p.readAllStandardOutput()).object()[QLatin1String("tensors")].toArray();
    QCOMPARE(all.size(), qsizetype(m_tensor.size()));
    for (const auto& t : all) {
        const QJsonObject e = t.toObject();
        const QString name = e[QLatin1String("path")].toArray()[0].toString();
        HistRequest r;
        r.bins = 10;
        r.backend = HistBackend::Cpu;
        auto h = computeHistogram(*m_ck, m_tensor.at(name), r);
        QVERIFY2(h, qPrintable(name));
        QCOMPARE(e[QLatin1String("histogram")].toObject()[QLatin1String("counts")].toArray().size(), qsizetype(10));
        for (int b = 0; b < 10; ++b)
            QCOMPARE(e[QLatin1String("histogram")].toObject()[QLatin1String("counts")].toArray()[b].toInteger(), h->counts[size_t(b)]);
        QVERIFY2(e.contains(QLatin1String("stats")), qPrintable(name));
    }
    p.start(QStringLiteral(CKPTLENS_CLI), { QStringLiteral("hist"), test::fixture(QStringLiteral("hist.pth")), QStringLiteral("--all"),
                                              QStringLiteral("--key"), QStringLiteral("no_such_*") });
    QVERIFY(p.waitForFinished(30'000));
    QCOMPARE(p.exitCode(), 2);
    QVERIFY(p.readAllStandardError().contains("no tensor matches"));
}

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
