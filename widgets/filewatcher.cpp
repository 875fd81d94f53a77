#include "widgets/filewatcher.h"

#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QTimer>

namespace ckpt {

FileWatcher::FileWatcher(QObject* parent)
    : QObject(parent)
    , m_watcher(new QFileSystemWatcher(this))
    , m_quiet(new QTimer(this))
{
    m_quiet->setSingleShot(true);
    m_quiet->setInterval(500);
    connect(m_watcher, &QFileSystemWatcher::fileChanged, this, [this] {
        m_lastEvent = stampOf(m_path);
        touched();
    });
    // The folder changes for every file in it (a training run writing other checkpoints beside this one); only a
    // change of this path counts, or the wait for quiet would never end in a busy folder.
    connect(m_watcher, &QFileSystemWatcher::directoryChanged, this, [this] {
        if (m_path.isEmpty())
            return;
        // Compared with the previous event, not with the version shown: after this file changed, a busy folder
        // must not keep postponing its reload.
        const Stamp now = stampOf(m_path);
        if (now == m_lastEvent)
            return;
        m_lastEvent = now;
        rewatch(); // a file renamed over the old one needs its own watch to report the writes that follow
        touched();
    });
    connect(m_quiet, &QTimer::timeout, this, &FileWatcher::settle);
}

void FileWatcher::setQuietMs(int ms)
{
    m_quiet->setInterval(ms);
}

int FileWatcher::quietMs() const
{
    return m_quiet->interval();
}

FileWatcher::Stamp FileWatcher::stampOf(const QString& path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return {};
    return { true, info.size(), info.lastModified(), info.metadataChangeTime() };
}

void FileWatcher::watch(const QString& path)
{
    m_quiet->stop();
    if (!m_watcher->files().isEmpty())
        m_watcher->removePaths(m_watcher->files());
    if (!m_watcher->directories().isEmpty())
        m_watcher->removePaths(m_watcher->directories());
    m_path = path.isEmpty() ? QString() : QFileInfo(path).absoluteFilePath();
    m_seen = m_path.isEmpty() ? Stamp {} : stampOf(m_path);
    m_lastEvent = m_seen;
    rewatch();
}

void FileWatcher::rewatch()
{
    if (m_path.isEmpty())
        return;
    const QFileInfo info(m_path);
    // A folder opened as one checkpoint is watched as a folder: its shards change inside it.
    const QString dir = info.absolutePath();
    if (!m_watcher->directories().contains(dir) && QFileInfo(dir).isDir())
        m_watcher->addPath(dir);
    if (info.exists() && !m_watcher->files().contains(m_path) && !m_watcher->directories().contains(m_path))
        m_watcher->addPath(m_path);
}

void FileWatcher::touched()
{
    // Every write restarts the wait: the file is looked at only once it has been quiet for a while.
    m_quiet->start();
}

void FileWatcher::settle()
{
    rewatch(); // after a rename over the old file the new inode needs a watch of its own
    const Stamp now = stampOf(m_path);
    // Gone (deleted, or between the two steps of a replace): keep the file shown and wait for it to come back.
    if (!now.exists || now == m_seen)
        return;
    m_seen = now;
    emit changed(m_path);
}

} // namespace ckpt
