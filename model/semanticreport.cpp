#include "model/semanticreport.h"

#include "model/objectchildren.h"
#include "model/summary.h"

#include <QJsonArray>
#include <QLocale>

namespace ckpt {

QString findingKindName(FindingKind k)
{
    switch (k) {
    case FindingKind::DataParallelPrefix: return QStringLiteral("dataparallel-prefix");
    case FindingKind::CompilePrefix: return QStringLiteral("compile-prefix");
    case FindingKind::TiedWeights: return QStringLiteral("tied-weights");
    case FindingKind::SavedOnGpu: return QStringLiteral("saved-on-gpu");
    case FindingKind::MixedDtypes: return QStringLiteral("mixed-dtypes");
    case FindingKind::NonFinite: return QStringLiteral("non-finite");
    case FindingKind::InconsistentSet: return QStringLiteral("inconsistent-set");
    }
    return QStringLiteral("unknown");
}

QJsonObject semanticToJson(const Checkpoint& ck, const Semantic& sem)
{
    QJsonArray dicts;
    for (size_t i = 0; i < sem.stateDicts.size(); ++i) {
        const auto& sd = sem.stateDicts[i];
        dicts.append(QJsonObject { { QStringLiteral("path"), QJsonArray::fromStringList(sd.path) },
            { QStringLiteral("role"), sd.role }, { QStringLiteral("tensors"), qint64(sd.entries.size()) },
            { QStringLiteral("primary"), int(i) == sem.primary } });
    }
    QJsonObject model;
    if (sem.primary >= 0 && !sem.modules.nodes.empty()) {
        const ModuleNode& root = sem.modules.nodes.front();
        QJsonObject perModule;
        for (int c : root.children) {
            const ModuleNode& n = sem.modules.nodes[size_t(c)];
            perModule.insert(n.name, qint64(n.parameters));
        }
        model = QJsonObject { { QStringLiteral("parameters"), qint64(root.parameters) },
            { QStringLiteral("buffer_elements"), qint64(root.bufferElements) }, { QStringLiteral("bytes"), qint64(root.bytes) },
            { QStringLiteral("tensors"), qint64(root.tensors) }, { QStringLiteral("per_module"), perModule },
            { QStringLiteral("repeated_block"), sem.modules.repeatedBlock },
            { QStringLiteral("layers"), sem.modules.repeatedCount } };
    }
    QJsonArray optimizers;
    for (const auto& opt : sem.optimizers) {
        QJsonArray groups;
        for (const auto& g : opt.groups) {
            QJsonObject hyper;
            for (const auto& [k, v] : g.hyperParameters)
                hyper.insert(k, valueText(ck.graph, v, 80));
            hyper.insert(QStringLiteral("params"), qint64(g.params.size()));
            groups.append(hyper);
        }
        QJsonArray params;
        for (const auto& p : opt.params) {
            QJsonArray fields;
            for (const auto& f : p.fields)
                fields.append(f.first);
            params.append(QJsonObject { { QStringLiteral("id"), qint64(p.id) }, { QStringLiteral("group"), p.group },
                { QStringLiteral("parameter"), p.parameter }, { QStringLiteral("fields"), fields } });
        }
        optimizers.append(QJsonObject { { QStringLiteral("path"), QJsonArray::fromStringList(opt.path) },
            { QStringLiteral("kind"), opt.kind }, { QStringLiteral("mapped"), opt.mapped },
            { QStringLiteral("note"), opt.mappingNote }, { QStringLiteral("groups"), groups }, { QStringLiteral("params"), params } });
    }
    QJsonArray findings;
    for (const auto& f : sem.findings)
        findings.append(QJsonObject { { QStringLiteral("kind"), findingKindName(f.kind) }, { QStringLiteral("message"), f.message },
            { QStringLiteral("keys"), QJsonArray::fromStringList(f.keys) } });
    QJsonObject metadata;
    for (const auto& [k, v] : sem.metadata)
        metadata.insert(k, v);
    return QJsonObject { { QStringLiteral("state_dicts"), dicts }, { QStringLiteral("model"), model },
        { QStringLiteral("optimizers"), optimizers }, { QStringLiteral("findings"), findings },
        { QStringLiteral("metadata"), metadata } };
}

QString semanticToText(const Checkpoint& ck, const Semantic& sem)
{
    QString out;
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions);
    if (sem.primary >= 0 && !sem.modules.nodes.empty()) {
        const auto& sd = sem.stateDicts[size_t(sem.primary)];
        const ModuleNode& root = sem.modules.nodes.front();
        out += QStringLiteral("model state dict: %1 (%2 tensors)\n")
                   .arg(sd.path.isEmpty() ? QStringLiteral("<root>") : sd.path.join(QLatin1Char('/')))
                   .arg(sd.entries.size());
        out += QStringLiteral("parameters:      %1 (buffers: %2 elements)\n")
                   .arg(c.toString(qint64(root.parameters)), c.toString(qint64(root.bufferElements)));
        if (sem.modules.repeatedCount)
            out += QStringLiteral("layers:          %1 in %2\n").arg(sem.modules.repeatedCount).arg(sem.modules.repeatedBlock);
        for (int child : root.children) {
            const ModuleNode& n = sem.modules.nodes[size_t(child)];
            out += QStringLiteral("  %1 %2 parameters  %3\n").arg(n.name, -32).arg(c.toString(qint64(n.parameters)), 14).arg(formatBytes(n.bytes));
        }
    } else {
        out += QStringLiteral("model state dict: none found\n");
    }
    for (const auto& sd : sem.stateDicts)
        if (&sd != &sem.stateDicts[size_t(std::max(sem.primary, 0))] || sem.primary < 0)
            out += QStringLiteral("other state dict: %1 (%2, %3 tensors)\n")
                       .arg(sd.path.isEmpty() ? QStringLiteral("<root>") : sd.path.join(QLatin1Char('/')), sd.role)
                       .arg(sd.entries.size());
    for (const auto& opt : sem.optimizers) {
        out += QStringLiteral("optimizer:       %1 at %2, %3 parameters in %4 groups, %5\n")
                   .arg(opt.kind, opt.path.join(QLatin1Char('/')))
                   .arg(opt.params.size())
                   .arg(opt.groups.size())
                   .arg(opt.mapped ? QStringLiteral("mapped to parameter names") : opt.mappingNote);
        for (size_t g = 0; g < opt.groups.size(); ++g) {
            QStringList hyper;
            for (const auto& [k, v] : opt.groups[g].hyperParameters)
                hyper << k + QLatin1Char('=') + valueText(ck.graph, v, 40);
            out += QStringLiteral("  group %1: %2\n").arg(g).arg(hyper.join(QStringLiteral(", ")));
        }
    }
    for (const auto& f : sem.findings)
        out += QStringLiteral("note:            [%1] %2\n").arg(findingKindName(f.kind), f.message);
    if (!sem.metadata.empty()) {
        out += QStringLiteral("metadata:\n");
        for (const auto& [k, v] : sem.metadata)
            out += QStringLiteral("  %1 = %2\n").arg(k, v);
    }
    return out;
}

} // namespace ckpt
