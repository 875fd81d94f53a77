// The export dialog driven as a user would, offscreen: exclude a glob by typing, strip the DataParallel prefix with
// a preset, cast to bfloat16, and the preview rows are what resolvePlan says; undo and redo walk the edits (typing
// is one step); a recipe saved and loaded gives the same plan; the export runs into a temporary folder and what it
// wrote opens with openCheckpoint with the previewed keys and dtypes; collisions and bad sizes keep Export disabled;
// the float16 overflow count is countCastOverflow's; the last recipe comes back in a new dialog. The preview tree
// lists every key (excluded ones unchecked) and its check boxes edit the excludes as undoable steps; a selection
// in the main window seeds the plan; recent recipes are listed most recent first, without duplicates or missing
// files, at most eight; "Keep non-tensor entries" toggles the plan and shows what is kept.
// With CKPTLENS_SCREENSHOT_DIR set, screenshot() writes export.png there.
#include "model/exporter.h"
#include "model/semantic.h"
#include "model/tensorlist.h"
#include "testutil.h"
#include "model/moduletreemodel.h"
#include "model/objectchildren.h"
#include "model/objecttreemodel.h"
#include "model/summary.h"
#include "widgets/exportdialog.h"
#include "model/exportpreviewtreemodel.h"
#include "widgets/mainwindow.h"
#include "widgets/modelpage.h"
#include "widgets/modulepane.h"

#include <QAbstractItemModel>
#include <QLabel>
#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QJsonDocument>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTreeView>
#include <QTreeWidget>
#include <QUndoStack>

using namespace ckpt;

namespace {

struct Source {
    CheckpointPtr ck;
    std::shared_ptr<const Semantic> sem;
};

Source load(const QString& path)
{
    auto ck = openCheckpoint(path);
    if (!ck)
        return {};
    return { *ck, std::make_shared<const Semantic>(analyze(**ck)) };
}

using Col = ExportPreviewTreeModel::Columns;

QStringList list(std::initializer_list<const char*> items)
{
    QStringList out;
    for (const char* i : items)
        out << QString::fromUtf8(i);
    return out;
}

// A row of the preview by its source key (a tensor's key or a module's prefix).
QString cell(const ExportPreviewTreeModel* m, const QString& key, int column)
{
    return m->indexOfKey(key, column).data().toString();
}

void leavesOf(const QAbstractItemModel* m, const QModelIndex& parent, QModelIndexList& out)
{
    for (int r = 0; r < m->rowCount(parent); ++r) {
        const QModelIndex i = m->index(r, 0, parent);
        if (m->rowCount(i) == 0)
            out << i;
        else
            leavesOf(m, i, out);
    }
}

QModelIndexList leaves(const QAbstractItemModel* m)
{
    QModelIndexList out;
    leavesOf(m, {}, out);
    return out;
}

bool check(ExportDialog& d, const QString& key, bool on)
{
    const QModelIndex i = d.preview()->indexOfKey(key);
    return i.isValid() && d.preview()->setData(i, on ? Qt::Checked : Qt::Unchecked, Qt::CheckStateRole);
}

Qt::CheckState checkState(ExportDialog& d, const QString& key)
{
    return Qt::CheckState(d.preview()->indexOfKey(key).data(Qt::CheckStateRole).toInt());
}

// The object tree's index for a path from the root.
QModelIndex objectIndex(const QAbstractItemModel* m, const QStringList& path, const QModelIndex& parent = {})
{
    for (int r = 0; r < m->rowCount(parent); ++r) {
        const QModelIndex i = m->index(r, 0, parent);
        const QStringList p = i.data(ObjectTreeModel::PathRole).toStringList();
        if (p == path)
            return i;
        if (p.size() < path.size() && path.mid(0, p.size()) == p)
            return objectIndex(m, path, i);
    }
    return {};
}

void chooseData(QComboBox* combo, const QVariant& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data.toString()));
    combo->setCurrentIndex(i);
}

// The preview settles after a short pause; `rows`: the tensors it shows checked (written).
#define WAIT_PREVIEW(d, rows) QTRY_COMPARE_WITH_TIMEOUT((d).preview()->keptCount(), rows, 10'000)

} // namespace

class TestExportWidget : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_exportwidget"));
        QSettings().clear();
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void init() { QSettings().clear(); }

    void driveTheDialog_data()
    {
        QTest::addColumn<int>("format");
        QTest::newRow("torch") << int(ExportFormat::Torch);
        QTest::newRow("safetensors") << int(ExportFormat::Safetensors);
    }

    void driveTheDialog()
    {
        QFETCH(int, format);
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        QCOMPARE(d.plan(), ExportPlan {});
        WAIT_PREVIEW(d, 29); // the model state dict of the DataParallel training checkpoint
        QCOMPARE(d.preview()->keyCount(), 29);
        QCOMPARE(cell(d.preview(), QStringLiteral("module.embed.weight"), Col::OutputColumn),
            QStringLiteral("module.embed.weight"));

        // Typed, character by character: one undo step.
        d.excludeEdit()->setFocus();
        QTest::keyClicks(d.excludeEdit(), QStringLiteral("*.num_batches_tracked"));
        QCOMPARE(d.plan().exclude, QStringList { QStringLiteral("*.num_batches_tracked") });
        WAIT_PREVIEW(d, 26);
        QCOMPARE(d.preview()->keyCount(), 29); // the excluded keys still show, unchecked
        QCOMPARE(checkState(d, QStringLiteral("module.blocks.0.1.num_batches_tracked")), Qt::Unchecked);
        QCOMPARE(checkState(d, QStringLiteral("module.blocks.0.1")), Qt::PartiallyChecked);
        QCOMPARE(d.undoStack()->count(), 1);

        d.addPreset(ExportDialog::Preset::StripModule);
        QCOMPARE(d.renamesTable()->rowCount(), 1);
        QCOMPARE(d.renamesTable()->item(0, 0)->text(), QStringLiteral("^module\\."));
        chooseData(d.castCombo(), QStringLiteral("bfloat16"));
        QCOMPARE(d.plan().castTo, std::optional<DType>(DType::BFloat16));
        chooseData(d.formatCombo(), format);
        QCOMPARE(int(d.plan().format), format);
        QCOMPARE(d.undoStack()->count(), format == int(ExportFormat::Torch) ? 3 : 4);

        // The preview is the resolved plan, row by row.
        QTRY_VERIFY_WITH_TIMEOUT(d.resolved() && d.resolved()->tensors.size() == 26
                && cell(d.preview(), QStringLiteral("module.embed.weight"), Col::OutputColumn)
                    == QLatin1String("embed.weight"),
            10'000);
        const auto rp = resolvePlan(*src.ck, *src.sem, d.plan());
        QVERIFY(rp && rp->errors.isEmpty());
        QCOMPARE(d.preview()->keptCount(), int(rp->tensors.size()));
        for (const PlannedTensor& t : rp->tensors) {
            const QModelIndex i = d.preview()->indexOfKey(t.sourceKey);
            QVERIFY2(i.isValid(), qPrintable(t.sourceKey));
            QCOMPARE(i.data(ExportPreviewTreeModel::SourceKeyRole).toString(), t.sourceKey);
            QCOMPARE(i.data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
            QCOMPARE(i.siblingAtColumn(Col::OutputColumn).data().toString(), t.outputKey);
            QVERIFY(!t.outputKey.startsWith(QLatin1String("module.")));
            QVERIFY(!t.sourceKey.endsWith(QLatin1String("num_batches_tracked")));
            QCOMPARE(i.siblingAtColumn(Col::DtypeColumn).data().toString(), QStringLiteral("float32 → bfloat16"));
            QCOMPARE(i.siblingAtColumn(Col::BytesColumn).data(ExportPreviewTreeModel::SortRole).toLongLong(), t.bytes);
            QCOMPARE(i.siblingAtColumn(Col::BytesColumn).data().toString(), formatBytes(t.bytes));
        }
        QTRY_VERIFY_WITH_TIMEOUT(d.overflowCount().has_value(), 10'000);
        QCOMPARE(*d.overflowCount(), *countCastOverflow(*src.ck, *rp));
        QVERIFY(d.problems().isEmpty());
        QVERIFY(d.exportButton()->isEnabled());

        // Undo walks back every step and redo forward again, widgets included.
        const ExportPlan full = d.plan();
        const int steps = d.undoStack()->count();
        for (int i = 0; i < steps; ++i)
            d.undoStack()->undo();
        QCOMPARE(d.plan(), ExportPlan {});
        QCOMPARE(d.excludeEdit()->text(), QString());
        QCOMPARE(d.renamesTable()->rowCount(), 0);
        QCOMPARE(d.castCombo()->currentIndex(), 0);
        WAIT_PREVIEW(d, 29);
        for (int i = 0; i < steps; ++i)
            d.undoStack()->redo();
        QCOMPARE(d.plan(), full);
        QCOMPARE(d.excludeEdit()->text(), QStringLiteral("*.num_batches_tracked"));
        QCOMPARE(d.castCombo()->currentData().toString(), QStringLiteral("bfloat16"));
        WAIT_PREVIEW(d, 26);

        // A recipe round trip.
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString recipe = dir.filePath(QStringLiteral("recipe.json"));
        QVERIFY(d.saveRecipe(recipe));
        {
            ExportDialog other(src.ck, src.sem);
            QString error;
            QVERIFY2(other.loadRecipe(recipe, &error), qPrintable(error));
            QCOMPARE(other.plan(), full);
            QCOMPARE(other.renamesTable()->rowCount(), 1);
            other.undoStack()->undo(); // loading is one undoable step
            QCOMPARE(other.plan(), ExportPlan {});
            QVERIFY(!other.loadRecipe(dir.filePath(QStringLiteral("missing.json")), &error));
            QVERIFY(!error.isEmpty());
        }

        // Export, and read back what was written.
        const QString out = dir.filePath(
            format == int(ExportFormat::Torch) ? QStringLiteral("out.pth") : QStringLiteral("out.safetensors"));
        d.setOutputPath(out);
        QSignalSpy finished(&d, &ExportDialog::exportFinished);
        QVERIFY(d.startExport());
        QVERIFY(d.isExporting());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60'000);
        QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(d.resultText()));
        QVERIFY(d.lastResult());
        QCOMPARE(d.lastResult()->files, QStringList { out });
        auto written = openCheckpoint(out);
        QVERIFY2(written, written ? "" : qPrintable(written.error().message()));
        std::map<QString, DType> keys;
        for (const TensorEntry& e : listTensors(**written))
            keys[e.path.last()] = (*written)->tensors[size_t(e.tensor)].dtype;
        QCOMPARE(keys.size(), rp->tensors.size());
        for (const PlannedTensor& t : rp->tensors) {
            QVERIFY2(keys.count(t.outputKey), qPrintable(t.outputKey));
            QCOMPARE(keys[t.outputKey], DType::BFloat16);
        }

        // The recipe used is remembered for the next dialog.
        ExportDialog next(src.ck, src.sem);
        QCOMPARE(next.plan(), full);
        QCOMPARE(next.undoStack()->count(), 0);
    }

    void collisionsAndBadSizesBlockExport()
    {
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        WAIT_PREVIEW(d, 29);
        QVERIFY(d.exportButton()->isEnabled());
        d.addRename({ QStringLiteral("^.*\\.(weight|bias)$"), QStringLiteral("\\1") });
        QTRY_VERIFY_WITH_TIMEOUT(!d.problems().isEmpty(), 10'000);
        QVERIFY2(d.problems().join(QLatin1Char('\n')).contains(QStringLiteral("would both be written as weight")),
            qPrintable(d.problems().join(QLatin1Char('\n'))));
        QVERIFY(!d.exportButton()->isEnabled());
        QVERIFY(!d.startExport());
        // Colliding rows are marked.
        bool marked = false;
        const QAbstractItemModel* shown = d.findChild<QTreeView*>(QStringLiteral("preview"))->model();
        for (const QModelIndex& i : leaves(shown))
            marked = marked || i.siblingAtColumn(Col::OutputColumn).data(Qt::BackgroundRole).isValid();
        QVERIFY(marked);
        QVERIFY(d.preview()->collisions() > 0);
        d.undoStack()->undo();
        QTRY_VERIFY_WITH_TIMEOUT(d.problems().isEmpty(), 10'000);

        // A shard size that is not a size.
        d.shardEdit()->setFocus();
        QTest::keyClicks(d.shardEdit(), QStringLiteral("lots"));
        QTRY_VERIFY_WITH_TIMEOUT(!d.problems().isEmpty(), 10'000);
        QVERIFY(!d.exportButton()->isEnabled());
        d.shardEdit()->clear();
        QTest::keyClicks(d.shardEdit(), QStringLiteral("4KB"));
        QCOMPARE(d.plan().maxShardSize, 4000);
        QTRY_VERIFY_WITH_TIMEOUT(d.problems().isEmpty(), 10'000);

        // Sharded output: several files and an index.
        QTemporaryDir dir;
        d.setOutputPath(dir.filePath(QStringLiteral("sharded.pth")));
        QSignalSpy finished(&d, &ExportDialog::exportFinished);
        QVERIFY(d.startExport());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60'000);
        QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(d.resultText()));
        QVERIFY(d.lastResult()->files.size() > 2);
        QVERIFY(d.lastResult()->files.last().endsWith(QLatin1String(".index.json")));
    }

    void float16OverflowIsCountedBeforeWriting_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("hist.pth") << QStringLiteral("hist.pth");
        QTest::newRow("values.pth") << QStringLiteral("values.pth");
        QTest::newRow("sem_adam.pth") << QStringLiteral("sem_adam.pth");
    }

    void float16OverflowIsCountedBeforeWriting()
    {
        QFETCH(QString, file);
        const Source src = load(test::fixture(file));
        QVERIFY(src.ck);
        if (src.sem->primary < 0)
            QSKIP("no state dict in this fixture");
        ExportDialog d(src.ck, src.sem);
        QSignalSpy counted(&d, &ExportDialog::overflowCounted);
        chooseData(d.castCombo(), QStringLiteral("float16"));
        QTRY_VERIFY_WITH_TIMEOUT(d.overflowCount().has_value() || !d.problems().isEmpty(), 30'000);
        if (!d.overflowCount())
            QSKIP("this state dict cannot be exported as it is (broken tensors)");
        const auto rp = resolvePlan(*src.ck, *src.sem, d.plan());
        QVERIFY(rp);
        QCOMPARE(*d.overflowCount(), *countCastOverflow(*src.ck, *rp));
        QVERIFY(d.summaryText().contains(
            *d.overflowCount() ? QStringLiteral("overflow to ±inf") : QStringLiteral("No value overflows")));
    }

    void cancelWritesNothing()
    {
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        WAIT_PREVIEW(d, 29);
        QTemporaryDir dir;
        d.setOutputPath(dir.filePath(QStringLiteral("cancelled.pth")));
        QSignalSpy finished(&d, &ExportDialog::exportFinished);
        QVERIFY(d.startExport());
        d.cancelExport();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60'000);
        // Either it stopped (and left nothing) or it had already finished (and says so).
        if (finished.at(0).at(0).toBool())
            QVERIFY(QFileInfo::exists(dir.filePath(QStringLiteral("cancelled.pth"))));
        else
            QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList());
        QVERIFY(!d.isExporting());
    }

    void mainWindowOpensIt()
    {
        MainWindow w;
        w.openExportDialog(); // nothing open: nothing to export
        QVERIFY(!w.findChild<ExportDialog*>());
        QVERIFY(w.openFile(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth"))));
        w.openExportDialog();
        auto* d = w.findChild<ExportDialog*>();
        QVERIFY(d);
        WAIT_PREVIEW(*d, 29);
        d->close();
    }

    // Unchecking a row excludes it; checking it again takes the exclude away; undo and redo walk both.
    void checkBoxesEditTheExcludes_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("kept");
        QTest::newRow("tensor") << QStringLiteral("module.head.weight") << QStringLiteral("module.head.weight") << 28;
        QTest::newRow("module") << QStringLiteral("module.blocks.1") << QStringLiteral("module.blocks.1.*") << 20;
        QTest::newRow("nested module") << QStringLiteral("module.blocks.0.1") << QStringLiteral("module.blocks.0.1.*")
                                       << 24;
    }

    void checkBoxesEditTheExcludes()
    {
        QFETCH(QString, key);
        QFETCH(QString, pattern);
        QFETCH(int, kept);
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        QAbstractItemModelTester tester(d.preview(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        WAIT_PREVIEW(d, 29);
        QCOMPARE(checkState(d, key), Qt::Checked);
        QVERIFY(check(d, key, false));
        QCOMPARE(d.plan().exclude, QStringList { pattern });
        QCOMPARE(d.excludeEdit()->text(), pattern);
        WAIT_PREVIEW(d, kept);
        QCOMPARE(d.preview()->keyCount(), 29);
        QCOMPARE(checkState(d, key), Qt::Unchecked);
        QCOMPARE(checkState(d, QStringLiteral("module")), Qt::PartiallyChecked);
        QVERIFY(!d.preview()->indexOfKey(key).data(ExportPreviewTreeModel::KeptRole).toBool());

        QVERIFY(check(d, key, true));
        QCOMPARE(d.plan().exclude, QStringList());
        WAIT_PREVIEW(d, 29);
        QCOMPARE(d.undoStack()->count(), 2);
        d.undoStack()->undo();
        QCOMPARE(d.plan().exclude, QStringList { pattern });
        WAIT_PREVIEW(d, kept);
        QCOMPARE(checkState(d, key), Qt::Unchecked);
        d.undoStack()->undo();
        QCOMPARE(d.plan(), ExportPlan {});
        WAIT_PREVIEW(d, 29);
        d.undoStack()->redo();
        QCOMPARE(d.plan().exclude, QStringList { pattern });
        WAIT_PREVIEW(d, kept);
    }

    // Checking a key that a broader pattern leaves out: that pattern is replaced by the patterns of the other keys it
    // matched, as few as the tree allows; includes that miss the key get the row's pattern.
    void checkingUnderABroaderPattern_data()
    {
        QTest::addColumn<QStringList>("include");
        QTest::addColumn<QStringList>("exclude");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QStringList>("includeAfter");
        QTest::addColumn<QStringList>("excludeAfter");
        QTest::addColumn<int>("kept");
        const auto b = [](const char* k) { return QStringLiteral("module.blocks.") + QLatin1String(k); };
        QTest::newRow("module exclude, one tensor back")
            << QStringList() << QStringList { b("*") } << b("1.0.weight") << QStringList()
            << QStringList { b("0.*"), b("1.0.bias"), b("1.1.*"), b("1.3.*"), b("2.*") } << 3;
        QTest::newRow("glob exclude, one tensor back")
            << QStringList() << QStringList { QStringLiteral("*.num_batches_tracked") } << b("0.1.num_batches_tracked")
            << QStringList() << QStringList { b("1.1.num_batches_tracked"), b("2.1.num_batches_tracked") } << 27;
        QTest::newRow("regex exclude, a module back")
            << QStringList() << QStringList { QStringLiteral("re:\\.bias$") } << b("2")
            << QStringList() << QStringList { b("0.0.bias"), b("0.1.bias"), b("0.3.bias"), b("1.0.bias"), b("1.1.bias"), b("1.3.bias") }
            << 23;
        QTest::newRow("partly excluded module checked")
            << QStringList() << QStringList { b("0.1.*"), QStringLiteral("module.head.weight") } << b("0")
            << QStringList() << QStringList { QStringLiteral("module.head.weight") } << 28;
        QTest::newRow("include misses the key")
            << QStringList { QStringLiteral("module.embed.*") } << QStringList() << QStringLiteral("module.head")
            << QStringList { QStringLiteral("module.embed.*"), QStringLiteral("module.head.*") } << QStringList() << 2;
    }

    void checkingUnderABroaderPattern()
    {
        QFETCH(QStringList, include);
        QFETCH(QStringList, exclude);
        QFETCH(QString, key);
        QFETCH(QStringList, includeAfter);
        QFETCH(QStringList, excludeAfter);
        QFETCH(int, kept);
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        ExportPlan plan;
        plan.include = include;
        plan.exclude = exclude;
        d.setPlan(plan);
        QTRY_VERIFY_WITH_TIMEOUT(d.preview()->plan() == plan, 10'000);
        QVERIFY(checkState(d, key) != Qt::Checked);
        QVERIFY(check(d, key, true));
        QCOMPARE(d.plan().include, includeAfter);
        QCOMPARE(d.plan().exclude, excludeAfter);
        WAIT_PREVIEW(d, kept);
        QCOMPARE(checkState(d, key), Qt::Checked);
        d.undoStack()->undo();
        QCOMPARE(d.plan(), plan);
    }

    void seedFromObjectPath_data()
    {
        QTest::addColumn<QStringList>("path");
        QTest::addColumn<bool>("isTensor");
        QTest::addColumn<bool>("isContainer");
        QTest::addColumn<QStringList>("select");
        QTest::addColumn<QStringList>("include");
        QTest::addColumn<bool>("empty");
        QTest::newRow("a tensor of the model") << list({ "model", "module.head.weight" }) << true << false
                                               << QStringList() << list({ "module.head.weight" }) << false;
        QTest::newRow("the model state dict") << list({ "model" }) << false << true << QStringList()
                                              << QStringList() << true;
        QTest::newRow("inside a tensor") << list({ "model", "module.head.weight", "storage" }) << false << false
                                         << QStringList() << list({ "module.head.weight" }) << false;
        QTest::newRow("another container") << list({ "optimizer" }) << false << true
                                           << list({ "optimizer" }) << QStringList() << false;
        QTest::newRow("a scalar elsewhere") << list({ "args", "lr" }) << false << false << QStringList()
                                            << QStringList() << true;
    }

    void seedFromObjectPath()
    {
        QFETCH(QStringList, path);
        QFETCH(bool, isTensor);
        QFETCH(bool, isContainer);
        QFETCH(QStringList, select);
        QFETCH(QStringList, include);
        QFETCH(bool, empty);
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        const ExportSelection s = ExportSelection::fromObjectPath(*src.sem, path, isTensor, isContainer);
        QCOMPARE(s.isEmpty(), empty);
        QCOMPARE(s.select, select);
        QCOMPARE(s.include, include);
    }

    // File > Export with a row of the Model tab or the Objects tab selected starts with that selection, as the
    // dialog's base state (nothing to undo); the last recipe's other settings stay.
    void seedFromTheMainWindow_data()
    {
        QTest::addColumn<bool>("objects");
        QTest::addColumn<QStringList>("node"); // module prefix / tensor key, or an object path
        QTest::addColumn<QStringList>("include");
        QTest::addColumn<int>("kept");
        QTest::newRow("module") << false << list({ "module.blocks.1" }) << list({ "module.blocks.1.*" }) << 9;
        QTest::newRow("tensor") << false << list({ "module.head.weight" }) << list({ "module.head.weight" }) << 1;
        // The top row (current by default) is no selection: the last recipe as it was.
        QTest::newRow("the state dict row") << false << list({ "" }) << list({ "nothing.*" }) << 0;
        QTest::newRow("object tree tensor") << true << list({ "model", "module.embed.weight" })
                                            << list({ "module.embed.weight" }) << 1;
    }

    void seedFromTheMainWindow()
    {
        QFETCH(bool, objects);
        QFETCH(QStringList, node);
        QFETCH(QStringList, include);
        QFETCH(int, kept);
        ExportPlan last;
        last.castTo = DType::BFloat16;
        last.exclude = { QStringLiteral("*.bias") };
        last.include = { QStringLiteral("nothing.*") };
        QSettings().setValue(ExportDialog::lastRecipeKey(), QJsonDocument(last.toJson()).toJson());
        MainWindow w;
        w.resize(1200, 800);
        w.show();
        QVERIFY(w.openFile(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth"))));
        QTreeView* view = nullptr;
        QModelIndex index;
        if (objects) {
            w.tabs()->setCurrentWidget(w.objectsPage());
            view = w.treeView();
            index = objectIndex(view->model(), node);
        } else {
            w.tabs()->setCurrentWidget(w.modelPage());
            view = w.modelPage()->pane()->view();
            const auto hits = view->model()->match(view->model()->index(0, 0), ModuleTreeModel::FullNameRole,
                node.first(), 1, Qt::MatchExactly | Qt::MatchRecursive);
            if (!hits.isEmpty())
                index = hits.first();
        }
        QVERIFY2(index.isValid(), qPrintable(node.join(QLatin1Char('/'))));
        view->setCurrentIndex(index);
        w.openExportDialog();
        auto* d = w.findChild<ExportDialog*>();
        QVERIFY(d);
        QCOMPARE(d->plan().select, QStringList());
        QCOMPARE(d->plan().include, include);
        // The last recipe's excludes could hide the selection; without one they stay.
        QCOMPARE(d->plan().exclude, include == last.include ? last.exclude : QStringList());
        QCOMPARE(d->plan().castTo, last.castTo);
        QCOMPARE(d->undoStack()->count(), 0);
        QCOMPARE(d->includeEdit()->text(), include.join(QStringLiteral(", ")));
        QTRY_VERIFY_WITH_TIMEOUT(d->preview()->plan() == d->plan(), 10'000);
        QCOMPARE(d->preview()->keptCount(), kept);
        QCOMPARE(d->preview()->keyCount(), 29);
        d->close();
    }

    void recentRecipes()
    {
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ExportDialog d(src.ck, src.sem);
        QVERIFY(d.recentRecipesMenu()->actions().isEmpty());
        QStringList paths;
        for (int i = 0; i < 10; ++i) {
            ExportPlan p;
            p.exclude = { QStringLiteral("x%1").arg(i) };
            d.setPlan(p);
            paths << dir.filePath(QStringLiteral("r%1.json").arg(i));
            QVERIFY(d.saveRecipe(paths.last()));
        }
        // Most recent first, at most eight.
        QStringList expected;
        for (int i = 9; i >= 2; --i)
            expected << paths[i];
        QCOMPARE(ExportDialog::recentRecipes(), expected);
        // Used again: to the front, once.
        QString error;
        QVERIFY2(d.loadRecipe(paths[5], &error), qPrintable(error));
        expected.removeAll(paths[5]);
        expected.prepend(paths[5]);
        QCOMPARE(ExportDialog::recentRecipes(), expected);
        // A file that is gone is dropped.
        QVERIFY(QFile::remove(paths[9]));
        expected.removeAll(paths[9]);
        QCOMPARE(ExportDialog::recentRecipes(), expected);
        QCOMPARE(QSettings().value(ExportDialog::recentRecipesKey()).toStringList(), expected);
        // The menu lists them; choosing one loads it as one undoable step.
        emit d.recentRecipesMenu()->aboutToShow();
        const auto actions = d.recentRecipesMenu()->actions();
        QCOMPARE(actions.size(), expected.size());
        QCOMPARE(actions.at(1)->data().toString(), expected.at(1));
        const ExportPlan before = d.plan();
        const int steps = d.undoStack()->count();
        actions.at(1)->trigger();
        QCOMPARE(d.plan().exclude, QStringList { QStringLiteral("x8") });
        QCOMPARE(d.undoStack()->count(), steps + 1);
        QCOMPARE(ExportDialog::recentRecipes().first(), paths[8]);
        d.undoStack()->undo();
        QCOMPARE(d.plan(), before);
        QVERIFY(d.loadRecentRecipe(0));
        QCOMPARE(d.plan().exclude, QStringList { QStringLiteral("x8") });
        QVERIFY(!d.loadRecentRecipe(42, &error));
    }

    void keepOthers()
    {
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        WAIT_PREVIEW(d, 29);
        const auto row = [&](const QString& path) -> QTreeWidgetItem* {
            for (int i = 0; i < d.othersView()->topLevelItemCount(); ++i)
                if (d.othersView()->topLevelItem(i)->text(0) == path)
                    return d.othersView()->topLevelItem(i);
            return nullptr;
        };
        // Off: the entries show, not written.
        QVERIFY(row(QStringLiteral("args")));
        QCOMPARE(row(QStringLiteral("args"))->text(2), QStringLiteral("no (not kept)"));
        QTest::mouseClick(d.keepOthersBox(), Qt::LeftButton, {}, QPoint(8, d.keepOthersBox()->height() / 2));
        QVERIFY(d.plan().keepOthers);
        QCOMPARE(d.undoStack()->count(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(row(QStringLiteral("args")) && row(QStringLiteral("args"))->text(2) == QLatin1String("kept"), 10'000);
        const auto rp = resolvePlan(*src.ck, *src.sem, d.plan());
        QVERIFY(rp);
        QCOMPARE(d.othersView()->topLevelItemCount(), int(rp->others.size()));
        QCOMPARE(d.resolved()->others, rp->others);
        d.undoStack()->undo();
        QVERIFY(!d.plan().keepOthers);
        QVERIFY(!d.keepOthersBox()->isChecked());
        QTRY_COMPARE_WITH_TIMEOUT(row(QStringLiteral("args"))->text(2), QStringLiteral("no (not kept)"), 10'000);
        d.undoStack()->redo();
        QVERIFY(d.keepOthersBox()->isChecked());
    }

    // A kept entry named as a key safetensors metadata writes itself is named in the preview, before writing.
    void reservedKeyWarnedInPreview()
    {
        const Source src = load(test::fixture(QStringLiteral("reserved_keys.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        d.resize(1100, 640);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        auto* warnings = d.findChild<QLabel*>(QStringLiteral("exportWarnings"));
        QVERIFY(warnings);
        d.keepOthersBox()->setChecked(true);
        QTRY_VERIFY_WITH_TIMEOUT(d.preview()->plan() == d.plan(), 10'000);
        QVERIFY(!warnings->text().contains(QLatin1String("holds its own"))); // a torch file keeps both in its pickle
        chooseData(d.formatCombo(), int(ExportFormat::Safetensors));
        QTRY_VERIFY_WITH_TIMEOUT(d.preview()->plan() == d.plan(), 10'000);
        QTRY_VERIFY_WITH_TIMEOUT(warnings->isVisible(), 10'000);
        QCOMPARE(warnings->text(), QStringLiteral("format is not kept: safetensors metadata holds its own format"));
        const auto others = d.resolved()->others;
        QCOMPARE(std::count_if(others.begin(), others.end(), [](const PlannedOther& o) { return !o.kept; }), 1);
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (!dir.isEmpty())
            QVERIFY(d.grab().save(dir + QStringLiteral("/export-reserved.png")));
    }

    void badRegexIsAProblem()
    {
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        WAIT_PREVIEW(d, 29);
        QVERIFY(d.includeEdit()->toolTip().contains(QStringLiteral("re:")));
        d.includeEdit()->setFocus();
        QTest::keyClicks(d.includeEdit(), QStringLiteral("re:blocks\\.(1"));
        QTRY_VERIFY_WITH_TIMEOUT(!d.problems().isEmpty(), 10'000);
        QVERIFY2(d.problems().join(QLatin1Char('\n')).contains(QStringLiteral("re:blocks")),
            qPrintable(d.problems().join(QLatin1Char('\n'))));
        QVERIFY(!d.exportButton()->isEnabled());
        QCOMPARE(d.preview()->keyCount(), 29); // still listed, not checkable
        QVERIFY(!(d.preview()->flags(d.preview()->indexOfKey(QStringLiteral("module.embed.weight"))) & Qt::ItemIsUserCheckable));
        QTest::keyClick(d.includeEdit(), Qt::Key_ParenRight);
        WAIT_PREVIEW(d, 9);
        QVERIFY(d.problems().isEmpty());
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes export.png.
    void screenshot()
    {
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        const Source src = load(qEnvironmentVariable(
            "CKPTLENS_SCREENSHOT_FILE", test::fixture(QStringLiteral("sem_sgd_dataparallel.pth"))));
        QVERIFY(src.ck);
        ExportDialog d(src.ck, src.sem);
        d.resize(1250, 720);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        QTest::keyClicks(d.excludeEdit(), QStringLiteral("*.num_batches_tracked"));
        d.addPreset(ExportDialog::Preset::StripModule);
        chooseData(d.castCombo(), QStringLiteral("float16"));
        chooseData(d.formatCombo(), int(ExportFormat::Safetensors));
        d.keepOthersBox()->setChecked(true);
        QTRY_VERIFY_WITH_TIMEOUT(d.preview()->plan() == d.plan(), 10'000);
        check(d, QStringLiteral("module.blocks.2"), false);
        QTRY_VERIFY_WITH_TIMEOUT(d.preview()->plan() == d.plan(), 10'000);
        d.previewView()->expandRecursively(d.preview()->indexOfKey(QStringLiteral("module.blocks.0")));
        d.previewView()->expand(d.preview()->indexOfKey(QStringLiteral("module.blocks")));
        if (qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT_COLLIDE"))
            d.addRename({ QStringLiteral("\\.(running_mean|running_var)$"), QStringLiteral(".stat") });
        else
            QTRY_VERIFY_WITH_TIMEOUT(d.overflowCount().has_value(), 10'000);
        QTest::qWait(300);
        QVERIFY(d.grab().save(dir + QStringLiteral("/export.png")));
    }
};

QTEST_MAIN(TestExportWidget)
#include "tst_exportwidget.moc"
