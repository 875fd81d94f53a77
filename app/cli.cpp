// ckptlens-cli: the headless front over io/ and model/, for servers and scripts.
#include "app/allocator.h"
#include "app/logging.h"
#include "ckptlens-config.h"
#include "io/checkpoint.h"
#include "io/torchscriptcode.h"
#include "model/objectchildren.h"
#include "model/diff.h"
#include "model/exporter.h"
#include "model/histogram.h"
#include "model/objecttreemodel.h"
#include "model/safety.h"
#include "model/semanticreport.h"
#include "model/summary.h"
#include "model/tensorlist.h"
#include "model/tensorprofile.h"
#include "model/tensorstats.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <new>
#include <map>
#include <set>

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
    bool truncated = false;
    const auto entries = listTensors(ck, &truncated);
    if (truncated)
        spdlog::warn("the object graph shares subtrees too often to list every path; the listing is cut short");
    for (const auto& e : entries) {
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

struct ExportOptions {
    QString out, select, dtype, format, maxShard, recipe, saveRecipe;
    QStringList include, exclude, renames;
    bool keepOthers = false, dryRun = false;
};

// Whether casting `from` to `to` can turn finite values into infinities (float16's range is the narrowest; float64
// overflows every narrower type).
bool castMayOverflow(DType from, DType to)
{
    if (from == to || !dtypeIsFloatingPoint(from))
        return false;
    if (to == DType::Float16)
        return true;
    return from == DType::Float64 && (to == DType::Float32 || to == DType::BFloat16);
}

QJsonObject planJson(const Checkpoint& ck, const ResolvedPlan& rp)
{
    QJsonArray tensors, others;
    for (const auto& p : rp.tensors) {
        const TensorInfo& t = ck.tensors[size_t(p.tensor)];
        tensors.append(QJsonObject { { QStringLiteral("source"), p.sourceKey }, { QStringLiteral("output"), p.outputKey },
            { QStringLiteral("dtype"), dtypeName(p.outputDtype) }, { QStringLiteral("source_dtype"), dtypeName(t.dtype) },
            { QStringLiteral("shape"), intArray(t.shape) }, { QStringLiteral("bytes"), qint64(p.bytes) } });
    }
    for (const auto& o : rp.others) {
        QJsonObject j { { QStringLiteral("path"), QJsonArray::fromStringList(o.path) }, { QStringLiteral("value"), o.summary },
            { QStringLiteral("kept"), o.kept } };
        if (!o.outputKey.isEmpty())
            j.insert(QStringLiteral("output"), o.outputKey);
        if (!o.kept)
            j.insert(QStringLiteral("why"), o.why);
        others.append(j);
    }
    return QJsonObject { { QStringLiteral("state_dict"), QJsonArray::fromStringList(rp.statePath) },
        { QStringLiteral("tensors"), tensors }, { QStringLiteral("others"), others }, { QStringLiteral("bytes"), qint64(rp.totalBytes) },
        { QStringLiteral("warnings"), QJsonArray::fromStringList(rp.warnings) } };
}

QString planText(const Checkpoint& ck, const ResolvedPlan& rp)
{
    QString text = QStringLiteral("%1  %2  %3  %4  %5\n")
                       .arg(QStringLiteral("source key"), -40)
                       .arg(QStringLiteral("output key"), -40)
                       .arg(QStringLiteral("dtype"), -9)
                       .arg(QStringLiteral("shape"), -16)
                       .arg(QStringLiteral("bytes"));
    for (const auto& p : rp.tensors)
        text += QStringLiteral("%1  %2  %3  %4  %5\n")
                    .arg(p.sourceKey, -40)
                    .arg(p.outputKey, -40)
                    .arg(dtypeName(p.outputDtype), -9)
                    .arg(shapeText(ck.tensors[size_t(p.tensor)].shape), -16)
                    .arg(formatBytes(p.bytes));
    for (const auto& o : rp.others)
        text += o.kept ? QStringLiteral("keep %1 = %2\n").arg(o.outputKey.isEmpty() ? o.path.join(QLatin1Char('/')) : o.outputKey, o.summary)
                       : QStringLiteral("drop %1: %2\n").arg(o.path.join(QLatin1Char('/')), o.why);
    text += QStringLiteral("%1 tensors, %2\n").arg(rp.tensors.size()).arg(formatBytes(rp.totalBytes));
    return text;
}

// `export`: a plan from the options (or a recipe), resolved against the file, checked, then written.
int exportCommand(const Checkpoint& ck, const ExportOptions& o, bool json)
{
    auto fail = [](const QString& msg) {
        std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(msg));
        return int(Unreadable);
    };
    if (o.out.isEmpty())
        return fail(QStringLiteral("export needs -o OUT"));
    ExportPlan plan;
    if (!o.recipe.isEmpty()) {
        QFile f(o.recipe);
        if (!f.open(QIODevice::ReadOnly))
            return fail(QStringLiteral("%1: cannot read the recipe: %2").arg(o.recipe, f.errorString()));
        auto parsed = ExportPlan::fromJson(QJsonDocument::fromJson(f.readAll()).object());
        if (!parsed)
            return fail(QStringLiteral("%1: %2").arg(o.recipe, parsed.error().what));
        plan = *parsed;
    }
    if (!o.select.isEmpty())
        plan.select = o.select.split(QLatin1Char('/'));
    plan.include += o.include;
    plan.exclude += o.exclude;
    for (const QString& r : o.renames) {
        const qsizetype arrow = r.indexOf(QStringLiteral("=>"));
        if (arrow < 0)
            return fail(QStringLiteral("--rename '%1': expected 'REGEX=>REPLACEMENT'").arg(r));
        plan.renames.push_back({ r.left(arrow), r.mid(arrow + 2) });
    }
    if (!o.dtype.isEmpty()) {
        auto dt = dtypeFromTorchName(o.dtype);
        if (!dt || (*dt != DType::Float16 && *dt != DType::BFloat16 && *dt != DType::Float32))
            return fail(QStringLiteral("--dtype must be float16, bfloat16 or float32"));
        plan.castTo = *dt;
    }
    if (!o.format.isEmpty()) {
        if (o.format != QLatin1String("torch") && o.format != QLatin1String("safetensors"))
            return fail(QStringLiteral("--format must be torch or safetensors"));
        plan.format = o.format == QLatin1String("safetensors") ? ExportFormat::Safetensors : ExportFormat::Torch;
    } else if (o.recipe.isEmpty()) {
        plan.format = o.out.endsWith(QLatin1String(".safetensors")) ? ExportFormat::Safetensors : ExportFormat::Torch;
    }
    if (!o.maxShard.isEmpty()) {
        plan.maxShardSize = parseSize(o.maxShard);
        if (plan.maxShardSize <= 0)
            return fail(QStringLiteral("--max-shard-size '%1' is not a size (e.g. 5GB, 500MB)").arg(o.maxShard));
    }
    if (o.keepOthers)
        plan.keepOthers = true;
    const Semantic sem = analyze(ck);
    auto resolved = resolvePlan(ck, sem, plan);
    if (!resolved)
        return fail(resolved.error().message());
    if (!resolved->errors.isEmpty())
        return fail(QStringLiteral("nothing written: %1").arg(resolved->errors.join(QStringLiteral("; "))));
    if (auto marked = markUnwritableOthers(ck, *resolved, plan); !marked) // told now, and shown by a dry run
        return fail(marked.error().message());
    // Values a cast turns into infinities are counted and reported before anything is written. Only casts that can
    // overflow are read for it (float32 to bfloat16 cannot: the same exponent range), so the usual export reads
    // its source once.
    std::int64_t overflowBefore = 0;
    if (std::any_of(resolved->tensors.begin(), resolved->tensors.end(),
            [&](const PlannedTensor& p) { return castMayOverflow(ck.tensors[size_t(p.tensor)].dtype, p.outputDtype); })) {
        auto counted = countCastOverflow(ck, *resolved);
        if (!counted)
            return fail(counted.error().message());
        overflowBefore = *counted;
        if (overflowBefore > 0 && !json)
            std::fprintf(stderr, "ckptlens-cli: warning: %lld finite values become infinite in the cast to %s\n",
                (long long)overflowBefore, qPrintable(dtypeName(*plan.castTo)));
    }
    for (const QString& w : resolved->warnings)
        spdlog::warn("{}", w.toStdString());
    if (o.dryRun) {
        if (json) {
            QJsonObject j = planJson(ck, *resolved);
            j.insert(QStringLiteral("overflow"), qint64(overflowBefore));
            j.insert(QStringLiteral("dry_run"), true);
            printJson(j);
        } else {
            print(planText(ck, *resolved) + QStringLiteral("dry run: nothing written\n"));
        }
        return Ok;
    }
    // The recipe is written to its temporary now (a folder that cannot take it fails before the export) and
    // renamed into place only after the export succeeded: an error leaves neither behind.
    std::unique_ptr<QSaveFile> recipeFile;
    if (!o.saveRecipe.isEmpty()) {
        recipeFile = std::make_unique<QSaveFile>(o.saveRecipe);
        if (!recipeFile->open(QIODevice::WriteOnly) || recipeFile->write(QJsonDocument(plan.toJson()).toJson()) < 0)
            return fail(QStringLiteral("%1: cannot write the recipe: %2").arg(o.saveRecipe, recipeFile->errorString()));
    }
    auto result = runExport(ck, *resolved, plan, o.out);
    if (!result) {
        if (recipeFile)
            recipeFile->cancelWriting();
        return fail(result.error().message());
    }
    if (result->overflow > 0 && overflowBefore == 0)
        spdlog::warn("{} values overflowed to infinity in the cast to {}", result->overflow,
            plan.castTo ? dtypeName(*plan.castTo).toStdString() : std::string("a narrower type"));
    for (const QString& w : result->warnings)
        if (!resolved->warnings.contains(w))
            spdlog::warn("{}", w.toStdString());
    if (recipeFile && !recipeFile->commit())
        return fail(QStringLiteral("%1: the export was written, the recipe not: %2").arg(o.saveRecipe, recipeFile->errorString()));
    if (json) {
        printJson(QJsonObject { { QStringLiteral("files"), QJsonArray::fromStringList(result->files) },
            { QStringLiteral("tensors"), qint64(resolved->tensors.size()) }, { QStringLiteral("bytes"), qint64(result->bytes) },
            { QStringLiteral("overflow"), qint64(result->overflow) }, { QStringLiteral("warnings"), QJsonArray::fromStringList(result->warnings) } });
    } else {
        print(QStringLiteral("exported %1 tensors (%2) from %3 to %4\n")
                  .arg(resolved->tensors.size())
                  .arg(formatBytes(result->bytes))
                  .arg(resolved->statePath.isEmpty() ? QStringLiteral("<root>") : resolved->statePath.join(QLatin1Char('/')))
                  .arg(result->files.join(QStringLiteral(", "))));
        if (result->overflow)
            print(QStringLiteral("warning: %1 values became infinite in the cast\n").arg(result->overflow));
    }
    return Ok;
}

std::vector<RenameRule> normalisation(const QStringList& strip, const QStringList& renames, QString& error)
{
    std::vector<RenameRule> rules;
    for (const QString& p : strip)
        rules.push_back(ExportPlan::stripPrefix(p));
    for (const QString& r : renames) {
        const qsizetype arrow = r.indexOf(QStringLiteral("=>"));
        if (arrow < 0)
            error = QStringLiteral("--rename '%1': expected 'REGEX=>REPLACEMENT'").arg(r);
        else
            rules.push_back({ r.left(arrow), r.mid(arrow + 2) });
    }
    return rules;
}

QString metric(const std::optional<PairMetrics>& m, double PairMetrics::*field)
{
    return m ? QString::number((*m).*field, 'g', 4) : QStringLiteral("-");
}

// `diff`: exit 0 when nothing differs beyond tolerance, 1 when something does, as diff(1).
int diffCommand(const Checkpoint& a, const Checkpoint& b, const DiffOptions& options, bool json)
{
    auto r = diffCheckpoints(a, b, options);
    if (!r) {
        std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(r.error().message()));
        return Unreadable;
    }
    if (json) {
        printJson(diffToJson(*r));
    } else {
        QString out;
        for (const auto& rule : r->suggestedRules)
            out += QStringLiteral("normalisation: '%1' -> '%2'%3\n").arg(rule.pattern, rule.replacement,
                options.rules.empty() ? QStringLiteral(" (applied: one side has the prefix, the other not)") : QString());
        for (const auto& d : r->tensors) {
            if (d.status == DiffStatus::Equal)
                continue;
            out += QStringLiteral("%1  %2  max|a-b| %3  rel_l2 %4  cos %5\n")
                       .arg(diffStatusName(d.status), -9)
                       .arg(d.key, -50)
                       .arg(metric(d.metrics, &PairMetrics::maxAbs), 10)
                       .arg(metric(d.metrics, &PairMetrics::relL2), 10)
                       .arg(d.metrics && d.metrics->cosine ? QString::number(*d.metrics->cosine, 'g', 6) : QStringLiteral("-"));
        }
        for (const auto& sd : r->scalars)
            out += QStringLiteral("metadata   %1: %2 -> %3\n").arg(sd.key, sd.a.isNull() ? QStringLiteral("(absent)") : sd.a,
                sd.b.isNull() ? QStringLiteral("(absent)") : sd.b);
        QStringList counts;
        for (const auto& [status, n] : r->counts)
            counts << QStringLiteral("%1 %2").arg(n).arg(diffStatusName(status));
        out += QStringLiteral("summary: %1\n").arg(counts.join(QStringLiteral(", ")));
        print(out);
    }
    return r->anyDifference() ? 1 : 0;
}

int checkLoadCommand(const Checkpoint& ck, const Checkpoint& ref, const std::vector<RenameRule>& rules, bool json)
{
    auto c = checkLoad(ck, ref, rules);
    if (!c) {
        std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(c.error().message()));
        return Unreadable;
    }
    if (json) {
        printJson(loadCheckToJson(*c));
    } else {
        QString out = c->loads() ? QStringLiteral("loads with strict=True\n") : QStringLiteral("does NOT load with strict=True\n");
        auto list = [&](const char* label, const QStringList& keys) {
            if (keys.isEmpty())
                return;
            out += QStringLiteral("%1 (%2):\n").arg(QLatin1String(label)).arg(keys.size());
            for (qsizetype i = 0; i < std::min<qsizetype>(keys.size(), 20); ++i)
                out += QStringLiteral("  %1\n").arg(keys[i]);
            if (keys.size() > 20)
                out += QStringLiteral("  ... and %1 more\n").arg(keys.size() - 20);
        };
        list("missing keys", c->missing);
        list("unexpected keys", c->unexpected);
        for (const auto& m : c->sizeMismatch)
            out += QStringLiteral("size mismatch for %1: %2 in the checkpoint, %3 expected\n").arg(m.key, shapeText(m.shape), shapeText(m.expected));
        if (!c->suggestion.isEmpty())
            out += QStringLiteral("suggestion: %1\n").arg(c->suggestion);
        print(out);
    }
    return c->loads() ? 0 : 1;
}

// `hist --all`: statistics and a histogram of every tensor (or those matching --key) in one many-tensor job.
int histAllCommand(const Checkpoint& ck, const QString& keyGlob, const HistRequest& request, bool json)
{
    const QRegularExpression match(QRegularExpression::wildcardToRegularExpression(keyGlob.isEmpty() ? QStringLiteral("*") : keyGlob));
    std::vector<TensorEntry> entries;
    ProfileRequest pr;
    pr.bins = request.bins;
    pr.backend = request.backend;
    std::set<int> seen;
    for (auto& e : listTensors(ck)) {
        if (!match.match(e.path.join(QLatin1Char('.'))).hasMatch())
            continue;
        if (seen.insert(e.tensor).second)
            pr.tensors.push_back(e.tensor);
        entries.push_back(std::move(e));
    }
    if (entries.empty()) {
        std::fprintf(stderr, "ckptlens-cli: no tensor matches '%s'\n", qPrintable(keyGlob));
        return Unreadable;
    }
    QElapsedTimer timer;
    timer.start();
    auto profiles = profileTensors(ck, pr);
    if (!profiles) {
        std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(profiles.error().message()));
        return Unreadable;
    }
    const double ms = double(timer.nsecsElapsed()) / 1e6;
    std::map<int, const TensorProfile*> byTensor;
    std::set<QString> backends;
    for (const auto& p : *profiles) {
        byTensor[p.tensor] = &p;
        if (p.histogram)
            backends.insert(p.histogram->backend);
    }
    const QString backendText = QStringList(backends.begin(), backends.end()).join(QLatin1Char('+'));
    if (json) {
        QJsonArray out;
        for (const auto& e : entries) {
            const TensorProfile& p = *byTensor.at(e.tensor);
            QJsonObject o { { QStringLiteral("path"), QJsonArray::fromStringList(e.path) },
                { QStringLiteral("dtype"), dtypeName(ck.tensors[size_t(e.tensor)].dtype) } };
            if (p.stats)
                o.insert(QStringLiteral("stats"), statsToJson(*p.stats));
            if (p.histogram)
                o.insert(QStringLiteral("histogram"), histogramToJson(*p.histogram));
            if (!p.error.isEmpty())
                o.insert(QStringLiteral("error"), p.error);
            out.append(o);
        }
        printJson(QJsonObject { { QStringLiteral("tensors"), out }, { QStringLiteral("backend"), backendText },
            { QStringLiteral("milliseconds"), ms } });
        return Ok;
    }
    // One line per tensor: its range and the histogram folded into a 32-column sparkline.
    static const QChar levels[] = { QChar(0x20), QChar(0x2581), QChar(0x2582), QChar(0x2583), QChar(0x2584), QChar(0x2585),
        QChar(0x2586), QChar(0x2587), QChar(0x2588) };
    QString text;
    for (const auto& e : entries) {
        const TensorProfile& p = *byTensor.at(e.tensor);
        text += QStringLiteral("%1  %2  ").arg(e.path.join(QLatin1Char('.')), -48).arg(dtypeName(ck.tensors[size_t(e.tensor)].dtype), -9);
        if (!p.stats || !p.histogram) {
            text += QStringLiteral("error: %1\n").arg(p.error);
            continue;
        }
        const auto& c = p.histogram->counts;
        const int columns = std::min<int>(32, int(c.size()));
        std::vector<std::int64_t> folded(size_t(columns), 0);
        for (size_t i = 0; i < c.size(); ++i)
            folded[i * size_t(columns) / c.size()] += c[i];
        const std::int64_t peak = std::max<std::int64_t>(1, *std::max_element(folded.begin(), folded.end()));
        QString spark;
        for (auto f : folded)
            spark += levels[f == 0 ? 0 : 1 + int(7 * f / peak)];
        text += QStringLiteral("%1 .. %2  %3\n").arg(number(p.stats->min), 12).arg(number(p.stats->max), -12).arg(spark);
    }
    text += QStringLiteral("%1 tensors, %2 backend, %3 ms\n").arg(entries.size()).arg(backendText).arg(ms, 0, 'f', 1);
    print(text);
    return Ok;
}

int histCommand(const Checkpoint& ck, const QString& key, const HistRequest& request, bool json)
{
    int tensor = -1;
    QStringList matches;
    for (const auto& e : listTensors(ck)) {
        const QString dotted = e.path.join(QLatin1Char('.'));
        if (dotted == key) {
            tensor = e.tensor;
            break;
        }
        if (globMatches(key, dotted)) {
            matches << dotted;
            tensor = e.tensor;
        }
    }
    if (tensor < 0 || matches.size() > 1) {
        std::fprintf(stderr, "ckptlens-cli: %s\n",
            qPrintable(matches.size() > 1 ? QStringLiteral("--key '%1' matches %2 tensors (%3, ...)").arg(key).arg(matches.size()).arg(matches.mid(0, 3).join(QStringLiteral(", ")))
                                          : QStringLiteral("no tensor at '%1'").arg(key)));
        return Unreadable;
    }
    auto h = computeHistogram(ck, tensor, request);
    if (!h) {
        std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(h.error().message()));
        return Unreadable;
    }
    if (json) {
        printJson(histogramToJson(*h));
        return Ok;
    }
    QString out;
    const std::int64_t peak = std::max<std::int64_t>(1, *std::max_element(h->counts.begin(), h->counts.end()));
    for (size_t i = 0; i < h->counts.size(); ++i)
        out += QStringLiteral("[%1, %2%3 %4 %5\n")
                   .arg(h->edges[i], 12, 'g', 6)
                   .arg(h->edges[i + 1], 12, 'g', 6)
                   .arg(i + 1 == h->counts.size() ? QLatin1Char(']') : QLatin1Char(')'))
                   .arg(h->counts[i], 10)
                   .arg(QString(int(40 * h->counts[i] / peak), QChar(0x2588)));
    out += QStringLiteral("underflow %1, overflow %2, nan %3, inf %4, zeros %5; %6 backend, %7 ms\n")
               .arg(h->underflow).arg(h->overflow).arg(h->nan).arg(h->inf).arg(h->zeros).arg(h->backend).arg(h->milliseconds, 0, 'f', 2);
    print(out);
    return Ok;
}

// `scan`: what each file's pickles would import and call under a plain torch.load; nothing is executed.
int scanCommand(const QStringList& files, bool json)
{
    int code = Ok;
    QJsonArray reports;
    QString text;
    for (const QString& f : files) {
        auto r = scanFile(f);
        if (!r) {
            std::fprintf(stderr, "ckptlens-cli: %s [%s]\n", qPrintable(r.error().message()), errorKindName(r.error().kind));
            code = Unreadable;
            continue;
        }
        if (r->verdict != SafetyClass::Safe && code == Ok)
            code = 1;
        reports.append(safetyToJson(*r));
        text += QStringLiteral("%1: %2\n").arg(f, safetyClassName(r->verdict).toUpper());
        for (const auto& g : r->globals) {
            if (g.cls == SafetyClass::Safe)
                continue;
            text += QStringLiteral("  %1 %2.%3 x%4%5%6\n")
                        .arg(safetyClassName(g.cls), -9)
                        .arg(g.module, g.name)
                        .arg(g.count)
                        .arg(g.reason.isEmpty() ? QString() : QStringLiteral(": ") + g.reason)
                        .arg(g.locations.isEmpty() ? QString() : QStringLiteral(" at ") + g.locations.join(QStringLiteral(", ")));
        }
        for (const auto& p : r->problems)
            text += QStringLiteral("  malformed: %1\n").arg(p);
    }
    if (json) {
        if (files.size() == 1 && reports.size() == 1)
            printJson(reports.first().toObject());
        else
            print(QString::fromUtf8(QJsonDocument(reports).toJson(QJsonDocument::Indented)));
    } else {
        print(text);
    }
    return code;
}

int codeCommand(const Checkpoint& ck, const QString& glob)
{
    const auto records = scriptCodeRecords(ck);
    if (records.empty()) {
        std::fprintf(stderr, "ckptlens-cli: %s is not a TorchScript archive: it carries no code\n", qPrintable(ck.path));
        return Unreadable;
    }
    const QRegularExpression re = glob.isEmpty() ? QRegularExpression()
                                                 : QRegularExpression(QRegularExpression::wildcardToRegularExpression(
                                                       glob, QRegularExpression::UnanchoredWildcardConversion));
    int shown = 0;
    for (int r : records) {
        const QString& name = ck.records[size_t(r)].name;
        if (!glob.isEmpty() && !re.match(name).hasMatch())
            continue;
        auto text = scriptCodeText(ck, r);
        if (!text) {
            std::fprintf(stderr, "ckptlens-cli: %s [%s]\n", qPrintable(text.error().message()), errorKindName(text.error().kind));
            return Unreadable;
        }
        print(QStringLiteral("# %1\n%2%3").arg(name, *text, text->endsWith(QLatin1Char('\n')) ? QString() : QStringLiteral("\n")));
        ++shown;
    }
    if (shown == 0) {
        std::fprintf(stderr, "ckptlens-cli: no code record matches %s\n", qPrintable(glob));
        return Usage;
    }
    return Ok;
}

int run(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ckptlens-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(CKPTLENS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Look inside PyTorch and safetensors checkpoints without loading them.\n\n"
        "Commands:\n"
        "  info FILE   format, tensor count, elements, bytes per dtype, top-level keys (--model: the model view)\n"
        "  tree FILE   every object in the file as a tree (--json: the tensors with their container paths)\n"
        "  stats FILE  min, max, mean, std, L2, zeros, NaN, Inf of every tensor (--key GLOB on the dotted path)\n"
        "  export FILE -o OUT  a state dict, or part of it, renamed and cast, as a torch file or safetensors\n"
        "  diff A B    align two checkpoints by key and compare every tensor (exit 1 when something differs)\n"
        "  check-load FILE --into REF  would load_state_dict(strict=True) accept FILE for REF's model?\n"
        "  hist FILE --key PATH  histogram of one tensor (--bins N, --range LO HI, --log-abs, --backend cpu|cuda|auto)\n"
        "  hist FILE --all       statistics and histograms of every tensor (--key GLOB, --bins N, --backend)\n"
        "  scan FILE...  what the file's pickles would import and call (exit 0 safe, 1 unknown or dangerous)\n"
        "  code FILE   the Python code a TorchScript archive carries (--key GLOB on the record name)\n\n"
        "FILE may also be a folder or a Hugging Face *.index.json: sharded sets, DeepSpeed, Megatron and Lightning\n"
        "checkpoint folders open as one checkpoint."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON instead of text."));
    QCommandLineOption logLevel(QStringLiteral("log-level"),
        QStringLiteral("Log level: %1.").arg(QLatin1String(kLogLevels)), QStringLiteral("level"), QStringLiteral("warn"));
    QCommandLineOption key(QStringLiteral("key"), QStringLiteral("stats: only tensors whose dotted path matches this glob."),
        QStringLiteral("glob"));
    QCommandLineOption out({ QStringLiteral("o"), QStringLiteral("output") }, QStringLiteral("export: output file."), QStringLiteral("file"));
    QCommandLineOption select(QStringLiteral("select"), QStringLiteral("export: path of the state dict (keys joined by '/'); default: the model's."), QStringLiteral("path"));
    QCommandLineOption include(QStringLiteral("include"), QStringLiteral("export: keep keys matching this glob ('*' crosses dots), or "
                                                                         "this regular expression written re:REGEX (searched in the key); repeatable."), QStringLiteral("glob"));
    QCommandLineOption exclude(QStringLiteral("exclude"), QStringLiteral("export: drop keys matching this glob or re:REGEX; repeatable."), QStringLiteral("glob"));
    QCommandLineOption keepOthers(QStringLiteral("keep-others"), QStringLiteral("export: keep non-tensor entries (epoch, config, ...): beside the "
                                                                                  "state dict at its path in a torch file, as JSON metadata in safetensors and shard indexes."));
    QCommandLineOption dryRun(QStringLiteral("dry-run"), QStringLiteral("export: print what would be written (keys, dtypes, sizes, overflow, kept entries) and write nothing."));
    QCommandLineOption rename(QStringLiteral("rename"), QStringLiteral("export: rename keys, 'REGEX=>REPLACEMENT'; repeatable, applied in order."), QStringLiteral("rule"));
    QCommandLineOption dtype(QStringLiteral("dtype"), QStringLiteral("export: cast floating-point tensors to float16, bfloat16 or float32."), QStringLiteral("dtype"));
    QCommandLineOption format(QStringLiteral("format"), QStringLiteral("export: torch or safetensors (default: from the output's extension)."), QStringLiteral("format"));
    QCommandLineOption maxShard(QStringLiteral("max-shard-size"), QStringLiteral("export: split into shards of at most this size (5GB, 500MB)."), QStringLiteral("size"));
    QCommandLineOption recipe(QStringLiteral("recipe"), QStringLiteral("export: start from a saved recipe (JSON)."), QStringLiteral("file"));
    QCommandLineOption saveRecipe(QStringLiteral("save-recipe"), QStringLiteral("export: save the plan as a recipe (JSON)."), QStringLiteral("file"));
    QCommandLineOption rtol(QStringLiteral("rtol"), QStringLiteral("diff: relative tolerance (numpy.allclose), default 1e-5."), QStringLiteral("r"), QStringLiteral("1e-5"));
    QCommandLineOption atol(QStringLiteral("atol"), QStringLiteral("diff: absolute tolerance, default 1e-8."), QStringLiteral("a"), QStringLiteral("1e-8"));
    QCommandLineOption strip(QStringLiteral("strip-prefix"), QStringLiteral("diff/check-load: strip this key prefix on both sides; repeatable."), QStringLiteral("prefix"));
    QCommandLineOption into(QStringLiteral("into"), QStringLiteral("check-load: the reference state dict (the model's own, saved once)."), QStringLiteral("ref"));
    QCommandLineOption model(QStringLiteral("model"), QStringLiteral("info: add the model view (module tree totals, "
                                                                      "optimizer mapping, findings, training metadata)."));
    QCommandLineOption bins(QStringLiteral("bins"), QStringLiteral("hist: number of bins (default 100)."), QStringLiteral("n"), QStringLiteral("100"));
    QCommandLineOption range(QStringLiteral("range"), QStringLiteral("hist: value range LO HI (default: finite min..max)."), QStringLiteral("lo,hi"));
    QCommandLineOption logAbs(QStringLiteral("log-abs"), QStringLiteral("hist: bin log10 |x| instead of x."));
    QCommandLineOption all(QStringLiteral("all"), QStringLiteral("hist: statistics and a histogram of every tensor (or those --key matches) in one job."));
    QCommandLineOption backend(QStringLiteral("backend"), QStringLiteral("hist, diff: cpu, cuda or auto (default; diff uses the GPU for tensors of 1M elements or more)."), QStringLiteral("backend"), QStringLiteral("auto"));
    parser.addOptions({ json, all, logLevel, key, out, select, include, exclude, keepOthers, dryRun, rename, dtype, format, maxShard, recipe, saveRecipe, rtol, atol, strip, into,
        bins, range, logAbs, backend, model });
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("info, tree or stats"));
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("A .pth/.pt/.ckpt/.bin/.safetensors file"));
    // `--range LO HI` takes two values; QCommandLineParser takes one, so join them before it parses.
    QStringList arguments = app.arguments();
    for (qsizetype i = 0; i + 2 < arguments.size(); ++i)
        if (arguments[i] == QLatin1String("--range")) {
            arguments[i] = QStringLiteral("--range=%1,%2").arg(arguments[i + 1], arguments[i + 2]);
            arguments.remove(i + 1, 2);
        }
    // Parsed here rather than by process(), which exits with 1 on a bad option: export's contract is 2 for any
    // error with nothing written.
    if (!parser.parse(arguments)) {
        std::fprintf(stderr, "ckptlens-cli: %s; see --help\n", qPrintable(parser.errorText()));
        return parser.positionalArguments().value(0) == QLatin1String("export") ? Unreadable : Usage;
    }
    if (parser.isSet(help))
        parser.showHelp(0);
    if (parser.isSet(version))
        parser.showVersion();

    if (!setupLogging(parser.value(logLevel))) {
        std::fprintf(stderr, "ckptlens-cli: unknown log level '%s' (use %s)\n", qPrintable(parser.value(logLevel)), kLogLevels);
        return Usage;
    }
    spdlog::debug("allocator: {}", allocatorName().toStdString());
    const QStringList args = parser.positionalArguments();
    static const QStringList commands { QStringLiteral("info"), QStringLiteral("tree"), QStringLiteral("stats"),
        QStringLiteral("export"), QStringLiteral("diff"), QStringLiteral("check-load"), QStringLiteral("hist"), QStringLiteral("scan"), QStringLiteral("code") };
    if (args.size() >= 2 && args[0] == QLatin1String("scan"))
        return scanCommand(args.mid(1), parser.isSet(json));
    const bool isDiff = !args.isEmpty() && args[0] == QLatin1String("diff");
    if (args.size() != (isDiff ? 3 : 2) || !commands.contains(args[0])) {
        std::fprintf(stderr, "ckptlens-cli: expected a command (info, tree, stats, export, diff, check-load, hist, scan, code) and a file "
                             "(two for diff); see --help\n");
        return !args.isEmpty() && args[0] == QLatin1String("export") ? Unreadable : Usage;
    }
    if (isDiff || args[0] == QLatin1String("check-load")) {
        const QString other = isDiff ? args[2] : parser.value(into);
        if (other.isEmpty()) {
            std::fprintf(stderr, "ckptlens-cli: check-load needs --into REF\n");
            return Usage;
        }
        QString ruleError;
        const auto rules = normalisation(parser.values(strip), parser.values(rename), ruleError);
        bool okR = false, okA = false;
        DiffOptions options;
        options.rtol = parser.value(rtol).toDouble(&okR);
        options.atol = parser.value(atol).toDouble(&okA);
        options.rules = rules;
        const QString be = parser.value(backend);
        options.backend = be == QLatin1String("cpu") ? HistBackend::Cpu : be == QLatin1String("cuda") ? HistBackend::Cuda : HistBackend::Auto;
        if (be != QLatin1String("cpu") && be != QLatin1String("cuda") && be != QLatin1String("auto")) {
            std::fprintf(stderr, "ckptlens-cli: --backend must be cpu, cuda or auto\n");
            return Usage;
        }
        if (!ruleError.isEmpty() || !okR || !okA) {
            std::fprintf(stderr, "ckptlens-cli: %s\n", qPrintable(ruleError.isEmpty() ? QStringLiteral("--rtol/--atol must be numbers") : ruleError));
            return Usage;
        }
        auto first = openCheckpoint(args[1]);
        auto second = openCheckpoint(other);
        for (const auto* c : { &first, &second })
            if (!*c) {
                std::fprintf(stderr, "ckptlens-cli: %s [%s]\n", qPrintable(c->error().message()), errorKindName(c->error().kind));
                return Unreadable;
            }
        const Checkpoint& a = **new CheckpointPtr(*first);
        const Checkpoint& b = **new CheckpointPtr(*second);
        return isDiff ? diffCommand(a, b, options, parser.isSet(json)) : checkLoadCommand(a, b, rules, parser.isSet(json));
    }
    auto ck = openCheckpoint(args[1]);
    if (!ck) {
        std::fprintf(stderr, "ckptlens-cli: %s [%s]\n", qPrintable(ck.error().message()), errorKindName(ck.error().kind));
        return Unreadable;
    }
    // Deliberately never freed: tearing down hundreds of thousands of parsed objects costs more than the whole
    // rest of a 60,000-tensor `info`, and the process ends right after printing.
    const Checkpoint& c = **new CheckpointPtr(*ck);
    if (args[0] == QLatin1String("hist")) {
        HistRequest request;
        bool okBins = false;
        request.bins = parser.value(bins).toInt(&okBins);
        request.scale = parser.isSet(logAbs) ? HistScale::Log10Abs : HistScale::Linear;
        const QString b = parser.value(backend);
        request.backend = b == QLatin1String("cpu") ? HistBackend::Cpu : b == QLatin1String("cuda") ? HistBackend::Cuda : HistBackend::Auto;
        if (parser.isSet(range)) {
            const QStringList lohi = parser.value(range).split(QLatin1Char(','));
            bool okLo = false, okHi = false;
            if (lohi.size() == 2)
                request.range = std::pair { lohi[0].toDouble(&okLo), lohi[1].toDouble(&okHi) };
            if (!okLo || !okHi) {
                std::fprintf(stderr, "ckptlens-cli: --range needs two numbers, LO HI\n");
                return Usage;
            }
        }
        if (!okBins || !(parser.isSet(key) || parser.isSet(all)) || (b != QLatin1String("cpu") && b != QLatin1String("cuda") && b != QLatin1String("auto"))) {
            std::fprintf(stderr, "ckptlens-cli: hist needs --key PATH or --all, an integer --bins and --backend cpu|cuda|auto\n");
            return Usage;
        }
        if (parser.isSet(all)) {
            if (request.range || request.scale != HistScale::Linear) {
                std::fprintf(stderr, "ckptlens-cli: hist --all bins each tensor over its own finite min..max (no --range or --log-abs)\n");
                return Usage;
            }
            return histAllCommand(c, parser.value(key), request, parser.isSet(json));
        }
        return histCommand(c, parser.value(key), request, parser.isSet(json));
    }
    if (args[0] == QLatin1String("export"))
        return exportCommand(c, ExportOptions { parser.value(out), parser.value(select), parser.value(dtype), parser.value(format),
                                    parser.value(maxShard), parser.value(recipe), parser.value(saveRecipe), parser.values(include),
                                    parser.values(exclude), parser.values(rename), parser.isSet(keepOthers), parser.isSet(dryRun) },
            parser.isSet(json));
    if (args[0] == QLatin1String("stats"))
        return statsCommand(c, parser.value(key), parser.isSet(json));
    if (args[0] == QLatin1String("code"))
        return codeCommand(c, parser.value(key));
    if (args[0] == QLatin1String("info")) {
        // The module/optimizer view costs more than opening on files of many tensors: only when asked.
        const auto summary = summarize(c, parser.isSet(json) ? -1 : kSummaryTextKeys);
        const bool withModel = parser.isSet(model);
        const Semantic sem = withModel ? analyze(c) : Semantic {};
        if (parser.isSet(json)) {
            QJsonObject o = summaryToJson(summary);
            if (withModel)
                o.insert(QStringLiteral("semantic"), semanticToJson(c, sem));
            printJson(o);
        } else {
            print(summaryToText(summary) + (withModel ? semanticToText(c, sem) : QString()));
        }
    } else if (parser.isSet(json)) {
        printJson(treeJson(c));
    } else {
        ObjectTreeModel treeModel;
        treeModel.setCheckpoint(*ck);
        print(treeModel.dump());
    }
    return Ok;
}

} // namespace

int main(int argc, char** argv)
{
    ckpt::tuneAllocator();
    // The readers turn allocation failures they can foresee into typed errors; anything else that runs out (under
    // `ulimit -v`, or with overcommit off) ends here with a message and the unreadable-file status, not an abort.
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "ckptlens-cli: out of memory [limit-exceeded]\n");
        return Unreadable;
    }
}
