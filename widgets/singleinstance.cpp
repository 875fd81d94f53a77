#include "widgets/singleinstance.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QGuiApplication>
#include <QLocalServer>
#include <QLocalSocket>
#include <QTimer>

#include <spdlog/spdlog.h>

#include <memory>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

namespace ckpt {
namespace {

constexpr int kConnectMs = 500;
// A client that connects and never finishes its message must not hold a slot forever.
constexpr int kServerReadMs = 5000;

QString userId()
{
#ifdef Q_OS_UNIX
    return QString::number(::getuid());
#else
    return qEnvironmentVariable("USERNAME", QStringLiteral("user"));
#endif
}

} // namespace

SingleInstance::SingleInstance(QObject* parent)
    : QObject(parent)
{
}

SingleInstance::~SingleInstance() = default;

QString SingleInstance::defaultName()
{
    const QString forced = qEnvironmentVariable("CKPTLENS_INSTANCE_NAME");
    if (!forced.isEmpty())
        return forced;
    // Two sessions of one user (a desktop and an X forwarded over ssh, two Wayland seats) each get their own
    // instance: a window must open on the display the user launched from.
    const QString where = QStringList { QGuiApplication::platformName(), qEnvironmentVariable("WAYLAND_DISPLAY"),
        qEnvironmentVariable("DISPLAY"), qEnvironmentVariable("XDG_SESSION_ID") }
                              .join(QLatin1Char('|'));
    const QByteArray hash = QCryptographicHash::hash(where.toUtf8(), QCryptographicHash::Sha256).toHex().left(12);
    return QStringLiteral("ckptlens-%1-%2").arg(userId(), QString::fromLatin1(hash));
}

SingleInstance::Handoff SingleInstance::handOff(const QString& name, const QStringList& paths, int timeoutMs)
{
    QLocalSocket socket;
    socket.connectToServer(name);
    if (!socket.waitForConnected(kConnectMs))
        return Handoff::NoInstance;
    QByteArray message = QByteArray(kGreeting) + '\n';
    for (const QString& path : paths) {
        // A newline in a path would split it; such a path is opened by a separate instance instead.
        if (path.contains(QLatin1Char('\n')))
            return Handoff::NoAnswer;
        message += QFileInfo(path).absoluteFilePath().toUtf8() + '\n';
    }
    message += '\n';
    socket.write(message);
    if (!socket.waitForBytesWritten(timeoutMs))
        return Handoff::NoAnswer;
    QByteArray answer;
    while (!answer.contains('\n')) {
        if (!socket.waitForReadyRead(timeoutMs))
            return Handoff::NoAnswer;
        answer += socket.readAll();
    }
    return answer.startsWith("ok\n") ? Handoff::Delivered : Handoff::NoAnswer;
}

SingleInstance::ListenResult SingleInstance::listen(const QString& name)
{
    // Qt binds a socket with access options in a private folder and renames it into place, which would silently
    // replace a live instance's socket: so ask first whether someone answers there.
    QLocalSocket probe;
    probe.connectToServer(name);
    if (probe.waitForConnected(kConnectMs)) {
        m_error = QStringLiteral("another instance listens on %1").arg(name);
        return ListenResult::AnotherInstance;
    }
    const QString path = QDir::isAbsolutePath(name) ? name : QDir::tempPath() + QLatin1Char('/') + name;
    if (QFileInfo::exists(path)) {
        spdlog::info("removing the stale instance socket {}", path.toStdString());
        QLocalServer::removeServer(name);
    }
    delete m_server;
    m_server = new QLocalServer(this);
    // Only this user may hand files over.
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    connect(m_server, &QLocalServer::newConnection, this, &SingleInstance::accept);
    if (m_server->listen(name))
        return ListenResult::Listening;
    m_error = m_server->errorString();
    return ListenResult::Failed;
}

QString SingleInstance::serverName() const
{
    return m_server ? m_server->fullServerName() : QString();
}

void SingleInstance::accept()
{
    while (QLocalSocket* socket = m_server->nextPendingConnection()) {
        connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QLocalSocket::readyRead, this, [this, socket] { readFrom(socket); });
        QTimer::singleShot(kServerReadMs, socket, [socket] { socket->abort(); });
        readFrom(socket);
    }
}

void SingleInstance::readFrom(QLocalSocket* socket)
{
    QByteArray buffer = socket->property("ckptlensBuffer").toByteArray() + socket->readAll();
    if (buffer.size() > kMaxMessage) {
        socket->abort();
        return;
    }
    socket->setProperty("ckptlensBuffer", buffer);
    const qsizetype end = buffer.indexOf("\n\n");
    if (end < 0)
        return;
    QList<QByteArray> lines = buffer.left(end).split('\n');
    if (lines.isEmpty() || lines.first() != kGreeting) {
        spdlog::warn("ignoring a malformed request on the instance socket");
        socket->abort();
        return;
    }
    QStringList paths;
    for (qsizetype i = 1; i < lines.size(); ++i)
        paths << QString::fromUtf8(lines[i]);
    socket->write("ok\n");
    socket->flush();
    socket->disconnectFromServer();
    spdlog::info("another launch asked to open {} file(s)", paths.size());
    emit openRequested(paths);
}

} // namespace ckpt
