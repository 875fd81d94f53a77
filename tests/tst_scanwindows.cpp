// Passes over every element (statistics, histograms, comparisons) go by scan windows and release each one's mapped
// pages once done (model/elementview.h: scanWindowElements, scannedPagesReleaser; model/parallel.h:
// parallelWindows): the peak resident set of a pass over a 128 MiB tensor stays near one window (32 MiB), where it
// was the whole tensor before (GPT-2-medium's stats peaked at 214 MiB, its diff at 434 MiB, hist --all at the
// file's 1.39 GB). The results do not change: they are checked against a whole-tensor reference here.
#include "io/checkpoint.h"
#include "model/diff.h"
#include "model/elementview.h"
#include "model/histogram.h"
#include "model/tensorstats.h"
#include "testutil.h"

#include <QTemporaryDir>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>

using namespace ckpt;

namespace {

constexpr qint64 kElements = qint64(32) << 20; // 128 MiB of float32

// A safetensors file of one float32 tensor "t" (value i * 1e-6 - 3, and `changed` at element `at` when given),
// written in 8 MiB pieces, synced and dropped from the page cache so that the map reads it back through readahead.
QString writeTensorFile(const QString& path, qint64 at = -1, float changed = 0)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return {};
    QByteArray header = QByteArrayLiteral(R"({"t":{"dtype":"F32","shape":[)") + QByteArray::number(kElements)
        + QByteArrayLiteral(R"(],"data_offsets":[0,)") + QByteArray::number(kElements * 4) + QByteArrayLiteral("]}}");
    while (header.size() % 8)
        header += ' ';
    const quint64 n = quint64(header.size());
    char len[8];
    for (int b = 0; b < 8; ++b)
        len[b] = char((n >> (8 * b)) & 0xff);
    if (f.write(len, 8) != 8 || f.write(header) != header.size())
        return {};
    std::vector<float> piece(size_t(2) << 20);
    for (qint64 from = 0; from < kElements; from += qint64(piece.size())) {
        for (size_t i = 0; i < piece.size(); ++i)
            piece[i] = (at == from + qint64(i)) ? changed : float(double(from + qint64(i)) * 1e-6 - 3);
        if (f.write(reinterpret_cast<const char*>(piece.data()), qint64(piece.size() * 4)) != qint64(piece.size() * 4))
            return {};
    }
    if (!f.flush() || fsync(f.handle()) != 0 || posix_fadvise(f.handle(), 0, 0, POSIX_FADV_DONTNEED) != 0)
        return {};
    return path;
}

qint64 statusKiB(const char* field)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    for (QByteArray line = status.readLine(); !line.isEmpty(); line = status.readLine())
        if (line.startsWith(field))
            return line.mid(qsizetype(std::strlen(field))).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

// How much the process's peak resident set grows over its current size while `pass` runs (VmHWM, reset through
// /proc/self/clear_refs); -1 where the kernel offers no reset.
qint64 peakGrowthKiB(const std::function<void()>& pass)
{
    {
        QFile clear(QStringLiteral("/proc/self/clear_refs"));
        if (!clear.open(QIODevice::WriteOnly) || clear.write("5") != 1)
            return -1;
    }
    const qint64 before = statusKiB("VmRSS:");
    if (before < 0 || statusKiB("VmHWM:") > before + 1024)
        return -1;
    pass();
    return statusKiB("VmHWM:") - before;
}

} // namespace

class TestScanWindows : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void passesHoldAWindow_data();
    void passesHoldAWindow();

private:
    QTemporaryDir m_dir;
    CheckpointPtr m_a, m_b;
};

void TestScanWindows::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const QString a = writeTensorFile(m_dir.filePath(QStringLiteral("a.safetensors")));
    const QString b = writeTensorFile(m_dir.filePath(QStringLiteral("b.safetensors")), kElements - 5, 100.0f);
    QVERIFY(!a.isEmpty() && !b.isEmpty());
    auto ca = openCheckpoint(a), cb = openCheckpoint(b);
    QVERIFY2(ca.ok() && cb.ok(), "the samples open");
    m_a = *ca;
    m_b = *cb;
    QCOMPARE(m_a->tensors.size(), size_t(1));
    QCOMPARE(m_a->tensors[0].numel(), kElements);
}

void TestScanWindows::passesHoldAWindow_data()
{
    QTest::addColumn<QString>("pass");
    QTest::addColumn<qint64>("boundKiB"); // peak growth allowed: the windows in flight and the workers' buffers
    for (int threads : { 1, 4 }) {
        const QByteArray t = "threads=" + QByteArray::number(threads);
        QTest::newRow(("stats " + t).constData()) << QStringLiteral("stats %1").arg(threads) << qint64(56 << 10);
        QTest::newRow(("histogram, automatic range " + t).constData())
            << QStringLiteral("hist %1").arg(threads) << qint64(56 << 10);
        // Two files: a window of each. The last window differs, so the byte comparison goes to the end before the
        // element pass starts over.
        QTest::newRow(("comparison " + t).constData()) << QStringLiteral("compare %1").arg(threads) << qint64(96 << 10);
    }
}

void TestScanWindows::passesHoldAWindow()
{
    QFETCH(QString, pass);
    QFETCH(qint64, boundKiB);
    const QStringList words = pass.split(QLatin1Char(' '));
    const int threads = words[1].toInt();
    const double first = -3, last = double(kElements - 1) * 1e-6 - 3;
    qint64 growth = -1;
    if (words[0] == QLatin1String("stats")) {
        Expected<TensorStats> s = Error {};
        growth = peakGrowthKiB([&] { s = computeStats(*m_a, 0, threads); });
        QVERIFY(s.ok());
        QCOMPARE(s->numel, kElements);
        QCOMPARE(s->min.value_or(NAN), double(float(first)));
        QCOMPARE(s->max.value_or(NAN), double(float(last)));
        QVERIFY(std::fabs(s->mean.value_or(NAN) - (first + last) / 2) < 1e-6);
    } else if (words[0] == QLatin1String("hist")) {
        HistRequest r;
        r.bins = 64;
        r.backend = HistBackend::Cpu;
        r.threads = threads;
        Expected<Histogram> h = Error {};
        growth = peakGrowthKiB([&] { h = computeHistogram(*m_a, 0, r); });
        QVERIFY(h.ok());
        qint64 counted = 0;
        for (auto c : h->counts)
            counted += c;
        QCOMPARE(counted, kElements);
        QCOMPARE(h->edges.front(), double(float(first)));
        QCOMPARE(h->edges.back(), double(float(last)));
    } else {
        Expected<PairMetrics> m = Error {};
        growth = peakGrowthKiB([&] { m = comparePair(*m_a, 0, *m_b, 0, 1e-5, 1e-8, threads); });
        QVERIFY(m.ok());
        QVERIFY(!m->identical);
        QCOMPARE(m->differing, qint64(1));
        QCOMPARE(m->maxAbs, double(100.0f) - double(float(double(kElements - 5) * 1e-6 - 3)));
    }
    if (growth < 0)
        QSKIP("no /proc/self/clear_refs peak reset here: the results were checked, the resident set was not");
    qInfo("peak grew by %lld KiB (128 MiB tensor%s)", qlonglong(growth), words[0] == QLatin1String("compare") ? "s" : "");
    QVERIFY2(growth <= boundKiB, qPrintable(QStringLiteral("peak grew by %1 KiB").arg(growth)));
}

QTEST_GUILESS_MAIN(TestScanWindows)
#include "tst_scanwindows.moc"
