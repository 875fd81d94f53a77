#pragma once

#include <QDateTime>
#include <QObject>
#include <QString>

class QFileSystemWatcher;
class QTimer;

namespace ckpt {

// Says when the file a window shows has changed on disk, once it has settled: a checkpoint being written changes
// many times a second, so changed() waits until no change came for quietMs(). The parent folder is watched too,
// because saving by writing a temporary file and renaming it over the old one (torch.save via a temp file,
// safetensors, editors) replaces the inode: the file watch ends there and the path has to be watched again.
class FileWatcher : public QObject {
    Q_OBJECT
public:
    explicit FileWatcher(QObject* parent = nullptr);

    // Watches `path` from its state now; an empty path stops watching.
    void watch(const QString& path);
    QString path() const { return m_path; }
    void setQuietMs(int ms);
    int quietMs() const;

signals:
    // The file exists and differs (size, modification or status-change time) from when it was last seen.
    void changed(const QString& path);

private:
    struct Stamp {
        bool exists = false;
        qint64 size = -1;
        QDateTime modified, statusChanged;
        bool operator==(const Stamp&) const = default;
    };
    static Stamp stampOf(const QString& path);
    void touched();
    void settle();
    void rewatch();

    QFileSystemWatcher* m_watcher = nullptr;
    QTimer* m_quiet = nullptr;
    QString m_path;
    Stamp m_seen;      // the version last reported (or watched from)
    Stamp m_lastEvent; // the path as the latest event found it
};

} // namespace ckpt
