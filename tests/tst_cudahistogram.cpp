// The CUDA backend gives the CPU backend's counts bit for bit: on adversarial tensors of every dtype (every bit
// pattern, smooth data, values on edges, constants, NaN, empty), through every way data reaches the device (gathered
// into pinned staging buffers of two sizes, or straight from the registered memory map), with shared-memory and global-memory
// bins, with the tensor kept on the device (automatic range) or streamed (given range), on a tensor of several GB,
// and in the many-tensor batch. Compiled always; skipped where no CUDA device is present (the CPU backend's own
// exactness against numpy is tst_histogram's).
#include "adversarialtensors.h"
#include "model/histogram.h"
#include "model/tensorlist.h"
#include "testutil.h"

#include <QTemporaryDir>

using namespace ckpt;

class TestCudaHistogram : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void adversarial_data();
    void adversarial();
    void severalGigabytes_data();
    void severalGigabytes();

private:
    QTemporaryDir m_dir;
    CheckpointPtr m_ck;
    std::map<QString, int> m_tensor;
};

// The backend's ways of moving data: default (two 64 MiB staging buffers), "register" (copies straight from the
// registered memory map), "chunks" (four 4 MiB buffers: many chunks, the ring wrapping often).
static void setMode(const QString& mode)
{
    qunsetenv("CKPTLENS_CUDA_REGISTER");
    qunsetenv("CKPTLENS_CUDA_STAGES");
    qunsetenv("CKPTLENS_CUDA_CHUNK_MB");
    if (mode == QLatin1String("register"))
        qputenv("CKPTLENS_CUDA_REGISTER", "1");
    if (mode == QLatin1String("chunks")) {
        qputenv("CKPTLENS_CUDA_STAGES", "4");
        qputenv("CKPTLENS_CUDA_CHUNK_MB", "4");
    }
}

static void requireDevice()
{
    if (!cudaHistogramAvailable())
        QSKIP(qPrintable(QStringLiteral("no CUDA device: %1").arg(cudaDescription())));
}

void TestCudaHistogram::initTestCase()
{
    qInfo("%s", qPrintable(cudaDescription()));
    if (!cudaHistogramAvailable())
        return;
    std::vector<test::RawTensor> tensors = test::adversarialTensors();
    // 40M float32 (160 MB): three chunks, registered straight from the map or staged, kept on the device or not.
    test::Lcg rng(11);
    std::vector<double> big(40'000'000);
    for (size_t i = 0; i < big.size(); ++i)
        big[i] = i % 1000003 == 0 ? std::numeric_limits<double>::quiet_NaN() : rng.normal() * 0.02;
    tensors.push_back({ QStringLiteral("float32.big"), DType::Float32, { 40'000, 1000 }, test::encode(DType::Float32, big) });
    const QString path = m_dir.filePath(QStringLiteral("adversarial.safetensors"));
    QVERIFY(test::writeRawSafetensors(path, tensors));
    auto ck = openCheckpoint(path);
    QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
    m_ck = *ck;
    for (const auto& e : listTensors(*m_ck))
        m_tensor[e.path.join(QLatin1Char('.'))] = e.tensor;
}

void TestCudaHistogram::adversarial_data()
{
    requireDevice();
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("request");
    QTest::addColumn<QString>("mode");
    for (const auto& [name, tensor] : m_tensor) {
        const auto requests = test::adversarialRequests(m_ck->tensors[size_t(tensor)].dtype);
        for (int r = 0; r < int(requests.size()); ++r)
            for (const char* mode : { "", "register", "chunks" }) {
                if (*mode && !name.endsWith(QLatin1String(".big")))
                    continue; // small tensors take one chunk, always staged
                QTest::addRow("%s #%d %s", qPrintable(name), r, mode) << name << r << QString::fromLatin1(mode);
            }
    }
}

void TestCudaHistogram::adversarial()
{
    QFETCH(QString, name);
    QFETCH(int, request);
    QFETCH(QString, mode);
    const int tensor = m_tensor.at(name);
    HistRequest cpu = test::adversarialRequests(m_ck->tensors[size_t(tensor)].dtype)[size_t(request)];
    HistRequest gpu = cpu;
    cpu.backend = HistBackend::Cpu;
    gpu.backend = HistBackend::Cuda;
    setMode(mode);
    auto a = computeHistogram(*m_ck, tensor, cpu);
    auto b = computeHistogram(*m_ck, tensor, gpu);
    setMode({});
    QVERIFY2(a && b, qPrintable(!a ? a.error().message() : !b ? b.error().message() : QString()));
    QCOMPARE(a->backend, QStringLiteral("cpu"));
    QCOMPARE(b->backend, QStringLiteral("cuda"));
    for (size_t i = 0; i < a->counts.size(); ++i)
        if (a->counts[i] != b->counts[i])
            QFAIL(qPrintable(QStringLiteral("bin %1 [%2, %3): cpu %4, cuda %5").arg(i).arg(a->edges[i], 0, 'g', 17).arg(a->edges[i + 1], 0, 'g', 17)
                                 .arg(a->counts[i]).arg(b->counts[i])));
    QCOMPARE(*b, *a);
}

// A float32 tensor of CKPTLENS_TEST_LARGE_GIB GiB (default 3) and a bfloat16 one of half that: wider than 32-bit
// element indices, many chunks; kept on the device for the automatic range, streamed for a given one.
void TestCudaHistogram::severalGigabytes_data()
{
    requireDevice();
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("ranged");
    QTest::addColumn<QString>("mode");
    for (const char* name : { "f32", "bf16" })
        for (bool ranged : { false, true })
            for (const char* mode : { "", "register", "chunks" })
                QTest::addRow("%s%s %s", name, ranged ? " range" : " auto", mode) << QString::fromLatin1(name) << ranged << QString::fromLatin1(mode);
}

void TestCudaHistogram::severalGigabytes()
{
    QFETCH(QString, name);
    QFETCH(bool, ranged);
    QFETCH(QString, mode);
    static CheckpointPtr large;
    static QTemporaryDir dir;
    if (!large) {
        bool ok = false;
        const double gib = qEnvironmentVariable("CKPTLENS_TEST_LARGE_GIB").toDouble(&ok);
        const std::int64_t n = std::int64_t((ok && gib > 0 ? gib : 3.0) * double(1 << 30) / 4);
        // Written in pieces so the test never holds the tensor twice.
        const QString path = dir.filePath(QStringLiteral("large.safetensors"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        const QByteArray header = QStringLiteral(R"({"f32":{"dtype":"F32","shape":[%1],"data_offsets":[0,%2]},"bf16":{"dtype":"BF16","shape":[%1],"data_offsets":[%2,%3]}})")
                                      .arg(n).arg(n * 4).arg(n * 6).toLatin1().leftJustified(4088, ' ');
        std::uint64_t len = std::uint64_t(header.size());
        f.write(reinterpret_cast<const char*>(&len), 8);
        f.write(header);
        test::Lcg rng(5);
        for (int pass = 0; pass < 2; ++pass) {
            std::vector<float> piece(1 << 22);
            std::vector<std::uint16_t> half(piece.size());
            for (std::int64_t at = 0; at < n; at += std::int64_t(piece.size())) {
                const std::int64_t m = std::min<std::int64_t>(std::int64_t(piece.size()), n - at);
                for (std::int64_t i = 0; i < m; ++i) {
                    const std::int64_t k = at + i;
                    piece[size_t(i)] = k % 9999991 == 0 ? INFINITY : k % 7777777 == 0 ? NAN : float((rng.uniform() - 0.5) * (1 + (k % 3)));
                }
                if (pass == 0) {
                    f.write(reinterpret_cast<const char*>(piece.data()), m * 4);
                } else {
                    for (std::int64_t i = 0; i < m; ++i) {
                        std::uint32_t bits;
                        std::memcpy(&bits, &piece[size_t(i)], 4);
                        half[size_t(i)] = std::uint16_t(bits >> 16);
                    }
                    f.write(reinterpret_cast<const char*>(half.data()), m * 2);
                }
            }
        }
        QVERIFY(f.flush());
        f.close();
        auto ck = openCheckpoint(path);
        QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
        large = *ck;
    }
    int tensor = -1;
    for (const auto& e : listTensors(*large))
        if (e.path.join(QLatin1Char('.')) == name)
            tensor = e.tensor;
    QVERIFY(tensor >= 0);
    HistRequest cpu;
    cpu.bins = 1000;
    if (ranged)
        cpu.range = std::pair { -0.75, 0.5 };
    HistRequest gpu = cpu;
    cpu.backend = HistBackend::Cpu;
    gpu.backend = HistBackend::Cuda;
    setMode(mode);
    auto a = computeHistogram(*large, tensor, cpu);
    auto b = computeHistogram(*large, tensor, gpu);
    setMode({});
    QVERIFY(a && b);
    QCOMPARE(b->backend, QStringLiteral("cuda"));
    qInfo("%s: %.1f ms on the CPU, %.1f ms on the GPU", qPrintable(name), a->milliseconds, b->milliseconds);
    QCOMPARE(*b, *a);
    QVERIFY(a->nan > 0 && a->inf > 0);
}

QTEST_GUILESS_MAIN(TestCudaHistogram)
#include "tst_cudahistogram.moc"
