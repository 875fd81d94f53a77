// The histogram view, offscreen: it shows exactly what computeHistogram counts (linear and log|x|, several bin
// counts and dtypes), a drag across the plot re-bins the tensor at full resolution over the dragged range, a
// double-click goes back, an overlay puts A and B on the same bins, stale results are dropped, the hover tooltip
// names the bin, and the main window shows the selected tensor's histogram beside its details.
// With CKPTLENS_SCREENSHOT_DIR set, screenshot() writes histogram.png there.
#include "model/histogram.h"
#include "model/moduletreemodel.h"
#include "model/objecttreemodel.h"
#include "model/tensorlist.h"
#include "testutil.h"
#include "widgets/histogramview.h"
#include "widgets/mainwindow.h"
#include "widgets/modelpage.h"
#include "widgets/modulepane.h"

#include <QApplication>
#include <QCheckBox>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>

using namespace ckpt;

namespace {

int tensorNamed(const Checkpoint& ck, const QString& name)
{
    for (const TensorEntry& e : listTensors(ck))
        if (e.path.join(QLatin1Char('.')) == name)
            return e.tensor;
    return -1;
}

CheckpointPtr open(const QString& name)
{
    auto ck = openCheckpoint(test::fixture(name));
    return ck ? *ck : nullptr;
}

// Waits for the view's next result (or the reason it has none).
#define WAIT_READY(v)                                                                                                  \
    QTRY_VERIFY_WITH_TIMEOUT(!(v).isComputing() && ((v).histogram() || !(v).message().isEmpty()), 30'000)

} // namespace

class TestHistogramWidget : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_histogramwidget"));
        QSettings().clear();
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void showsComputedCounts_data()
    {
        QTest::addColumn<QString>("tensor");
        QTest::addColumn<int>("bins");
        QTest::addColumn<bool>("logX");
        QTest::newRow("numpy_edges, 10 bins") << QStringLiteral("numpy_edges") << 10 << false;
        QTest::newRow("numpy_edges, 100 bins") << QStringLiteral("numpy_edges") << 100 << false;
        QTest::newRow("normal f32, 64 bins") << QStringLiteral("normal_f32") << 64 << false;
        QTest::newRow("normal f32, log|x|") << QStringLiteral("normal_f32") << 50 << true;
        QTest::newRow("bfloat16") << QStringLiteral("normal_bf16") << 30 << false;
        QTest::newRow("float16 transposed") << QStringLiteral("normal_f16_t") << 40 << false;
        QTest::newRow("with NaN and Inf") << QStringLiteral("with_specials") << 8 << false;
        QTest::newRow("constant (numpy widens)") << QStringLiteral("constant") << 10 << false;
        QTest::newRow("ints") << QStringLiteral("ints") << 25 << false;
    }

    void showsComputedCounts()
    {
        QFETCH(QString, tensor);
        QFETCH(int, bins);
        QFETCH(bool, logX);
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        const int t = tensorNamed(*ck, tensor);
        QVERIFY2(t >= 0, qPrintable(tensor));
        HistogramView v;
        v.resize(600, 320);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setBins(bins);
        v.setLogX(logX);
        v.setTensor(ck, t, tensor);
        WAIT_READY(v);
        QVERIFY2(v.histogram(), qPrintable(v.message()));
        HistRequest req;
        req.bins = bins;
        req.scale = logX ? HistScale::Log10Abs : HistScale::Linear;
        const auto expected = computeHistogram(*ck, t, req);
        QVERIFY(expected);
        QCOMPARE(v.histogram()->counts, expected->counts);
        QCOMPARE(v.histogram()->edges, expected->edges);
        QCOMPARE(v.histogram()->nan, expected->nan);
        QCOMPARE(v.histogram()->inf, expected->inf);
        QVERIFY(!v.isOverlay());
        QVERIFY(v.infoText().contains(expected->backend));
        QVERIFY(v.infoText().contains(QStringLiteral("%1 bins").arg(bins)));
    }

    void unbinnableTensorSaysWhy()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        HistogramView v;
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setTensor(ck, tensorNamed(*ck, QStringLiteral("all_nan")));
        WAIT_READY(v);
        HistRequest req;
        const auto expected = computeHistogram(*ck, tensorNamed(*ck, QStringLiteral("all_nan")), req);
        if (expected)
            QCOMPARE(v.histogram()->nan, expected->nan); // numpy's widening of an empty finite range
        else
            QVERIFY(v.message().contains(expected.error().what));
    }

    void dragRebinsTheRange()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        const int t = tensorNamed(*ck, QStringLiteral("normal_f32"));
        HistogramView v;
        v.resize(700, 360);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setBins(40);
        v.setTensor(ck, t);
        WAIT_READY(v);
        const Histogram whole = *v.histogram();
        QWidget* canvas = v.canvas();
        const int x0 = canvas->width() * 2 / 5, x1 = canvas->width() * 3 / 5, y = canvas->height() / 2;
        QSignalSpy ready(&v, &HistogramView::ready);
        QTest::mousePress(canvas, Qt::LeftButton, {}, QPoint(x0, y));
        QTest::mouseMove(canvas, QPoint((x0 + x1) / 2, y));
        QTest::mouseMove(canvas, QPoint(x1, y));
        QTest::mouseRelease(canvas, Qt::LeftButton, {}, QPoint(x1, y));
        QVERIFY(v.range().has_value());
        QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 30'000);
        const auto [lo, hi] = *v.range();
        // The range lies inside the old one, and the new histogram is computed over it with as many bins.
        QVERIFY(lo > whole.edges.front() && hi < whole.edges.back() && lo < hi);
        const Histogram& zoomed = *v.histogram();
        QCOMPARE(int(zoomed.counts.size()), 40);
        QCOMPARE(zoomed.edges.front(), lo);
        QCOMPARE(zoomed.edges.back(), hi);
        HistRequest req;
        req.bins = 40;
        req.range = std::pair { lo, hi };
        const auto expected = computeHistogram(*ck, t, req);
        QVERIFY(expected);
        QCOMPARE(zoomed.counts, expected->counts);
        QVERIFY(zoomed.underflow > 0 && zoomed.overflow > 0);
        // Not a magnification: the zoomed bins are finer than the old ones.
        QVERIFY(zoomed.edges[1] - zoomed.edges[0] < (whole.edges[1] - whole.edges[0]) / 2);
        QVERIFY(v.infoText().contains(QStringLiteral("zoomed")));

        // A double-click goes back to the whole range.
        QTest::mouseDClick(canvas, Qt::LeftButton, {}, QPoint(x0, y));
        QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 2, 30'000);
        QVERIFY(!v.range());
        QCOMPARE(v.histogram()->edges, whole.edges);
        QCOMPARE(v.histogram()->counts, whole.counts);
    }

    void binsAndAxes()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        const int t = tensorNamed(*ck, QStringLiteral("normal_f32"));
        HistogramView v;
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setTensor(ck, t);
        WAIT_READY(v);
        // The spin box re-bins after a pause.
        auto* bins = v.findChild<QSpinBox*>(QStringLiteral("bins"));
        QVERIFY(bins);
        bins->setValue(17);
        QTRY_COMPARE_WITH_TIMEOUT(int(v.histogram()->counts.size()), 17, 30'000);
        // A log y axis is drawing only: the counts stay.
        const auto before = v.histogram()->counts;
        v.setLogY(true);
        QVERIFY(v.logY());
        QCOMPARE(v.histogram()->counts, before);
        QVERIFY(!v.isComputing());
        // Zoomed in, switching to log|x| starts over on the whole range in the new units.
        v.zoomTo(-0.5, 0.5);
        WAIT_READY(v);
        v.setLogX(true);
        QVERIFY(!v.range());
        WAIT_READY(v);
        HistRequest req;
        req.bins = 17;
        req.scale = HistScale::Log10Abs;
        QCOMPARE(v.histogram()->edges, computeHistogram(*ck, t, req)->edges);
    }

    void tooltipNamesTheBin()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        HistogramView v;
        v.resize(600, 320);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setBins(10);
        v.setTensor(ck, tensorNamed(*ck, QStringLiteral("numpy_edges")));
        WAIT_READY(v);
        // The first bin of numpy_edges at 10 bins is [-3, -2.2) with 4 values (hist_truth.json).
        QWidget* canvas = v.canvas();
        QString tip;
        for (int x = 0; x < canvas->width() && tip.isEmpty(); ++x)
            tip = v.toolTipAt(QPoint(x, canvas->height() / 2));
        QVERIFY2(tip.contains(QStringLiteral("Bin 1 of 10")), qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("[-3, -2.2)")), qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("Count: 4")), qPrintable(tip));
        QVERIFY(v.toolTipAt(QPoint(1, 1)).isEmpty());
    }

    void overlaySharesBins()
    {
        const CheckpointPtr a = open(QStringLiteral("diff_a.pth"));
        const CheckpointPtr b = open(QStringLiteral("diff_step.pth"));
        QVERIFY(a && b);
        const int ta = tensorNamed(*a, QStringLiteral("embed.weight"));
        const int tb = tensorNamed(*b, QStringLiteral("embed.weight"));
        QVERIFY(ta >= 0 && tb >= 0);
        HistogramView v;
        v.resize(600, 320);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setBins(30);
        v.setOverlay(a, ta, b, tb);
        WAIT_READY(v);
        QVERIFY(v.isOverlay());
        QVERIFY(v.histogram() && v.histogramB());
        QCOMPARE(v.histogram()->edges, v.histogramB()->edges);
        // Over the union of both ranges, so nothing of either falls outside.
        HistRequest req;
        req.bins = 30;
        const auto ha = computeHistogram(*a, ta, req), hb = computeHistogram(*b, tb, req);
        QVERIFY(ha && hb);
        req.range = std::pair { std::min(ha->edges.front(), hb->edges.front()),
            std::max(ha->edges.back(), hb->edges.back()) };
        QCOMPARE(v.histogram()->counts, computeHistogram(*a, ta, req)->counts);
        QCOMPARE(v.histogramB()->counts, computeHistogram(*b, tb, req)->counts);
        QCOMPARE(
            v.histogram()->underflow + v.histogram()->overflow + v.histogramB()->underflow + v.histogramB()->overflow,
            0);
        QVERIFY(v.infoText().contains(QStringLiteral("A: ")) && v.infoText().contains(QStringLiteral("B: ")));
        QString tip;
        for (int x = 0; x < v.canvas()->width() && tip.isEmpty(); ++x)
            tip = v.toolTipAt(QPoint(x, v.canvas()->height() / 2));
        QVERIFY2(tip.contains(QStringLiteral("A: ")) && tip.contains(QStringLiteral("B: ")), qPrintable(tip));

        // Zooming an overlay re-bins both over the same range.
        v.zoomTo(req.range->first / 2, req.range->second / 2);
        WAIT_READY(v);
        QCOMPARE(v.histogram()->edges.front(), req.range->first / 2);
        QCOMPARE(v.histogram()->edges, v.histogramB()->edges);
    }

    void staleResultsAreDropped()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        HistogramView v;
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        QSignalSpy ready(&v, &HistogramView::ready);
        for (const char* name : { "normal_f32", "numpy_edges", "normal_bf16", "ints" })
            v.setTensor(ck, tensorNamed(*ck, QLatin1String(name)));
        WAIT_READY(v);
        QTest::qWait(100);
        QCOMPARE(ready.count(), 1);
        HistRequest req;
        QCOMPARE(v.histogram()->edges, computeHistogram(*ck, tensorNamed(*ck, QStringLiteral("ints")), req)->edges);
    }

    void hiddenViewWaits()
    {
        const CheckpointPtr ck = open(QStringLiteral("hist.pth"));
        QVERIFY(ck);
        HistogramView v;
        v.setTensor(ck, tensorNamed(*ck, QStringLiteral("normal_f32")));
        QTest::qWait(50);
        QVERIFY(!v.histogram() && !v.isComputing());
        v.show();
        WAIT_READY(v);
        QVERIFY(v.histogram());
    }

    void mainWindowShowsTheSelectedTensor()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(test::fixture(QStringLiteral("hist.pth"))));
        HistogramView* v = w.histogramView();
        QVERIFY(v);
        // The file's overview (a module, not a tensor) shows no histogram.
        QVERIFY(v->isHidden());
        const ModuleTree* tree = w.moduleModel()->tree();
        int node = -1;
        for (size_t i = 0; i < tree->nodes.size(); ++i)
            if (tree->nodes[i].fullName == QLatin1String("normal_f32"))
                node = int(i);
        QVERIFY(node > 0);
        w.modelPage()->pane()->selectNode(node);
        QVERIFY(!v->isHidden());
        WAIT_READY(*v);
        HistRequest req;
        req.bins = v->bins();
        QCOMPARE(v->histogram()->counts,
            computeHistogram(*w.treeModel()->checkpoint(), tree->nodes[size_t(node)].tensor, req)->counts);
        // With the values page in front, the histogram gives it the room.
        w.modelPage()->showValues();
        QVERIFY(v->isHidden());
        w.modelPage()->showDetails();
        QVERIFY(!v->isHidden());
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes histogram.png (the main window with the histogram of
    // CKPTLENS_SCREENSHOT_TENSOR of CKPTLENS_SCREENSHOT_FILE, default sem_adam.pth's blocks.0.ff.0.weight).
    void screenshot()
    {
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        const QString file
            = qEnvironmentVariable("CKPTLENS_SCREENSHOT_FILE", test::fixture(QStringLiteral("sem_adam.pth")));
        const QString tensor = qEnvironmentVariable("CKPTLENS_SCREENSHOT_TENSOR", QStringLiteral("embed.weight"));
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(file));
        const ModuleTree* tree = w.moduleModel()->tree();
        for (size_t i = 0; i < tree->nodes.size(); ++i)
            if (tree->nodes[i].fullName == tensor)
                w.modelPage()->pane()->selectNode(int(i));
        WAIT_READY(*w.histogramView());
        if (qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT_LOG"))
            w.histogramView()->setLogY(true);
        if (qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT_LOGX")) {
            w.histogramView()->setLogX(true);
            WAIT_READY(*w.histogramView());
        }
        if (const QStringList zoom = qEnvironmentVariable("CKPTLENS_SCREENSHOT_ZOOM").split(QLatin1Char(','));
            zoom.size() == 2) {
            w.histogramView()->zoomTo(zoom[0].toDouble(), zoom[1].toDouble());
            WAIT_READY(*w.histogramView());
        }
        QTest::qWait(500);
        QVERIFY(w.grab().save(dir + QStringLiteral("/histogram.png")));
    }
};

QTEST_MAIN(TestHistogramWidget)
#include "tst_histogramwidget.moc"
