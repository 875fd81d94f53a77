// Compare and check-load against torch (tests/gen_fixtures.py writes pairs and diff_truth.json: statuses,
// metrics computed by torch in float64, and what load_state_dict(strict=True) really raised).
#include "model/diff.h"
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <cmath>

using namespace ckpt;

class TestDiff : public QObject {
    Q_OBJECT
private slots:
    void pairsMatchTorch_data();
    void pairsMatchTorch();
    void loadVerdictsMatchTorch_data();
    void loadVerdictsMatchTorch();
    void suggestRules_data();
    void suggestRules();
    void cliExitCodes_data();
    void cliExitCodes();
    void tolerances();

private:
    static QJsonObject truth()
    {
        return QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("diff_truth.json")))).object();
    }
};

static bool near(double ours, double theirs)
{
    if (std::isinf(theirs))
        return std::isinf(ours);
    return std::fabs(ours - theirs) <= 1e-9 * std::fabs(theirs) + 1e-15;
}

void TestDiff::pairsMatchTorch_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QJsonObject>("expected");
    const QJsonObject all = truth();
    QVERIFY2(!all.isEmpty(), "diff_truth.json is missing or not valid JSON");
    for (auto it = all.begin(); it != all.end(); ++it)
        QTest::newRow(qPrintable(it.key())) << it.key() << it->toObject();
}

void TestDiff::pairsMatchTorch()
{
    QFETCH(QString, file);
    QFETCH(QJsonObject, expected);
    auto a = openCheckpoint(test::fixture(QStringLiteral("diff_a.pth")));
    auto b = openCheckpoint(test::fixture(file));
    QVERIFY(a && b);
    auto r = diffCheckpoints(**a, **b, DiffOptions {});
    QVERIFY(r);
    const QJsonObject status = expected[QLatin1String("status")].toObject();
    const QJsonObject metrics = expected[QLatin1String("metrics")].toObject();
    QCOMPARE(qsizetype(r->tensors.size()), status.size());
    for (const TensorDiff& d : r->tensors) {
        QVERIFY2(status.contains(d.key), qPrintable(d.key));
        QCOMPARE(diffStatusName(d.status), status[d.key].toString());
        if (!metrics.contains(d.key))
            continue;
        QVERIFY(d.metrics);
        const QJsonObject m = metrics[d.key].toObject();
        QVERIFY2(near(d.metrics->maxAbs, m[QLatin1String("max_abs")].toDouble()), qPrintable(d.key));
        QVERIFY2(near(d.metrics->meanAbs, m[QLatin1String("mean_abs")].toDouble()), qPrintable(d.key));
        const QJsonValue rel = m[QLatin1String("rel_l2")]; // "inf" when a is all zeros and b is not (JSON has no inf)
        QVERIFY2(near(d.metrics->relL2, rel.isString() ? INFINITY : rel.toDouble()), qPrintable(d.key));
        QCOMPARE(d.metrics->differing, m[QLatin1String("differing")].toInteger());
        QCOMPARE(d.metrics->cosine.has_value(), m.contains(QLatin1String("cosine")));
        if (d.metrics->cosine)
            QVERIFY2(near(*d.metrics->cosine, m[QLatin1String("cosine")].toDouble()), qPrintable(d.key));
    }
    // The DataParallel copy lines up only through the suggested rule, which is applied automatically.
    if (file == QLatin1String("diff_dp.pth")) {
        QCOMPARE(r->suggestedRules.size(), size_t(1));
        QCOMPARE(r->suggestedRules.front().pattern, QStringLiteral("^module\\."));
    }
}

void TestDiff::loadVerdictsMatchTorch_data()
{
    pairsMatchTorch_data();
}

void TestDiff::loadVerdictsMatchTorch()
{
    QFETCH(QString, file);
    QFETCH(QJsonObject, expected);
    auto ref = openCheckpoint(test::fixture(QStringLiteral("diff_a.pth")));
    auto ck = openCheckpoint(test::fixture(file));
    QVERIFY(ref && ck);
    auto c = checkLoad(**ck, **ref);
    QVERIFY(c);
    const QJsonObject torch = expected[QLatin1String("load")].toObject();
    QStringList missing = c->missing, unexpected = c->unexpected;
    QStringList wantMissing = torch[QLatin1String("missing")].toVariant().toStringList();
    QStringList wantUnexpected = torch[QLatin1String("unexpected")].toVariant().toStringList();
    for (QStringList* l : { &missing, &unexpected, &wantMissing, &wantUnexpected })
        l->sort();
    QCOMPARE(missing, wantMissing);
    QCOMPARE(unexpected, wantUnexpected);
    const QJsonArray mismatch = torch[QLatin1String("size_mismatch")].toArray();
    QCOMPARE(qsizetype(c->sizeMismatch.size()), mismatch.size());
    for (qsizetype i = 0; i < mismatch.size(); ++i) {
        const QJsonObject m = mismatch[i].toObject();
        QCOMPARE(c->sizeMismatch[size_t(i)].key, m[QLatin1String("key")].toString());
        QJsonArray shape;
        for (auto x : c->sizeMismatch[size_t(i)].shape)
            shape.append(qint64(x));
        QCOMPARE(shape, m[QLatin1String("shape")].toArray());
    }
    if (file == QLatin1String("diff_dp.pth")) {
        QVERIFY(c->suggestion.contains(QLatin1String("module.")));
        auto fixed = checkLoad(**ck, **ref, c->suggestedRules);
        QVERIFY(fixed && fixed->loads());
    }
}

void TestDiff::suggestRules_data()
{
    QTest::addColumn<QStringList>("a");
    QTest::addColumn<QStringList>("b");
    QTest::addColumn<QStringList>("patterns");
    const QStringList plain { QStringLiteral("x.weight"), QStringLiteral("y.bias") };
    QTest::newRow("module on a") << QStringList { QStringLiteral("module.x.weight"), QStringLiteral("module.y.bias") } << plain
                                 << QStringList { QStringLiteral("^module\\.") };
    QTest::newRow("compile on b") << plain << QStringList { QStringLiteral("_orig_mod.x.weight"), QStringLiteral("_orig_mod.y.bias") }
                                  << QStringList { QStringLiteral("^_orig_mod\\.") };
    QTest::newRow("both wrappers") << QStringList { QStringLiteral("module._orig_mod.x.weight") } << QStringList { QStringLiteral("x.weight") }
                                   << QStringList { QStringLiteral("^module\\."), QStringLiteral("^_orig_mod\\.") };
    QTest::newRow("same prefix on both: nothing") << QStringList { QStringLiteral("model.x") } << QStringList { QStringLiteral("model.y") } << QStringList {};
    QTest::newRow("partial prefix: nothing") << QStringList { QStringLiteral("module.x"), QStringLiteral("y") } << plain << QStringList {};
}

void TestDiff::suggestRules()
{
    QFETCH(QStringList, a);
    QFETCH(QStringList, b);
    QFETCH(QStringList, patterns);
    QStringList got;
    for (const auto& r : ckpt::suggestRules(a, b))
        got << r.pattern;
    QCOMPARE(got, patterns);
}

void TestDiff::cliExitCodes_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    const QString a = test::fixture(QStringLiteral("diff_a.pth"));
    QTest::newRow("identical: 0") << QStringList { QStringLiteral("diff"), a, test::fixture(QStringLiteral("diff_a_again.pth")) } << 0;
    QTest::newRow("trained: 1") << QStringList { QStringLiteral("diff"), a, test::fixture(QStringLiteral("diff_step.pth")) } << 1;
    QTest::newRow("dataparallel: 0 after the suggested rule") << QStringList { QStringLiteral("diff"), a, test::fixture(QStringLiteral("diff_dp.pth")) } << 0;
    QTest::newRow("explicit rule that does not help: 1") << QStringList { QStringLiteral("diff"), QStringLiteral("--strip-prefix"), QStringLiteral("zzz."), a, test::fixture(QStringLiteral("diff_dp.pth")) } << 1;
    QTest::newRow("missing file: 2") << QStringList { QStringLiteral("diff"), a, QStringLiteral("/nonexistent.pth") } << 2;
    QTest::newRow("check-load ok: 0") << QStringList { QStringLiteral("check-load"), test::fixture(QStringLiteral("diff_half.pth")), QStringLiteral("--into"), a } << 0;
    QTest::newRow("check-load pruned: 1") << QStringList { QStringLiteral("check-load"), test::fixture(QStringLiteral("diff_pruned.pth")), QStringLiteral("--into"), a } << 1;
    QTest::newRow("check-load with the fix: 0") << QStringList { QStringLiteral("check-load"), QStringLiteral("--strip-prefix"), QStringLiteral("module."),
        test::fixture(QStringLiteral("diff_dp.pth")), QStringLiteral("--into"), a } << 0;
    QTest::newRow("check-load without --into: 1") << QStringList { QStringLiteral("check-load"), a } << 1;
}

void TestDiff::cliExitCodes()
{
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QProcess p;
    p.start(QStringLiteral(CKPTLENS_CLI), args + QStringList { QStringLiteral("--json") });
    QVERIFY(p.waitForFinished(60'000));
    QCOMPARE(p.exitCode(), code);
    const bool usageError = args.first() == QLatin1String("check-load") && !args.contains(QStringLiteral("--into"));
    if (code < 2 && !usageError) { // a usage error prints no JSON
        const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        QVERIFY(o.contains(QLatin1String("summary")) || o.contains(QLatin1String("missing")));
    }
}

void TestDiff::tolerances()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto a = openCheckpoint(test::fixture(QStringLiteral("diff_a.pth")));
    auto b = openCheckpoint(test::fixture(QStringLiteral("diff_step.pth")));
    QVERIFY(a && b);
    DiffOptions loose;
    loose.atol = 1.0; // one SGD step moves weights far less than 1
    auto r = diffCheckpoints(**a, **b, loose);
    QVERIFY(r);
    QCOMPARE(r->counts[DiffStatus::Different], 0);
    QCOMPARE(r->counts[DiffStatus::Close], 26);
    QVERIFY(!r->anyDifference());
}

QTEST_GUILESS_MAIN(TestDiff)
#include "tst_diff.moc"
