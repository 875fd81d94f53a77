// The export dialog driven as a user would, offscreen: exclude a glob by typing, strip the DataParallel prefix with
// a preset, cast to bfloat16, and the preview rows are what resolvePlan says; undo and redo walk the edits (typing
// is one step); a recipe saved and loaded gives the same plan; the export runs into a temporary folder and what it
// wrote opens with openCheckpoint with the previewed keys and dtypes; collisions and bad sizes keep Export disabled;
// the float16 overflow count is countCastOverflow's; the last recipe comes back in a new dialog.
// With CKPTLENS_SCREENSHOT_DIR set, screenshot() writes export.png there.
#include "model/exporter.h"
#include "model/semantic.h"
#include "model/tensorlist.h"
#include "testutil.h"
#include "widgets/exportdialog.h"
#include "widgets/mainwindow.h"

#include <QAbstractItemModel>
#include <QApplication>
#include <QComboBox>
#include <QJsonDocument>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
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

QString cell(const QAbstractItemModel* m, int row, int column)
{
    return m->index(row, column).data().toString();
}

void chooseData(QComboBox* combo, const QVariant& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data.toString()));
    combo->setCurrentIndex(i);
}

// The preview settles after a short pause.
#define WAIT_PREVIEW(d, rows) QTRY_COMPARE_WITH_TIMEOUT((d).preview()->rowCount(), rows, 10'000)

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
        QVERIFY(cell(d.preview(), 0, ExportDialog::OutputColumn).startsWith(QLatin1String("module.")));

        // Typed, character by character: one undo step.
        d.excludeEdit()->setFocus();
        QTest::keyClicks(d.excludeEdit(), QStringLiteral("*.num_batches_tracked"));
        QCOMPARE(d.plan().exclude, QStringList { QStringLiteral("*.num_batches_tracked") });
        WAIT_PREVIEW(d, 26);
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
                && cell(d.preview(), 0, ExportDialog::OutputColumn) == QLatin1String("embed.weight"),
            10'000);
        const auto rp = resolvePlan(*src.ck, *src.sem, d.plan());
        QVERIFY(rp && rp->errors.isEmpty());
        QCOMPARE(d.preview()->rowCount(), int(rp->tensors.size()));
        for (int r = 0; r < d.preview()->rowCount(); ++r) {
            const PlannedTensor& t = rp->tensors[size_t(r)];
            QCOMPARE(cell(d.preview(), r, ExportDialog::SourceColumn), t.sourceKey);
            QCOMPARE(cell(d.preview(), r, ExportDialog::OutputColumn), t.outputKey);
            QVERIFY(!t.outputKey.startsWith(QLatin1String("module.")));
            QVERIFY(!t.sourceKey.endsWith(QLatin1String("num_batches_tracked")));
            QCOMPARE(cell(d.preview(), r, ExportDialog::DtypeColumn), QStringLiteral("float32 → bfloat16"));
            QCOMPARE(d.preview()->index(r, ExportDialog::BytesColumn).data(Qt::UserRole).toLongLong(), t.bytes);
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
        for (int r = 0; r < d.preview()->rowCount(); ++r)
            marked = marked || d.preview()->index(r, ExportDialog::OutputColumn).data(Qt::BackgroundRole).isValid();
        QVERIFY(marked);
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
