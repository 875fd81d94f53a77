#include "app/logging.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace ckpt {
namespace {

constexpr const char* kPattern = "[%H:%M:%S.%e] [%^%l%$] %v";
constexpr const char* kFilePattern = "[%Y-%m-%d %H:%M:%S.%e] [%P] [%l] %v";

spdlog::level::level_enum levelOf(const QString& level)
{
    return spdlog::level::from_str(level.toStdString());
}

void install(std::shared_ptr<spdlog::logger> logger, const QString& level)
{
    // The name may already be registered when a test sets logging up twice.
    spdlog::drop(logger->name());
    spdlog::set_default_logger(std::move(logger));
    spdlog::set_level(levelOf(level));
}

} // namespace

bool isLogLevel(const QString& level)
{
    // from_str answers "off" for anything it does not know.
    return levelOf(level) != spdlog::level::off || level == QLatin1String("off");
}

bool setupLogging(const QString& level)
{
    if (!isLogLevel(level))
        return false;
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    sink->set_pattern(kPattern);
    install(std::make_shared<spdlog::logger>("ckptlens", sink), level);
    return true;
}

FileLogging setupFileLogging(const QString& level, const QString& file)
{
    auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    err->set_pattern(kPattern);
    std::vector<spdlog::sink_ptr> sinks { err };
    FileLogging result;
    const QFileInfo info(file);
    if (file.isEmpty()) {
        result.error = QStringLiteral("no log file location");
    } else if (!QDir().mkpath(info.absolutePath())) {
        result.error = QStringLiteral("cannot create %1").arg(info.absolutePath());
    } else {
        try {
            auto rotating = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                QFile::encodeName(info.absoluteFilePath()).toStdString(), kLogFileBytes, kLogFiles - 1);
            rotating->set_pattern(kFilePattern);
            sinks.push_back(std::move(rotating));
            result.path = info.absoluteFilePath();
        } catch (const spdlog::spdlog_ex& e) {
            result.error = QString::fromStdString(e.what());
        }
    }
    auto logger = std::make_shared<spdlog::logger>("ckptlens", sinks.begin(), sinks.end());
    // Every line reaches the file even when the program is killed.
    logger->flush_on(spdlog::level::trace);
    install(std::move(logger), level);
    if (!result.error.isEmpty())
        spdlog::warn("logging to stderr only: {}", result.error.toStdString());
    return result;
}

QString defaultLogFile()
{
    QString state = qEnvironmentVariable("XDG_STATE_HOME");
    if (state.isEmpty() || QDir::isRelativePath(state))
        state = QDir::homePath() + QStringLiteral("/.local/state");
    return state + QStringLiteral("/ckptlens/ckptlens.log");
}

} // namespace ckpt
