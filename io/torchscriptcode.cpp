#include "io/torchscriptcode.h"

#include <QRegularExpression>

namespace ckpt {

namespace {
constexpr qint64 kMaxCodeBytes = qint64(64) << 20;

QString codeFolder(const Checkpoint& ck)
{
    return (ck.archivePrefix.isEmpty() ? QString() : ck.archivePrefix + QLatin1Char('/')) + QStringLiteral("code/");
}

QStringList quotedNames(const QString& list)
{
    static const QRegularExpression quoted(QStringLiteral("\"([^\"]*)\""));
    QStringList out;
    for (auto it = quoted.globalMatch(list); it.hasNext();)
        out << it.next().captured(1);
    return out;
}
} // namespace

std::vector<int> scriptCodeRecords(const Checkpoint& ck)
{
    std::vector<int> out;
    if (!ck.torchScript)
        return out;
    const QString folder = codeFolder(ck);
    for (size_t i = 0; i < ck.records.size(); ++i) {
        const QString& n = ck.records[i].name;
        if (n.startsWith(folder) && n.endsWith(QLatin1String(".py")))
            out.push_back(int(i));
    }
    return out;
}

Expected<QString> scriptCodeText(const Checkpoint& ck, int record)
{
    if (record < 0 || size_t(record) >= ck.records.size())
        return Error { ErrorKind::MissingRecord, ck.path, {}, QStringLiteral("record %1 does not exist").arg(record) };
    const Record& r = ck.records[size_t(record)];
    if (r.size > kMaxCodeBytes)
        return Error { ErrorKind::LimitExceeded, ck.path, r.name,
            QStringLiteral("a %1-byte code record, more than %2").arg(r.size).arg(kMaxCodeBytes) };
    auto bytes = ck.recordBytes(record);
    if (!bytes)
        return bytes.error();
    return QString::fromUtf8(reinterpret_cast<const char*>(bytes->data()), qsizetype(bytes->size()));
}

QHash<QString, ScriptClass> scriptClasses(const Checkpoint& ck)
{
    static const QRegularExpression classLine(QStringLiteral("^class\\s+(\\w+)\\s*\\("));
    static const QRegularExpression tableLine(QStringLiteral("^\\s+__(parameters|buffers)__\\s*=\\s*\\[(.*)\\]"));
    QHash<QString, ScriptClass> out;
    const QString folder = codeFolder(ck);
    for (int rec : scriptCodeRecords(ck)) {
        auto text = scriptCodeText(ck, rec);
        if (!text)
            continue;
        // code/__torch__/torch/nn/modules/conv.py defines classes of module __torch__.torch.nn.modules.conv
        QString module = ck.records[size_t(rec)].name.mid(folder.size());
        module.chop(3);
        module.replace(QLatin1Char('/'), QLatin1Char('.'));
        ScriptClass* current = nullptr;
        for (const QStringView line : QStringView(*text).split(QLatin1Char('\n'))) {
            if (auto m = classLine.match(line); m.hasMatch()) {
                const QString name = module + QLatin1Char('.') + m.captured(1);
                current = &out[name];
                current->qualifiedName = name;
                current->record = ck.records[size_t(rec)].name;
            } else if (auto t = tableLine.match(line); t.hasMatch() && current) {
                (t.captured(1) == QLatin1String("parameters") ? current->parameters : current->buffers) = quotedNames(t.captured(2));
            }
        }
    }
    return out;
}

} // namespace ckpt
