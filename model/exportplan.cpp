#include "model/exportplan.h"

#include "model/dtypecast.h"
#include "model/semantic.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <map>

namespace ckpt {

bool globMatches(const QString& glob, const QString& key)
{
    QString rx;
    for (QChar c : glob) {
        if (c == QLatin1Char('*'))
            rx += QStringLiteral(".*");
        else if (c == QLatin1Char('?'))
            rx += QLatin1Char('.');
        else
            rx += QRegularExpression::escape(QString(c));
    }
    return QRegularExpression(QRegularExpression::anchoredPattern(rx)).match(key).hasMatch();
}

std::int64_t parseSize(const QString& text)
{
    static const QRegularExpression re(QStringLiteral(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*$)"));
    const auto m = re.match(text);
    if (!m.hasMatch())
        return 0;
    const double value = m.captured(1).toDouble();
    const QString unit = m.captured(2).toUpper();
    const double base = m.captured(3).isEmpty() ? 1000.0 : 1024.0; // "5GB" is 5e9, as Hugging Face reads it
    const int power = unit.isEmpty() ? 0 : QStringLiteral("KMGT").indexOf(unit) + 1;
    double bytes = value;
    for (int i = 0; i < power; ++i)
        bytes *= base;
    return bytes >= 1 && bytes < 9e18 ? std::int64_t(bytes) : 0;
}

RenameRule ExportPlan::stripPrefix(const QString& prefix)
{
    return { QLatin1Char('^') + QRegularExpression::escape(prefix), QString() };
}

RenameRule ExportPlan::addPrefix(const QString& prefix)
{
    return { QStringLiteral("^"), prefix };
}

QJsonObject ExportPlan::toJson() const
{
    QJsonArray renamesJson;
    for (const auto& r : renames)
        renamesJson.append(QJsonObject { { QStringLiteral("pattern"), r.pattern }, { QStringLiteral("replacement"), r.replacement } });
    QJsonObject o { { QStringLiteral("ckptlens_recipe"), 1 }, { QStringLiteral("select"), QJsonArray::fromStringList(select) },
        { QStringLiteral("include"), QJsonArray::fromStringList(include) }, { QStringLiteral("exclude"), QJsonArray::fromStringList(exclude) },
        { QStringLiteral("renames"), renamesJson },
        { QStringLiteral("format"), format == ExportFormat::Safetensors ? QStringLiteral("safetensors") : QStringLiteral("torch") },
        { QStringLiteral("max_shard_size"), qint64(maxShardSize) } };
    if (castTo)
        o.insert(QStringLiteral("dtype"), dtypeName(*castTo));
    return o;
}

Expected<ExportPlan> ExportPlan::fromJson(const QJsonObject& o)
{
    auto bad = [](QString what) { return Error { ErrorKind::Unsupported, {}, QStringLiteral("recipe"), std::move(what) }; };
    if (o.value(QLatin1String("ckptlens_recipe")).toInt() != 1)
        return bad(QStringLiteral("not a Checkpoint Lens export recipe (version 1)"));
    ExportPlan p;
    p.select = o.value(QLatin1String("select")).toVariant().toStringList();
    p.include = o.value(QLatin1String("include")).toVariant().toStringList();
    p.exclude = o.value(QLatin1String("exclude")).toVariant().toStringList();
    for (const auto& r : o.value(QLatin1String("renames")).toArray()) {
        const QJsonObject ro = r.toObject();
        if (!ro.value(QLatin1String("pattern")).isString())
            return bad(QStringLiteral("a rename rule without a pattern"));
        p.renames.push_back({ ro.value(QLatin1String("pattern")).toString(), ro.value(QLatin1String("replacement")).toString() });
    }
    const QString fmt = o.value(QLatin1String("format")).toString(QStringLiteral("torch"));
    if (fmt != QLatin1String("torch") && fmt != QLatin1String("safetensors"))
        return bad(QStringLiteral("unknown format '%1'").arg(fmt));
    p.format = fmt == QLatin1String("safetensors") ? ExportFormat::Safetensors : ExportFormat::Torch;
    p.maxShardSize = o.value(QLatin1String("max_shard_size")).toInteger();
    if (o.contains(QLatin1String("dtype"))) {
        auto dt = dtypeFromTorchName(o.value(QLatin1String("dtype")).toString());
        if (!dt || !castable(*dt))
            return bad(QStringLiteral("cannot cast to '%1'").arg(o.value(QLatin1String("dtype")).toString()));
        p.castTo = *dt;
    }
    return p;
}

Expected<ResolvedPlan> resolvePlan(const Checkpoint& ck, const Semantic& sem, const ExportPlan& plan)
{
    const StateDictRef* sd = nullptr;
    if (plan.select.isEmpty()) {
        if (sem.primary < 0)
            return Error { ErrorKind::NotACheckpoint, ck.path, {}, QStringLiteral("no state dict found to export; use --select") };
        sd = &sem.stateDicts[size_t(sem.primary)];
    } else {
        for (const auto& s : sem.stateDicts)
            if (s.path == plan.select)
                sd = &s;
        if (!sd) {
            QStringList known;
            for (const auto& s : sem.stateDicts)
                known << (s.path.isEmpty() ? QStringLiteral("<root>") : s.path.join(QLatin1Char('/')));
            return Error { ErrorKind::NotACheckpoint, ck.path, plan.select.join(QLatin1Char('/')),
                QStringLiteral("is not a state dict; state dicts in this file: %1").arg(known.join(QStringLiteral(", "))) };
        }
    }
    std::vector<QRegularExpression> rules;
    for (const auto& r : plan.renames) {
        QRegularExpression re(r.pattern);
        if (!re.isValid())
            return Error { ErrorKind::Unsupported, {}, QStringLiteral("rename rule '%1'").arg(r.pattern), re.errorString() };
        rules.push_back(re);
    }
    ResolvedPlan out;
    out.statePath = sd->path;
    std::map<QString, QString> seen; // output key -> source key
    for (const auto& [key, tensor] : sd->entries) {
        if (!plan.include.isEmpty() && std::none_of(plan.include.begin(), plan.include.end(), [&](const QString& g) { return globMatches(g, key); }))
            continue;
        if (std::any_of(plan.exclude.begin(), plan.exclude.end(), [&](const QString& g) { return globMatches(g, key); }))
            continue;
        QString name = key;
        for (size_t i = 0; i < rules.size(); ++i)
            name.replace(rules[i], plan.renames[i].replacement);
        const TensorInfo& t = ck.tensors[size_t(tensor)];
        if (!t.error.isEmpty())
            out.errors << QStringLiteral("%1 is broken: %2").arg(key, t.error);
        if (name.isEmpty())
            out.errors << QStringLiteral("%1 is renamed to an empty key").arg(key);
        if (auto [it, fresh] = seen.emplace(name, key); !fresh)
            out.errors << QStringLiteral("%1 and %2 would both be written as %3").arg(it->second, key, name);
        PlannedTensor p { key, name, tensor, t.dtype, 0 };
        if (plan.castTo && castable(t.dtype))
            p.outputDtype = *plan.castTo;
        p.bytes = t.error.isEmpty() ? t.numel() * dtypeItemSize(p.outputDtype) : 0;
        out.totalBytes += p.bytes;
        out.tensors.push_back(p);
    }
    if (out.tensors.empty())
        out.errors << QStringLiteral("nothing to export: no key of %1 passes the include/exclude filters")
                          .arg(sd->path.isEmpty() ? QStringLiteral("<root>") : sd->path.join(QLatin1Char('/')));
    return out;
}

} // namespace ckpt
