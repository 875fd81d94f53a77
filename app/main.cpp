// ckptlens: the desktop viewer.
#include "app/logging.h"
#include "ckptlens-config.h"
#include "widgets/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ckptlens"));
    QApplication::setOrganizationName(QStringLiteral("Checkpoint Lens"));
    QApplication::setApplicationVersion(QStringLiteral(CKPTLENS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Look inside PyTorch and safetensors checkpoints."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption logLevel(QStringLiteral("log-level"),
        QStringLiteral("Log level: %1.").arg(QLatin1String(ckpt::kLogLevels)), QStringLiteral("level"), QStringLiteral("warn"));
    parser.addOption(logLevel);
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Checkpoint to open"), QStringLiteral("[file]"));
    parser.process(app);
    if (!ckpt::setupLogging(parser.value(logLevel)))
        parser.showHelp(1);

    ckpt::MainWindow window;
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openFile(parser.positionalArguments().first());
    return app.exec();
}
