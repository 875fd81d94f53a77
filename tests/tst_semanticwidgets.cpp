// The semantic views end to end, offscreen: the module tree as the default tab, details with statistics and
// optimizer state, search by glob and regex, the value table and heat map of a parameter and of its optimizer
// state, N-D slices, the layer plot, the findings banner (NaN/Inf once statistics see them), cancelling.
// With CKPTLENS_SCREENSHOT_DIR set, screenshot() also writes PNGs of every view there.
#include "model/moduletreemodel.h"
#include "model/statsjob.h"
#include "model/tensorstats.h"
#include "model/valuetablemodel.h"
#include "testutil.h"
#include "widgets/detailsview.h"
#include "widgets/heatmapview.h"
#include "widgets/layerplot.h"
#include "widgets/mainwindow.h"
#include "widgets/modelpage.h"
#include "widgets/modulefilterproxy.h"
#include "widgets/modulepane.h"
#include "widgets/slicepicker.h"
#include "widgets/valuespage.h"
#include "widgets/valuetableview.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFrame>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QToolButton>
#include <QTreeView>

using namespace ckpt;

namespace {

int nodeNamed(const MainWindow& w, const QString& fullName)
{
    const ModuleTree* tree = w.moduleModel()->tree();
    for (size_t i = 0; tree && i < tree->nodes.size(); ++i)
        if (tree->nodes[i].fullName == fullName)
            return int(i);
    return -1;
}

int tensorOf(const MainWindow& w, const QString& fullName)
{
    const int node = nodeNamed(w, fullName);
    return node < 0 ? -1 : w.moduleModel()->tree()->nodes[size_t(node)].tensor;
}

void select(MainWindow& w, const QString& fullName)
{
    const int node = nodeNamed(w, fullName);
    QVERIFY2(node >= 0, qPrintable(fullName));
    w.modelPage()->pane()->selectNode(node);
    QCOMPARE(w.modelPage()->pane()->currentNode(), node);
}

// Full names of the tensor rows the module view shows.
QStringList visibleTensors(const QAbstractItemModel* m, const QModelIndex& parent = {})
{
    QStringList out;
    for (int r = 0; r < m->rowCount(parent); ++r) {
        const QModelIndex i = m->index(r, 0, parent);
        if (i.data(ModuleTreeModel::TensorIndexRole).toInt() >= 0)
            out << i.data(ModuleTreeModel::FullNameRole).toString();
        out << visibleTensors(m, i);
    }
    return out;
}

void waitForStatistics(MainWindow& w)
{
    QTRY_VERIFY_WITH_TIMEOUT(!w.statsJob()->isRunning(), 60'000);
    QCOMPARE(w.statsJob()->knownCount(), w.statsJob()->tensorCount());
}

bool openShown(MainWindow& w, const QString& fixture)
{
    w.resize(1400, 860);
    w.show();
    if (!QTest::qWaitForWindowExposed(&w))
        return false;
    return w.openFile(test::fixture(fixture));
}

} // namespace

class TestSemanticWidgets : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_semanticwidgets"));
        QSettings().clear();
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void smoke()
    {
        MainWindow w;
        QAbstractItemModelTester moduleTester(w.moduleModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxyTester(
            w.modelPage()->pane()->proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(openShown(w, QStringLiteral("sem_adam.pth")));
        QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.modelPage()));
        // Opened on the overview of the file.
        QVERIFY2(w.moduleDetailsText().contains(QStringLiteral("2,856")), qPrintable(w.moduleDetailsText()));
        for (const char* fragment : { "torch-zip", "Parameters per top-level module", "blocks", "Largest tensors", "3 in blocks", "Adam/AdamW", "epoch" })
            QVERIFY2(w.moduleDetailsText().contains(QString::fromUtf8(fragment)), fragment);
        waitForStatistics(w);

        // A parameter: descriptor, statistics, and the optimizer's state for it.
        select(w, QStringLiteral("blocks.1.0.weight"));
        const QString details = w.moduleDetailsText();
        for (const char* fragment : { "blocks.1.0.weight", "[20, 12]", "Statistics", "L2 norm", "Optimizer state: Adam/AdamW",
                 "exp_avg", "exp_avg_sq", "step", "lr", "betas" })
            QVERIFY2(details.contains(QString::fromUtf8(fragment)), qPrintable(QStringLiteral("%1 in\n%2").arg(QString::fromUtf8(fragment), details)));
        const int weight = tensorOf(w, QStringLiteral("blocks.1.0.weight"));
        const TensorStats stats = *computeStats(*w.moduleModel()->checkpoint(), weight, 1);
        QVERIFY(details.contains(ModuleTreeModel::number(*stats.mean)));
        QVERIFY(details.contains(ModuleTreeModel::number(stats.l2)));
        QVERIFY(!details.contains(QStringLiteral("computing")));

        // Search: a glob over whole names, then a regular expression; ancestors stay, matches are revealed.
        ModulePane* pane = w.modelPage()->pane();
        const QAbstractItemModel* view = pane->view()->model();
        pane->setSearch(QStringLiteral("blocks.*.0.weight"), MatchMode::Glob);
        QCOMPARE(visibleTensors(view),
            QStringList({ QStringLiteral("blocks.0.0.weight"), QStringLiteral("blocks.1.0.weight"), QStringLiteral("blocks.2.0.weight") }));
        QCOMPARE(pane->searchNote(), QStringLiteral("3 matches"));
        const QModelIndex shown = pane->proxy()->mapFromSource(w.moduleModel()->indexOfNode(nodeNamed(w, QStringLiteral("blocks.2.0.weight"))));
        QVERIFY(shown.isValid());
        QVERIFY(pane->view()->isExpanded(shown.parent()));
        pane->setSearch(QStringLiteral("^(embed|head)\\.w"), MatchMode::Regex);
        QCOMPARE(visibleTensors(view), QStringList({ QStringLiteral("embed.weight"), QStringLiteral("head.weight") }));
        pane->setSearch(QStringLiteral("blocks.(1"), MatchMode::Regex);
        QVERIFY2(pane->searchNote().startsWith(QStringLiteral("Invalid")), qPrintable(pane->searchNote()));
        QCOMPARE(visibleTensors(view).size(), 2); // the last valid search stays
        pane->setSearch(QStringLiteral("RUNNING_VAR"), MatchMode::Text);
        QCOMPARE(visibleTensors(view).size(), 3);
        pane->setSearch(QString(), MatchMode::Text);
        QCOMPARE(visibleTensors(view).size(), 29);

        // Sorting: by parameters, largest first; by L2 norm; back to file order.
        const auto topNames = [&] {
            QStringList names;
            for (int r = 0; r < view->rowCount(view->index(0, 0)); ++r)
                names << view->index(r, 0, view->index(0, 0)).data().toString();
            return names;
        };
        QCOMPARE(topNames(), QStringList({ QStringLiteral("embed"), QStringLiteral("blocks"), QStringLiteral("head") }));
        pane->view()->header()->setSortIndicator(ModuleTreeModel::ParametersColumn, Qt::DescendingOrder);
        QCOMPARE(topNames().first(), QStringLiteral("blocks"));
        pane->view()->header()->setSortIndicator(ModuleTreeModel::L2Column, Qt::DescendingOrder);
        QCOMPARE(topNames().first(), QStringLiteral("embed")); // N(0, 1) init against small Linear weights
        pane->view()->header()->setSortIndicator(-1, Qt::AscendingOrder);
        QCOMPARE(topNames().first(), QStringLiteral("embed"));
        QCOMPARE(topNames().last(), QStringLiteral("head"));

        // Values of the selected parameter: a table, then a heat map.
        select(w, QStringLiteral("blocks.1.0.weight"));
        w.modelPage()->showValues();
        ValuesPage* values = w.modelPage()->values();
        QCOMPARE(values->tensorChooser()->count(), 3); // the weight, exp_avg, exp_avg_sq
        QVERIFY(values->tensorChooser()->itemText(1).contains(QStringLiteral("exp_avg")));
        values->setMode(ValuesPage::Mode::Table);
        const ValueTableModel* table = values->tableView()->model();
        QCOMPARE(table->rowCount(), 20);
        QCOMPARE(table->columnCount(), 12);
        const auto page = readSlice(*w.moduleModel()->checkpoint(), weight, SliceSpec { 0, 1, { 0, 0 }, false }, 0, 20, 0, 12);
        QCOMPARE(table->index(3, 4).data(ValueTableModel::ValueRole).toDouble(), page->at(3, 4));
        QCOMPARE(table->index(19, 11).data(ValueTableModel::ValueRole).toDouble(), page->at(19, 11));
        QVERIFY(values->tableView()->table()->isVisible());

        values->setMode(ValuesPage::Mode::HeatMap);
        HeatMapView* heat = values->heatMapView();
        QTRY_VERIFY_WITH_TIMEOUT(heat->heatMap() != nullptr, 10'000);
        QCOMPARE(heat->image().size(), QSize(12, 20));
        QCOMPARE(heat->heatMap()->lo, stats.min);
        QCOMPARE(heat->heatMap()->hi, stats.max);
        QVERIFY(heat->scale().diverging);
        QVERIFY(heat->zoom() >= 1);
        const double fitted = heat->zoom();
        heat->setZoom(fitted * 2);
        QCOMPARE(heat->zoom(), fitted * 2);
        heat->zoomToFit();
        QCOMPARE(heat->zoom(), fitted);

        // The optimizer's exp_avg_sq for the same parameter: non-negative, so a sequential scale.
        values->setCurrentChoice(2);
        QTRY_VERIFY_WITH_TIMEOUT(heat->heatMap() != nullptr && !heat->isComputing(), 10'000);
        QVERIFY(!heat->scale().diverging);
        QVERIFY(*heat->heatMap()->lo >= 0);
        // A log scale spreads the decades: the colour bar's middle is the geometric, not the arithmetic, midpoint.
        const QImage linear = heat->image();
        heat->setLogScale(true);
        QVERIFY(heat->scale().log);
        QVERIFY(heat->scale().centre() < (heat->scale().lo + heat->scale().hi) / 4);
        QVERIFY(heat->image() != linear);
        QCOMPARE(heat->scale().position(heat->scale().valueAt(0.3)), 0.3);
        heat->setLogScale(false);
        QCOMPARE(heat->image(), linear);

        // Layers: three blocks, their L2 norms known once statistics are.
        w.tabs()->setCurrentWidget(w.layerPlot());
        QCOMPARE(int(w.layerPlot()->profile().layers.size()), 3);
        QTRY_COMPARE(w.layerPlot()->profile().l2Known, 3);
        QCOMPARE(w.layerPlot()->profile().layers[1].parameters, 552);
        emit w.layerPlot()->layerActivated(nodeNamed(w, QStringLiteral("blocks.2")));
        QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.modelPage()));
        QCOMPARE(pane->currentNode(), nodeNamed(w, QStringLiteral("blocks.2")));

        // The module shows its aggregated statistics.
        w.modelPage()->showDetails();
        QVERIFY2(w.moduleDetailsText().contains(QStringLiteral("Statistics of its parameters")), qPrintable(w.moduleDetailsText()));
        QVERIFY(w.moduleDetailsText().contains(QStringLiteral("552")));
        QVERIFY(w.findingsText().isEmpty()); // nothing unusual about this file
    }

    void sliceOfPermuted()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("views.pth")));
        select(w, QStringLiteral("permuted"));
        w.modelPage()->showValues();
        ValuesPage* values = w.modelPage()->values();
        SlicePicker* picker = values->slicePicker();
        QVERIFY(picker->isVisible());
        QVERIFY(picker->spec().flatten);
        const ValueTableModel* table = values->tableView()->model();
        QCOMPARE(table->rowCount(), 4);
        QCOMPARE(table->columnCount(), 6);
        // Un-flatten, then rows along dim 2, columns along dim 1, at index 3 of dim 0: x[3, :, :].T
        picker->findChild<QCheckBox*>(QStringLiteral("sliceFlatten"))->setChecked(false);
        picker->findChild<QComboBox*>(QStringLiteral("sliceRows"))->setCurrentIndex(2);
        QCOMPARE(picker->spec().rowDim, 2);
        QCOMPARE(picker->spec().colDim, 1);
        auto* index0 = picker->findChild<QSpinBox*>(QStringLiteral("sliceIndex0"));
        QVERIFY(index0);
        index0->setValue(3);
        QCOMPARE(table->rowCount(), 3);
        QCOMPARE(table->columnCount(), 2);
        // permuted = arange(24).view(2, 3, 4).permute(2, 0, 1): x[i, j, k] = j * 12 + k * 4 + i
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 2; ++c)
                QCOMPARE(table->index(r, c).data(ValueTableModel::ValueRole).toDouble(), double(c * 12 + r * 4 + 3));
        QCOMPARE(table->headerData(2, Qt::Vertical).toString(), QStringLiteral("2"));
    }

    void paging()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("values.pth")));
        select(w, QStringLiteral("big"));
        w.modelPage()->showValues();
        ValueTableView* view = w.modelPage()->values()->tableView();
        QCOMPARE(view->model()->rowCount(), int(ValueTableView::kPageRows));
        QCOMPARE(view->model()->columnCount(), int(ValueTableView::kPageCols));
        view->nextRows();
        view->nextRows();
        QCOMPARE(view->model()->page().rowBegin, 2 * ValueTableView::kPageRows);
        QCOMPARE(view->model()->rowCount(), 700 - 2 * int(ValueTableView::kPageRows)); // the last, short page
        view->nextRows();                                                                 // nothing after it
        QCOMPARE(view->model()->page().rowBegin, 2 * ValueTableView::kPageRows);
        QVERIFY(view->showPage(699, 960));
        QCOMPARE(view->model()->columnCount(), 40);
        QCOMPARE(view->model()->headerData(39, Qt::Horizontal).toString(), QStringLiteral("999"));
        QVERIFY(view->pageText().contains(QStringLiteral("of 1,000")));
    }

    void findingsBanner_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QStringList>("fragments");
        QTest::newRow("NaN/Inf once statistics find them")
            << QStringLiteral("values.pth")
            << QStringList { QStringLiteral("NaN/Inf"), QStringLiteral("specials_f32"), QStringLiteral("all_nan") };
        QTest::newRow("tied weights") << QStringLiteral("sem_tied.pth") << QStringList { QStringLiteral("Tied weights"), QStringLiteral("head.weight") };
        QTest::newRow("DataParallel prefix") << QStringLiteral("sem_sgd_dataparallel.pth") << QStringList { QStringLiteral("DataParallel prefix"), QStringLiteral("module.") };
        QTest::newRow("torch.compile prefix") << QStringLiteral("sem_compile_ema.pth") << QStringList { QStringLiteral("torch.compile") };
        QTest::newRow("saved on GPU") << QStringLiteral("training_cuda.pth") << QStringList { QStringLiteral("Saved on GPU"), QStringLiteral("cuda") };
    }

    void findingsBanner()
    {
        QFETCH(QString, file);
        QFETCH(QStringList, fragments);
        MainWindow w;
        QVERIFY(openShown(w, file));
        waitForStatistics(w);
        for (const QString& f : fragments)
            QTRY_VERIFY2(w.findingsText().contains(f), qPrintable(QStringLiteral("%1 in\n%2").arg(f, w.findingsText())));
        // Dismissed, it stays away for this file and comes back for the next one.
        auto* banner = w.findChild<QFrame*>(QStringLiteral("findingsBar"));
        QVERIFY(banner);
        banner->findChild<QToolButton*>()->click();
        QVERIFY(w.findingsText().isEmpty());
        QVERIFY(w.openFile(test::fixture(QStringLiteral("sem_adam.pth"))));
        QVERIFY(w.findingsText().isEmpty()); // nothing to say about that one
        QVERIFY(w.openFile(test::fixture(file)));
        QVERIFY(w.findingsText().contains(fragments.first())); // for values.pth: NaN known at once, from the cache
    }

    void nonFiniteInTree()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("values.pth")));
        waitForStatistics(w);
        const QModelIndex specials = w.moduleModel()->indexOfNode(nodeNamed(w, QStringLiteral("specials_f32")), ModuleTreeModel::NonFiniteColumn);
        QCOMPARE(specials.data().toString(), QStringLiteral("3"));
        const QModelIndex shown = w.modelPage()->pane()->proxy()->mapFromSource(specials);
        QCOMPARE(shown.data(Qt::ForegroundRole).value<QColor>(), QColor(0xb3, 0x26, 0x1e));
    }

    void withoutStateDict()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("nested.pth")));
        QCOMPARE(w.tabs()->currentWidget(), w.objectsPage());
        QVERIFY(!w.tabs()->isTabEnabled(w.tabs()->indexOf(w.modelPage())));
        QCOMPARE(w.moduleModel()->rowCount(), 0);
        // The object tree's details show statistics too.
        waitForStatistics(w);
        const QAbstractItemModel* m = w.treeView()->model();
        const QModelIndex list = m->index(0, 0, m->index(0, 0));
        w.treeView()->setCurrentIndex(m->index(0, 0, list));
        QTRY_VERIFY2(w.detailsText().contains(QStringLiteral("L2 norm")), qPrintable(w.detailsText()));
    }

    void cancelAndResume()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("many.pth")));
        // Whatever the worker did meanwhile, the run is not over until the window hears so.
        QVERIFY(w.statsJob()->isRunning());
        auto* button = w.findChild<QToolButton*>(QStringLiteral("statsButton"));
        QVERIFY(button);
        button->click();
        QVERIFY(!w.statsJob()->isRunning());
        QVERIFY2(w.statsText().contains(QStringLiteral("stopped")), qPrintable(w.statsText()));
        QCOMPARE(button->text(), QStringLiteral("Resume"));
        button->click();
        QVERIFY(w.statsJob()->isRunning());
        waitForStatistics(w);
        QVERIFY(w.statsText().isEmpty());
        QTRY_COMPARE(w.moduleModel()->statsKnown(), w.moduleModel()->tensorCount());
    }

    void reopenUsesCache()
    {
        MainWindow w;
        QVERIFY(openShown(w, QStringLiteral("sem_adam.pth")));
        waitForStatistics(w);
        QVERIFY(w.openFile(test::fixture(QStringLiteral("views.pth"))));
        QVERIFY(w.openFile(test::fixture(QStringLiteral("sem_adam.pth"))));
        // Known at once: the tree shows the whole model's L2 before any event is processed.
        QVERIFY(w.moduleModel()->index(0, ModuleTreeModel::L2Column).data().isValid());
        QCOMPARE(w.moduleModel()->statsKnown(), w.moduleModel()->tensorCount());
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes module-tree.png, values.png, heatmap.png, layers.png,
    // overview.png and objects.png of CKPTLENS_SCREENSHOT_FILE (default sem_adam.pth), selecting
    // CKPTLENS_SCREENSHOT_TENSOR and showing value choice CKPTLENS_SCREENSHOT_CHOICE (0: the tensor itself), on a log
    // scale with CKPTLENS_SCREENSHOT_LOG set.
    void screenshot()
    {
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        const QString file = qEnvironmentVariable("CKPTLENS_SCREENSHOT_FILE", test::fixture(QStringLiteral("sem_adam.pth")));
        const QString tensor = qEnvironmentVariable("CKPTLENS_SCREENSHOT_TENSOR", QStringLiteral("embed.weight"));
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(file));
        waitForStatistics(w);
        select(w, tensor);
        QTest::qWait(300);
        QVERIFY(w.grab().save(dir + QStringLiteral("/module-tree.png")));
        w.modelPage()->showValues();
        w.modelPage()->values()->setCurrentChoice(qEnvironmentVariableIntValue("CKPTLENS_SCREENSHOT_CHOICE"));
        w.modelPage()->values()->setMode(ValuesPage::Mode::Table);
        QTest::qWait(200);
        QVERIFY(w.grab().save(dir + QStringLiteral("/values.png")));
        w.modelPage()->values()->setMode(ValuesPage::Mode::HeatMap);
        QTRY_VERIFY_WITH_TIMEOUT(w.modelPage()->values()->heatMapView()->heatMap() != nullptr, 30'000);
        w.modelPage()->values()->heatMapView()->setLogScale(qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT_LOG"));
        QTest::qWait(300);
        QVERIFY(w.grab().save(dir + QStringLiteral("/heatmap.png")));
        w.tabs()->setCurrentWidget(w.layerPlot());
        QTest::qWait(300);
        QVERIFY(w.grab().save(dir + QStringLiteral("/layers.png")));
        select(w, QString()); // back to the model tab on the file's overview
        w.tabs()->setCurrentWidget(w.modelPage());
        w.modelPage()->pane()->selectNode(0);
        w.modelPage()->showDetails();
        QTest::qWait(200);
        QVERIFY(w.grab().save(dir + QStringLiteral("/overview.png")));
        w.tabs()->setCurrentWidget(w.objectsPage());
        const QAbstractItemModel* objects = w.treeView()->model();
        const QModelIndex top = objects->index(0, 0);
        for (int r = 0; r < objects->rowCount(top); ++r)
            if (w.treeView()->isExpanded(objects->index(r, 0, top)) && objects->rowCount(objects->index(r, 0, top)) > 0) {
                w.treeView()->setCurrentIndex(objects->index(0, 0, objects->index(r, 0, top)));
                break;
            }
        QTest::qWait(300);
        QVERIFY(w.grab().save(dir + QStringLiteral("/objects.png")));
    }
};

QTEST_MAIN(TestSemanticWidgets)
#include "tst_semanticwidgets.moc"
