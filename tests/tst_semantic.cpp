// The semantic view against what the fixture generator knew when it saved each file (semantic_truth.json):
// which dict is the model's state dict, parameters against buffers, the optimizer's ids mapped to parameter
// names, the optimizer family, the repeated block, and the banner findings.
#include "model/semantic.h"
#include "model/semanticreport.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace ckpt;

class TestSemantic : public QObject {
    Q_OBJECT
private slots:
    void matchesTruth_data();
    void matchesTruth();
    void moduleTreeOrderAndAggregates();
    void findingsOnOtherFixtures_data();
    void findingsOnOtherFixtures();
    void wholeModelPickle();
};

static QStringList strings(const QJsonValue& v)
{
    return v.toVariant().toStringList();
}

void TestSemantic::matchesTruth_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QJsonObject>("truth");
    const QJsonObject all = QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("semantic_truth.json")))).object();
    QVERIFY(all.size() >= 6);
    for (auto it = all.begin(); it != all.end(); ++it)
        QTest::newRow(qPrintable(it.key())) << it.key() << it->toObject();
}

void TestSemantic::matchesTruth()
{
    QFETCH(QString, file);
    QFETCH(QJsonObject, truth);
    auto ck = openCheckpoint(test::fixture(file));
    QVERIFY(ck);
    const Semantic sem = analyze(**ck);
    QVERIFY(sem.primary >= 0);
    const StateDictRef& sd = sem.stateDicts[size_t(sem.primary)];
    QCOMPARE(sd.path, strings(truth[QLatin1String("state_dict_path")]));

    QStringList params, buffers;
    for (const auto& [key, role] : sem.roles)
        (role == TensorRole::Parameter ? params : buffers) << key;
    params.sort();
    buffers.sort();
    QCOMPARE(params, strings(truth[QLatin1String("parameters")]));
    QCOMPARE(buffers, strings(truth[QLatin1String("buffers")]));

    QCOMPARE(sem.optimizers.size(), size_t(1));
    const OptimizerInfo& opt = sem.optimizers.front();
    QCOMPARE(opt.kind, truth[QLatin1String("optimizer_kind")].toString());
    if (truth[QLatin1String("optimizer")].isNull()) {
        QVERIFY(!opt.mapped);
        QVERIFY(!opt.mappingNote.isEmpty());
        for (const auto& p : opt.params)
            QVERIFY(p.parameter.isEmpty());
    } else {
        QVERIFY2(opt.mapped, qPrintable(opt.mappingNote));
        QStringList mapped;
        for (const auto& p : opt.params)
            mapped << p.parameter;
        QCOMPARE(mapped, strings(truth[QLatin1String("optimizer")]));
        // Each parameter with state carries the fields its optimizer keeps.
        const QString expectField = opt.kind == QLatin1String("SGD") ? QStringLiteral("momentum_buffer") : QStringLiteral("exp_avg");
        bool sawField = false;
        for (const auto& p : opt.params)
            for (const auto& f : p.fields)
                sawField = sawField || f.first == expectField;
        QVERIFY(sawField || opt.kind == QLatin1String("SGD"));
    }
    QCOMPARE(sem.modules.repeatedCount, truth[QLatin1String("layers")].toInt());
    QVERIFY(sem.modules.repeatedBlock.endsWith(QLatin1String("blocks")));

    QStringList kinds;
    for (const auto& f : sem.findings)
        kinds << findingKindName(f.kind);
    for (const QString& want : strings(truth[QLatin1String("findings")]))
        QVERIFY2(kinds.contains(want), qPrintable(want + QStringLiteral(" missing from ") + kinds.join(QLatin1Char(','))));
    for (const QString& unexpected : { QStringLiteral("dataparallel-prefix"), QStringLiteral("compile-prefix"), QStringLiteral("tied-weights") })
        if (!strings(truth[QLatin1String("findings")]).contains(unexpected))
            QVERIFY2(!kinds.contains(unexpected), qPrintable(unexpected));
}

void TestSemantic::moduleTreeOrderAndAggregates()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto ck = openCheckpoint(test::fixture(QStringLiteral("many.pth"))); // layers.0 ... layers.1249
    QVERIFY(ck);
    const Semantic sem = analyze(**ck);
    const ModuleTree& t = sem.modules;
    const ModuleNode& layers = t.nodes[size_t(t.nodes.front().children.front())];
    QCOMPARE(layers.name, QStringLiteral("layers"));
    QCOMPARE(layers.children.size(), size_t(1250));
    QStringList firstNames;
    for (int i = 0; i < 12; ++i)
        firstNames << t.nodes[size_t(layers.children[size_t(i)])].name;
    QCOMPARE(firstNames.join(QLatin1Char(',')), QStringLiteral("0,1,2,3,4,5,6,7,8,9,10,11"));
    QCOMPARE(layers.parameters, 5000 * 3);
    QCOMPARE(layers.tensors, 5000);
    QCOMPARE(layers.bytes, 5000 * 3 * 4);
    QCOMPARE(t.repeatedCount, 1250);
    QCOMPARE(t.repeatedBlock, QStringLiteral("layers"));
    QCOMPARE(layers.dtypeMask, std::uint64_t(1) << int(DType::Float32));
}

void TestSemantic::findingsOnOtherFixtures_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("kind");
    QTest::addColumn<bool>("present");
    QTest::newRow("saved from cuda:0") << QStringLiteral("training_cuda.pth") << QStringLiteral("saved-on-gpu") << true;
    QTest::newRow("cpu save has no gpu note") << QStringLiteral("training.pth") << QStringLiteral("saved-on-gpu") << false;
    QTest::newRow("mixed dtypes") << QStringLiteral("dtypes.pth") << QStringLiteral("mixed-dtypes") << true;
    QTest::newRow("single dtype") << QStringLiteral("state_dict.pth") << QStringLiteral("mixed-dtypes") << false;
}

void TestSemantic::findingsOnOtherFixtures()
{
    QFETCH(QString, file);
    QFETCH(QString, kind);
    QFETCH(bool, present);
    auto ck = openCheckpoint(test::fixture(file));
    QVERIFY(ck);
    const Semantic sem = analyze(**ck);
    bool found = false;
    for (const auto& f : sem.findings)
        found = found || findingKindName(f.kind) == kind;
    QCOMPARE(found, present);
}

void TestSemantic::wholeModelPickle()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto ck = openCheckpoint(test::fixture(QStringLiteral("whole_model.pth")));
    QVERIFY(ck);
    const Semantic sem = analyze(**ck);
    QVERIFY(sem.primary >= 0);
    QStringList keys;
    for (const auto& e : sem.stateDicts[size_t(sem.primary)].entries)
        keys << e.first;
    QCOMPARE(keys.join(QLatin1Char(',')),
        QStringLiteral("conv.weight,conv.bias,bn.weight,bn.bias,bn.running_mean,bn.running_var,bn.num_batches_tracked,fc.weight,fc.bias"));
    QCOMPARE(sem.roles.at(QStringLiteral("bn.running_mean")), TensorRole::Buffer);
    QCOMPARE(sem.roles.at(QStringLiteral("fc.weight")), TensorRole::Parameter);
}

QTEST_GUILESS_MAIN(TestSemantic)
#include "tst_semantic.moc"
