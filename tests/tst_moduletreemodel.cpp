// The module tree model: the hierarchy of a torch-written state dict compared through a text dump, numbered
// children in numeric order, aggregates, statistics columns once supplied, the search that keeps ancestors, and
// Qt's model consistency checks throughout.
#include "model/modulefilter.h"
#include "model/moduletreemodel.h"
#include "model/tensorstats.h"
#include "testutil.h"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>

using namespace ckpt;

namespace {

struct Opened {
    CheckpointPtr ck;
    std::shared_ptr<const Semantic> sem;
};

Opened open(const QString& path)
{
    auto ck = openCheckpoint(path);
    if (!ck)
        return {};
    return { *ck, std::make_shared<const Semantic>(analyze(**ck)) };
}

StatsBatch allStats(const Checkpoint& ck)
{
    StatsBatch batch;
    for (int t = 0; t < int(ck.tensors.size()); ++t) {
        auto s = computeStats(ck, t, 1);
        StatsResult r;
        r.tensor = t;
        if (s)
            r.stats = *s;
        else
            r.error = s.error().what;
        batch.push_back(r);
    }
    return batch;
}

// The row reached by following names from the top (state dict) row.
QModelIndex find(const QAbstractItemModel& m, const QString& dotted)
{
    QModelIndex current = m.index(0, 0);
    if (dotted.isEmpty())
        return current;
    for (const QString& name : dotted.split(QLatin1Char('.'))) {
        QModelIndex next;
        for (int r = 0; r < m.rowCount(current) && !next.isValid(); ++r)
            if (m.index(r, 0, current).data().toString() == name)
                next = m.index(r, 0, current);
        if (!next.isValid())
            return {};
        current = next;
    }
    return current;
}

QStringList childNames(const QAbstractItemModel& m, const QModelIndex& parent)
{
    QStringList out;
    for (int r = 0; r < m.rowCount(parent); ++r)
        out << m.index(r, 0, parent).data().toString();
    return out;
}

// A safetensors file written here, keys in the given order, each a float32 vector of `n` values 1..n.
QByteArray safetensors(const QStringList& keys, int n)
{
    QJsonObject header;
    QByteArray data;
    for (const QString& key : keys) {
        const qint64 begin = data.size();
        for (int i = 1; i <= n; ++i) {
            const float v = float(i);
            data.append(reinterpret_cast<const char*>(&v), sizeof v);
        }
        header.insert(key, QJsonObject { { QStringLiteral("dtype"), QStringLiteral("F32") },
                               { QStringLiteral("shape"), QJsonArray { n } },
                               { QStringLiteral("data_offsets"), QJsonArray { begin, qint64(data.size()) } } });
    }
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (json.size() % 8)
        json.append(' ');
    QByteArray out(8, '\0');
    const quint64 len = quint64(json.size());
    for (int i = 0; i < 8; ++i)
        out[i] = char((len >> (8 * i)) & 0xff);
    return out + json + data;
}

constexpr auto kSemAdam = R"(model_state_dict | state dict | float32 |  | 2,856 | 11.65 KiB
  embed | Embedding | float32 |  | 600 | 2.34 KiB
    weight | parameter | float32 | [50, 12] | 600 | 2.34 KiB
  blocks | list of 3 | float32 |  | 1,656 | 6.96 KiB
    0 | list of 3 | float32 |  | 552 | 2.32 KiB
      0 | Linear | float32 |  | 260 | 1.02 KiB
        weight | parameter | float32 | [20, 12] | 240 | 960 bytes
        bias | parameter | float32 | [20] | 20 | 80 bytes
      1 | BatchNorm | float32 |  | 40 | 328 bytes
        weight | parameter | float32 | [20] | 20 | 80 bytes
        bias | parameter | float32 | [20] | 20 | 80 bytes
        running_mean | buffer | float32 | [20] |  | 80 bytes
        running_var | buffer | float32 | [20] |  | 80 bytes
        num_batches_tracked | buffer | int64 | [] |  | 8 bytes
      3 | Linear | float32 |  | 252 | 1008 bytes
        weight | parameter | float32 | [12, 20] | 240 | 960 bytes
        bias | parameter | float32 | [12] | 12 | 48 bytes
    1 | list of 3 | float32 |  | 552 | 2.32 KiB
)";

} // namespace

class TestModuleTreeModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void dump()
    {
        ModuleTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const Opened o = open(test::fixture(QStringLiteral("sem_adam.pth")));
        QVERIFY(o.ck);
        model.setTree(o.ck, o.sem);
        const QStringList want = QString::fromUtf8(kSemAdam).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        const QStringList got = model.dump().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(got.size(), 45);
        for (qsizetype i = 0; i < want.size(); ++i)
            QCOMPARE(got[i], want[i]);
        QCOMPARE(got.back(), QStringLiteral("    weight | parameter | float32 | [50, 12] | 600 | 2.34 KiB"));
        QCOMPARE(model.tensorCount(), 29);
    }

    void numericChildrenOrder_data()
    {
        QTest::addColumn<QStringList>("keys");
        QTest::addColumn<QString>("parent");
        QTest::addColumn<QStringList>("children");
        const auto list = [](std::initializer_list<const char*> items) {
            QStringList out;
            for (const char* s : items)
                out << QString::fromUtf8(s);
            return out;
        };
        QTest::newRow("numbers by value, not as text")
            << list({ "layers.10.w", "layers.2.w", "layers.1.w", "layers.0.w" }) << "layers" << list({ "0", "1", "2", "10" });
        QTest::newRow("named children keep file order")
            << list({ "zeta.w", "alpha.w", "mid.w" }) << "" << list({ "zeta", "alpha", "mid" });
        QTest::newRow("numbers inside a block")
            << list({ "blocks.0.mlp.11.w", "blocks.0.mlp.3.w", "blocks.0.attn.w" }) << "blocks.0.mlp" << list({ "3", "11" });
    }

    void numericChildrenOrder()
    {
        QFETCH(QStringList, keys);
        QFETCH(QString, parent);
        QFETCH(QStringList, children);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("order.safetensors"));
        QVERIFY(test::writeFile(path, safetensors(keys, 2)));
        const Opened o = open(path);
        QVERIFY(o.ck);
        ModuleTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setTree(o.ck, o.sem);
        const QModelIndex p = find(model, parent);
        QVERIFY2(p.isValid(), qPrintable(model.dump()));
        QCOMPARE(childNames(model, p), children);
    }

    void aggregates_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<qlonglong>("parameters");
        QTest::addColumn<qlonglong>("bytes");
        QTest::addColumn<int>("tensorRole");
        // Linear 12->20 (240 + 20), BatchNorm1d(20) (20 + 20, buffers 20 + 20 floats and one int64), Linear 20->12.
        QTest::newRow("whole model") << "" << "state dict" << 2856LL << 11928LL << -1;
        QTest::newRow("block") << "blocks.1" << "list of 3" << 552LL << 2376LL << -1;
        QTest::newRow("batch norm: buffers in bytes, not in parameters") << "blocks.1.1" << "BatchNorm" << 40LL << 328LL << -1;
        QTest::newRow("linear") << "blocks.2.3" << "Linear" << 252LL << 1008LL << -1;
        QTest::newRow("parameter leaf") << "blocks.2.3.weight" << "parameter" << 240LL << 960LL << 0;
        QTest::newRow("buffer leaf") << "blocks.0.1.running_var" << "buffer" << 0LL << 80LL << 1;
    }

    void aggregates()
    {
        QFETCH(QString, name);
        QFETCH(QString, kind);
        QFETCH(qlonglong, parameters);
        QFETCH(qlonglong, bytes);
        QFETCH(int, tensorRole);
        const Opened o = open(test::fixture(QStringLiteral("sem_adam.pth")));
        ModuleTreeModel model;
        model.setTree(o.ck, o.sem);
        const QModelIndex i = find(model, name);
        QVERIFY(i.isValid());
        QCOMPARE(i.siblingAtColumn(ModuleTreeModel::KindColumn).data().toString(), kind);
        QCOMPARE(i.siblingAtColumn(ModuleTreeModel::ParametersColumn).data(ModuleTreeModel::SortRole).toLongLong(), parameters);
        QCOMPARE(i.siblingAtColumn(ModuleTreeModel::BytesColumn).data(ModuleTreeModel::SortRole).toLongLong(), bytes);
        QCOMPARE(i.data(ModuleTreeModel::TensorRoleRole).toInt(), tensorRole);
        QCOMPARE(i.data(ModuleTreeModel::FullNameRole).toString(), name);
        QCOMPARE(model.indexOfNode(i.data(ModuleTreeModel::NodeRole).toInt()), i);
        // Statistics stay blank until they are supplied.
        for (int c = ModuleTreeModel::FirstStatsColumn; c < ModuleTreeModel::ColumnCount; ++c)
            QVERIFY(!i.siblingAtColumn(c).data().isValid());
    }

    void statsColumns()
    {
        const Opened o = open(test::fixture(QStringLiteral("sem_adam.pth")));
        ModuleTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setTree(o.ck, o.sem);
        const StatsBatch all = allStats(*o.ck);

        // Half first: a leaf with a result shows it, a module with one unknown tensor shows nothing yet.
        const QModelIndex weight = find(model, QStringLiteral("blocks.0.0.weight"));
        const QModelIndex bias = find(model, QStringLiteral("blocks.0.0.bias"));
        const QModelIndex linear = find(model, QStringLiteral("blocks.0.0"));
        const int wt = weight.data(ModuleTreeModel::TensorIndexRole).toInt();
        const int bt = bias.data(ModuleTreeModel::TensorIndexRole).toInt();
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setStats({ all[size_t(wt)] });
        QVERIFY(changed.count() >= 2); // the leaf's row range, then each ancestor's
        const TensorStats& ws = *all[size_t(wt)].stats;
        QCOMPARE(weight.siblingAtColumn(ModuleTreeModel::MeanColumn).data(ModuleTreeModel::SortRole).toDouble(), *ws.mean);
        QCOMPARE(weight.siblingAtColumn(ModuleTreeModel::L2Column).data(ModuleTreeModel::SortRole).toDouble(), ws.l2);
        QCOMPARE(weight.siblingAtColumn(ModuleTreeModel::MaxColumn).data().toString(), ModuleTreeModel::number(*ws.max));
        QVERIFY(!linear.siblingAtColumn(ModuleTreeModel::L2Column).data().isValid());
        QCOMPARE(model.statsKnown(), 1);

        model.setStats({ all[size_t(bt)] });
        const TensorStats& bs = *all[size_t(bt)].stats;
        QCOMPARE(linear.siblingAtColumn(ModuleTreeModel::L2Column).data(ModuleTreeModel::SortRole).toDouble(),
            std::sqrt(ws.l2 * ws.l2 + bs.l2 * bs.l2));
        QCOMPARE(linear.siblingAtColumn(ModuleTreeModel::MinColumn).data(ModuleTreeModel::SortRole).toDouble(),
            std::min(*ws.min, *bs.min));
        QCOMPARE(linear.siblingAtColumn(ModuleTreeModel::MaxColumn).data(ModuleTreeModel::SortRole).toDouble(),
            std::max(*ws.max, *bs.max));
        // A module's mean and std are those of all its parameter values together.
        std::vector<double> values;
        for (int t : { wt, bt }) {
            const QByteArray raw = *o.ck->tensorBytes(t);
            const auto* f = reinterpret_cast<const float*>(raw.constData());
            values.insert(values.end(), f, f + raw.size() / 4);
        }
        double mean = 0;
        for (double v : values)
            mean += v;
        mean /= double(values.size());
        double ss = 0;
        for (double v : values)
            ss += (v - mean) * (v - mean);
        const double std = std::sqrt(ss / double(values.size() - 1));
        QVERIFY(std::fabs(linear.siblingAtColumn(ModuleTreeModel::MeanColumn).data(ModuleTreeModel::SortRole).toDouble() - mean) < 1e-12);
        QVERIFY(std::fabs(linear.siblingAtColumn(ModuleTreeModel::StdColumn).data(ModuleTreeModel::SortRole).toDouble() - std) < 1e-12);

        // Everything: the top row has the whole model's L2, buffers left out of it; NaN/Inf counted.
        model.setStats(all);
        QCOMPARE(model.statsKnown(), model.tensorCount());
        double sumSquares = 0;
        for (const auto& [key, tensor] : o.sem->stateDicts[size_t(o.sem->primary)].entries)
            if (o.sem->roles.at(key) == TensorRole::Parameter)
                sumSquares += all[size_t(tensor)].stats->l2 * all[size_t(tensor)].stats->l2;
        const QModelIndex top = model.index(0, ModuleTreeModel::L2Column);
        QVERIFY(std::fabs(top.data(ModuleTreeModel::SortRole).toDouble() - std::sqrt(sumSquares)) < 1e-9);
        QCOMPARE(top.siblingAtColumn(ModuleTreeModel::NonFiniteColumn).data().toString(), QStringLiteral("0"));
        QCOMPARE(find(model, QStringLiteral("blocks.0.1.num_batches_tracked"))
                     .siblingAtColumn(ModuleTreeModel::MeanColumn)
                     .data(ModuleTreeModel::SortRole)
                     .toDouble(),
            2.0); // two training steps

        // A new tree forgets the statistics.
        model.setTree(o.ck, o.sem);
        QCOMPARE(model.statsKnown(), 0);
        QVERIFY(!model.index(0, ModuleTreeModel::L2Column).data().isValid());
        model.setTree(nullptr, nullptr);
        QCOMPARE(model.rowCount(), 0);
    }

    void search_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("mode");
        QTest::addColumn<int>("matches");
        QTest::addColumn<QStringList>("visible");
        QTest::addColumn<QStringList>("hidden");
        const auto list = [](std::initializer_list<const char*> items) {
            QStringList out;
            for (const char* s : items)
                out << QString::fromUtf8(s);
            return out;
        };
        const int text = int(MatchMode::Text), glob = int(MatchMode::Glob), regex = int(MatchMode::Regex);
        QTest::newRow("substring keeps ancestors")
            << "running_var" << text << 3 << list({ "blocks", "blocks.1", "blocks.1.1", "blocks.1.1.running_var" })
            << list({ "embed", "blocks.1.1.weight", "blocks.1.0" });
        QTest::newRow("substring is case-insensitive") << "EMBED" << text << 2 << list({ "embed.weight" }) << list({ "head" });
        QTest::newRow("matching module keeps its contents")
            << "blocks.2" << text << 13 << list({ "blocks.2.0.weight", "blocks.2.1.running_mean" }) << list({ "blocks.1" });
        QTest::newRow("glob over the whole name")
            << "blocks.*.3.weight" << glob << 3 << list({ "blocks.0.3.weight", "blocks.2.3.weight" })
            << list({ "blocks.0.0.weight", "blocks.0.3.bias", "head.weight" });
        QTest::newRow("glob is anchored") << "weight" << glob << 0 << QStringList() << list({ "embed", "blocks" });
        QTest::newRow("wildcards in text mode are unanchored")
            << "3.w*t" << text << 3 << list({ "blocks.1.3.weight" }) << list({ "blocks.1.0" });
        QTest::newRow("regex") << "^blocks\\.[12]\\.0\\.(weight|bias)$" << regex << 4
                               << list({ "blocks.1.0.weight", "blocks.2.0.bias" }) << list({ "blocks.0", "blocks.1.3" });
        QTest::newRow("no match hides everything") << "no such key" << text << 0 << QStringList() << list({ "embed" });
    }

    void search()
    {
        QFETCH(QString, pattern);
        QFETCH(int, mode);
        QFETCH(int, matches);
        QFETCH(QStringList, visible);
        QFETCH(QStringList, hidden);
        const Opened o = open(test::fixture(QStringLiteral("sem_adam.pth")));
        const ModuleTree& tree = o.sem->modules;
        const ModuleMatch m = matchModules(tree, pattern, MatchMode(mode));
        QVERIFY(m.error.isEmpty());
        QCOMPARE(int(m.matches.size()), matches);
        QCOMPARE(m.visible.size(), tree.nodes.size());
        const auto nodeOf = [&](const QString& name) {
            for (size_t i = 1; i < tree.nodes.size(); ++i)
                if (tree.nodes[i].fullName == name)
                    return int(i);
            return -1;
        };
        for (const QString& v : visible) {
            QVERIFY2(nodeOf(v) > 0, qPrintable(v));
            QVERIFY2(m.visible[size_t(nodeOf(v))], qPrintable(v));
        }
        for (const QString& h : hidden) {
            QVERIFY2(nodeOf(h) > 0, qPrintable(h));
            QVERIFY2(!m.visible[size_t(nodeOf(h))], qPrintable(h));
        }
        QCOMPARE(bool(m.visible[0]), matches > 0);
    }

    void searchErrors()
    {
        const Opened o = open(test::fixture(QStringLiteral("sem_adam.pth")));
        const ModuleMatch bad = matchModules(o.sem->modules, QStringLiteral("blocks.(0"), MatchMode::Regex);
        QVERIFY(!bad.error.isEmpty());
        QVERIFY(bad.visible.empty()); // nothing filtered
        // The same text is fine as a substring: parentheses mean nothing there.
        QVERIFY(matchModules(o.sem->modules, QStringLiteral("blocks.(0"), MatchMode::Text).error.isEmpty());
        QVERIFY(matchModules(o.sem->modules, QStringLiteral("  "), MatchMode::Regex).visible.empty());
    }

    void emptyModel()
    {
        ModuleTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.columnCount(), int(ModuleTreeModel::ColumnCount));
        QVERIFY(!model.index(0, 0).isValid());
        QCOMPARE(model.dump(), QString());
        // A file without a state dict gives no rows.
        const Opened o = open(test::fixture(QStringLiteral("nested.pth")));
        QVERIFY(o.ck);
        model.setTree(o.ck, o.sem);
        QCOMPARE(model.rowCount(), 0);
        model.setStats(allStats(*o.ck)); // ignored, no crash
    }
};

QTEST_GUILESS_MAIN(TestModuleTreeModel)
#include "tst_moduletreemodel.moc"
