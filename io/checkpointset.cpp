// Opening what a user points at when it is more than one file: Hugging Face sharded sets (index, any shard, or
// the folder), DeepSpeed, Megatron and Lightning checkpoint folders. Each file is opened by the single-file
// readers and appended to one Checkpoint (CheckpointMerge); nothing beyond metadata is read.
#include "io/checkpoint.h"
#include "io/checkpointmerge.h"

#include <spdlog/spdlog.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>

#include <map>
#include <optional>

namespace ckpt {

namespace {

constexpr int kMaxSetFiles = 100'000;
constexpr qint64 kMaxIndexBytes = qint64(256) << 20; // a 100,000-key index is about 10 MB
constexpr qint64 kMaxPointerFileBytes = 4096;        // `latest`, `latest_checkpointed_iteration.txt`

struct ShardName {
    QString stem;   // "model"
    int index = 0;  // 1-based
    int count = 0;
    QString suffix; // ".safetensors"
};

std::optional<ShardName> parseShardName(const QString& fileName)
{
    static const QRegularExpression re(QStringLiteral("^(.+)-(\\d{5})-of-(\\d{5})(\\.[^.]+)?$"));
    const auto m = re.match(fileName);
    if (!m.hasMatch())
        return std::nullopt;
    ShardName s { m.captured(1), m.captured(2).toInt(), m.captured(3).toInt(), m.captured(4) };
    if (s.count < 1 || s.index < 1 || s.index > s.count)
        return std::nullopt;
    return s;
}

QString shardFileName(const ShardName& s, int index)
{
    return QStringLiteral("%1-%2-of-%3%4")
        .arg(s.stem)
        .arg(index, 5, 10, QLatin1Char('0'))
        .arg(s.count, 5, 10, QLatin1Char('0'))
        .arg(s.suffix);
}

Expected<QByteArray> readSmallFile(const QString& path, qint64 limit)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error { ErrorKind::Io, path, {}, QStringLiteral("cannot open: %1").arg(f.errorString()) };
    if (f.size() > limit)
        return Error { ErrorKind::LimitExceeded, path, {},
            QStringLiteral("%1 bytes, more than the %2 such a file can sensibly hold").arg(f.size()).arg(limit) };
    return f.readAll();
}

// Files of a folder, sorted by name; refuses folders too large to be one checkpoint.
Expected<QStringList> listFiles(const QString& dir)
{
    QStringList names = QDir(dir).entryList(QDir::Files | QDir::NoDotAndDotDot, QDir::Name);
    if (names.size() > kMaxSetFiles)
        return Error { ErrorKind::LimitExceeded, dir, {},
            QStringLiteral("%1 files in the folder, more than %2").arg(names.size()).arg(kMaxSetFiles) };
    return names;
}

// A relative path from an index that stays inside its folder.
bool safeRelative(const QString& name)
{
    if (name.isEmpty() || QDir::isAbsolutePath(name) || name.contains(QLatin1Char('\\')))
        return false;
    for (const auto& c : name.split(QLatin1Char('/')))
        if (c.isEmpty() || c == QLatin1String("..") || c == QLatin1String("."))
            return false;
    return true;
}

QString firstFew(const QStringList& keys)
{
    return keys.mid(0, 3).join(QStringLiteral(", ")) + (keys.size() > 3 ? QStringLiteral(", ...") : QString());
}

ObjId dictValue(const ObjectGraph& g, ObjId dict, const QString& key)
{
    if (!g.valid(dict) || g.at(dict).kind != ObjKind::Dict)
        return kNoObject;
    const auto& items = g.at(dict).items;
    for (size_t i = 0; i + 1 < items.size(); i += 2)
        if (g.at(items[i]).kind == ObjKind::Str && g.at(items[i]).text == key)
            return items[i + 1];
    return kNoObject;
}

std::int64_t distinctBytes(const Checkpoint& ck, const std::vector<std::pair<QString, ObjId>>& items, bool byStorage)
{
    std::int64_t total = 0;
    QSet<int> seen;
    for (const auto& [key, obj] : items) {
        const TensorInfo& t = ck.tensors[size_t(ck.graph.at(obj).integer)];
        if (!t.error.isEmpty())
            continue;
        if (!byStorage) {
            total += t.nbytes();
        } else if (!seen.contains(t.storage)) {
            seen.insert(t.storage);
            total += ck.storages[size_t(t.storage)].nbytes();
        }
    }
    return total;
}

QString jsonText(const QJsonValue& v)
{
    if (v.isString())
        return v.toString();
    if (v.isDouble()) {
        const double d = v.toDouble();
        return d == double(qint64(d)) ? QString::number(qint64(d)) : QString::number(d, 'g', 17);
    }
    if (v.isBool())
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    if (v.isArray())
        return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    return QStringLiteral("null");
}

// ---- Hugging Face sharded sets ----

struct ShardPlan {
    QString file;        // relative to the folder
    QStringList keys;    // what the index says the file holds ({} without an index)
};

Expected<CheckpointPtr> openShards(const QString& setPath, const QString& dir, const std::vector<ShardPlan>& plan,
    bool haveIndex, const QJsonObject& indexMetadata, QStringList problems)
{
    CheckpointMerge merge(setPath, QStringLiteral("huggingface-sharded"));
    for (auto& p : problems)
        merge.problem(std::move(p));
    std::vector<std::pair<QString, ObjId>> items;
    QHash<QString, QString> fileOfKey;
    QStringList duplicates;
    int opened = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        const ShardPlan& s = plan[i];
        const QString path = QDir(dir).filePath(s.file);
        if (QFileInfo::exists(path) && !QFileInfo(path).isFile()) { // a FIFO would block the open
            merge.problem(QStringLiteral("shard %1 is not a regular file").arg(s.file));
            continue;
        }
        if (!QFileInfo(path).isFile()) {
            merge.problem(QStringLiteral("missing shard %1 (the index puts %2 key(s) there: %3)")
                              .arg(s.file)
                              .arg(s.keys.size())
                              .arg(firstFew(s.keys)));
            continue;
        }
        auto part = openCheckpointFile(path);
        if (!part) {
            merge.problem(QStringLiteral("shard %1 does not open: %2").arg(s.file, part.error().message()));
            continue;
        }
        ++opened;
        const auto sn = parseShardName(QFileInfo(s.file).fileName());
        CheckpointPart info;
        info.path = QFileInfo(path).absoluteFilePath();
        info.name = s.file;
        info.role = sn ? QStringLiteral("shard %1 of %2").arg(sn->index).arg(sn->count)
                       : QStringLiteral("shard %1 of %2").arg(i + 1).arg(plan.size());
        const ObjId root = merge.append(**part, info);
        const auto entries = flattenTensorDict(merge.checkpoint(), root);
        if (entries.empty())
            merge.problem(QStringLiteral("shard %1 holds no dict of tensors").arg(s.file));
        QSet<QString> present;
        const QSet<QString> indexed(s.keys.begin(), s.keys.end());
        QStringList notInIndex;
        for (const auto& [key, obj] : entries) {
            present.insert(key);
            if (fileOfKey.contains(key)) {
                duplicates << key;
                continue;
            }
            fileOfKey.insert(key, s.file);
            items.emplace_back(key, obj);
            if (haveIndex && !indexed.contains(key))
                notInIndex << key;
        }
        QStringList absent;
        for (const auto& k : s.keys)
            if (!present.contains(k))
                absent << k;
        if (!absent.isEmpty())
            merge.problem(QStringLiteral("the index maps %1 key(s) to %2, which lacks them: %3")
                              .arg(absent.size())
                              .arg(s.file, firstFew(absent)));
        if (!notInIndex.isEmpty())
            merge.problem(QStringLiteral("%1 holds %2 key(s) the index maps elsewhere or not at all: %3")
                              .arg(s.file)
                              .arg(notInIndex.size())
                              .arg(firstFew(notInIndex)));
    }
    if (opened == 0)
        return Error { ErrorKind::NotACheckpoint, setPath, {},
            QStringLiteral("no shard of the set opens: %1").arg(merge.checkpoint().problems.join(QStringLiteral("; "))) };
    if (!duplicates.isEmpty())
        merge.problem(QStringLiteral("%1 key(s) are in more than one shard (the first is shown): %2")
                          .arg(duplicates.size())
                          .arg(firstFew(duplicates)));
    Checkpoint& ck = merge.checkpoint();
    for (auto it = indexMetadata.begin(); it != indexMetadata.end(); ++it)
        ck.metadata.append({ QStringLiteral("index.") + it.key(), jsonText(*it) });
    if (indexMetadata.contains(QStringLiteral("total_size")) && opened == int(plan.size())) {
        const auto declared = std::int64_t(indexMetadata.value(QStringLiteral("total_size")).toDouble(-1));
        const std::int64_t byTensor = distinctBytes(ck, items, false), byStorage = distinctBytes(ck, items, true);
        if (declared != byTensor && declared != byStorage)
            merge.problem(QStringLiteral("the index declares total_size %1 bytes but the shards hold %2 bytes of tensors")
                              .arg(declared)
                              .arg(byTensor));
    }
    const ObjId root = merge.addDict(items);
    return CheckpointPtr(merge.finish(root));
}

Expected<CheckpointPtr> openShardIndex(const QString& indexPath, QStringList problems = {})
{
    auto bytes = readSmallFile(indexPath, kMaxIndexBytes);
    if (!bytes)
        return bytes.error();
    QJsonParseError perr;
    const QJsonDocument doc = QJsonDocument::fromJson(*bytes, &perr);
    if (perr.error != QJsonParseError::NoError)
        return Error { ErrorKind::NotACheckpoint, indexPath, QStringLiteral("byte %1").arg(perr.offset),
            QStringLiteral("the shard index is not valid JSON: %1").arg(perr.errorString()) };
    const QJsonObject weightMap = doc.object().value(QStringLiteral("weight_map")).toObject();
    if (!doc.isObject() || weightMap.isEmpty())
        return Error { ErrorKind::NotACheckpoint, indexPath, {}, QStringLiteral("not a shard index: no \"weight_map\" object") };
    std::map<QString, ShardPlan> byFile;
    QStringList bad;
    for (auto it = weightMap.begin(); it != weightMap.end(); ++it) {
        const QString file = it->toString();
        if (!it->isString() || !safeRelative(file)) {
            bad << it.key();
            continue;
        }
        auto& p = byFile[file];
        p.file = file;
        p.keys << it.key();
    }
    if (byFile.size() > size_t(kMaxSetFiles))
        return Error { ErrorKind::LimitExceeded, indexPath, {},
            QStringLiteral("the index names %1 files, more than %2").arg(byFile.size()).arg(kMaxSetFiles) };
    if (!bad.isEmpty())
        problems << QStringLiteral("%1 key(s) map to no usable file name (absolute, outside the folder or not a string): %2")
                        .arg(bad.size())
                        .arg(firstFew(bad));
    std::vector<ShardPlan> plan;
    for (auto& [file, p] : byFile)
        plan.push_back(std::move(p));
    // Shards on disk named like the indexed ones (any count) but absent from the index.
    const QString dir = QFileInfo(indexPath).absolutePath();
    QSet<QString> indexed;
    QSet<QString> patterns;
    for (const auto& p : plan) {
        indexed.insert(p.file);
        if (auto sn = parseShardName(p.file))
            patterns.insert(sn->stem + QLatin1Char('|') + sn->suffix);
    }
    auto files = listFiles(dir);
    if (!files)
        return files.error();
    for (const auto& f : *files)
        if (auto sn = parseShardName(f); sn && !indexed.contains(f)
            && patterns.contains(sn->stem + QLatin1Char('|') + sn->suffix))
            problems << QStringLiteral("extra shard %1 is not in the index (not opened)").arg(f);
    return openShards(indexPath, dir, plan, true, doc.object().value(QStringLiteral("metadata")).toObject(), problems);
}

// Shards named `stem-0000i-of-0000n.ext` with no index beside them.
Expected<CheckpointPtr> openShardsByName(const QString& dir, const ShardName& sn, const QString& setPath)
{
    if (sn.count > kMaxSetFiles)
        return Error { ErrorKind::LimitExceeded, setPath, {}, QStringLiteral("%1 shards, more than %2").arg(sn.count).arg(kMaxSetFiles) };
    std::vector<ShardPlan> plan;
    for (int i = 1; i <= sn.count; ++i)
        plan.push_back({ shardFileName(sn, i), {} });
    return openShards(setPath, dir, plan, false, {},
        { QStringLiteral("no %1%2.index.json beside the shards: opened the files named like them").arg(sn.stem, sn.suffix) });
}

// ---- Training-framework folders ----

struct RankFile {
    QString name;   // relative to the checkpoint folder
    QString role;
    int tp = -1, pp = -1, dp = -1;
    int order = 0;  // model files first, then optimizer shards
};

std::optional<RankFile> deepSpeedFile(const QString& name)
{
    static const QRegularExpression model(QStringLiteral("^mp_rank_(\\d+)_model_states\\.pt$"));
    static const QRegularExpression optim(QStringLiteral("^(bf16_)?zero_pp_rank_(\\d+)_mp_rank_(\\d+)_optim_states\\.pt$"));
    static const QRegularExpression layer(QStringLiteral("^layer_(\\d+)-model_(\\d+)-model_states\\.pt$"));
    static const QRegularExpression expert(QStringLiteral("^(.*expp_rank_\\d+.*)\\.pt$"));
    static const QRegularExpression zero3(QStringLiteral("^zero_pp_rank_(\\d+)_mp_rank_(\\d+)_model_states\\.pt$"));
    if (auto m = zero3.match(name); m.hasMatch()) // ZeRO-3: each rank's model file holds its own partition
        return RankFile { name, QStringLiteral("ZeRO-3 model states, data-parallel rank %1, tensor-parallel rank %2").arg(m.captured(1).toInt()).arg(m.captured(2).toInt()),
            m.captured(2).toInt(), -1, m.captured(1).toInt(), 1 };
    if (auto m = model.match(name); m.hasMatch())
        return RankFile { name, QStringLiteral("model states, tensor-parallel rank %1").arg(m.captured(1).toInt()), m.captured(1).toInt(), -1, -1, 0 };
    if (auto m = layer.match(name); m.hasMatch())
        return RankFile { name, QStringLiteral("pipeline layer %1, tensor-parallel rank %2").arg(m.captured(1).toInt()).arg(m.captured(2).toInt()),
            m.captured(2).toInt(), m.captured(1).toInt(), -1, 1 };
    if (auto m = optim.match(name); m.hasMatch())
        return RankFile { name,
            QStringLiteral("%1ZeRO optimizer partition, data-parallel rank %2, tensor-parallel rank %3")
                .arg(m.captured(1).isEmpty() ? QString() : QStringLiteral("bf16 "))
                .arg(m.captured(2).toInt())
                .arg(m.captured(3).toInt()),
            m.captured(3).toInt(), -1, m.captured(2).toInt(), 2 };
    if (expert.match(name).hasMatch())
        return RankFile { name, QStringLiteral("expert-parallel states"), -1, -1, -1, 3 };
    return std::nullopt;
}

bool hasDeepSpeedFiles(const QStringList& names)
{
    for (const auto& n : names)
        if (auto f = deepSpeedFile(n); f && f->order <= 2) // model, ZeRO-3 model, pipeline layer or optimizer files
            return true;
    return false;
}

std::int64_t tupleProduct(const ObjectGraph& g, ObjId tuple)
{
    if (!g.valid(tuple) || (g.at(tuple).kind != ObjKind::Tuple && g.at(tuple).kind != ObjKind::List))
        return -1;
    std::int64_t n = 1;
    for (ObjId d : g.at(tuple).items) {
        if (g.at(d).kind != ObjKind::Int || g.at(d).integer < 0 || __builtin_mul_overflow(n, g.at(d).integer, &n))
            return -1;
    }
    return n;
}

// ZeRO flattens each parameter group and gives data-parallel rank r the r-th equal slice. With the group's
// parameter order (`param_shapes` in the model states file) the slice tells which parameters a rank's optimizer
// partition covers; that goes into the part's description.
void describeZeroPartitions(Checkpoint& ck, const std::vector<std::pair<QString, ObjId>>& roots)
{
    const ObjectGraph& g = ck.graph;
    QHash<QString, ObjId> rootOf;
    for (const auto& [name, root] : roots)
        rootOf.insert(name, root);
    std::map<int, ObjId> shapesByTp; // tp rank -> list of {name: shape} per group
    for (const auto& p : ck.parts)
        if (p.dpRank < 0 && p.tpRank >= 0)
            if (ObjId shapes = dictValue(g, rootOf.value(p.name, kNoObject), QStringLiteral("param_shapes"));
                g.valid(shapes) && g.at(shapes).kind == ObjKind::List)
                shapesByTp[p.tpRank] = shapes;
    for (auto& p : ck.parts) {
        if (p.dpRank < 0 || !shapesByTp.count(std::max(p.tpRank, 0)))
            continue;
        const ObjId root = rootOf.value(p.name, kNoObject);
        const ObjId osd = dictValue(g, root, QStringLiteral("optimizer_state_dict"));
        // ZeRO 1/2 only: stage 3 splits every parameter on its own, and its flat groups are not parameter groups.
        const ObjId flat = dictValue(g, osd, QStringLiteral("single_partition_of_fp32_groups"));
        const ObjId shapes = shapesByTp[std::max(p.tpRank, 0)];
        if (!g.valid(flat) || g.at(flat).kind != ObjKind::List)
            continue;
        QStringList slices;
        for (size_t group = 0; group < g.at(flat).items.size() && group < g.at(shapes).items.size(); ++group) {
            const PyObject& t = g.at(g.at(flat).items[group]);
            const PyObject& names = g.at(g.at(shapes).items[group]);
            if (t.kind != ObjKind::Tensor || names.kind != ObjKind::Dict)
                continue;
            const std::int64_t size = ck.tensors[size_t(t.integer)].numel();
            std::int64_t begin = 0, end = 0;
            if (__builtin_mul_overflow(size, std::int64_t(p.dpRank), &begin) || __builtin_add_overflow(begin, size, &end))
                continue;
            QStringList covered;
            std::int64_t at = 0;
            for (size_t i = 0; i + 1 < names.items.size(); i += 2) {
                const std::int64_t n = tupleProduct(g, names.items[i + 1]);
                if (n < 0)
                    break;
                if (at < end && at + n > begin && n > 0)
                    covered << g.at(names.items[i]).text;
                if (__builtin_add_overflow(at, n, &at))
                    break;
            }
            slices << QStringLiteral("group %1 elements [%2, %3)%4")
                          .arg(group)
                          .arg(begin)
                          .arg(end)
                          .arg(covered.isEmpty() ? QString()
                                                 : QStringLiteral(": %1 parameter(s), %2%3")
                                                       .arg(covered.size())
                                                       .arg(covered.front())
                                                       .arg(covered.size() > 1 ? QStringLiteral(" .. ") + covered.back() : QString()));
        }
        if (!slices.isEmpty())
            p.role += QStringLiteral("; holds ") + slices.join(QStringLiteral("; "));
    }
}

// Opens every rank file into one tree keyed by file name, with a merged tensor-parallel view of the model when
// there is more than one tensor-parallel rank. `modelKey` is where each model file keeps its state dict.
Expected<CheckpointPtr> openRankFiles(const QString& setPath, const QString& dir, const QString& layout,
    std::vector<RankFile> files, const QString& modelKey, QList<QPair<QString, QString>> metadata)
{
    std::stable_sort(files.begin(), files.end(), [](const RankFile& a, const RankFile& b) {
        return std::tie(a.order, a.pp, a.tp, a.dp) < std::tie(b.order, b.pp, b.tp, b.dp);
    });
    CheckpointMerge merge(setPath, layout);
    std::vector<std::pair<QString, ObjId>> items;
    std::map<int, std::vector<std::pair<int, ObjId>>> modelsByStage; // pp -> (tp, model dict)
    int opened = 0;
    for (const RankFile& f : files) {
        const QString path = QDir(dir).filePath(f.name);
        auto part = openCheckpointFile(path);
        if (!part) {
            merge.problem(QStringLiteral("%1 does not open: %2").arg(f.name, part.error().message()));
            continue;
        }
        ++opened;
        CheckpointPart info;
        info.path = QFileInfo(path).absoluteFilePath();
        info.name = f.name;
        info.role = f.role;
        info.tpRank = f.tp;
        info.ppRank = f.pp;
        info.dpRank = f.dp;
        const ObjId root = merge.append(**part, info);
        items.emplace_back(f.name, root);
        if (f.order == 0) {
            const ObjId model = dictValue(merge.checkpoint().graph, root, modelKey);
            if (model != kNoObject)
                modelsByStage[std::max(f.pp, 0)].emplace_back(f.tp, model);
        }
    }
    if (opened == 0)
        return Error { ErrorKind::NotACheckpoint, setPath, {},
            QStringLiteral("no file of the %1 checkpoint opens: %2").arg(layout, merge.checkpoint().problems.join(QStringLiteral("; "))) };
    std::vector<std::pair<QString, ObjId>> merged;
    for (auto& [stage, models] : modelsByStage) {
        if (models.size() < 2)
            continue;
        std::sort(models.begin(), models.end());
        bool contiguous = true;
        for (size_t i = 0; i < models.size(); ++i)
            contiguous = contiguous && models[i].first == int(i);
        const QString what = modelsByStage.size() > 1 ? QStringLiteral("pipeline stage %1").arg(stage) : QStringLiteral("merged view");
        if (!contiguous) {
            merge.problem(QStringLiteral("%1: tensor-parallel ranks are not 0..%2, not merged").arg(what).arg(models.size() - 1));
            continue;
        }
        std::vector<RankStateDict> ranks;
        for (const auto& [tp, dict] : models)
            ranks.push_back(flattenTensorDict(merge.checkpoint(), dict));
        merged.emplace_back(QStringLiteral("merged_model_stage_%1").arg(stage), mergeTensorParallel(merge, ranks, what));
    }
    // The merged view comes first: it is the model a user means, and what statistics, compare and export use.
    if (merged.size() == 1)
        items.insert(items.begin(), { QStringLiteral("merged_model"), merged.front().second });
    else if (merged.size() > 1)
        items.insert(items.begin(), { QStringLiteral("merged_model"), merge.addDict(merged) });
    for (const auto& m : metadata)
        merge.checkpoint().metadata.append(m);
    describeZeroPartitions(merge.checkpoint(), items);
    const ObjId root = merge.addDict(items);
    return CheckpointPtr(merge.finish(root));
}

Expected<CheckpointPtr> openDeepSpeed(const QString& dir, const QString& setPath, const QString& layout,
    QList<QPair<QString, QString>> metadata)
{
    auto names = listFiles(dir);
    if (!names)
        return names.error();
    std::vector<RankFile> files;
    for (const auto& n : *names)
        if (auto f = deepSpeedFile(n))
            files.push_back(*f);
    if (files.empty())
        return Error { ErrorKind::NotACheckpoint, setPath, {}, QStringLiteral("%1 holds no DeepSpeed rank files").arg(dir) };
    return openRankFiles(setPath, dir, layout, std::move(files), QStringLiteral("module"), std::move(metadata));
}

Expected<CheckpointPtr> openMegatron(const QString& iterDir, const QString& setPath, QList<QPair<QString, QString>> metadata)
{
    static const QRegularExpression rankDir(QStringLiteral("^mp_rank_(\\d+)(?:_(\\d+))?$"));
    const QStringList dirs = QDir(iterDir).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    if (dirs.size() > kMaxSetFiles)
        return Error { ErrorKind::LimitExceeded, iterDir, {}, QStringLiteral("%1 folders").arg(dirs.size()) };
    std::vector<RankFile> files;
    for (const auto& d : dirs) {
        const auto m = rankDir.match(d);
        if (!m.hasMatch())
            continue;
        const int tp = m.captured(1).toInt(), pp = m.captured(2).isEmpty() ? -1 : m.captured(2).toInt();
        const QString where = pp < 0 ? QStringLiteral("tensor-parallel rank %1").arg(tp)
                                     : QStringLiteral("tensor-parallel rank %1, pipeline stage %2").arg(tp).arg(pp);
        if (QFileInfo(QDir(iterDir).filePath(d + QStringLiteral("/model_optim_rng.pt"))).isFile())
            files.push_back({ d + QStringLiteral("/model_optim_rng.pt"), QStringLiteral("model, optimizer and RNG states, ") + where, tp, pp, -1, 0 });
        if (QFileInfo(QDir(iterDir).filePath(d + QStringLiteral("/distrib_optim.pt"))).isFile())
            files.push_back({ d + QStringLiteral("/distrib_optim.pt"), QStringLiteral("distributed optimizer states, ") + where, tp, pp, -1, 2 });
    }
    if (files.empty())
        return Error { ErrorKind::NotACheckpoint, setPath, {}, QStringLiteral("%1 holds no mp_rank_XX/model_optim_rng.pt").arg(iterDir) };
    return openRankFiles(setPath, iterDir, QStringLiteral("megatron"), std::move(files), QStringLiteral("model"), std::move(metadata));
}

bool isMegatronIterDir(const QString& dir)
{
    static const QRegularExpression rankDir(QStringLiteral("^mp_rank_\\d+(?:_\\d+)?$"));
    for (const auto& d : QDir(dir).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (rankDir.match(d).hasMatch() && QFileInfo::exists(QDir(dir).filePath(d + QStringLiteral("/model_optim_rng.pt"))))
            return true;
    return false;
}

Expected<QString> pointerFile(const QString& path)
{
    auto bytes = readSmallFile(path, kMaxPointerFileBytes);
    if (!bytes)
        return bytes.error();
    const QString text = QString::fromUtf8(*bytes).trimmed();
    if (!safeRelative(text))
        return Error { ErrorKind::NotACheckpoint, path, {}, QStringLiteral("does not name a folder beside it: \"%1\"").arg(text.left(80)) };
    return text;
}

Expected<CheckpointPtr> openFolder(const QString& dir)
{
    auto names = listFiles(dir);
    if (!names)
        return names.error();
    const QDir d(dir);
    const bool lightning = dir.endsWith(QLatin1String(".ckpt"));
    // DeepSpeed (and Lightning's DeepSpeed `.ckpt` folders): `latest` names the tag folder.
    if (names->contains(QStringLiteral("latest"))) {
        auto tag = pointerFile(d.filePath(QStringLiteral("latest")));
        if (!tag)
            return tag.error();
        const QString tagDir = d.filePath(*tag);
        if (!QFileInfo(tagDir).isDir())
            return Error { ErrorKind::NotACheckpoint, dir, QStringLiteral("latest"),
                QStringLiteral("names folder \"%1\", which does not exist").arg(*tag) };
        return openDeepSpeed(tagDir, dir, lightning ? QStringLiteral("lightning-deepspeed") : QStringLiteral("deepspeed"),
            { { QStringLiteral("deepspeed tag"), *tag } });
    }
    if (hasDeepSpeedFiles(*names))
        return openDeepSpeed(dir, dir, QStringLiteral("deepspeed"), {});
    if (QFileInfo(d.filePath(QStringLiteral("checkpoint"))).isDir() && hasDeepSpeedFiles(QDir(d.filePath(QStringLiteral("checkpoint"))).entryList(QDir::Files)))
        return openDeepSpeed(d.filePath(QStringLiteral("checkpoint")), dir, QStringLiteral("lightning-deepspeed"), {});
    // Megatron: `latest_checkpointed_iteration.txt` holds the iteration (or "release").
    if (names->contains(QStringLiteral("latest_checkpointed_iteration.txt"))) {
        auto it = pointerFile(d.filePath(QStringLiteral("latest_checkpointed_iteration.txt")));
        if (!it)
            return it.error();
        bool numeric = false;
        const qint64 n = it->toLongLong(&numeric);
        const QString iterName = numeric ? QStringLiteral("iter_%1").arg(n, 7, 10, QLatin1Char('0')) : *it;
        if (!QFileInfo(d.filePath(iterName)).isDir())
            return Error { ErrorKind::NotACheckpoint, dir, QStringLiteral("latest_checkpointed_iteration.txt"),
                QStringLiteral("names iteration \"%1\" but folder %2 does not exist").arg(*it, iterName) };
        return openMegatron(d.filePath(iterName), dir, { { QStringLiteral("megatron iteration"), *it } });
    }
    if (isMegatronIterDir(dir))
        return openMegatron(dir, dir, {});
    // Hugging Face: an index, preferring safetensors (what transformers loads when both are there).
    QStringList indexes;
    for (const auto& n : *names)
        if (n.endsWith(QLatin1String(".index.json")))
            indexes << n;
    std::stable_sort(indexes.begin(), indexes.end(), [](const QString& a, const QString& b) {
        return a.endsWith(QLatin1String(".safetensors.index.json")) && !b.endsWith(QLatin1String(".safetensors.index.json"));
    });
    if (!indexes.isEmpty()) {
        QStringList also;
        if (indexes.size() > 1)
            also << QStringLiteral("the folder also holds %1 (not opened)").arg(indexes.mid(1).join(QStringLiteral(", ")));
        return openShardIndex(d.filePath(indexes.front()), also);
    }
    for (const auto& n : *names)
        if (auto sn = parseShardName(n); sn && sn->count > 1)
            return openShardsByName(dir, *sn, dir);
    // One checkpoint file in the folder.
    static const QStringList preferred { QStringLiteral("model.safetensors"), QStringLiteral("pytorch_model.bin") };
    for (const auto& p : preferred)
        if (names->contains(p))
            return openCheckpointFile(d.filePath(p));
    static const QRegularExpression ext(QStringLiteral("\\.(pth|pt|ckpt|bin|safetensors|tar)$"));
    const QStringList candidates = names->filter(ext);
    if (candidates.size() == 1)
        return openCheckpointFile(d.filePath(candidates.front()));
    return Error { ErrorKind::NotACheckpoint, dir, {},
        candidates.isEmpty()
            ? QStringLiteral("no checkpoint layout recognised in the folder (no index, shards, rank files or checkpoint file)")
            : QStringLiteral("the folder holds %1 checkpoint files and no index or rank layout that joins them: open one of %2")
                  .arg(candidates.size())
                  .arg(firstFew(candidates)) };
}

} // namespace

Expected<CheckpointPtr> openCheckpoint(const QString& path)
{
    QElapsedTimer timer;
    timer.start();
    const QFileInfo fi(path);
    Expected<CheckpointPtr> result = Error { ErrorKind::Io, path, {}, {} };
    if (fi.isDir()) {
        result = openFolder(fi.absoluteFilePath());
    } else if (fi.fileName().endsWith(QLatin1String(".index.json"))) {
        result = openShardIndex(fi.absoluteFilePath());
    } else if (auto sn = parseShardName(fi.fileName()); sn && sn->count > 1 && fi.isFile()) {
        // One shard stands for its set: the index named after the shards, else the files named like it.
        const QString index = fi.dir().filePath(sn->stem + sn->suffix + QStringLiteral(".index.json"));
        result = QFileInfo(index).isFile() ? openShardIndex(index) : openShardsByName(fi.absolutePath(), *sn, fi.absoluteFilePath());
    } else {
        return openCheckpointFile(path);
    }
    if (result)
        spdlog::debug("opened {} as {} ({} files, {} tensors, {} problems) in {} ms", path.toStdString(),
            (*result)->layout.toStdString(), (*result)->parts.size(), (*result)->tensors.size(), (*result)->problems.size(),
            timer.elapsed());
    return result;
}

} // namespace ckpt
