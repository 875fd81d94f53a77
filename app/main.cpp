// ckptlens: the desktop viewer. One process per user and display: a second launch hands its files to the running
// one (widgets/singleinstance.h), which opens each in a window of its own.
#include "app/allocator.h"
#include "app/logging.h"
#include "ckptlens-config.h"
#include "widgets/comparewindow.h"
#include "widgets/mainwindow.h"
#include "widgets/singleinstance.h"
#include "widgets/theme.h"

#include <QApplication>
#include <QIcon>
#include <QCommandLineParser>
#include <QSettings>

#include <spdlog/spdlog.h>

#include <cstdio>

namespace {

constexpr QLatin1StringView kLogLevelKey("logLevel");

} // namespace

int main(int argc, char** argv)
{
    ckpt::tuneAllocator();
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ckptlens"));
    QApplication::setOrganizationName(QStringLiteral("Checkpoint Lens"));
    QApplication::setApplicationVersion(QStringLiteral(CKPTLENS_VERSION));
    QApplication::setApplicationDisplayName(QStringLiteral("Checkpoint Lens"));
    // The desktop entry's id (packaging/): Wayland app id and startup notification match it.
    QApplication::setDesktopFileName(QStringLiteral("io.github.ckptlens.CheckpointLens"));
    QIcon icon = QIcon::fromTheme(QStringLiteral("io.github.ckptlens.CheckpointLens"));
    if (icon.isNull()) // not installed: the PNGs built into the program
        for (int size : { 16, 22, 24, 32, 48, 64, 128, 256 })
            icon.addFile(QStringLiteral(":/icons/hicolor/%1x%1/apps/io.github.ckptlens.CheckpointLens.png").arg(size));
    QApplication::setWindowIcon(icon);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Look inside PyTorch and safetensors checkpoints.\n\n"
        "Files given while another ckptlens runs on this display open in new windows of that one, and this launch\n"
        "exits; --new-instance starts a separate process instead."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption logLevel(QStringLiteral("log-level"),
        QStringLiteral("Log level: %1 (default: the saved one, else info). The log goes to stderr and to %2.")
            .arg(QLatin1String(ckpt::kLogLevels), ckpt::defaultLogFile()),
        QStringLiteral("level"));
    parser.addOption(logLevel);
    QCommandLineOption diff(QStringLiteral("diff"), QStringLiteral("Compare two checkpoints: ckptlens --diff A B."));
    parser.addOption(diff);
    QCommandLineOption newInstance(QStringLiteral("new-instance"),
        QStringLiteral("Do not hand the files to a running ckptlens; start a separate one."));
    parser.addOption(newInstance);
    parser.addPositionalArgument(QStringLiteral("files"),
        QStringLiteral("Checkpoints (files or folders) to open, each in its own window (two with --diff)."),
        QStringLiteral("[files...]"));
    parser.process(app);

    const QString level = parser.isSet(logLevel) ? parser.value(logLevel)
                                                 : QSettings().value(kLogLevelKey, QStringLiteral("info")).toString();
    if (!ckpt::isLogLevel(level)) {
        std::fprintf(stderr, "ckptlens: unknown log level '%s' (use %s)\n", qPrintable(level), ckpt::kLogLevels);
        return 1;
    }
    if (parser.isSet(logLevel))
        QSettings().setValue(kLogLevelKey, level);
    const QStringList files = parser.positionalArguments();

    if (parser.isSet(diff)) {
        ckpt::setupFileLogging(level, ckpt::defaultLogFile());
        if (files.size() != 2) {
            std::fprintf(stderr, "--diff takes two files: ckptlens --diff A B\n");
            return 1;
        }
        ckpt::applyTheme(ckpt::savedTheme());
        ckpt::CompareWindow compare;
        compare.openFiles(files[0], files[1]);
        compare.show();
        return app.exec();
    }

    // Before the log file is opened: a launch that hands its files over writes nothing of its own.
    ckpt::SingleInstance instance;
    const QString name = ckpt::SingleInstance::defaultName();
    if (!parser.isSet(newInstance)) {
        ckpt::setupLogging(level); // stderr only, until this process knows it stays
        switch (ckpt::SingleInstance::handOff(name, files)) {
        case ckpt::SingleInstance::Handoff::Delivered:
            spdlog::info("handed {} file(s) to the running instance", files.size());
            return 0;
        case ckpt::SingleInstance::Handoff::NoAnswer:
            spdlog::warn("the running instance does not answer; starting a separate one");
            break;
        case ckpt::SingleInstance::Handoff::NoInstance:
            break;
        }
    }
    const ckpt::FileLogging logging = ckpt::setupFileLogging(level, ckpt::defaultLogFile());
    ckpt::MainWindow::setLogFile(logging.path);
    spdlog::info("ckptlens {} (Qt {}, {}) starting", CKPTLENS_VERSION, qVersion(), ckpt::allocatorName().toStdString());
    if (!parser.isSet(newInstance)) {
        if (instance.listen(name) == ckpt::SingleInstance::ListenResult::Listening)
            QObject::connect(&instance, &ckpt::SingleInstance::openRequested, &app, [](const QStringList& paths) {
                if (paths.isEmpty())
                    ckpt::MainWindow::showInWindow({});
                for (const QString& path : paths)
                    ckpt::MainWindow::showInWindow(path);
            });
        else
            spdlog::warn("not accepting files from other launches: {}", instance.errorString().toStdString());
    }

    ckpt::applyTheme(ckpt::savedTheme());
    if (files.isEmpty())
        ckpt::MainWindow::newWindow();
    for (const QString& path : files)
        ckpt::MainWindow::showInWindow(path);
    return app.exec();
}
