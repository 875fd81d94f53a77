// The export preview tree on its own, with a tester attached before it is filled: every key of the container
// listed with the excluded ones unchecked, renamed keys, casts and sizes in the dump, row states for the view to
// colour, rows kept when the same keys come again, nothing checkable when the plan does not resolve; and the
// patterns a row's check box writes (a key's exact name, a module's "prefix.*", a regular expression when the
// name holds a glob character).
#include "model/exporter.h"
#include "model/exportpreviewtreemodel.h"
#include "model/objectchildren.h"
#include "model/semantic.h"
#include "model/summary.h"
#include "testutil.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

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

} // namespace

class TestExportPreviewTreeModel : public QObject {
    Q_OBJECT
private slots:
    void patterns_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("keyPattern");
        QTest::addColumn<QString>("modulePattern");
        QTest::newRow("plain") << QStringLiteral("blocks.0.attn") << QStringLiteral("blocks.0.attn")
                               << QStringLiteral("blocks.0.attn.*");
        QTest::newRow("star in the name")
            << QStringLiteral("a*b.c") << QStringLiteral("re:^a\\*b\\.c$") << QStringLiteral("re:^a\\*b\\.c\\.");
        QTest::newRow("question mark") << QStringLiteral("w?") << QStringLiteral("re:^w\\?$")
                                       << QStringLiteral("re:^w\\?\\.");
        QTest::newRow("looks like a regex")
            << QStringLiteral("re:x") << QStringLiteral("re:^re\\:x$") << QStringLiteral("re:^re\\:x\\.");
    }

    void patterns()
    {
        QFETCH(QString, key);
        QFETCH(QString, keyPattern);
        QFETCH(QString, modulePattern);
        QCOMPARE(ExportPreviewTreeModel::keyPattern(key), keyPattern);
        QCOMPARE(ExportPreviewTreeModel::modulePattern(key), modulePattern);
        // What the patterns name: the key itself, and only what lies below the module.
        QVERIFY(keyPatternMatches(keyPattern, key));
        QVERIFY(!keyPatternMatches(keyPattern, key + QStringLiteral("x")));
        QVERIFY(keyPatternMatches(modulePattern, key + QStringLiteral(".weight")));
        QVERIFY(!keyPatternMatches(modulePattern, key + QStringLiteral("x.weight")));
        QVERIFY(!keyPatternMatches(modulePattern, key));
    }

    // The preview tree on its own: a tester attached before it is filled, renamed keys, casts and sizes in the dump,
    // every key listed with the excluded ones unchecked.
    void previewTree()
    {
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
        const Source src = load(test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")));
        QVERIFY(src.ck);
        ExportPreviewTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        ExportPlan plan;
        plan.renames.push_back(ExportPlan::stripPrefix(QStringLiteral("module.")));
        plan.castTo = DType::Float16;
        plan.exclude = { QStringLiteral("module.blocks.1.*") };
        ExportPlan all = plan;
        all.exclude.clear();
        const auto every = resolvePlan(*src.ck, *src.sem, all);
        const auto rp = resolvePlan(*src.ck, *src.sem, plan);
        QVERIFY(every && rp);
        model.setPlan(src.ck, plan, every->tensors, *rp);
        QCOMPARE(model.keyCount(), 29);
        QCOMPARE(model.keptCount(), 20);
        QCOMPARE(model.rowCount(), 1); // "module"
        const QString dump = model.dump();
        const auto line = [&](const QString& key) {
            const QModelIndex i = model.indexOfKey(key);
            const TensorInfo& t = src.ck->tensors[size_t(i.data(ExportPreviewTreeModel::TensorIndexRole).toInt())];
            return QStringLiteral("%1 | %2 | float32 → float16 | %3 | %4")
                .arg(key.section(QLatin1Char('.'), -1), key.mid(7), shapeText(t.shape), formatBytes(t.numel() * 2));
        };
        QVERIFY2(
            dump.contains(QStringLiteral("    [x] ") + line(QStringLiteral("module.embed.weight"))), qPrintable(dump));
        QVERIFY2(
            dump.contains(QStringLiteral("[ ] ") + line(QStringLiteral("module.blocks.1.0.weight"))), qPrintable(dump));
        QVERIFY2(dump.startsWith(QStringLiteral("[~] module | 20 of 29 tensors")), qPrintable(dump));
        QVERIFY(dump.contains(QStringLiteral("  [ ] 1 | 0 of 9 tensors")));
        QCOMPARE(
            model.indexOfKey(QStringLiteral("module.blocks.1.0.weight")).data(ExportPreviewTreeModel::RowStateRole),
            QVariant(int(ExportPreviewTreeModel::Excluded)));
        QCOMPARE(model.indexOfKey(QStringLiteral("module.embed.weight"), Col::OutputColumn)
                     .data(ExportPreviewTreeModel::RowStateRole),
            QVariant(int(ExportPreviewTreeModel::Changed)));
        QVERIFY(model.indexOfKey(QStringLiteral("module.blocks.1.0.weight"))
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("Excluded by module.blocks.1.*")));
        // The same keys again: rows stay (no reset), the data changes.
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        plan.exclude.clear();
        model.setPlan(src.ck, plan, every->tensors, *resolvePlan(*src.ck, *src.sem, plan));
        QCOMPARE(reset.count(), 0);
        QCOMPARE(model.keptCount(), 29);
        QVERIFY(model.dump().startsWith(QStringLiteral("[x] module | 29 tensors")));
        // A plan that does not resolve: nothing is checkable.
        model.setPlan(src.ck, plan, every->tensors, std::nullopt);
        QVERIFY(!(model.flags(model.indexOfKey(QStringLiteral("module.embed.weight"))) & Qt::ItemIsUserCheckable));
    }
};

QTEST_GUILESS_MAIN(TestExportPreviewTreeModel)
#include "tst_exportpreviewtreemodel.moc"
