#include "io/outputsink.h"

#include <QFileInfo>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

namespace ckpt {

OutputFile::OutputFile(const QString& path)
    : m_path(path)
{
}

OutputFile::~OutputFile()
{
    discard();
}

Expected<bool> OutputFile::open()
{
    m_file = std::make_unique<QSaveFile>(m_path);
    // QSaveFile refuses to write through a symlink's target only when asked; the default (follow) is what a user
    // who points -o at a link expects. Unbuffered: every byte goes through pwrite below, none through QIODevice.
    if (!m_file->open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return Error { ErrorKind::Io, m_path, {}, QStringLiteral("cannot create the output: %1").arg(m_file->errorString()) };
    m_fd = m_file->handle();
    return true;
}

bool OutputFile::pwriteAll(qint64 offset, const char* data, qint64 n)
{
    while (n > 0) {
        const ssize_t w = ::pwrite(m_fd, data, size_t(std::min<qint64>(n, qint64(1) << 30)), off_t(offset));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            m_failure = QString::fromLocal8Bit(std::strerror(w < 0 ? errno : ENOSPC));
            return false;
        }
        data += w;
        offset += w;
        n -= w;
    }
    return true;
}

void OutputFile::pace()
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (m_pos - m_started < kWritebackWindow)
        return;
    // A wait reports a failed writeback once and clears it for this descriptor, so a later fsync would succeed:
    // every error here fails the file (only "not supported here" is ignored; fsync still does the work then).
    auto failed = [this](int rc) {
        if (rc == 0 || errno == ENOSYS || errno == ESPIPE || errno == EINVAL)
            return false;
        m_failure = QStringLiteral("writing to disk failed: %1").arg(QString::fromLocal8Bit(std::strerror(errno)));
        return true;
    };
    if (m_started > m_waited) {
        if (failed(::sync_file_range(m_fd, m_waited, m_started - m_waited,
                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)))
            return;
        m_waited = m_started;
    }
    if (failed(::sync_file_range(m_fd, m_started, m_pos - m_started, SYNC_FILE_RANGE_WRITE)))
        return;
    m_started = m_pos;
#endif
}

bool OutputFile::write(const void* data, qint64 n)
{
    if (!m_failure.isEmpty() || m_fd < 0)
        return false;
    if (!pwriteAll(m_pos, static_cast<const char*>(data), n))
        return false;
    m_pos += n;
    pace();
    return m_failure.isEmpty();
}

bool OutputFile::copyFrom(int srcFd, qint64 srcOffset, qint64 n, const std::uint8_t* fallback)
{
    if (!m_failure.isEmpty() || m_fd < 0)
        return false;
    qint64 done = 0;
    while (done < n) {
        loff_t in = srcOffset + done, out = m_pos + done;
        const ssize_t c = ::copy_file_range(srcFd, &in, m_fd, &out, size_t(n - done), 0);
        if (c > 0) {
            done += c;
            continue;
        }
        if (c < 0 && errno == EINTR)
            continue;
        // 0 before the end of a range checked against the map: some file systems answer that for "cannot"
        // (coreutils takes it so too); the rest goes through pwrite.
        if (c == 0)
            break;
        if (c < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL || errno == EBADF))
            break; // not between these files: the rest through pwrite
        m_failure = QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    if (done < n && !pwriteAll(m_pos + done, reinterpret_cast<const char*>(fallback) + done, n - done))
        return false;
    m_pos += n;
    pace();
    return m_failure.isEmpty();
}

bool OutputFile::writeZeros(qint64 n)
{
    static const char zeros[4096] = {};
    while (n > 0) {
        const qint64 k = std::min<qint64>(n, sizeof zeros);
        if (!write(zeros, k))
            return false;
        n -= k;
    }
    return true;
}

bool OutputFile::writeAt(qint64 offset, const void* data, qint64 n)
{
    if (!m_failure.isEmpty() || m_fd < 0)
        return false;
    return pwriteAll(offset, static_cast<const char*>(data), n);
}

Expected<bool> OutputFile::seal(const Check& check)
{
    if (!m_failure.isEmpty() || !m_file)
        return error();
    const QString viaProc = QStringLiteral("/proc/self/fd/%1").arg(m_fd);
    if (check && !QFileInfo(viaProc).isFile()) {
        // The temporary has no name to open it by otherwise; checking after the rename could lose the destination.
        m_failure = QStringLiteral("cannot read the written file back before it replaces anything: /proc/self/fd is not available");
        return error();
    }
    // The data must be on disk before the rename makes it visible under the destination's name. The check reads
    // the same page-cache bytes whether or not writeback has finished, and both must pass before the rename, so
    // they run side by side: the disk's flush (about 1 s for 1.4 GB here) hides the read-back (BENCHMARKS.md run 10).
    int syncErrno = 0;
    auto flush = [this, &syncErrno] { syncErrno = ::fsync(m_fd) == 0 ? 0 : errno; };
    std::optional<QString> problem;
    {
        std::jthread flusher;
        if (check) {
            try {
                flusher = std::jthread(flush);
            } catch (const std::system_error&) {
                // No thread to be had (a thread limit): flush first, then check.
            }
        }
        if (!flusher.joinable())
            flush();
        if (check)
            problem = check(viaProc);
    }
    if (syncErrno != 0) {
        m_failure = QStringLiteral("cannot flush to disk: %1").arg(QString::fromLocal8Bit(std::strerror(syncErrno)));
        return error();
    }
    m_sealed = true;
    if (problem) {
        m_failure = *problem;
        return Error { ErrorKind::Io, m_path, {}, *problem };
    }
    return true;
}

Expected<bool> OutputFile::commit()
{
    if (!m_sealed)
        if (auto ok = seal(); !ok)
            return ok;
    if (!m_failure.isEmpty())
        return error();
    if (!m_file->commit()) {
        m_failure = m_file->errorString();
        m_file.reset();
        return error();
    }
    m_file.reset();
    m_fd = -1;
    return true;
}

void OutputFile::discard()
{
    if (m_file) {
        m_file->cancelWriting();
        m_file->commit(); // with cancelWriting, commit() only removes the temporary file
        m_file.reset();
        m_fd = -1;
    }
}

Error OutputFile::error() const
{
    return Error { ErrorKind::Io, m_path, {}, QStringLiteral("write failed: %1").arg(m_failure.isEmpty() ? QStringLiteral("unknown error") : m_failure) };
}

} // namespace ckpt
