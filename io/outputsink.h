#pragma once

#include "io/error.h"

#include <QSaveFile>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace ckpt {

// Where writers put bytes: a QSaveFile (a temporary beside the destination, renamed over it on commit) that
// counts what was written, fsyncs before the rename, and reports the first failure (disk full, ...) as an Error.
// Bytes go to the descriptor with pwrite, and every kWritebackWindow bytes the kernel is told to start writing
// them to disk (sync_file_range), waiting for the window before: the disk works while the next window is produced,
// dirty pages stay bounded, and the final fsync has little left to do.
class OutputFile {
public:
    static constexpr qint64 kWritebackWindow = qint64(32) << 20;

    explicit OutputFile(const QString& path);
    ~OutputFile(); // an uncommitted file is discarded: nothing appears at the destination

    Expected<bool> open();
    bool write(const void* data, qint64 n);
    bool writeZeros(qint64 n);
    // Appends `n` bytes of the file open as `srcFd` from `srcOffset`, copied in the kernel; where the file
    // systems cannot (EXDEV, EOPNOTSUPP, ...), writes them from `fallback`, the same bytes in memory.
    bool copyFrom(int srcFd, qint64 srcOffset, qint64 n, const std::uint8_t* fallback);
    qint64 pos() const { return m_pos; }
    bool writeAt(qint64 offset, const void* data, qint64 n); // patch an earlier header; the end stays where it was
    // Flushes the finished temporary to disk and meanwhile, on this thread, runs `check` on it (read through
    // /proc/self/fd); both finish before anything is renamed. A problem it returns fails here and the destination
    // keeps what it held. Without /proc a check cannot run, and sealing with one fails rather than rename an
    // unchecked file.
    using Check = std::function<std::optional<QString>(const QString& readablePath)>;
    Expected<bool> seal(const Check& check = {});
    // Renames the temporary over the destination (sealing it first if seal() was not called).
    Expected<bool> commit();
    void discard();
    Error error() const;
    const QString& path() const { return m_path; }

private:
    bool pwriteAll(qint64 offset, const char* data, qint64 n);
    void pace();

    QString m_path;
    std::unique_ptr<QSaveFile> m_file;
    int m_fd = -1;
    qint64 m_pos = 0;
    qint64 m_started = 0; // writeback requested for [0, m_started)
    qint64 m_waited = 0;  // and finished for [0, m_waited)
    bool m_sealed = false;
    QString m_failure;
};

// Produces a byte stream in pieces: calls `write` for each piece; a false return (the sink failed) or a set
// `cancel` flag stops it. Returns false when stopped or when the source failed (reason in `error`).
using ByteProducer = std::function<bool(const std::function<bool(const std::uint8_t*, size_t)>& write,
    const std::atomic<bool>* cancel, QString& error)>;

} // namespace ckpt
