// ckpt::crc32 (the PCLMULQDQ folding path with its zlib tail) equals zlib's crc32 for every length around the
// fold's block sizes, every alignment, continued in pieces, and on the check value of the CRC catalogue; pieces'
// CRCs combine into the whole's.
#include "io/crc32.h"

#include <QRandomGenerator>
#include <QtTest>

#include <zlib.h>

#include <vector>

using namespace ckpt;

namespace {

std::uint32_t reference(std::uint32_t crc, const std::uint8_t* p, size_t n)
{
    if (n == 0) // zlib answers its initial value (0) for a null buffer, whatever crc was
        return crc;
    return std::uint32_t(::crc32_z(uLong(crc), p, n));
}

std::vector<std::uint8_t> randomBytes(size_t n, quint32 seed)
{
    std::vector<std::uint8_t> v(n);
    QRandomGenerator rng(seed);
    for (auto& b : v)
        b = std::uint8_t(rng.generate());
    return v;
}

} // namespace

class TestCrc32 : public QObject {
    Q_OBJECT
private slots:
    void checkValue();
    void equalsZlib_data();
    void equalsZlib();
    void continuedInPieces();
    void largeBuffer();
    void combined_data();
    void combined();
};

void TestCrc32::checkValue()
{
    const char text[] = "123456789";
    QCOMPARE(ckpt::crc32(0, text, 9), 0xCBF43926u);
    QCOMPARE(ckpt::crc32(0, nullptr, 0), 0u);
    const std::vector<std::uint8_t> zeros(4096, 0), ones(4096, 0xFF);
    QCOMPARE(ckpt::crc32(0, zeros.data(), zeros.size()), reference(0, zeros.data(), zeros.size()));
    QCOMPARE(ckpt::crc32(0, ones.data(), ones.size()), reference(0, ones.data(), ones.size()));
}

void TestCrc32::equalsZlib_data()
{
    QTest::addColumn<int>("length");
    QTest::addColumn<int>("offset");
    QTest::addColumn<quint32>("start");
    // Below, at and past the 64-byte minimum, the 16-byte tail steps and the 64-byte main loop.
    for (int length : { 0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 81, 127, 128, 129, 143, 191, 192, 255, 256, 1000, 4099, 65536 })
        for (int offset : { 0, 1, 7, 8, 15 })
            for (quint32 start : { 0u, 0xDEADBEEFu })
                QTest::addRow("len=%d off=%d crc=%08x", length, offset, start) << length << offset << start;
}

void TestCrc32::equalsZlib()
{
    QFETCH(int, length);
    QFETCH(int, offset);
    QFETCH(quint32, start);
    const auto buf = randomBytes(size_t(length + offset), quint32(length * 31 + offset));
    QCOMPARE(ckpt::crc32(start, buf.data() + offset, size_t(length)), reference(start, buf.data() + offset, size_t(length)));
}

// Writers feed a record in chunks of whatever size the producer hands over.
void TestCrc32::continuedInPieces()
{
    const auto buf = randomBytes(100'000, 7);
    const std::uint32_t whole = reference(0, buf.data(), buf.size());
    QRandomGenerator rng(11);
    for (int run = 0; run < 200; ++run) {
        std::uint32_t crc = 0;
        size_t at = 0;
        while (at < buf.size()) {
            const size_t n = std::min<size_t>(buf.size() - at, rng.bounded(1, 3000));
            crc = ckpt::crc32(crc, buf.data() + at, n);
            at += n;
        }
        QCOMPARE(crc, whole);
    }
}

void TestCrc32::largeBuffer()
{
    const auto buf = randomBytes(size_t(48) << 20, 3);
    QCOMPARE(ckpt::crc32(0, buf.data(), buf.size()), reference(0, buf.data(), buf.size()));
}

void TestCrc32::combined_data()
{
    QTest::addColumn<int>("length");
    QTest::addColumn<int>("split");
    // Export's verification cuts storages into 8 MiB pieces: the empty piece, one byte, both halves, a tail.
    for (auto [length, split] : std::initializer_list<std::pair<int, int>> { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 100, 37 },
             { 65536, 65535 }, { 3 << 20, 1 << 20 }, { (8 << 20) + 5, 8 << 20 } })
        QTest::addRow("len=%d split=%d", length, split) << length << split;
}

// The CRC of A followed by B, from the two pieces' CRCs: what the parallel read-back check combines.
void TestCrc32::combined()
{
    QFETCH(int, length);
    QFETCH(int, split);
    const auto buf = randomBytes(size_t(length), quint32(length + split));
    const std::uint32_t a = ckpt::crc32(0, buf.data(), size_t(split));
    const std::uint32_t b = ckpt::crc32(0, buf.data() + split, size_t(length - split));
    QCOMPARE(ckpt::crc32Combine(a, b, length - split), reference(0, buf.data(), size_t(length)));
}

QTEST_GUILESS_MAIN(TestCrc32)
#include "tst_crc32.moc"
