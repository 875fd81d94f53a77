// ckptlens: the desktop viewer.
#include "app/logging.h"
#include "ckptlens-config.h"
#include "widgets/comparewindow.h"
#include "widgets/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>

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
    QCommandLineOption diff(QStringLiteral("diff"), QStringLiteral("Compare two checkpoints: ckptlens --diff A B."));
    parser.addOption(diff);
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Checkpoint to open (two with --diff)"), QStringLiteral("[file] [B]"));
    parser.process(app);
    if (!ckpt::setupLogging(parser.value(logLevel)))
        parser.showHelp(1);

    if (parser.isSet(diff)) {
        if (parser.positionalArguments().size() != 2) {
            std::fprintf(stderr, "--diff takes two files: ckptlens --diff A B\n");
            return 1;
        }
        ckpt::CompareWindow compare;
        compare.openFiles(parser.positionalArguments()[0], parser.positionalArguments()[1]);
        compare.show();
        return app.exec();
    }

    ckpt::MainWindow window;
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openFile(parser.positionalArguments().first());
    return app.exec();
}
