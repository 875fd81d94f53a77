// The window never freezes: while a large checkpoint (written here: 256 MiB in 64 big tensors plus 12,000 small
// ones, so both the bytes and the tree are big) is opened, its statistics computed for every tensor and a
// histogram of a big tensor drawn, a 10 ms timer on the GUI thread measures the gaps of the event loop. The largest
// gap must stay under 100 ms. Measuring starts once the window is shown and settled (start-up is one-off).
// With CKPTLENS_WATCHDOG_REPORT set, the gaps over 30 ms are printed with the phase they fell in.
#include "model/moduletreemodel.h"
#include "model/semantic.h"
#include "model/statsjob.h"
#include "safetensorswrite.h"
#include "testutil.h"
#include "widgets/bulktreeview.h"
#include "widgets/histogramview.h"
#include "widgets/mainwindow.h"
#include "widgets/modelpage.h"
#include "widgets/modulepane.h"

#include <QElapsedTimer>
#include <QSettings>
#include <QStandardItemModel>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>

using namespace ckpt;

namespace {

constexpr int kBigTensors = 64;
constexpr std::int64_t kBigSide = 1024; // 4 MiB of float32 each
constexpr int kSmallBlocks = 3000;      // four tensors each
constexpr qint64 kMaxGapMs = 100;       // the bound
constexpr int kTickMs = 10;

// Gaps between ticks of a timer that should fire every kTickMs.
class GapMeter : public QObject {
public:
    GapMeter()
    {
        m_timer.setInterval(kTickMs);
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.elapsed();
            const qint64 gap = now - m_last - kTickMs;
            m_last = now;
            if (gap > m_max) {
                m_max = gap;
                m_maxPhase = m_phase;
            }
            if (gap > 30)
                m_report << QStringLiteral("%1 ms late in %2 at %3 ms").arg(gap).arg(m_phase).arg(now);
        });
    }
    void start()
    {
        m_clock.start();
        m_last = 0;
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    void setPhase(const QString& phase) { m_phase = phase; }
    qint64 maxGap() const { return m_max; }
    QString maxPhase() const { return m_maxPhase; }
    QStringList report() const { return m_report; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_max = 0;
    QString m_phase = QStringLiteral("idle");
    QString m_maxPhase;
    QStringList m_report;
};

int nodeNamed(const ModuleTree& tree, const QString& name)
{
    for (size_t i = 0; i < tree.nodes.size(); ++i)
        if (tree.nodes[i].fullName == name)
            return int(i);
    return -1;
}

// Counts the rows whose rectangle the view works out.
class CountingTreeView : public BulkTreeView {
public:
    using BulkTreeView::BulkTreeView;
    QRect visualRect(const QModelIndex& index) const override
    {
        ++rects;
        return BulkTreeView::visualRect(index);
    }
    mutable int rects = 0;
};

} // namespace

class TestWindowWatchdog : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_windowwatchdog"));
        QSettings().clear();
        QVERIFY(m_dir.isValid());
        std::vector<test::StTensor> tensors;
        for (int b = 0; b < kSmallBlocks; ++b)
            for (const char* part : { "norm.weight", "norm.bias", "scale", "shift" })
                tensors.push_back({ QStringLiteral("blocks.%1.%2").arg(b).arg(QLatin1String(part)), { 16 } });
        for (int i = 0; i < kBigTensors; ++i)
            tensors.push_back({ QStringLiteral("big.%1.weight").arg(i), { kBigSide, kBigSide } });
        m_path = m_dir.filePath(QStringLiteral("large.safetensors"));
        QVERIFY(test::writeSafetensors(m_path, tensors));
        QVERIFY(QFileInfo(m_path).size() > 256LL << 20);
    }

    void openStatisticsHistogramWithoutFreezing()
    {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTest::qWait(300);

        GapMeter meter;
        meter.start();
        meter.setPhase(QStringLiteral("open"));
        // As the user opens a file (a menu, a drop, a second launch): in the background.
        w.openInBackground(m_path);
        QTRY_VERIFY_WITH_TIMEOUT(!w.isOpening(), 60'000);
        QCOMPARE(w.currentPath(), QFileInfo(m_path).absoluteFilePath());
        meter.setPhase(QStringLiteral("statistics"));
        QVERIFY(w.statsJob()->isRunning()); // Statistics > Compute on Open is on by default

        // A big tensor selected while the statistics run: its histogram is computed at the same time.
        QTest::qWait(50);
        meter.setPhase(QStringLiteral("statistics + histogram"));
        const ModuleTree* tree = w.moduleModel()->tree();
        QVERIFY(tree);
        const int node = nodeNamed(*tree, QStringLiteral("big.40.weight"));
        QVERIFY(node > 0);
        QSignalSpy histogram(w.histogramView(), &HistogramView::ready);
        w.modelPage()->pane()->selectNode(node);
        QTRY_VERIFY_WITH_TIMEOUT(histogram.count() > 0, 120'000);
        meter.setPhase(QStringLiteral("statistics"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.statsJob()->isRunning(), 300'000);
        QCOMPARE(w.statsJob()->knownCount(), w.statsJob()->tensorCount());
        QCOMPARE(w.statsJob()->tensorCount(), kSmallBlocks * 4 + kBigTensors);
        meter.setPhase(QStringLiteral("settling"));
        QTest::qWait(300);
        meter.stop();

        const QString summary = QStringLiteral("largest event-loop gap %1 ms (in %2)%3")
                                    .arg(meter.maxGap())
                                    .arg(meter.maxPhase(),
                                        meter.report().isEmpty()
                                            ? QString()
                                            : QStringLiteral("; late ticks: ") + meter.report().join(QStringLiteral(", ")));
        qInfo().noquote() << summary;
        QVERIFY2(meter.maxGap() < kMaxGapMs, qPrintable(summary));
    }

    // Statistics for the children of a 15,000-block module arrive as one dataChanged over all of them: the module
    // tree must not work out every row's rectangle for it (QTreeView does, a quarter of a second at 60,000 rows).
    void bigChangedRangeCostsTheVisibleRows_data()
    {
        QTest::addColumn<int>("rows");
        QTest::addColumn<bool>("expanded");
        QTest::addColumn<int>("maxRects");
        QTest::newRow("a few rows: measured as usual") << 10 << true << 1000;
        QTest::newRow("15,000 rows shown") << 15'000 << true << 200;
        QTest::newRow("15,000 rows under a collapsed parent") << 15'000 << false << 200;
    }

    void bigChangedRangeCostsTheVisibleRows()
    {
        QFETCH(int, rows);
        QFETCH(bool, expanded);
        QFETCH(int, maxRects);
        QStandardItemModel model;
        auto* parent = new QStandardItem(QStringLiteral("blocks"));
        for (int r = 0; r < rows; ++r)
            parent->appendRow({ new QStandardItem(QString::number(r)), new QStandardItem(QStringLiteral("-")) });
        model.appendRow(parent);
        CountingTreeView view;
        view.setUniformRowHeights(true);
        view.setModel(&model);
        view.setExpanded(model.index(0, 0), expanded);
        view.resize(600, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTest::qWait(50);
        view.rects = 0;
        const QModelIndex top = model.index(0, 0);
        emit model.dataChanged(model.index(0, 1, top), model.index(rows - 1, 1, top));
        QVERIFY2(view.rects <= maxRects, qPrintable(QString::number(view.rects)));
        if (rows < BulkTreeView::kBulkRows && expanded)
            QVERIFY(view.rects > 0); // small ranges still take the precise path
    }

    // A batch of statistics names a short range under each of thousands of parents (the 4 tensors of every
    // `layers.N.block`): those under collapsed parents must cost nothing, those on screen are still measured.
    void shortRangesUnderCollapsedParents_data()
    {
        QTest::addColumn<bool>("expanded");
        QTest::newRow("parents collapsed") << false;
        QTest::newRow("parents expanded") << true;
    }

    void shortRangesUnderCollapsedParents()
    {
        QFETCH(bool, expanded);
        constexpr int kParents = 2000;
        QStandardItemModel model;
        auto* layers = new QStandardItem(QStringLiteral("layers"));
        for (int r = 0; r < kParents; ++r) {
            auto* block = new QStandardItem(QString::number(r));
            for (int c = 0; c < 4; ++c)
                block->appendRow({ new QStandardItem(QString::number(c)), new QStandardItem(QStringLiteral("-")) });
            layers->appendRow({ block, new QStandardItem(QStringLiteral("-")) });
        }
        model.appendRow(layers);
        CountingTreeView view;
        view.setUniformRowHeights(true);
        view.setModel(&model);
        const QModelIndex top = model.index(0, 0);
        view.setExpanded(top, true);
        if (expanded)
            for (int r = 0; r < 3; ++r) // the first blocks, on screen
                view.setExpanded(model.index(r, 0, top), true);
        view.resize(600, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTest::qWait(50);
        view.rects = 0;
        for (int r = 0; r < kParents; ++r) {
            const QModelIndex block = model.index(r, 0, top);
            emit model.dataChanged(model.index(0, 1, block), model.index(3, 1, block));
        }
        if (expanded)
            QVERIFY2(view.rects > 0, "rows on screen must still be measured");
        else
            QVERIFY2(view.rects == 0, qPrintable(QString::number(view.rects)));
    }

private:
    QTemporaryDir m_dir;
    QString m_path;
};

QTEST_MAIN(TestWindowWatchdog)
#include "tst_windowwatchdog.moc"
