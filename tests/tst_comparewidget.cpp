// The compare window, offscreen, on the pairs tests/gen_fixtures.py writes against diff_a.pth: the counts in the
// summary are diffCheckpoints' own, every key sits in the tree with its status, filtering by status hides what it
// should, columns sort by their raw numbers, the DataParallel pair is aligned by the suggested `module.` rule (and
// falls apart without it), the pair panel shows both sides with statistics and overlaid histograms, the layer plot
// follows the repeated blocks, cancel drops the run, and the main window opens it for two dropped files.
// With CKPTLENS_SCREENSHOT_DIR set, screenshot() writes compare.png there.
#include "model/diff.h"
#include "model/difftreemodel.h"
#include "testutil.h"
#include "widgets/comparewindow.h"
#include "widgets/histogramview.h"
#include "widgets/mainwindow.h"

#include <QAbstractButton>
#include <QAbstractItemModelTester>
#include <QApplication>
#include <QLineEdit>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QTreeView>

using namespace ckpt;

namespace {

CheckpointPtr open(const QString& name)
{
    auto ck = openCheckpoint(test::fixture(name));
    return ck ? *ck : nullptr;
}

// Leaves of a (proxy) tree: key -> status text.
void leaves(const QAbstractItemModel* m, const QModelIndex& parent, std::map<QString, QString>& out)
{
    for (int r = 0; r < m->rowCount(parent); ++r) {
        const QModelIndex i = m->index(r, 0, parent);
        if (i.data(DiffTreeModel::DiffIndexRole).toInt() >= 0)
            out[i.data(DiffTreeModel::KeyRole).toString()]
                = i.siblingAtColumn(DiffTreeModel::StatusColumn).data().toString();
        leaves(m, i, out);
    }
}

std::map<QString, QString> leaves(const QAbstractItemModel* m)
{
    std::map<QString, QString> out;
    leaves(m, {}, out);
    return out;
}

int countOf(const DiffResult& r, DiffStatus s)
{
    const auto it = r.counts.find(s);
    return it == r.counts.end() ? 0 : it->second;
}

#define WAIT_DIFF(w) QTRY_VERIFY_WITH_TIMEOUT(!(w).isRunning() && ((w).result() || !(w).errorText().isEmpty()), 60'000)

} // namespace

class TestCompareWidget : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_comparewidget"));
        QSettings().clear();
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void summaryCountsAreDiffs_data()
    {
        QTest::addColumn<QString>("b");
        QTest::newRow("the same weights again") << QStringLiteral("diff_a_again.pth");
        QTest::newRow("one training step") << QStringLiteral("diff_step.pth");
        QTest::newRow("DataParallel prefix") << QStringLiteral("diff_dp.pth");
        QTest::newRow("pruned block, resized head") << QStringLiteral("diff_pruned.pth");
        QTest::newRow("float16 copy") << QStringLiteral("diff_half.pth");
    }

    void summaryCountsAreDiffs()
    {
        QFETCH(QString, b);
        const CheckpointPtr ca = open(QStringLiteral("diff_a.pth")), cb = open(b);
        QVERIFY(ca && cb);
        const auto expected = diffCheckpoints(*ca, *cb, DiffOptions {});
        QVERIFY(expected);

        CompareWindow w;
        QAbstractItemModelTester tester(w.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy finished(&w, &CompareWindow::diffFinished);
        QVERIFY(w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(b)));
        WAIT_DIFF(w);
        QCOMPARE(finished.count(), 1);
        QVERIFY2(w.errorText().isEmpty(), qPrintable(w.errorText()));
        for (DiffStatus s : kDiffStatuses) {
            QCOMPARE(
                w.filterButton(s)->text(), QStringLiteral("%1 %2").arg(countOf(*expected, s)).arg(diffStatusLabel(s)));
            QCOMPARE(w.filterButton(s)->isEnabled(), countOf(*expected, s) > 0);
            QCOMPARE(w.result()->counts.count(s) ? w.result()->counts.at(s) : 0, countOf(*expected, s));
        }
        // Every aligned key is a leaf of the tree with its status.
        const auto shown = leaves(w.proxy());
        QCOMPARE(shown.size(), expected->tensors.size());
        for (const TensorDiff& d : expected->tensors) {
            QVERIFY2(shown.count(d.key), qPrintable(d.key));
            QCOMPARE(shown.at(d.key), diffStatusLabel(d.status));
        }
        QVERIFY(w.summaryText().contains(w.filterButton(DiffStatus::Equal)->text()));
        // Something is selected and described.
        QVERIFY(w.view()->currentIndex().isValid());
        QVERIFY(!w.pairText().isEmpty());
    }

    void filterByStatus()
    {
        CompareWindow w;
        QVERIFY(
            w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_pruned.pth"))));
        WAIT_DIFF(w);
        const DiffResult& r = *w.result();
        QVERIFY(countOf(r, DiffStatus::Equal) > 0 && countOf(r, DiffStatus::OnlyA) > 0
            && countOf(r, DiffStatus::Shape) > 0);
        const size_t all = leaves(w.proxy()).size();

        // Hiding "equal" leaves everything else.
        w.filterButton(DiffStatus::Equal)->click();
        QVERIFY(!w.filterButton(DiffStatus::Equal)->isChecked());
        auto shown = leaves(w.proxy());
        QCOMPARE(shown.size(), all - size_t(countOf(r, DiffStatus::Equal)));
        for (const auto& [key, status] : shown)
            QVERIFY2(status != diffStatusLabel(DiffStatus::Equal), qPrintable(key));

        // Only "only in A": the removed block, and no module left without rows below it.
        for (DiffStatus s : kDiffStatuses)
            w.setStatusShown(s, s == DiffStatus::OnlyA);
        shown = leaves(w.proxy());
        QCOMPARE(shown.size(), size_t(countOf(r, DiffStatus::OnlyA)));
        for (const auto& [key, status] : shown) {
            QVERIFY2(key.startsWith(QLatin1String("blocks.2.")), qPrintable(key));
            QCOMPARE(status, diffStatusLabel(DiffStatus::OnlyA));
        }
        std::function<void(const QModelIndex&)> noEmptyModules = [&](const QModelIndex& parent) {
            for (int row = 0; row < w.proxy()->rowCount(parent); ++row) {
                const QModelIndex i = w.proxy()->index(row, 0, parent);
                if (i.data(DiffTreeModel::DiffIndexRole).toInt() < 0)
                    QVERIFY2(w.proxy()->rowCount(i) > 0, qPrintable(i.data(DiffTreeModel::KeyRole).toString()));
                noEmptyModules(i);
            }
        };
        noEmptyModules({});

        // Key text narrows further; everything back shows every key again.
        for (DiffStatus s : kDiffStatuses)
            w.setStatusShown(s, true);
        w.keyFilter()->setText(QStringLiteral("*.weight"));
        shown = leaves(w.proxy());
        QVERIFY(!shown.empty() && shown.size() < all);
        for (const auto& [key, status] : shown)
            QVERIFY2(key.endsWith(QLatin1String(".weight")), qPrintable(key));
        w.keyFilter()->clear();
        QCOMPARE(leaves(w.proxy()).size(), all);
    }

    void sortsByRawNumbers()
    {
        CompareWindow w;
        QVERIFY(
            w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_step.pth"))));
        WAIT_DIFF(w);
        for (int column : { int(DiffTreeModel::RelL2Column), int(DiffTreeModel::MaxAbsColumn),
                 int(DiffTreeModel::DifferingColumn) }) {
            w.view()->sortByColumn(column, Qt::DescendingOrder);
            // Siblings descend by the raw number; empty cells come last.
            std::function<void(const QModelIndex&)> check = [&](const QModelIndex& parent) {
                std::optional<double> last;
                bool emptySeen = false;
                for (int r = 0; r < w.proxy()->rowCount(parent); ++r) {
                    const QModelIndex i = w.proxy()->index(r, column, parent);
                    const QVariant v = i.data(DiffTreeModel::SortRole);
                    if (!v.isValid()) {
                        emptySeen = true;
                    } else {
                        QVERIFY(!emptySeen);
                        if (last)
                            QVERIFY2(v.toDouble() <= *last,
                                qPrintable(i.siblingAtColumn(0).data(DiffTreeModel::KeyRole).toString()));
                        last = v.toDouble();
                    }
                    check(i.siblingAtColumn(0));
                }
            };
            check({});
        }
        // Keys sort naturally: layers 2 before 10 (here: 0, 1, 2 whatever the order asked).
        w.view()->sortByColumn(DiffTreeModel::KeyColumn, Qt::AscendingOrder);
        const QModelIndex blocks
            = w.proxy()
                  ->match(w.proxy()->index(0, 0), DiffTreeModel::KeyRole, QStringLiteral("blocks"), 1, Qt::MatchExactly)
                  .value(0);
        QVERIFY(blocks.isValid());
        QCOMPARE(w.proxy()->index(0, 0, blocks).data().toString(), QStringLiteral("0"));
    }

    void dataParallelRule()
    {
        CompareWindow w;
        QVERIFY(w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_dp.pth"))));
        WAIT_DIFF(w);
        // The suggested rule fills the table and aligns every key.
        QCOMPARE(w.rulesTable()->rowCount(), 1);
        QCOMPARE(w.rulesTable()->item(0, 0)->text(), ExportPlan::stripPrefix(QStringLiteral("module.")).pattern);
        QCOMPARE(w.rules(), std::vector<RenameRule> { ExportPlan::stripPrefix(QStringLiteral("module.")) });
        const int n = int(w.result()->tensors.size());
        QCOMPARE(countOf(*w.result(), DiffStatus::Equal), n);
        QCOMPARE(countOf(*w.result(), DiffStatus::OnlyA) + countOf(*w.result(), DiffStatus::OnlyB), 0);

        // Without it, nothing aligns: every key is on one side only.
        QSignalSpy finished(&w, &CompareWindow::diffFinished);
        w.rulesTable()->removeRow(0);
        w.setRules({});
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60'000);
        QCOMPARE(countOf(*w.result(), DiffStatus::OnlyA), n);
        QCOMPARE(countOf(*w.result(), DiffStatus::OnlyB), n);
        QCOMPARE(w.filterButton(DiffStatus::OnlyA)->text(),
            QStringLiteral("%1 %2").arg(n).arg(diffStatusLabel(DiffStatus::OnlyA)));

        // Typed into the table in place: the rule applies again after a pause.
        w.rulesTable()->insertRow(0);
        w.rulesTable()->setItem(0, 0, new QTableWidgetItem);
        w.rulesTable()->setItem(0, 1, new QTableWidgetItem);
        w.rulesTable()->item(0, 0)->setText(QStringLiteral("^module\\."));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60'000);
        QCOMPARE(countOf(*w.result(), DiffStatus::Equal), n);

        // A broken pattern is not run.
        w.rulesTable()->item(0, 0)->setText(QStringLiteral("(unclosed"));
        QTest::qWait(700);
        QCOMPARE(finished.count(), 2);
        QVERIFY(!w.isRunning());

        // "Suggested" puts the suggestion back.
        auto* suggested = w.findChild<QToolButton*>(QStringLiteral("suggestedRules"));
        QVERIFY(suggested);
        suggested->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 60'000);
        QCOMPARE(w.rules(), std::vector<RenameRule> { ExportPlan::stripPrefix(QStringLiteral("module.")) });
        QCOMPARE(countOf(*w.result(), DiffStatus::Equal), n);
    }

    void pairPanel()
    {
        CompareWindow w;
        w.resize(1300, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(
            w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_half.pth"))));
        WAIT_DIFF(w);
        QSignalSpy stats(&w, &CompareWindow::pairStatsReady);
        QVERIFY(w.selectKey(QStringLiteral("embed.weight")));
        QTRY_VERIFY_WITH_TIMEOUT(stats.count() >= 1, 30'000);
        const QString text = w.pairText();
        QVERIFY2(text.contains(QStringLiteral("embed.weight")), qPrintable(text));
        QVERIFY2(
            text.contains(QStringLiteral("float32")) && text.contains(QStringLiteral("float16")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("L2 norm")) && text.contains(QStringLiteral("cosine")), qPrintable(text));
        QVERIFY2(text.contains(diffStatusLabel(DiffStatus::Dtype)), qPrintable(text));
        HistogramView* h = w.histogram();
        QTRY_VERIFY_WITH_TIMEOUT(!h->isComputing() && h->histogram() && h->histogramB(), 30'000);
        QVERIFY(h->isOverlay());
        QCOMPARE(h->histogram()->edges, h->histogramB()->edges);
        // A module row describes itself without a pair.
        QVERIFY(w.selectKey(QStringLiteral("blocks")));
        QVERIFY(!h->histogram());
    }

    void layerProfile()
    {
        CompareWindow w;
        QVERIFY(
            w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_step.pth"))));
        WAIT_DIFF(w);
        const auto expected = diffLayerProfiles(*w.result());
        QCOMPARE(w.layerProfiles(), expected);
        QVERIFY(!expected.empty());
        QCOMPARE(expected.front().block, QStringLiteral("blocks"));
        QCOMPARE(int(expected.front().layers.size()), 3);
        for (const DiffLayer& l : expected.front().layers) {
            QVERIFY(l.tensors > 0 && l.measured == l.tensors);
            QVERIFY(l.maxRelL2 >= l.meanRelL2);
        }
    }

    void cancelDropsTheRun()
    {
        const CheckpointPtr a = open(QStringLiteral("diff_a.pth")), b = open(QStringLiteral("diff_step.pth"));
        QVERIFY(a && b);
        CompareWindow w;
        QSignalSpy finished(&w, &CompareWindow::diffFinished);
        w.setCheckpoints(a, b);
        QVERIFY(w.isRunning());
        w.cancel();
        QVERIFY(!w.isRunning());
        QTest::qWait(200);
        QCOMPARE(finished.count(), 0);
        QVERIFY(!w.result());
        w.rerun();
        WAIT_DIFF(w);
        QCOMPARE(finished.count(), 1);
        QVERIFY(w.result());
    }

    void unreadableFileSaysWhy()
    {
        QTemporaryDir dir;
        const QString junk = dir.filePath(QStringLiteral("junk.pth"));
        QVERIFY(test::writeFile(junk, QByteArray("not a checkpoint at all")));
        CompareWindow w;
        QVERIFY(!w.openFiles(test::fixture(QStringLiteral("diff_a.pth")), junk));
        QVERIFY2(w.errorText().contains(QStringLiteral("junk.pth")), qPrintable(w.errorText()));
    }

    void mainWindowComparesTwoDroppedFiles()
    {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QMimeData mime;
        mime.setUrls({ QUrl::fromLocalFile(test::fixture(QStringLiteral("diff_a.pth"))),
            QUrl::fromLocalFile(test::fixture(QStringLiteral("diff_dp.pth"))) });
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, {});
        QApplication::sendEvent(&w, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, {});
        QApplication::sendEvent(&w, &drop);
        auto* compare = w.findChild<CompareWindow*>();
        QVERIFY(compare);
        WAIT_DIFF(*compare);
        QCOMPARE(countOf(*compare->result(), DiffStatus::Equal), int(compare->result()->tensors.size()));
        // And File > Compare With goes through openCompare, the same way.
        CompareWindow* second = w.openCompare(
            test::fixture(QStringLiteral("diff_a.pth")), test::fixture(QStringLiteral("diff_step.pth")));
        WAIT_DIFF(*second);
        QVERIFY(second->result()->anyDifference());
        compare->close();
        second->close();
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes compare.png (diff_a.pth against CKPTLENS_SCREENSHOT_B,
    // default diff_step.pth) and compare-layers.png.
    void screenshot()
    {
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        CompareWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFiles(qEnvironmentVariable("CKPTLENS_SCREENSHOT_A", test::fixture(QStringLiteral("diff_a.pth"))),
            qEnvironmentVariable("CKPTLENS_SCREENSHOT_B", test::fixture(QStringLiteral("diff_step.pth")))));
        WAIT_DIFF(w);
        if (qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT_KEY"))
            w.selectKey(qEnvironmentVariable("CKPTLENS_SCREENSHOT_KEY"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.histogram()->isComputing(), 30'000);
        QTest::qWait(500);
        QVERIFY(w.grab().save(dir + QStringLiteral("/compare.png")));
        w.sideTabs()->setCurrentIndex(1);
        QTest::qWait(300);
        QVERIFY(w.grab().save(dir + QStringLiteral("/compare-layers.png")));
    }
};

QTEST_MAIN(TestCompareWidget)
#include "tst_comparewidget.moc"
