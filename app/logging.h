#pragma once

#include <QString>

namespace ckpt {
// Sets up spdlog's default logger on stderr; returns false when `level` is not a spdlog level name.
bool setupLogging(const QString& level);
inline constexpr const char* kLogLevels = "trace, debug, info, warn, error, critical, off";
}
