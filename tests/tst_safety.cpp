// The safety scan: a corpus of malicious files (tests/gen_malicious.py: os.system, exec, eval through getattr,
// subprocess, protocol-0 text, memoized STACK_GLOBAL, payloads in backward hooks, optimizer state, extra zip
// records) must be reported dangerous, where the payload sits, and opening or scanning them must never run it
// (a canary file that must not appear). Clean files must be "safe" exactly when torch's weights_only loader
// accepts their globals.
#include "model/objecttreemodel.h"
#include "model/safety.h"
#include "model/tensorlist.h"
#include "testutil.h"

#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

using namespace ckpt;

class TestSafety : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void malicious_data();
    void malicious();
    void clean_data();
    void clean();
    void external_data();
    void external();
    void classification_data();
    void classification();
    void cliExitCodes();
    void cleanupTestCase();

private:
    QJsonObject m_malicious;
    QString m_canary;
};

void TestSafety::initTestCase()
{
    m_malicious = QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("malicious/expected.json")))).object();
    m_canary = m_malicious[QLatin1String("canary")].toString();
    if (!m_canary.isEmpty())
        QFile::remove(m_canary);
}

void TestSafety::malicious_data()
{
    if (m_malicious.isEmpty())
        QSKIP("no malicious corpus: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QStringList>("dangerous");
    const QJsonObject files = m_malicious[QLatin1String("files")].toObject();
    QVERIFY(files.size() >= 14);
    for (auto it = files.begin(); it != files.end(); ++it)
        QTest::newRow(qPrintable(it.key())) << test::fixture(QStringLiteral("malicious/") + it.key()) << it->toVariant().toStringList();
}

void TestSafety::malicious()
{
    QFETCH(QString, file);
    QFETCH(QStringList, dangerous);
    auto report = scanFile(file);
    QVERIFY2(report, report ? "" : qPrintable(report.error().message()));
    QCOMPARE(report->verdict, SafetyClass::Dangerous);
    QStringList found;
    for (const auto& g : report->globals)
        if (g.cls == SafetyClass::Dangerous)
            found << g.module + QLatin1Char('.') + g.name;
    for (const QString& alternatives : dangerous) {
        const QStringList any = alternatives.split(QLatin1Char('|'));
        QVERIFY2(std::any_of(any.begin(), any.end(), [&](const QString& a) { return found.contains(a); }),
            qPrintable(alternatives + QStringLiteral(" not reported; found ") + found.join(QLatin1Char(','))));
    }
    // The report says where: the first dangerous call has a location unless it was built through getattr.
    if (!file.contains(QLatin1String("getattr")))
        QVERIFY(!report->globals.front().locations.isEmpty());
    // Opening, listing and showing the file never runs it either.
    auto ck = openCheckpoint(file);
    if (ck) {
        listTensors(**ck);
        ObjectTreeModel model;
        model.setCheckpoint(*ck);
        model.dump();
    }
    QVERIFY2(!QFileInfo::exists(m_canary), "a payload ran: the canary file exists");
}

void TestSafety::clean_data()
{
    const QJsonObject wo = QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("weights_only.json")))).object();
    if (wo.isEmpty())
        QSKIP("no torch-written fixtures");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("torch");
    for (auto it = wo.begin(); it != wo.end(); ++it)
        QTest::newRow(qPrintable(it.key())) << test::fixture(it.key()) << it->toString();
}

void TestSafety::clean()
{
    QFETCH(QString, file);
    QFETCH(QString, torch);
    auto report = scanFile(file);
    QVERIFY(report);
    QVERIFY(report->verdict != SafetyClass::Dangerous);
    if (torch == QLatin1String("accepted"))
        QCOMPARE(safetyClassName(report->verdict), QStringLiteral("safe"));
    else if (torch == QLatin1String("refused-global"))
        QCOMPARE(safetyClassName(report->verdict), QStringLiteral("unknown"));
}

void TestSafety::external_data()
{
    if (!QFileInfo(test::externalDir()).isDir())
        QSKIP(qPrintable(QStringLiteral("%1 is absent (a clone without ../shared)").arg(test::externalDir())));
    QTest::addColumn<QString>("file");
    QDirIterator it(test::externalDir(), QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString f = it.next();
        if (!f.endsWith(QLatin1String(".md")))
            QTest::newRow(qPrintable(QFileInfo(f).fileName())) << f;
    }
}

void TestSafety::external()
{
    QFETCH(QString, file);
    auto report = scanFile(file);
    if (!report) { // not a checkpoint at all (a PNG): typed error, nothing scanned
        QVERIFY(report.error().kind == ErrorKind::NotACheckpoint || report.error().kind == ErrorKind::BadZip);
        return;
    }
    QVERIFY2(report->verdict != SafetyClass::Dangerous, QJsonDocument(safetyToJson(*report)).toJson().constData());
}

void TestSafety::classification_data()
{
    QTest::addColumn<QString>("module");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* m, const char* n, const char* c) { QTest::addRow("%s.%s", m, n) << QString::fromLatin1(m) << QString::fromLatin1(n) << QString::fromLatin1(c); };
    row("torch._utils", "_rebuild_tensor_v2", "safe");
    row("torch", "BFloat16Storage", "safe");
    row("torch", "float8_e4m3fn", "safe");
    row("collections", "OrderedDict", "safe");
    row("torch", "Size", "safe");
    row("argparse", "Namespace", "unknown");
    row("numpy.core.multiarray", "scalar", "unknown");
    row("mypackage.models", "Transformer", "unknown");
    row("pathlib", "PosixPath", "unknown");
    row("os", "system", "dangerous");
    row("nt", "system", "dangerous");
    row("posix", "execv", "dangerous");
    row("builtins", "eval", "dangerous");
    row("__builtin__", "getattr", "dangerous");
    row("subprocess", "check_output", "dangerous");
    row("importlib.util", "spec_from_file_location", "dangerous");
    row("shutil", "rmtree", "dangerous");
    row("socket", "create_connection", "dangerous");
    row("pickle", "loads", "dangerous");
    row("marshal", "loads", "dangerous");
    row("torch.storage", "_load_from_bytes", "dangerous");
    row("operator", "attrgetter", "dangerous");
}

void TestSafety::classification()
{
    QFETCH(QString, module);
    QFETCH(QString, name);
    QFETCH(QString, expected);
    QCOMPARE(safetyClassName(classifyGlobal(module, name)), expected);
}

void TestSafety::cliExitCodes()
{
    if (m_malicious.isEmpty())
        QSKIP("no corpus");
    auto run = [](const QStringList& args) {
        QProcess p;
        p.start(QStringLiteral(CKPTLENS_CLI), QStringList { QStringLiteral("scan"), QStringLiteral("--json") } + args);
        p.waitForFinished(60'000);
        return std::pair { p.exitCode(), p.readAllStandardOutput() };
    };
    auto [safeCode, safeOut] = run({ test::fixture(QStringLiteral("state_dict.pth")) });
    QCOMPARE(safeCode, 0);
    QCOMPARE(QJsonDocument::fromJson(safeOut).object()[QLatin1String("verdict")].toString(), QStringLiteral("safe"));
    auto [badCode, badOut] = run({ test::fixture(QStringLiteral("state_dict.pth")), test::fixture(QStringLiteral("malicious/os_system.pkl")) });
    QCOMPARE(badCode, 1);
    const QJsonArray both = QJsonDocument::fromJson(badOut).array();
    QCOMPARE(both.size(), 2);
    QCOMPARE(both[1].toObject()[QLatin1String("verdict")].toString(), QStringLiteral("dangerous"));
    QCOMPARE(run({ QStringLiteral("/nonexistent.pth") }).first, 2);
}

void TestSafety::cleanupTestCase()
{
    QVERIFY2(m_canary.isEmpty() || !QFileInfo::exists(m_canary), "a payload ran");
}

QTEST_GUILESS_MAIN(TestSafety)
#include "tst_safety.moc"
