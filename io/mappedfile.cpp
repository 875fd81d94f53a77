#include "io/mappedfile.h"

#include <QFileInfo>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace ckpt {

namespace {

    // Every live map's bytes, so that releasePages can widen a range to the folio around it without leaving the map.
    struct MapRegistry {
        std::mutex lock;
        std::vector<std::pair<std::uintptr_t, std::uintptr_t>> maps; // [begin, end)
    };

    MapRegistry& registry()
    {
        static MapRegistry r;
        return r;
    }

} // namespace

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
    {
        MapRegistry& r = registry();
        const std::lock_guard guard(r.lock);
        r.maps.emplace_back(std::uintptr_t(data), std::uintptr_t(data) + std::uintptr_t(size));
    }
    return std::shared_ptr<const MappedFile>(std::move(m));
}

bool MappedFile::readAt(qint64 offset, void* out, size_t length) const
{
    if (!contains(offset, qint64(length)))
        return false;
    auto* to = static_cast<char*>(out);
    while (length > 0) {
        const ssize_t n = pread(handle(), to, length, off_t(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        to += n;
        offset += n;
        length -= size_t(n);
    }
    return true;
}

void MappedFile::releasePages(const void* begin, size_t length)
{
    static const std::uintptr_t page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    // A fault maps the whole page-cache folio around it (up to 2 MiB on recent kernels), so a later read can map
    // again pages just before `begin` that an earlier call released: measured, 36 KiB left behind every 1 MiB cast
    // chunk, 65 MiB of a 1.4 GB export. The range is widened back to the 2 MiB boundary before it, within the map
    // (beyond it could be someone's heap, which MADV_DONTNEED would zero); the map starts on such a boundary of the
    // file.
    constexpr std::uintptr_t kFolio = std::uintptr_t(2) << 20;
    std::uintptr_t start = std::uintptr_t(begin) & ~(page - 1);
    std::uintptr_t end = std::uintptr_t(begin) + length;
    {
        MapRegistry& r = registry();
        const std::lock_guard guard(r.lock);
        const auto map = std::find_if(r.maps.begin(), r.maps.end(),
            [&](const auto& m) { return std::uintptr_t(begin) >= m.first && std::uintptr_t(begin) < m.second; });
        if (map == r.maps.end())
            return; // not a map of ours: heap memory would be zeroed
        start = std::max(map->first, map->first + ((start - map->first) & ~(kFolio - 1)));
        end = std::min(end, map->second);
    }
    if (end > start)
        madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
}

MappedFile::~MappedFile()
{
    if (m_file && m_data) {
        {
            MapRegistry& r = registry();
            const std::lock_guard guard(r.lock);
            std::erase(r.maps, std::pair(std::uintptr_t(m_data), std::uintptr_t(m_data) + std::uintptr_t(m_size)));
        }
        m_file->unmap(const_cast<uchar*>(m_data));
    }
}

} // namespace ckpt
