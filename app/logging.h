#pragma once

#include <QString>

namespace ckpt {

inline constexpr const char* kLogLevels = "trace, debug, info, warn, error, critical, off";

// Whether `level` is one of kLogLevels.
bool isLogLevel(const QString& level);

// The CLI: spdlog's default logger on stderr only (it runs on servers and in pipelines; it writes no files).
// Returns false when `level` is not a spdlog level name.
bool setupLogging(const QString& level);

// The GUI: stderr plus a size-capped rotating file, so a user can attach a log to a report after the fact.
struct FileLogging {
    QString path;  // the file written, empty when none could be opened
    QString error; // why not, when `path` is empty
};
// `level` must satisfy isLogLevel. Falls back to stderr alone (with `error` set) when the file cannot be opened.
FileLogging setupFileLogging(const QString& level, const QString& file);

// $XDG_STATE_HOME/ckptlens/ckptlens.log, or ~/.local/state/ckptlens/ckptlens.log when XDG_STATE_HOME is unset or
// relative (the XDG base-directory rule). QStandardPaths has no state location before Qt 6.7.
QString defaultLogFile();

inline constexpr int kLogFileBytes = 1 << 20; // per file; a debug session fills a few
inline constexpr int kLogFiles = 3;           // ckptlens.log plus ckptlens.1.log, ckptlens.2.log

} // namespace ckpt
