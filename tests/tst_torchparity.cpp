// What we read must be what torch reads: every fixture written by torch (tests/gen_fixtures.py) and every real
// checkpoint in ../shared/fixtures/external is compared tensor by tensor with torch.load's view of it
// (tests/torch_dump.py): paths, dtypes, shapes, strides, offsets, flags, saved device, storage sharing and a
// sha256 of the elements.
#include "io/checkpoint.h"
#include "model/summary.h"
#include "model/tensorlist.h"
#include "testutil.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <map>

using namespace ckpt;

class TestTorchParity : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void generated_data();
    void generated();
    void external_data();
    void external();

private:
    void compare(const QString& path, const QJsonObject& expected);
    void addRows(const QJsonObject& all);
    QJsonObject m_generated;
    QJsonObject m_external;
    QString m_externalSkip;
};

static QJsonObject loadJson(const QString& path)
{
    return QJsonDocument::fromJson(test::readAll(path)).object();
}

static QJsonArray intsJson(const std::vector<std::int64_t>& v)
{
    QJsonArray a;
    for (auto x : v)
        a.append(qint64(x));
    return a;
}

void TestTorchParity::initTestCase()
{
    m_generated = loadJson(test::fixture(QStringLiteral("expected.json")));

    const QString ext = test::externalDir();
    if (!QFileInfo(ext).isDir()) {
        m_externalSkip = QStringLiteral("%1 is absent (a clone without ../shared): no external fixtures").arg(ext);
        return;
    }
    if (!QFileInfo::exists(QStringLiteral(CKPTLENS_TORCH_PYTHON))) {
        m_externalSkip = QStringLiteral("no torch interpreter at " CKPTLENS_TORCH_PYTHON);
        return;
    }
    QStringList files;
    QDirIterator it(ext, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString f = it.next();
        if (!f.endsWith(QLatin1String(".md")))
            files << QFileInfo(f).absoluteFilePath();
    }
    files.sort();
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("external.json"));
    QProcess py;
    py.start(QStringLiteral(CKPTLENS_TORCH_PYTHON),
        QStringList { QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/torch_dump.py"), out } + files);
    QVERIFY(py.waitForFinished(600'000));
    if (py.exitCode() != 0) {
        const QString err = QString::fromUtf8(py.readAllStandardError());
        if (err.contains(QLatin1String("No module named 'torch'"))) {
            m_externalSkip = QStringLiteral("torch is not installed for " CKPTLENS_TORCH_PYTHON);
            return;
        }
        QFAIL(qPrintable(QStringLiteral("torch_dump.py failed: ") + err));
    }
    m_external = loadJson(out);
    QVERIFY2(m_external.size() == files.size(), "torch_dump.py must report on every external file");
}

void TestTorchParity::addRows(const QJsonObject& all)
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QJsonObject>("expected");
    for (auto it = all.begin(); it != all.end(); ++it)
        QTest::newRow(qPrintable(QFileInfo(it.key()).dir().dirName() + QLatin1Char('/') + QFileInfo(it.key()).fileName()))
            << it.key() << it->toObject();
}

void TestTorchParity::generated_data()
{
    if (m_generated.isEmpty())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    addRows(m_generated);
}

void TestTorchParity::generated()
{
    QFETCH(QString, path);
    QFETCH(QJsonObject, expected);
    compare(path, expected);
}

void TestTorchParity::external_data()
{
    if (!m_externalSkip.isEmpty())
        QSKIP(qPrintable(m_externalSkip));
    addRows(m_external);
}

void TestTorchParity::external()
{
    QFETCH(QString, path);
    QFETCH(QJsonObject, expected);
    compare(path, expected);
}

void TestTorchParity::compare(const QString& path, const QJsonObject& expected)
{
    auto opened = openCheckpoint(path);
    if (expected.contains(QLatin1String("error"))) {
        // torch refuses the file: we must refuse it too, with a message naming the file.
        QVERIFY2(!opened, qPrintable(QStringLiteral("torch refused it (%1) but we opened it").arg(expected[QLatin1String("error")].toString())));
        QVERIFY(opened.error().message().contains(QFileInfo(path).fileName()));
        return;
    }
    QVERIFY2(opened, qPrintable(opened ? QString() : opened.error().message()));
    const Checkpoint& ck = **opened;
    if (expected.value(QLatin1String("torchscript")).toBool()) {
        QVERIFY(ck.torchScript);
        return;
    }

    const auto ours = listTensors(ck);
    const QJsonArray theirs = expected[QLatin1String("tensors")].toArray();
    QCOMPARE(qsizetype(ours.size()), theirs.size());
    std::map<int, int> torchGroupToStorage, storageToTorchGroup;
    for (qsizetype i = 0; i < theirs.size(); ++i) {
        const QJsonObject e = theirs[i].toObject();
        const TensorEntry& entry = ours[size_t(i)];
        const TensorInfo& t = ck.tensors[size_t(entry.tensor)];
        const QString where = e[QLatin1String("path")].toVariant().toStringList().join(QLatin1Char('/'));
        QVERIFY2(t.error.isEmpty(), qPrintable(where + QStringLiteral(": ") + t.error));
        QCOMPARE(QJsonArray::fromStringList(entry.path), e[QLatin1String("path")].toArray());
        QCOMPARE(dtypeName(t.dtype), e[QLatin1String("dtype")].toString());
        QCOMPARE(intsJson(t.shape), e[QLatin1String("shape")].toArray());
        QCOMPARE(intsJson(t.stride), e[QLatin1String("stride")].toArray());
        QCOMPARE(qint64(t.storageOffset), e[QLatin1String("storage_offset")].toInteger());
        QCOMPARE(t.requiresGrad, e[QLatin1String("requires_grad")].toBool());
        QCOMPARE(t.parameter, e[QLatin1String("parameter")].toBool());
        if (e[QLatin1String("device")].isString())
            QCOMPARE(ck.storages[size_t(t.storage)].location, e[QLatin1String("device")].toString());
        auto bytes = ck.tensorBytes(entry.tensor);
        QVERIFY2(bytes, qPrintable(where));
        QCOMPARE(QString::fromLatin1(QCryptographicHash::hash(*bytes, QCryptographicHash::Sha256).toHex()),
            e[QLatin1String("sha256")].toString());
        // Storage sharing must be the same relation on both sides (tied weights, views).
        if (t.numel() > 0) {
            const int group = e[QLatin1String("group")].toInt();
            auto [a, newA] = torchGroupToStorage.emplace(group, t.storage);
            auto [b, newB] = storageToTorchGroup.emplace(t.storage, group);
            QVERIFY2(a->second == t.storage && b->second == group, qPrintable(where + QStringLiteral(": storage sharing differs from torch")));
            Q_UNUSED(newA);
            Q_UNUSED(newB);
        }
    }
    const QJsonArray keys = expected[QLatin1String("top_level_keys")].toArray();
    if (!keys.isEmpty()) {
        const CheckpointSummary all = summarize(ck);
        QCOMPARE(QJsonArray::fromStringList(all.topLevelKeys), keys);
        QCOMPARE(all.topLevelKeyCount, qint64(keys.size()));
        // The text summary's shorter list: the first keys, the whole count.
        const CheckpointSummary few = summarize(ck, 2);
        QCOMPARE(few.topLevelKeys, all.topLevelKeys.mid(0, 2));
        QCOMPARE(few.topLevelKeyCount, all.topLevelKeyCount);
    }
}

QTEST_GUILESS_MAIN(TestTorchParity)
#include "tst_torchparity.moc"
