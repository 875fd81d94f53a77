#pragma once

#include <QObject>
#include <QStringList>

class QLocalServer;
class QLocalSocket;

namespace ckpt {

// One running viewer per user and display: a second launch hands its files to the first over a local socket and
// exits, so every file opens in a window of one process (one recent-files list, one settings writer, one log).
//
// The protocol is line based: the client sends kGreeting, one absolute path per line and an empty line; the
// server answers "ok\n" once it has taken the paths. A client that gets no answer in time starts on its own.
class SingleInstance : public QObject {
    Q_OBJECT
public:
    explicit SingleInstance(QObject* parent = nullptr);
    ~SingleInstance() override;

    // ckptlens-<uid>-<hash of the display and session>; CKPTLENS_INSTANCE_NAME replaces it (tests, scripts).
    static QString defaultName();

    enum class Handoff {
        Delivered,  // a running instance took the paths
        NoInstance, // nobody listens (or only a stale socket of a crashed instance is left)
        NoAnswer,   // something accepted the connection but did not answer in time
    };
    // Blocking; callable from any thread (it needs no event loop). Relative paths are made absolute here, since the
    // running instance has another working directory.
    static Handoff handOff(const QString& name, const QStringList& paths, int timeoutMs = 3000);

    // Listens on `name`. A socket file left by a crashed instance is removed first, but only after a connection
    // to it failed, so a live instance is never taken over. (Two launches in the same instant may both end up
    // listening; the later one then receives the files.)
    enum class ListenResult { Listening, AnotherInstance, Failed };
    ListenResult listen(const QString& name);
    QString errorString() const { return m_error; }
    QString serverName() const;

    static constexpr const char* kGreeting = "ckptlens-open 1";
    static constexpr qint64 kMaxMessage = 1 << 20;

signals:
    // Paths another launch asked to open (possibly none: it was started without files).
    void openRequested(const QStringList& paths);

private:
    void accept();
    void readFrom(QLocalSocket* socket);

    QLocalServer* m_server = nullptr;
    QString m_error;
};

} // namespace ckpt
