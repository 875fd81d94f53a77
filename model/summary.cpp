#include "model/summary.h"

#include "model/objectchildren.h"

#include <QJsonArray>
#include <QLocale>

namespace ckpt {

namespace {
std::int64_t saturatingAdd(std::int64_t a, std::int64_t b)
{
    std::int64_t r = 0;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}
} // namespace

CheckpointSummary summarize(const Checkpoint& ck, qsizetype maxKeys)
{
    CheckpointSummary s;
    s.path = ck.path;
    s.format = ck.format;
    s.fileSize = ck.fileSize;
    s.tensorCount = std::int64_t(ck.tensors.size());
    std::map<DType, DTypeTotals> byType; // by enum first: naming 60,000 dtypes costs more than the sums
    for (const auto& t : ck.tensors) {
        if (!ck.concats.empty() && ck.mergeOfStorage(t.storage)) {
            ++s.mergedTensors;
            --s.tensorCount;
            continue;
        }
        if (!t.error.isEmpty()) {
            ++s.brokenTensors;
            continue;
        }
        auto& d = byType[t.dtype];
        const std::int64_t n = t.numel();
        ++d.tensors;
        // Expanded views can declare more elements than any file holds: totals saturate instead of wrapping.
        d.elements = saturatingAdd(d.elements, n);
        d.bytes = saturatingAdd(d.bytes, n > INT64_MAX / 16 ? INT64_MAX : n * dtypeItemSize(t.dtype));
    }
    for (const auto& [type, d] : byType) {
        s.byDtype[dtypeName(type)] = d;
        s.totalElements = saturatingAdd(s.totalElements, d.elements);
        s.tensorBytes = saturatingAdd(s.tensorBytes, d.bytes);
    }
    for (size_t i = 0; i < ck.storages.size(); ++i) {
        const StorageInfo& st = ck.storages[i];
        if (ck.mergeOfStorage(int(i)))
            continue;
        if (st.error.isEmpty())
            s.storageBytes = saturatingAdd(s.storageBytes, st.nbytes());
        if (!s.devices.contains(st.location))
            s.devices << st.location;
    }
    s.rootType = typeText(ck.graph, ck.root);
    if (ck.graph.valid(ck.root) && ck.graph.at(ck.root).kind == ObjKind::Dict) {
        // The common root, a state dict of maybe 60,000 keys: its keys without building every child entry first.
        const auto& items = ck.graph.at(ck.root).items;
        s.topLevelKeyCount = std::int64_t(items.size() / 2);
        const size_t listed = maxKeys < 0 ? items.size() / 2 : std::min(items.size() / 2, size_t(maxKeys));
        s.topLevelKeys.reserve(qsizetype(listed));
        for (size_t i = 0; i < listed; ++i)
            s.topLevelKeys << keyText(ck.graph, items[2 * i]);
    } else {
        for (const auto& c : objectChildren(ck.graph, ck.root))
            if (!c.viaArgs) {
                ++s.topLevelKeyCount;
                if (maxKeys < 0 || s.topLevelKeys.size() < maxKeys)
                    s.topLevelKeys << c.key;
            }
    }
    s.importedGlobals = std::int64_t(ck.imports.size());
    s.layout = ck.layout;
    s.parts = ck.parts;
    s.problems = ck.problems;
    return s;
}

QJsonObject summaryToJson(const CheckpointSummary& s)
{
    QJsonObject dtypes;
    for (const auto& [name, d] : s.byDtype)
        dtypes.insert(name, QJsonObject { { QStringLiteral("tensors"), qint64(d.tensors) },
                                { QStringLiteral("elements"), qint64(d.elements) }, { QStringLiteral("bytes"), qint64(d.bytes) } });
    QJsonObject out {
        { QStringLiteral("path"), s.path },
        { QStringLiteral("format"), formatName(s.format) },
        { QStringLiteral("file_size"), s.fileSize },
        { QStringLiteral("tensors"), qint64(s.tensorCount) },
        { QStringLiteral("broken_tensors"), qint64(s.brokenTensors) },
        { QStringLiteral("total_elements"), qint64(s.totalElements) },
        { QStringLiteral("total_bytes"), qint64(s.tensorBytes) },
        { QStringLiteral("storage_bytes"), qint64(s.storageBytes) },
        { QStringLiteral("dtypes"), dtypes },
        { QStringLiteral("devices"), QJsonArray::fromStringList(s.devices) },
        { QStringLiteral("root_type"), s.rootType },
        { QStringLiteral("top_level_keys"), QJsonArray::fromStringList(s.topLevelKeys) },
    };
    if (!s.layout.isEmpty()) {
        QJsonArray parts;
        for (const auto& p : s.parts) {
            QJsonObject o { { QStringLiteral("name"), p.name }, { QStringLiteral("role"), p.role },
                { QStringLiteral("format"), formatName(p.format) }, { QStringLiteral("size"), p.size },
                { QStringLiteral("tensors"), p.tensorEnd - p.tensorBegin } };
            if (p.tpRank >= 0)
                o.insert(QStringLiteral("tp_rank"), p.tpRank);
            if (p.ppRank >= 0)
                o.insert(QStringLiteral("pp_rank"), p.ppRank);
            if (p.dpRank >= 0)
                o.insert(QStringLiteral("dp_rank"), p.dpRank);
            parts.append(o);
        }
        out.insert(QStringLiteral("layout"), s.layout);
        out.insert(QStringLiteral("parts"), parts);
        out.insert(QStringLiteral("problems"), QJsonArray::fromStringList(s.problems));
        out.insert(QStringLiteral("merged_tensors"), qint64(s.mergedTensors));
    }
    return out;
}

QString formatBytes(std::int64_t bytes)
{
    return QLocale::c().formattedDataSize(bytes, 2, QLocale::DataSizeIecFormat);
}

QString summaryToText(const CheckpointSummary& s)
{
    QString out;
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions);
    out += QStringLiteral("file:            %1 (%2)\n").arg(s.path, formatBytes(s.fileSize));
    out += QStringLiteral("format:          %1\n").arg(formatName(s.format));
    if (!s.layout.isEmpty()) {
        out += QStringLiteral("layout:          %1, %2 files\n").arg(s.layout).arg(s.parts.size());
        for (const auto& p : s.parts)
            out += QStringLiteral("  %1  %2  %3 tensors  %4\n")
                       .arg(p.name, -40)
                       .arg(formatBytes(p.size), 10)
                       .arg(p.tensorEnd - p.tensorBegin, 6)
                       .arg(p.role);
        for (const auto& p : s.problems)
            out += QStringLiteral("problem:         %1\n").arg(p);
        if (s.mergedTensors)
            out += QStringLiteral("merged view:     %1 tensors joined across tensor-parallel ranks (not counted below)\n")
                       .arg(s.mergedTensors);
    }
    out += QStringLiteral("root:            %1\n").arg(s.rootType);
    out += QStringLiteral("tensors:         %1%2\n")
               .arg(c.toString(qint64(s.tensorCount)))
               .arg(s.brokenTensors ? QStringLiteral(" (%1 broken)").arg(s.brokenTensors) : QString());
    out += QStringLiteral("total elements:  %1\n").arg(c.toString(qint64(s.totalElements)));
    out += QStringLiteral("total bytes:     %1 (%2)\n").arg(c.toString(qint64(s.tensorBytes)), formatBytes(s.tensorBytes));
    if (s.storageBytes != s.tensorBytes)
        out += QStringLiteral("storage bytes:   %1 (%2)\n").arg(c.toString(qint64(s.storageBytes)), formatBytes(s.storageBytes));
    if (!s.devices.isEmpty())
        out += QStringLiteral("saved from:      %1\n").arg(s.devices.join(QStringLiteral(", ")));
    out += QStringLiteral("by dtype:\n");
    for (const auto& [name, d] : s.byDtype)
        out += QStringLiteral("  %1 %2 tensors  %3 elements  %4\n")
                   .arg(name, -10)
                   .arg(d.tensors, 7)
                   .arg(c.toString(qint64(d.elements)), 15)
                   .arg(formatBytes(d.bytes));
    out += QStringLiteral("top-level keys (%1):\n").arg(s.topLevelKeyCount);
    const int shown = std::min<int>(int(s.topLevelKeys.size()), kSummaryTextKeys);
    for (int i = 0; i < shown; ++i)
        out += QStringLiteral("  %1\n").arg(s.topLevelKeys[i]);
    if (shown < s.topLevelKeyCount)
        out += QStringLiteral("  ... and %1 more\n").arg(s.topLevelKeyCount - shown);
    return out;
}

} // namespace ckpt
