// castElements' vector paths (SSE2 to bfloat16, F16C to float16) give exactly the bits and the overflow count of
// the scalar conversions (themselves checked against torch in tst_export::castMatchesTorchRounding), over a sweep
// of all float bit patterns, every rounding boundary of the 16-bit formats, NaNs amid numbers, and odd lengths.
#include "model/dtypecast.h"

#include <QRandomGenerator>
#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

using namespace ckpt;

namespace {

std::vector<std::uint32_t> patterns(const QString& kind)
{
    std::vector<std::uint32_t> v;
    if (kind == QLatin1String("sweep")) { // every 251st bit pattern: all exponents, signs, NaN payloads
        for (std::uint64_t u = 0; u <= 0xFFFFFFFFull; u += 251)
            v.push_back(std::uint32_t(u));
    } else if (kind == QLatin1String("boundaries")) { // each 16-bit value's float, and its neighbours halfway off
        for (std::uint32_t h = 0; h <= 0xFFFF; ++h)
            for (std::uint32_t low : { 0x0000u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu })
                v.push_back((h << 16) | low);
        for (std::uint32_t half = 0; half <= 0x7FFF; ++half) { // float16's: exponent rebias of each value +- ulp/2
            const float f = std::ldexp(1.0f + float(half & 0x3FF) / 1024.0f, int(half >> 10) - 15);
            const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
            for (std::uint32_t d : { 0u, 0xFFFu, 0x1000u, 0x1001u, 0x2000u })
                v.push_back(u + d), v.push_back((u + d) | 0x80000000u);
        }
    } else if (kind == QLatin1String("nans amid numbers")) {
        QRandomGenerator rng(5);
        for (int i = 0; i < 100'000; ++i) {
            const std::uint32_t r = rng.generate();
            v.push_back(rng.bounded(7) == 0 ? (0x7F800001u | r) : std::bit_cast<std::uint32_t>(float(std::int32_t(r)) * 1e-5f));
        }
    } else if (kind == QLatin1String("large values")) { // around float16's 65520 and bfloat16's FLT_MAX rounding
        for (float f : { 65504.0f, 65519.0f, 65519.996f, 65520.0f, 70000.0f, 3.3895314e38f, 3.40282347e38f })
            for (int d = -40; d <= 40; ++d)
                v.push_back(std::bit_cast<std::uint32_t>(f) + std::uint32_t(d)), v.push_back((std::bit_cast<std::uint32_t>(f) + std::uint32_t(d)) | 0x80000000u);
    }
    return v;
}

} // namespace

class TestDtypeCast : public QObject {
    Q_OBJECT
private slots:
    void vectorEqualsScalar_data();
    void vectorEqualsScalar();
};

void TestDtypeCast::vectorEqualsScalar_data()
{
    QTest::addColumn<int>("to");
    QTest::addColumn<QString>("kind");
    for (DType to : { DType::BFloat16, DType::Float16 })
        for (const char* kind : { "sweep", "boundaries", "nans amid numbers", "large values" })
            QTest::addRow("%s %s", qPrintable(dtypeName(to)), kind) << int(to) << QString::fromLatin1(kind);
}

void TestDtypeCast::vectorEqualsScalar()
{
    QFETCH(int, to);
    QFETCH(QString, kind);
    const DType target = DType(to);
    const auto in = patterns(kind);
    std::vector<std::uint16_t> expected(in.size());
    std::int64_t expectedOverflow = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        const float f = std::bit_cast<float>(in[i]);
        expected[i] = target == DType::BFloat16 ? floatToBFloat16(f) : floatToHalf(f);
        expectedOverflow += std::isfinite(f) && (expected[i] & 0x7FFF) == (target == DType::BFloat16 ? 0x7F80 : 0x7C00);
    }
    // Whole, then in odd-sized pieces from odd offsets (the vector loops' tails and unaligned loads).
    std::vector<std::uint16_t> out(in.size());
    const auto* src = reinterpret_cast<const std::uint8_t*>(in.data());
    auto* dst = reinterpret_cast<std::uint8_t*>(out.data());
    QCOMPARE(castElements(DType::Float32, src, target, dst, std::int64_t(in.size())), expectedOverflow);
    for (size_t i = 0; i < in.size(); ++i)
        if (out[i] != expected[i])
            QFAIL(qPrintable(QStringLiteral("element %1 (bits %2): %3, expected %4").arg(i).arg(in[i], 8, 16, QLatin1Char('0')).arg(out[i], 4, 16, QLatin1Char('0')).arg(expected[i], 4, 16, QLatin1Char('0'))));
    std::fill(out.begin(), out.end(), 0);
    std::int64_t overflow = 0;
    size_t at = 0, step = 1;
    while (at < in.size()) {
        const size_t n = std::min(in.size() - at, step);
        overflow += castElements(DType::Float32, src + at * 4, target, dst + at * 2, std::int64_t(n));
        at += n;
        step = step * 3 % 1021 + 1;
    }
    QCOMPARE(overflow, expectedOverflow);
    QVERIFY(std::memcmp(out.data(), expected.data(), out.size() * 2) == 0);
}

QTEST_GUILESS_MAIN(TestDtypeCast)
#include "tst_dtypecast.moc"
