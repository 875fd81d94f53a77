#pragma once
// An anonymous in-memory file (memfd) that MappedFile::open can reach by path through /proc/self/fd, so the
// fuzzers feed the real open/map code without touching the disk and without adding anything to io/.

#include <QString>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace ckpt::fuzz {

class MemFile {
public:
    MemFile()
    {
        m_fd = memfd_create("ckptlens-fuzz", 0);
        if (m_fd < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        m_path = QStringLiteral("/proc/self/fd/%1").arg(m_fd);
    }
    ~MemFile() { close(m_fd); }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;

    // Replaces the contents with `data`; the previous input's map must be gone (MappedFile unmaps on destruction).
    void set(const std::uint8_t* data, size_t size)
    {
        if (ftruncate(m_fd, 0) != 0) {
            std::perror("ftruncate");
            std::abort();
        }
        size_t done = 0;
        while (done < size) {
            const ssize_t n = pwrite(m_fd, data + done, size - done, off_t(done));
            if (n <= 0) {
                std::perror("pwrite");
                std::abort();
            }
            done += size_t(n);
        }
    }
    const QString& path() const { return m_path; }

private:
    int m_fd = -1;
    QString m_path;
};

} // namespace ckpt::fuzz
