// ckptlens-cli: the headless front over io/ and model/, for servers and scripts.
#include "app/logging.h"
#include "ckptlens-config.h"
#include "io/checkpoint.h"
#include "model/objecttreemodel.h"
#include "model/semanticreport.h"
#include "model/summary.h"
#include "model/tensorlist.h"
#include "model/tensorstats.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <spdlog/spdlog.h>

#include <cstdio>

using namespace ckpt;

namespace {

enum ExitCode { Ok = 0, Usage = 1, Unreadable = 2 };

void print(const QString& s)
{
    const QByteArray b = s.toUtf8();
    std::fwrite(b.constData(), 1, size_t(b.size()), stdout);
}

void printJson(const QJsonObject& o)
{
    print(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
}

QJsonArray intArray(const std::vector<std::int64_t>& v)
{
    QJsonArray a;
    for (auto x : v)
        a.append(qint64(x));
    return a;
}

QJsonObject treeJson(const Checkpoint& ck)
{
    QJsonArray tensors;
    for (const auto& e : listTensors(ck)) {
        const TensorInfo& t = ck.tensors[size_t(e.tensor)];
        QJsonObject o {
            { QStringLiteral("path"), QJsonArray::fromStringList(e.path) },
            { QStringLiteral("dtype"), dtypeName(t.dtype) },
            { QStringLiteral("shape"), intArray(t.shape) },
            { QStringLiteral("stride"), intArray(t.stride) },
            { QStringLiteral("storage_offset"), qint64(t.storageOffset) },
            { QStringLiteral("requires_grad"), t.requiresGrad },
            { QStringLiteral("parameter"), t.parameter },
        };
        if (t.storage >= 0) {
            const StorageInfo& s = ck.storages[size_t(t.storage)];
            o.insert(QStringLiteral("storage"), s.key);
            o.insert(QStringLiteral("device"), s.location);
        }
        if (!t.error.isEmpty())
            o.insert(QStringLiteral("error"), t.error);
        tensors.append(o);
    }
    return QJsonObject { { QStringLiteral("format"), formatName(ck.format) }, { QStringLiteral("tensors"), tensors } };
}

QString shapeText(const std::vector<std::int64_t>& v)
{
    QStringList parts;
    for (auto x : v)
        parts << QString::number(x);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

QString number(const std::optional<double>& v)
{
    return v ? QString::number(*v, 'g', 6) : QStringLiteral("-");
}

// `stats`: every tensor (or those whose dotted path matches --key) through the statistics engine.
int statsCommand(const Checkpoint& ck, const QString& keyGlob, bool json)
{
    const QRegularExpression match = keyGlob.isEmpty()
        ? QRegularExpression()
        : QRegularExpression(QRegularExpression::wildcardToRegularExpression(keyGlob));
    QJsonArray out;
    QString text = QStringLiteral("%1  %2  %3  %4  %5  %6  %7  %8  %9\n")
                       .arg(QStringLiteral("path"), -48)
                       .arg(QStringLiteral("dtype"), -9)
                       .arg(QStringLiteral("shape"), -16)
                       .arg(QStringLiteral("min"), 12)
                       .arg(QStringLiteral("max"), 12)
                       .arg(QStringLiteral("mean"), 12)
                       .arg(QStringLiteral("std"), 12)
                       .arg(QStringLiteral("l2"), 12)
                       .arg(QStringLiteral("zeros/nan/inf"));
    for (const auto& e : listTensors(ck)) {
        const QString dotted = e.path.join(QLatin1Char('.'));
        if (match.isValid() && !keyGlob.isEmpty() && !match.match(dotted).hasMatch())
            continue;
        const TensorInfo& t = ck.tensors[size_t(e.tensor)];
        auto s = computeStats(ck, e.tensor);
        if (json) {
            QJsonObject o = s ? statsToJson(*s) : QJsonObject { { QStringLiteral("error"), s.error().what } };
            o.insert(QStringLiteral("path"), QJsonArray::fromStringList(e.path));
            o.insert(QStringLiteral("dtype"), dtypeName(t.dtype));
            out.append(o);
            continue;
        }
        text += QStringLiteral("%1  %2  %3  ").arg(dotted, -48).arg(dtypeName(t.dtype), -9).arg(shapeText(t.shape), -16);
        if (!s) {
            text += QStringLiteral("error: %1\n").arg(s.error().what);
            continue;
        }
        text += QStringLiteral("%1  %2  %3  %4  %5  %6/%7/%8\n")
                    .arg(number(s->min), 12)
                    .arg(number(s->max), 12)
                    .arg(number(s->mean), 12)
                    .arg(number(s->std), 12)
                    .arg(number(s->l2), 12)
                    .arg(s->zeros)
                    .arg(s->nan)
                    .arg(s->inf);
    }
    if (json)
        printJson(QJsonObject { { QStringLiteral("tensors"), out } });
    else
        print(text);
    return Ok;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ckptlens-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(CKPTLENS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Look inside PyTorch and safetensors checkpoints without loading them.\n\n"
        "Commands:\n"
        "  info FILE   format, tensor count, elements, bytes per dtype, top-level keys\n"
        "  tree FILE   every object in the file as a tree (--json: the tensors with their container paths)\n"
        "  stats FILE  min, max, mean, std, L2, zeros, NaN, Inf of every tensor (--key GLOB on the dotted path)"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON instead of text."));
    QCommandLineOption logLevel(QStringLiteral("log-level"),
        QStringLiteral("Log level: %1.").arg(QLatin1String(kLogLevels)), QStringLiteral("level"), QStringLiteral("warn"));
    QCommandLineOption key(QStringLiteral("key"), QStringLiteral("stats: only tensors whose dotted path matches this glob."),
        QStringLiteral("glob"));
    parser.addOptions({ json, logLevel, key });
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("info, tree or stats"));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("A .pth/.pt/.ckpt/.bin/.safetensors file"));
    parser.process(app);

    if (!setupLogging(parser.value(logLevel))) {
        std::fprintf(stderr, "ckptlens-cli: unknown log level '%s' (use %s)\n", qPrintable(parser.value(logLevel)), kLogLevels);
        return Usage;
    }
    const QStringList args = parser.positionalArguments();
    static const QStringList commands { QStringLiteral("info"), QStringLiteral("tree"), QStringLiteral("stats") };
    if (args.size() != 2 || !commands.contains(args[0])) {
        std::fprintf(stderr, "ckptlens-cli: expected a command (info, tree, stats) and a file; see --help\n");
        return Usage;
    }
    auto ck = openCheckpoint(args[1]);
    if (!ck) {
        std::fprintf(stderr, "ckptlens-cli: %s [%s]\n", qPrintable(ck.error().message()), errorKindName(ck.error().kind));
        return Unreadable;
    }
    // Deliberately never freed: tearing down hundreds of thousands of parsed objects costs more than the whole
    // rest of a 60,000-tensor `info`, and the process ends right after printing.
    const Checkpoint& c = **new CheckpointPtr(*ck);
    if (args[0] == QLatin1String("stats"))
        return statsCommand(c, parser.value(key), parser.isSet(json));
    if (args[0] == QLatin1String("info")) {
        const auto summary = summarize(c);
        const Semantic sem = analyze(c);
        if (parser.isSet(json)) {
            QJsonObject o = summaryToJson(summary);
            o.insert(QStringLiteral("semantic"), semanticToJson(c, sem));
            printJson(o);
        } else {
            print(summaryToText(summary) + semanticToText(c, sem));
        }
    } else if (parser.isSet(json)) {
        printJson(treeJson(c));
    } else {
        ObjectTreeModel model;
        model.setCheckpoint(*ck);
        print(model.dump());
    }
    return Ok;
}
