// Pair metrics on the GPU equal the CPU's: counts (differing, not close), max |a-b| and "identical" exactly, the
// sums (mean |a-b|, relative L2, cosine) to rounding, on pairs of every dtype (random bit patterns with a few bytes
// changed, smooth data with noise, different dtypes of the same values) and on a 40M-element pair that takes
// several chunks. Compiled always; skipped where no CUDA device is present.
#include "adversarialtensors.h"
#include "model/diff.h"
#include "model/tensorlist.h"
#include "testutil.h"

#include <QTemporaryDir>

using namespace ckpt;

class TestCudaDiff : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matchesCpu_data();
    void matchesCpu();

private:
    QTemporaryDir m_dir;
    CheckpointPtr m_ck;
    std::map<QString, int> m_tensor;
};

void TestCudaDiff::initTestCase()
{
    if (!cudaHistogramAvailable())
        return;
    std::vector<test::RawTensor> tensors;
    test::Lcg rng(21);
    for (const test::RawTensor& t : test::adversarialTensors(50021)) {
        if (!t.name.endsWith(QLatin1String(".bits")) && !t.name.endsWith(QLatin1String(".smooth")))
            continue;
        test::RawTensor changed = t;
        changed.name += QStringLiteral(".changed");
        for (qsizetype i = 0; i < changed.bytes.size(); i += 1 + qsizetype(rng.next() % 200))
            changed.bytes[i] = char(rng.next() & 0xff);
        tensors.push_back(t);
        tensors.push_back(changed);
    }
    // The same values in three dtypes, and a large pair of several chunks.
    std::vector<double> values(300007), noisy(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        values[i] = rng.normal() * 3;
        noisy[i] = values[i] + (i % 3 ? rng.normal() * 1e-6 : 0.0);
    }
    tensors.push_back({ QStringLiteral("same.f64"), DType::Float64, { 300007 }, test::encode(DType::Float64, values) });
    tensors.push_back({ QStringLiteral("same.f32"), DType::Float32, { 300007 }, test::encode(DType::Float32, values) });
    tensors.push_back({ QStringLiteral("same.bf16"), DType::BFloat16, { 300007 }, test::encode(DType::BFloat16, values) });
    tensors.push_back({ QStringLiteral("same.i32"), DType::Int32, { 300007 }, test::encode(DType::Int32, values) });
    tensors.push_back({ QStringLiteral("same.f32noisy"), DType::Float32, { 300007 }, test::encode(DType::Float32, noisy) });
    std::vector<double> big(40'000'000), bigNoisy(big.size());
    for (size_t i = 0; i < big.size(); ++i) {
        big[i] = i % 999983 == 0 ? NAN : rng.normal() * 0.02;
        bigNoisy[i] = i % 5 == 0 ? big[i] : big[i] + rng.normal() * 1e-4;
    }
    tensors.push_back({ QStringLiteral("big.a"), DType::Float32, { 40'000'000 }, test::encode(DType::Float32, big) });
    tensors.push_back({ QStringLiteral("big.b"), DType::Float32, { 40'000'000 }, test::encode(DType::Float32, bigNoisy) });
    const QString path = m_dir.filePath(QStringLiteral("pairs.safetensors"));
    QVERIFY(test::writeRawSafetensors(path, tensors));
    auto ck = openCheckpoint(path);
    QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
    m_ck = *ck;
    for (const auto& e : listTensors(*m_ck))
        m_tensor[e.path.join(QLatin1Char('.'))] = e.tensor;
}

void TestCudaDiff::matchesCpu_data()
{
    if (!cudaHistogramAvailable())
        QSKIP(qPrintable(QStringLiteral("no CUDA device: %1").arg(cudaDescription())));
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    for (const auto& [name, t] : m_tensor)
        if (name.endsWith(QLatin1String(".changed"))) {
            const QString base = name.chopped(8);
            QTest::addRow("%s", qPrintable(name)) << base << name;
            QTest::addRow("%s reversed", qPrintable(name)) << name << base;
        }
    for (const char* other : { "same.f32", "same.bf16", "same.i32", "same.f32noisy" })
        QTest::addRow("f64 vs %s", other) << QStringLiteral("same.f64") << QString::fromLatin1(other);
    QTest::addRow("f32 vs noisy") << QStringLiteral("same.f32") << QStringLiteral("same.f32noisy");
    QTest::addRow("big") << QStringLiteral("big.a") << QStringLiteral("big.b");
}

static bool close(double a, double b)
{
    if (!std::isfinite(a) || !std::isfinite(b))
        return std::isnan(a) == std::isnan(b) && (std::isnan(a) || a == b || (std::isinf(a) && std::isinf(b)));
    return a == b || std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

void TestCudaDiff::matchesCpu()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    for (const auto& [rtol, atol] : { std::pair { 1e-5, 1e-8 }, std::pair { 0.0, 0.0 }, std::pair { 1e-2, 1e-3 } }) {
        auto cpu = comparePair(*m_ck, m_tensor.at(a), *m_ck, m_tensor.at(b), rtol, atol, 0, nullptr, HistBackend::Cpu);
        auto gpu = comparePair(*m_ck, m_tensor.at(a), *m_ck, m_tensor.at(b), rtol, atol, 0, nullptr, HistBackend::Cuda);
        QVERIFY(cpu && gpu);
        QCOMPARE(cpu->backend, QStringLiteral("cpu"));
        QCOMPARE(gpu->backend, QStringLiteral("cuda"));
        QCOMPARE(gpu->differing, cpu->differing);
        QCOMPARE(gpu->notClose, cpu->notClose);
        QCOMPARE(gpu->identical, cpu->identical);
        QCOMPARE(gpu->maxAbs, cpu->maxAbs);
        QVERIFY2(close(gpu->meanAbs, cpu->meanAbs), qPrintable(QStringLiteral("mean %1 vs %2").arg(gpu->meanAbs).arg(cpu->meanAbs)));
        QVERIFY2(close(gpu->relL2, cpu->relL2), qPrintable(QStringLiteral("rel_l2 %1 vs %2").arg(gpu->relL2).arg(cpu->relL2)));
        QCOMPARE(gpu->cosine.has_value(), cpu->cosine.has_value());
        if (cpu->cosine)
            QVERIFY2(close(*gpu->cosine, *cpu->cosine), qPrintable(QStringLiteral("cosine %1 vs %2").arg(*gpu->cosine).arg(*cpu->cosine)));
    }
}

QTEST_GUILESS_MAIN(TestCudaDiff)
#include "tst_cudadiff.moc"
