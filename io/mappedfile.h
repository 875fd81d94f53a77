#pragma once

#include "io/error.h"

#include <QFile>

#include <cstdint>
#include <memory>
#include <span>

namespace ckpt {

// A read-only memory map of a whole file. Tensor bytes are read straight from it, on demand.
class MappedFile {
public:
    static Expected<std::shared_ptr<const MappedFile>> open(const QString& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const QString& path() const { return m_path; }
    qint64 size() const { return m_size; }
    int handle() const { return m_file->handle(); } // the open descriptor (for copy_file_range)
    // Where `p` lies in the file, or -1 when it is not inside the map.
    qint64 offsetOf(const std::uint8_t* p) const { return p >= m_data && p < m_data + m_size ? qint64(p - m_data) : -1; }
    std::span<const std::uint8_t> bytes() const { return { m_data, size_t(m_size) }; }
    // Bounds-checked sub-range; empty optional-like span with ok=false when out of range.
    bool contains(qint64 offset, qint64 length) const
    {
        return offset >= 0 && length >= 0 && offset <= m_size && length <= m_size - offset;
    }
    std::span<const std::uint8_t> slice(qint64 offset, qint64 length) const
    {
        return { m_data + offset, size_t(length) };
    }
    // Copies `length` bytes at `offset` with pread, not through the map: a few header bytes read this way do not
    // bring the page-cache folio around them into the resident set. False when out of range or the read fails.
    bool readAt(qint64 offset, void* out, size_t length) const;
    // Tells the kernel a streamed range is done with: its pages leave this process's resident set (they stay in the
    // page cache, and a later read faults them back in). Streaming a file larger than memory then stays small.
    // Only inside a live MappedFile: any other address (a heap copy, which releasing would zero) is left alone.
    static void releasePages(const void* begin, size_t length);

private:
    MappedFile() = default;
    QString m_path;
    std::unique_ptr<QFile> m_file;
    const std::uint8_t* m_data = nullptr;
    qint64 m_size = 0;
};

} // namespace ckpt
