#include "io/mappedfile.h"

#include <QFileInfo>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace ckpt {

Expected<std::shared_ptr<const MappedFile>> MappedFile::open(const QString& path)
{
    QFileInfo info(path);
    if (!info.exists())
        return Error { ErrorKind::Io, path, {}, QStringLiteral("no such file") };
    if (info.isDir())
        return Error { ErrorKind::Io, path, {}, QStringLiteral("is a folder, not a file") };
    // A FIFO or device would block open() or never end: only regular files (symlinks to them are fine).
    if (!info.isFile())
        return Error { ErrorKind::Io, path, {}, QStringLiteral("not a regular file") };
    auto file = std::make_unique<QFile>(path);
    if (!file->open(QIODevice::ReadOnly))
        return Error { ErrorKind::Io, path, {}, QStringLiteral("cannot open: %1").arg(file->errorString()) };
    const qint64 size = file->size();
    if (size == 0)
        return Error { ErrorKind::Empty, path, {}, QStringLiteral("the file is empty") };
    uchar* data = file->map(0, size);
    if (!data)
        return Error { ErrorKind::Io, path, {}, QStringLiteral("cannot memory-map: %1").arg(file->errorString()) };
    std::shared_ptr<MappedFile> m(new MappedFile);
    m->m_path = path;
    m->m_data = data;
    m->m_size = size;
    m->m_file = std::move(file);
    return std::shared_ptr<const MappedFile>(std::move(m));
}

void MappedFile::releasePages(const void* begin, size_t length)
{
    static const std::uintptr_t page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    const std::uintptr_t start = std::uintptr_t(begin) & ~(page - 1);
    const std::uintptr_t end = std::uintptr_t(begin) + length;
    if (end > start)
        madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
}

MappedFile::~MappedFile()
{
    if (m_file && m_data)
        m_file->unmap(const_cast<uchar*>(m_data));
}

} // namespace ckpt
