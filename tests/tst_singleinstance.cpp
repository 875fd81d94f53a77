// One running viewer per user and display: paths handed over the local socket arrive absolute and in order, a
// stale socket file of a crashed instance does not block the next start, a live instance is never taken over,
// malformed requests are dropped; end to end, a second `ckptlens FILE` exits 0 and the running process opens FILE,
// also after the first instance was killed; --new-instance starts a separate process.
// Every test uses its own socket name (CKPTLENS_INSTANCE_NAME for the executables), never the user's.
#include "testutil.h"
#include "widgets/singleinstance.h"

#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUuid>

#include <future>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace ckpt;

namespace {

QString uniqueName()
{
    return QStringLiteral("ckptlens-test-%1").arg(QUuid::createUuid().toString(QUuid::Id128).left(16));
}

// The handoff blocks (it is what a second process does before it has an event loop), so it runs on a thread while
// this one serves.
SingleInstance::Handoff handOffServing(const QString& name, const QStringList& paths)
{
    auto result = std::async(std::launch::async, [=] { return SingleInstance::handOff(name, paths); });
    while (result.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    return result.get();
}

// What a crashed instance leaves behind: a bound Unix socket file that nobody listens on.
bool leaveStaleSocket(const QString& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    const QByteArray p = QFile::encodeName(path);
    if (size_t(p.size()) >= sizeof(addr.sun_path)) {
        ::close(fd);
        return false;
    }
    std::memcpy(addr.sun_path, p.constData(), size_t(p.size()));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok && QFileInfo::exists(path);
}

QString guiExecutable()
{
    return QFileInfo(QStringLiteral(CKPTLENS_CLI)).absolutePath() + QStringLiteral("/ckptlens");
}

QString sample()
{
    return QFileInfo(QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth"))
        .absoluteFilePath();
}

} // namespace

class TestSingleInstance : public QObject {
    Q_OBJECT

private slots:
    void nameIsPerUserAndOverridable()
    {
        qunsetenv("CKPTLENS_INSTANCE_NAME");
        const QString name = SingleInstance::defaultName();
        QVERIFY2(name.startsWith(QStringLiteral("ckptlens-%1-").arg(::getuid())), qPrintable(name));
        QCOMPARE(SingleInstance::defaultName(), name); // stable across calls (and processes: no seeded hash)
        qputenv("CKPTLENS_INSTANCE_NAME", "ckptlens-test-forced");
        QCOMPARE(SingleInstance::defaultName(), QStringLiteral("ckptlens-test-forced"));
        qunsetenv("CKPTLENS_INSTANCE_NAME");
    }

    void nobodyListening()
    {
        QCOMPARE(SingleInstance::handOff(uniqueName(), { sample() }), SingleInstance::Handoff::NoInstance);
    }

    void delivers_data()
    {
        QTest::addColumn<QStringList>("paths");
        QTest::addColumn<QStringList>("expected");
        const QString cwd = QDir::currentPath();
        QTest::newRow("no files: a window") << QStringList {} << QStringList {};
        QTest::newRow("one absolute") << QStringList { sample() } << QStringList { sample() };
        QTest::newRow("relative made absolute")
            << QStringList { QStringLiteral("x/model.pth") } << QStringList { cwd + QStringLiteral("/x/model.pth") };
        QTest::newRow("several, in order, spaces and non-ASCII")
            << QStringList { QStringLiteral("/tmp/a b.pth"), QStringLiteral("/tmp/ünï.safetensors"), sample() }
            << QStringList { QStringLiteral("/tmp/a b.pth"), QStringLiteral("/tmp/ünï.safetensors"), sample() };
    }

    void delivers()
    {
        QFETCH(QStringList, paths);
        QFETCH(QStringList, expected);
        const QString name = uniqueName();
        SingleInstance server;
        QCOMPARE(server.listen(name), SingleInstance::ListenResult::Listening);
        QSignalSpy spy(&server, &SingleInstance::openRequested);
        QCOMPARE(handOffServing(name, paths), SingleInstance::Handoff::Delivered);
        QTRY_COMPARE(spy.count(), 1);
        QCOMPARE(spy.first().first().toStringList(), expected);
    }

    void staleSocketDoesNotBlock()
    {
        const QString name = uniqueName();
        const QString path = QDir::tempPath() + QLatin1Char('/') + name;
        QVERIFY(leaveStaleSocket(path));
        QCOMPARE(SingleInstance::handOff(name, {}), SingleInstance::Handoff::NoInstance);
        SingleInstance server;
        QCOMPARE(server.listen(name), SingleInstance::ListenResult::Listening);
        QSignalSpy spy(&server, &SingleInstance::openRequested);
        QCOMPARE(handOffServing(name, { sample() }), SingleInstance::Handoff::Delivered);
        QTRY_COMPARE(spy.count(), 1);
    }

    void liveInstanceIsNotTakenOver()
    {
        const QString name = uniqueName();
        SingleInstance first;
        QCOMPARE(first.listen(name), SingleInstance::ListenResult::Listening);
        QSignalSpy spy(&first, &SingleInstance::openRequested);
        SingleInstance second;
        // listen() probes the name first: a live instance answers (the kernel accepts for it), so it stays.
        QCOMPARE(second.listen(name), SingleInstance::ListenResult::AnotherInstance);
        QCOMPARE(handOffServing(name, { sample() }), SingleInstance::Handoff::Delivered);
        QTRY_COMPARE(spy.count(), 1);
    }

    void malformedRequestsAreDropped_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("wrong greeting") << QByteArray("open please\n/etc/passwd\n\n");
        QTest::newRow("greeting of another version") << QByteArray("ckptlens-open 2\n/x.pth\n\n");
        QTest::newRow("too long") << QByteArray("ckptlens-open 1\n") + QByteArray(SingleInstance::kMaxMessage + 10, 'a');
    }

    void malformedRequestsAreDropped()
    {
        QFETCH(QByteArray, message);
        const QString name = uniqueName();
        SingleInstance server;
        QCOMPARE(server.listen(name), SingleInstance::ListenResult::Listening);
        QSignalSpy spy(&server, &SingleInstance::openRequested);
        QLocalSocket client;
        client.connectToServer(name);
        QVERIFY(client.waitForConnected(2000));
        client.write(message);
        QTRY_COMPARE(client.state(), QLocalSocket::UnconnectedState);
        QCOMPARE(client.readAll(), QByteArray()); // no "ok"
        QCOMPARE(spy.count(), 0);
    }

    // The real executables: the first listens, a second launch hands FILE over and exits 0, the first opens it.
    void endToEnd()
    {
        if (!QFileInfo::exists(guiExecutable()))
            QSKIP("the ckptlens executable is not built (build the ckptlens target)");
        QTemporaryDir home;
        QVERIFY(home.isValid());
        const QString name = uniqueName();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("CKPTLENS_INSTANCE_NAME"), name);
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("XDG_STATE_HOME"), home.filePath(QStringLiteral("state")));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), home.filePath(QStringLiteral("config")));
        const QString log = home.filePath(QStringLiteral("state/ckptlens/ckptlens.log"));
        const auto start = [&](QProcess& p, const QStringList& args) {
            p.setProcessEnvironment(env);
            p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
            p.start(guiExecutable(), args);
            return p.waitForStarted(10'000);
        };
        const auto logText = [&] { return QString::fromUtf8(test::readAll(log)); };

        for (int round = 0; round < 2; ++round) {
            QFile::remove(log); // each round reads what its own processes wrote
            QProcess first;
            QVERIFY(start(first, { QStringLiteral("--log-level"), QStringLiteral("info") }));
            // Listening once a hand-off gets through (it asks for a window: harmless).
            QTRY_VERIFY_WITH_TIMEOUT(SingleInstance::handOff(name, {}) == SingleInstance::Handoff::Delivered, 30'000);
            if (round == 1)
                QVERIFY2(logText().contains(QStringLiteral("removing the stale instance socket")), qPrintable(logText()));

            QProcess second;
            QVERIFY(start(second, { sample() }));
            QVERIFY(second.waitForFinished(30'000));
            QCOMPARE(second.exitStatus(), QProcess::NormalExit);
            QCOMPARE(second.exitCode(), 0);
            QTRY_VERIFY2_WITH_TIMEOUT(logText().contains(QStringLiteral("opened %1").arg(sample())), qPrintable(logText()), 30'000);
            QCOMPARE(first.state(), QProcess::Running);

            QProcess separate;
            QVERIFY(start(separate, { QStringLiteral("--new-instance"), sample() }));
            QVERIFY(!separate.waitForFinished(1500)); // it stays: a window of its own
            separate.kill();
            separate.waitForFinished(5000);

            // Round 0 ends as a crash would: the socket file stays, and round 1 must start anyway.
            first.kill();
            QVERIFY(first.waitForFinished(10'000));
            if (round == 0)
                QVERIFY(QFileInfo::exists(QDir::tempPath() + QLatin1Char('/') + name));
        }
        QLocalServer::removeServer(name);
    }
};

QTEST_MAIN(TestSingleInstance)
#include "tst_singleinstance.moc"
