#include "io/outputsink.h"

#include <unistd.h>

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
    // who points -o at a link expects.
    if (!m_file->open(QIODevice::WriteOnly))
        return Error { ErrorKind::Io, m_path, {}, QStringLiteral("cannot create the output: %1").arg(m_file->errorString()) };
    return true;
}

bool OutputFile::write(const void* data, qint64 n)
{
    if (!m_failure.isEmpty())
        return false;
    qint64 done = 0;
    while (done < n) {
        const qint64 w = m_file->write(static_cast<const char*>(data) + done, n - done);
        if (w <= 0) {
            m_failure = m_file->errorString();
            return false;
        }
        done += w;
    }
    m_pos += n;
    return true;
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

bool OutputFile::seekAndWrite(qint64 offset, const void* data, qint64 n)
{
    if (!m_failure.isEmpty())
        return false;
    const qint64 end = m_pos;
    if (!m_file->seek(offset) || m_file->write(static_cast<const char*>(data), n) != n || !m_file->seek(end)) {
        m_failure = m_file->errorString();
        return false;
    }
    return true;
}

Expected<bool> OutputFile::commit()
{
    if (!m_failure.isEmpty())
        return error();
    // The data must be on disk before the rename makes it visible under the destination's name.
    if (!m_file->flush() || ::fsync(m_file->handle()) != 0) {
        m_failure = QStringLiteral("cannot flush to disk: %1").arg(m_file->errorString());
        return error();
    }
    if (!m_file->commit()) {
        m_failure = m_file->errorString();
        m_file.reset();
        return error();
    }
    m_file.reset();
    return true;
}

void OutputFile::discard()
{
    if (m_file) {
        m_file->cancelWriting();
        m_file->commit(); // with cancelWriting, commit() only removes the temporary file
        m_file.reset();
    }
}

Error OutputFile::error() const
{
    return Error { ErrorKind::Io, m_path, {}, QStringLiteral("write failed: %1").arg(m_failure.isEmpty() ? QStringLiteral("unknown error") : m_failure) };
}

} // namespace ckpt
