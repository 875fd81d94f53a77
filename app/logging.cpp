#include "app/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace ckpt {

bool setupLogging(const QString& level)
{
    const auto lvl = spdlog::level::from_str(level.toStdString());
    if (lvl == spdlog::level::off && level != QLatin1String("off"))
        return false;
    auto logger = spdlog::stderr_color_mt("ckptlens");
    logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(lvl);
    return true;
}

} // namespace ckpt
