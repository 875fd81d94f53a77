// Statistics against torch's own (tests/torch_dump.py computes them in float64): every tensor of every
// torch-written fixture, relative error under 1e-9, counts exact; element decoding of the 8- and 16-bit float
// formats against their definitions.
#include "model/elementdecode.h"
#include "model/tensorlist.h"
#include "model/tensorstats.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

using namespace ckpt;

class TestTensorStats : public QObject {
    Q_OBJECT
private slots:
    void matchesTorch_data();
    void matchesTorch();
    void threadsAgree();
    void decodeFormats_data();
    void decodeFormats();
    void brokenTensorIsAnError();
};

void TestTensorStats::matchesTorch_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QJsonArray>("tensors");
    const QJsonObject all = QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("expected.json")))).object();
    for (auto it = all.begin(); it != all.end(); ++it)
        if (!it.key().endsWith(QLatin1String("many.pth"))) // 5000 tiny tensors add nothing the others do not cover
            QTest::newRow(qPrintable(QFileInfo(it.key()).fileName())) << it.key() << it->toObject()[QLatin1String("tensors")].toArray();
}

static bool close(double ours, double theirs, double scale)
{
    return std::fabs(ours - theirs) <= 1e-9 * std::fabs(theirs) + 1e-12 * scale;
}

void TestTensorStats::matchesTorch()
{
    QFETCH(QString, file);
    QFETCH(QJsonArray, tensors);
    auto ck = openCheckpoint(file);
    QVERIFY(ck);
    const auto entries = listTensors(**ck);
    QCOMPARE(qsizetype(entries.size()), tensors.size());
    for (qsizetype i = 0; i < tensors.size(); ++i) {
        const QJsonObject e = tensors[i].toObject()[QLatin1String("stats")].toObject();
        const QString where = tensors[i].toObject()[QLatin1String("path")].toVariant().toStringList().join(QLatin1Char('.'));
        auto s = computeStats(**ck, entries[size_t(i)].tensor);
        QVERIFY2(s, qPrintable(where));
        QCOMPARE(s->numel, e[QLatin1String("numel")].toInteger());
        QCOMPARE(s->zeros, e[QLatin1String("zeros")].toInteger());
        QCOMPARE(s->nan, e[QLatin1String("nan")].toInteger());
        QCOMPARE(s->inf, e[QLatin1String("inf")].toInteger());
        const double scale = e[QLatin1String("absmax")].toDouble();
        QVERIFY2(close(s->l2, e[QLatin1String("l2")].toDouble(), scale), qPrintable(where + QStringLiteral(" l2")));
        const std::pair<const char*, const std::optional<double>*> fields[] = {
            { "min", &s->min }, { "max", &s->max }, { "mean", &s->mean }, { "std", &s->std }, { "absmax", &s->absmax }
        };
        for (const auto& [key, value] : fields) {
            const QJsonValue want = e[QLatin1String(key)];
            QVERIFY2(want.isUndefined() == !value->has_value(), qPrintable(where + QStringLiteral(" presence of ") + QLatin1String(key)));
            if (value->has_value())
                QVERIFY2(close(**value, want.toDouble(), scale),
                    qPrintable(QStringLiteral("%1 %2: ours %3 torch %4").arg(where, QLatin1String(key)).arg(**value, 0, 'g', 17).arg(want.toDouble(), 0, 'g', 17)));
        }
    }
}

void TestTensorStats::threadsAgree()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto ck = openCheckpoint(test::fixture(QStringLiteral("values.pth")));
    QVERIFY(ck);
    for (const auto& e : listTensors(**ck)) {
        auto one = computeStats(**ck, e.tensor, 1);
        auto four = computeStats(**ck, e.tensor, 4);
        QVERIFY(one && four);
        QCOMPARE(one->zeros, four->zeros);
        QCOMPARE(one->min, four->min);
        QCOMPARE(one->max, four->max);
        if (one->mean)
            QVERIFY(close(*one->mean, *four->mean, one->absmax.value_or(0)));
    }
    std::atomic<bool> cancel { true };
    const Checkpoint& ckv = **ck;
    const auto entries = listTensors(ckv);
    QVERIFY(!computeStats(ckv, entries.front().tensor, 2, &cancel));
}

void TestTensorStats::decodeFormats_data()
{
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("bits");
    QTest::addColumn<double>("value");
    const double nan = std::nan("");
    auto row = [](const char* name, DType t, int bits, double v) { QTest::newRow(name) << int(t) << bits << v; };
    row("e4m3fn max 448", DType::Float8_e4m3fn, 0x7e, 448.0);
    row("e4m3fn nan", DType::Float8_e4m3fn, 0x7f, nan);
    row("e4m3fn -nan", DType::Float8_e4m3fn, 0xff, nan);
    row("e4m3fn smallest subnormal", DType::Float8_e4m3fn, 0x01, std::ldexp(1.0, -9));
    row("e4m3fn one", DType::Float8_e4m3fn, 0x38, 1.0);
    row("e4m3fn -1.5", DType::Float8_e4m3fn, 0xbc, -1.5);
    row("e5m2 inf", DType::Float8_e5m2, 0x7c, INFINITY);
    row("e5m2 -inf", DType::Float8_e5m2, 0xfc, -INFINITY);
    row("e5m2 nan", DType::Float8_e5m2, 0x7d, nan);
    row("e5m2 max 57344", DType::Float8_e5m2, 0x7b, 57344.0);
    row("e5m2 smallest subnormal", DType::Float8_e5m2, 0x01, std::ldexp(1.0, -16));
    row("e5m2 one", DType::Float8_e5m2, 0x3c, 1.0);
    row("e4m3fnuz nan is 0x80", DType::Float8_e4m3fnuz, 0x80, nan);
    row("e4m3fnuz max 240", DType::Float8_e4m3fnuz, 0x7f, 240.0);
    row("e5m2fnuz max 57344", DType::Float8_e5m2fnuz, 0x7f, 57344.0);
    row("f16 max", DType::Float16, 0x7bff, 65504.0);
    row("f16 smallest subnormal", DType::Float16, 0x0001, std::ldexp(1.0, -24));
    row("f16 -inf", DType::Float16, 0xfc00, -INFINITY);
    row("f16 nan", DType::Float16, 0x7e00, nan);
    row("f16 -0", DType::Float16, 0x8000, -0.0);
    row("bf16 one", DType::BFloat16, 0x3f80, 1.0);
    row("bf16 smallest subnormal", DType::BFloat16, 0x0001, std::ldexp(1.0, -133));
    row("bf16 -inf", DType::BFloat16, 0xff80, -INFINITY);
}

void TestTensorStats::decodeFormats()
{
    QFETCH(int, type);
    QFETCH(int, bits);
    QFETCH(double, value);
    const DType t = DType(type);
    const std::uint8_t bytes[2] = { std::uint8_t(bits & 0xff), std::uint8_t(bits >> 8) };
    double out = 0;
    decodeElements(t, bytes, 1, dtypeItemSize(t), false, &out);
    if (std::isnan(value))
        QVERIFY(std::isnan(out));
    else {
        QCOMPARE(out, value);
        QCOMPARE(std::signbit(out), std::signbit(value));
    }
    // Big-endian storage of the same value decodes the same.
    if (dtypeItemSize(t) == 2) {
        const std::uint8_t swapped[2] = { bytes[1], bytes[0] };
        double be = 0;
        decodeElements(t, swapped, 1, 2, true, &be);
        QVERIFY(std::isnan(value) ? std::isnan(be) : be == value);
    }
}

void TestTensorStats::brokenTensorIsAnError()
{
    Checkpoint ck;
    TensorInfo t;
    t.dtype = DType::Float32;
    t.error = QStringLiteral("storage too short");
    ck.tensors.push_back(t);
    auto s = computeStats(ck, 0);
    QVERIFY(!s);
    QVERIFY(s.error().what.contains(QLatin1String("storage too short")));
    QVERIFY(!computeStats(ck, 7));
}

QTEST_GUILESS_MAIN(TestTensorStats)
#include "tst_tensorstats.moc"
