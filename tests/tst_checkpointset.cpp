// Multi-file checkpoints (Hugging Face shards, DeepSpeed / Megatron / Lightning folders) and TorchScript
// archives: what we open matches what torch loads from the same files (tests/gen_layouts.py writes both).
#include "io/checkpointmerge.h"
#include "io/torchscriptcode.h"
#include "model/diff.h"
#include "model/exporter.h"
#include "model/exportplan.h"
#include "model/histogram.h"
#include "model/safety.h"
#include "model/semantic.h"
#include "model/summary.h"
#include "model/tensorstats.h"
#include "testutil.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/stat.h>

using namespace ckpt;

namespace {

QString layoutDir()
{
    return test::fixture(QStringLiteral("layouts"));
}

QJsonObject truth()
{
    return QJsonDocument::fromJson(test::readAll(layoutDir() + QStringLiteral("/layouts_truth.json"))).object();
}

QString dtypeText(DType t)
{
    return dtypeName(t);
}

QString sha256(const QByteArray& b)
{
    return QString::fromLatin1(QCryptographicHash::hash(b, QCryptographicHash::Sha256).toHex());
}

// The model state dict as a user sees it: key -> tensor.
std::map<QString, int> modelTensors(const Checkpoint& ck)
{
    const Semantic sem = analyze(ck);
    std::map<QString, int> out;
    if (sem.primary >= 0)
        for (const auto& [key, t] : sem.stateDicts[size_t(sem.primary)].entries)
            out[key] = t;
    return out;
}

QString runCli(const QStringList& args, int* exitCode = nullptr)
{
    QProcess p;
    p.start(QStringLiteral(CKPTLENS_CLI), args);
    p.waitForFinished(300'000);
    if (exitCode)
        *exitCode = p.exitCode();
    return QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
}

} // namespace

class TestCheckpointSet : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        if (!QFileInfo::exists(layoutDir() + QStringLiteral("/layouts_truth.json")))
            QSKIP("no torch-written layouts (gen_fixtures did not run)");
    }

    void opensLikeTorch_data()
    {
        QTest::addColumn<QString>("layout");
        QTest::addColumn<QString>("path");
        const QJsonObject all = truth();
        for (auto it = all.begin(); it != all.end(); ++it)
            if (it->isObject())
                for (const auto& p : it->toObject().value(QStringLiteral("open")).toArray())
                    QTest::newRow(qPrintable(p.toString())) << it.key() << p.toString();
    }

    // Every way of pointing at a set opens all of it: same keys, dtypes, shapes and bytes as torch reads.
    void opensLikeTorch()
    {
        QFETCH(QString, layout);
        QFETCH(QString, path);
        const QJsonObject t = truth().value(layout).toObject();
        auto ck = openCheckpoint(layoutDir() + QLatin1Char('/') + path);
        QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
        QCOMPARE((*ck)->layout, t.value(QStringLiteral("layout")).toString());
        QCOMPARE(int((*ck)->parts.size()), t.value(QStringLiteral("parts")).toInt());
        for (const auto& p : t.value(QStringLiteral("problems")).toArray()) {
            const QString want = p.toString();
            QVERIFY2(std::any_of((*ck)->problems.begin(), (*ck)->problems.end(), [&](const QString& s) { return s.contains(want); }),
                qPrintable(QStringLiteral("no problem mentions '%1': %2").arg(want, (*ck)->problems.join(QStringLiteral(" | ")))));
        }
        if (t.value(QStringLiteral("problems")).toArray().isEmpty())
            QVERIFY2((*ck)->problems.isEmpty(), qPrintable((*ck)->problems.join(QStringLiteral(" | "))));

        const auto tensors = modelTensors(**ck);
        const QJsonObject want = t.value(QStringLiteral("tensors")).toObject();
        QStringList got;
        for (const auto& [k, i] : tensors)
            got << k;
        QCOMPARE(got, want.keys()); // both sorted
        for (auto w = want.begin(); w != want.end(); ++w) {
            const int i = tensors.at(w.key());
            const TensorInfo& ti = (*ck)->tensors[size_t(i)];
            const QJsonObject e = w->toObject();
            QCOMPARE(dtypeText(ti.dtype), e.value(QStringLiteral("dtype")).toString());
            std::vector<std::int64_t> shape;
            for (const auto& d : e.value(QStringLiteral("shape")).toArray())
                shape.push_back(d.toInteger());
            QCOMPARE(ti.shape, shape);
            auto bytes = (*ck)->tensorBytes(i);
            QVERIFY2(bytes, bytes ? "" : qPrintable(bytes.error().message()));
            QVERIFY2(sha256(*bytes) == e.value(QStringLiteral("sha256")).toString(), qPrintable(w.key()));
        }
        // Which rank holds which slice: ZeRO partitions name the parameters they cover.
        const QJsonObject roles = t.value(QStringLiteral("roles")).toObject();
        for (auto r = roles.begin(); r != roles.end(); ++r) {
            const auto part = std::find_if((*ck)->parts.begin(), (*ck)->parts.end(), [&](const CheckpointPart& p) { return p.name == r.key(); });
            QVERIFY2(part != (*ck)->parts.end(), qPrintable(r.key()));
            QVERIFY2(part->role.contains(r->toString()), qPrintable(part->role + QStringLiteral(" lacks ") + r->toString()));
        }
        const CheckpointSummary s = summarize(**ck);
        QCOMPARE(s.layout, (*ck)->layout);
    }

    // TorchScript: parameters and buffers as torch.jit.load's named_parameters()/named_buffers() list them.
    void torchScriptRoles()
    {
        const QJsonObject t = truth().value(QStringLiteral("torchscript")).toObject();
        auto ck = openCheckpoint(layoutDir() + QStringLiteral("/scripted.pt"));
        QVERIFY(ck);
        QVERIFY((*ck)->torchScript);
        const Semantic sem = analyze(**ck);
        QVERIFY(sem.primary >= 0);
        QStringList params, buffers;
        for (const auto& [key, role] : sem.roles)
            (role == TensorRole::Parameter ? params : buffers) << key;
        params.sort();
        buffers.sort();
        QStringList wantParams, wantBuffers;
        for (const auto& p : t.value(QStringLiteral("parameters")).toArray())
            wantParams << p.toString();
        for (const auto& b : t.value(QStringLiteral("buffers")).toArray())
            wantBuffers << b.toString();
        wantParams.sort();
        wantBuffers.sort();
        QCOMPARE(params, wantParams);
        QCOMPARE(buffers, wantBuffers);
        // The generated code is there to read.
        const auto code = scriptCodeRecords(**ck);
        QVERIFY(!code.empty());
        bool sawClass = false;
        for (int r : code) {
            auto text = scriptCodeText(**ck, r);
            QVERIFY(text);
            sawClass = sawClass || text->contains(QLatin1String("class ScriptNet(Module)"));
        }
        QVERIFY(sawClass);
    }

    // Tensor constants of a trace live in constants.pkl and constants/<key>: read, with torch's bytes.
    void torchScriptConstants()
    {
        auto ck = openCheckpoint(layoutDir() + QStringLiteral("/traced.pt"));
        QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
        const ObjectGraph& g = (*ck)->graph;
        QVERIFY(g.valid((*ck)->scriptConstants));
        const PyObject& tuple = g.at((*ck)->scriptConstants);
        const QJsonArray want = truth().value(QStringLiteral("traced_constants")).toArray();
        QCOMPARE(int(tuple.items.size()), int(want.size()));
        for (int i = 0; i < want.size(); ++i) {
            const PyObject& t = g.at(tuple.items[size_t(i)]);
            QCOMPARE(t.kind, ObjKind::Tensor);
            auto bytes = (*ck)->tensorBytes(int(t.integer));
            QVERIFY2(bytes, bytes ? "" : qPrintable(bytes.error().message()));
            QCOMPARE(sha256(*bytes), want[i].toObject().value(QStringLiteral("sha256")).toString());
        }
    }

    // The TorchScript archives other projects wrote (tch, the Rust bindings): same state_dict keys as torch.jit.load.
    void externalTorchScript()
    {
        const QString dir = test::externalDir() + QStringLiteral("/tch");
        if (!QFileInfo::exists(dir))
            QSKIP("../shared/fixtures/external is not beside this clone");
        QStringList files;
        for (const auto& f : QDir(dir).entryList({ QStringLiteral("*.pt") }, QDir::Files, QDir::Name))
            files << QDir(dir).filePath(f);
        QProcess py;
        QStringList pyArgs { QStringLiteral("-c"),
                QStringLiteral("import json,sys,torch\nout={}\nfor f in sys.argv[1:]:\n try:\n  m=torch.jit.load(f)\n"
                               "  out[f]={'params':sorted(k for k,_ in m.named_parameters()),'buffers':sorted(k for k,_ in m.named_buffers())}\n"
                               " except Exception as e:\n  out[f]=None\nprint(json.dumps(out))") };
        py.start(QStringLiteral(CKPTLENS_TORCH_PYTHON), pyArgs + files);
        QVERIFY(py.waitForFinished(300'000));
        const QJsonObject want = QJsonDocument::fromJson(py.readAllStandardOutput()).object();
        if (want.isEmpty())
            QSKIP("torch is not available to load the archives");
        int compared = 0;
        for (const auto& f : files) {
            if (!want.value(f).isObject())
                continue; // torch itself cannot load it as TorchScript
            auto ck = openCheckpoint(f);
            QVERIFY2(ck, qPrintable(f));
            const Semantic sem = analyze(**ck);
            QStringList params, buffers;
            for (const auto& [key, role] : sem.roles)
                (role == TensorRole::Parameter ? params : buffers) << key;
            params.sort();
            buffers.sort();
            QStringList wantParams, wantBuffers;
            for (const auto& p : want.value(f).toObject().value(QStringLiteral("params")).toArray())
                wantParams << p.toString();
            for (const auto& p : want.value(f).toObject().value(QStringLiteral("buffers")).toArray())
                wantBuffers << p.toString();
            QVERIFY2(params == wantParams, qPrintable(f + QStringLiteral(": ") + params.join(QLatin1Char(','))));
            QVERIFY2(buffers == wantBuffers, qPrintable(f + QStringLiteral(": ") + buffers.join(QLatin1Char(','))));
            ++compared;
        }
        QVERIFY(compared > 0);
    }

    // A sharded safetensors set against the same model in one torch file: every tensor equal.
    void compareShardedWithSingle()
    {
        auto a = openCheckpoint(layoutDir() + QStringLiteral("/hf_safetensors"));
        auto b = openCheckpoint(layoutDir() + QStringLiteral("/hf_single.bin"));
        QVERIFY(a && b);
        auto d = diffCheckpoints(**a, **b, {});
        QVERIFY2(d, d ? "" : qPrintable(d.error().message()));
        QCOMPARE(int(d->tensors.size()), int(truth().value(QStringLiteral("hf_safetensors")).toObject().value(QStringLiteral("tensors")).toObject().size()));
        for (const auto& t : d->tensors)
            QVERIFY2(t.status == DiffStatus::Equal, qPrintable(t.key + QLatin1Char(' ') + diffStatusName(t.status)));
    }

    void exportFromSets_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("layout");
        QTest::addColumn<int>("format");
        QTest::addColumn<qint64>("shardSize");
        QTest::newRow("bin shards -> one safetensors") << "hf_bin" << "hf_bin" << int(ExportFormat::Safetensors) << qint64(0);
        QTest::newRow("safetensors shards -> re-sharded torch") << "hf_safetensors" << "hf_safetensors" << int(ExportFormat::Torch) << qint64(6000);
        QTest::newRow("megatron merged view -> one torch file") << "megatron" << "megatron" << int(ExportFormat::Torch) << qint64(0);
    }

    // Export treats a set as one checkpoint; what it writes reads back (through the set opener for shards) with
    // the bytes torch loaded from the source files.
    void exportFromSets()
    {
        QFETCH(QString, source);
        QFETCH(QString, layout);
        QFETCH(int, format);
        QFETCH(qint64, shardSize);
        auto ck = openCheckpoint(layoutDir() + QLatin1Char('/') + source);
        QVERIFY(ck);
        ExportPlan plan;
        plan.format = ExportFormat(format);
        plan.maxShardSize = shardSize;
        const Semantic sem = analyze(**ck);
        auto rp = resolvePlan(**ck, sem, plan);
        QVERIFY2(rp && rp->errors.isEmpty(), rp ? qPrintable(rp->errors.join(QLatin1Char(';'))) : qPrintable(rp.error().message()));
        QTemporaryDir dir;
        const QString out = dir.filePath(format == int(ExportFormat::Torch) ? QStringLiteral("pytorch_model.bin") : QStringLiteral("model.safetensors"));
        auto result = runExport(**ck, *rp, plan, out, {});
        QVERIFY2(result, result ? "" : qPrintable(result.error().message()));
        auto back = openCheckpoint(shardSize ? dir.path() : out);
        QVERIFY2(back, back ? "" : qPrintable(back.error().message()));
        QCOMPARE((*back)->parts.size() > 1, shardSize > 0);
        QVERIFY2((*back)->problems.isEmpty(), qPrintable((*back)->problems.join(QLatin1Char(';'))));
        const auto tensors = modelTensors(**back);
        const QJsonObject want = truth().value(layout).toObject().value(QStringLiteral("tensors")).toObject();
        QCOMPARE(int(tensors.size()), int(want.size()));
        for (auto w = want.begin(); w != want.end(); ++w) {
            QVERIFY2(tensors.count(w.key()), qPrintable(w.key()));
            auto bytes = (*back)->tensorBytes(tensors.at(w.key()));
            QVERIFY(bytes);
            QVERIFY2(sha256(*bytes) == w->toObject().value(QStringLiteral("sha256")).toString(), qPrintable(w.key()));
        }
    }

    // Statistics and histograms run on merged tensor-parallel views like on any tensor.
    void statsOnMergedView()
    {
        auto ck = openCheckpoint(layoutDir() + QStringLiteral("/megatron"));
        QVERIFY(ck);
        const auto tensors = modelTensors(**ck);
        const QString key = QStringLiteral("language_model.encoder.layers.0.self_attention.dense.weight");
        QVERIFY(tensors.count(key));
        const int merged = tensors.at(key);
        QVERIFY2(tensorOrigin(**ck, merged).contains(QLatin1String("merged along dim 1")), qPrintable(tensorOrigin(**ck, merged)));
        auto stats = computeStats(**ck, merged);
        QVERIFY2(stats, stats ? "" : qPrintable(stats.error().message()));
        QCOMPARE(stats->numel, std::int64_t(64));
        // The merged statistics are those of the slices together.
        QVERIFY((*ck)->mergeOf(merged));
        const ConcatSpec& spec = *(*ck)->mergeOf(merged);
        double sum = 0;
        for (int part : spec.tensors) {
            auto s = computeStats(**ck, part);
            QVERIFY(s);
            sum += *s->mean * double(s->numel);
        }
        QVERIFY(std::abs(sum / 64.0 - *stats->mean) < 1e-9);
    }

    // The safety scan of a set covers every file: the verdict is the worst of the files', each global once.
    void safetyScanCoversEveryFile_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("deepspeed") << "deepspeed";
        QTest::newRow("megatron") << "megatron";
        QTest::newRow("hf index") << "hf_bin/pytorch_model.bin.index.json";
    }

    void safetyScanCoversEveryFile()
    {
        QFETCH(QString, path);
        auto ck = openCheckpoint(layoutDir() + QLatin1Char('/') + path);
        QVERIFY(ck);
        auto set = scanFile(layoutDir() + QLatin1Char('/') + path);
        QVERIFY2(set, set ? "" : qPrintable(set.error().message()));
        QCOMPARE(set->verdict, scanCheckpoint(**ck)->verdict);
        SafetyClass worst = SafetyClass::Safe;
        QSet<QString> names;
        for (const auto& part : (*ck)->parts) {
            auto one = scanFile(part.path);
            QVERIFY(one);
            worst = std::max(worst, one->verdict);
            for (const auto& g : one->globals)
                names.insert(g.module + QLatin1Char('.') + g.name);
        }
        QCOMPARE(set->verdict, worst);
        QSet<QString> got;
        for (const auto& g : set->globals) {
            got.insert(g.module + QLatin1Char('.') + g.name);
            for (const auto& r : g.records)
                QVERIFY2(std::any_of((*ck)->parts.begin(), (*ck)->parts.end(), [&](const CheckpointPart& p) { return r.startsWith(p.name + QLatin1Char(':')); }), qPrintable(r));
        }
        QCOMPARE(got, names);
    }

    void cliAcceptsFolders()
    {
        int code = -1;
        QString out = runCli({ QStringLiteral("info"), layoutDir() + QStringLiteral("/hf_broken") }, &code);
        QCOMPARE(code, 0);
        QVERIFY2(out.contains(QLatin1String("layout:          huggingface-sharded, 3 files")), qPrintable(out));
        QVERIFY(out.contains(QLatin1String("missing shard model-00002-of-00004.safetensors")));
        out = runCli({ QStringLiteral("diff"), layoutDir() + QStringLiteral("/hf_bin"), layoutDir() + QStringLiteral("/hf_safetensors/model-00002-of-00003.safetensors") }, &code);
        QVERIFY2(code == 0, qPrintable(out));
        out = runCli({ QStringLiteral("tree"), layoutDir() + QStringLiteral("/megatron") }, &code);
        QCOMPARE(code, 0);
        QVERIFY(out.contains(QLatin1String("merged_model")));
        out = runCli({ QStringLiteral("scan"), layoutDir() + QStringLiteral("/hf_safetensors") }, &code);
        QVERIFY2(code == 0 && out.contains(QLatin1String("safe")), qPrintable(out));
        out = runCli({ QStringLiteral("code"), layoutDir() + QStringLiteral("/scripted.pt") }, &code);
        QVERIFY2(code == 0 && out.contains(QLatin1String("class ScriptNet(Module)")), qPrintable(out));
    }

    // Sets that cannot be one checkpoint get typed errors naming the file, never a crash.
    void badSets_data()
    {
        QTest::addColumn<QByteArray>("index");
        QTest::addColumn<QString>("expect");
        QTest::newRow("not json") << QByteArray("{\"weight_map\": ") << "not valid JSON";
        QTest::newRow("no weight_map") << QByteArray("{\"metadata\": {}}") << "no \"weight_map\"";
        QTest::newRow("escaping path") << QByteArray("{\"weight_map\": {\"a\": \"../a.safetensors\"}}") << "no shard of the set opens";
        QTest::newRow("absolute path") << QByteArray("{\"weight_map\": {\"a\": \"/etc/passwd\"}}") << "no shard of the set opens";
        QTest::newRow("missing shard") << QByteArray("{\"weight_map\": {\"a\": \"gone.safetensors\"}}") << "missing shard gone.safetensors";
    }

    void badSets()
    {
        QFETCH(QByteArray, index);
        QFETCH(QString, expect);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("model.safetensors.index.json"));
        QVERIFY(test::writeFile(path, index));
        auto ck = openCheckpoint(path);
        QVERIFY(!ck);
        QCOMPARE(ck.error().file, path);
        QVERIFY2(ck.error().message().contains(expect), qPrintable(ck.error().message()));
    }

    // A FIFO named by an index must not block the open (open(2) on a FIFO waits for a writer).
    void fifoInIndexDoesNotHang()
    {
        QTemporaryDir dir;
        const QString fifo = dir.filePath(QStringLiteral("a.safetensors"));
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        const QString index = dir.filePath(QStringLiteral("model.safetensors.index.json"));
        QVERIFY(test::writeFile(index, "{\"weight_map\": {\"w\": \"a.safetensors\"}}"));
        auto ck = openCheckpoint(index);
        QVERIFY(!ck);
        QVERIFY2(ck.error().message().contains(QLatin1String("not a regular file")), qPrintable(ck.error().message()));
    }

    // A set with files that did not open (or are missing) cannot be called safe: they were not scanned.
    void incompleteSetIsNotSafe()
    {
        auto ck = openCheckpoint(layoutDir() + QStringLiteral("/hf_broken"));
        QVERIFY(ck);
        auto report = scanCheckpoint(**ck);
        QVERIFY(report);
        QVERIFY(report->verdict != SafetyClass::Safe);
        QVERIFY(!report->problems.isEmpty());
    }

    void badFolders()
    {
        QTemporaryDir dir;
        QVERIFY(test::writeFile(dir.filePath(QStringLiteral("latest")), "global_step9"));
        auto ck = openCheckpoint(dir.path());
        QVERIFY(!ck);
        QVERIFY2(ck.error().message().contains(QLatin1String("does not exist")), qPrintable(ck.error().message()));
        QVERIFY(test::writeFile(dir.filePath(QStringLiteral("latest")), "../../etc"));
        ck = openCheckpoint(dir.path());
        QVERIFY(!ck);
        QVERIFY2(ck.error().message().contains(QLatin1String("does not name a folder")), qPrintable(ck.error().message()));
        QTemporaryDir empty;
        ck = openCheckpoint(empty.path());
        QVERIFY(!ck);
        QCOMPARE(ck.error().kind, ErrorKind::NotACheckpoint);
    }

    void splitRules_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<int>("ndim");
        QTest::addColumn<int>("dim");
        QTest::newRow("qkv weight") << "layers.0.self_attention.query_key_value.weight" << 2 << 0;
        QTest::newRow("qkv bias") << "layers.0.self_attention.query_key_value.bias" << 1 << 0;
        QTest::newRow("attention out") << "layers.0.self_attention.dense.weight" << 2 << 1;
        QTest::newRow("attention out bias") << "layers.0.self_attention.dense.bias" << 1 << -1;
        QTest::newRow("mlp in") << "layers.3.mlp.dense_h_to_4h.weight" << 2 << 0;
        QTest::newRow("mlp out") << "layers.3.mlp.dense_4h_to_h.weight" << 2 << 1;
        QTest::newRow("core fc2") << "decoder.layers.1.mlp.linear_fc2.weight" << 2 << 1;
        QTest::newRow("layernorm") << "layers.0.input_layernorm.weight" << 1 << -1;
        QTest::newRow("embedding") << "embedding.word_embeddings.weight" << 2 << 0;
        QTest::newRow("pooler dense") << "pooler.dense.weight" << 2 << -2;
        QTest::newRow("unknown") << "head.proj" << 2 << -2;
    }

    void splitRules()
    {
        QFETCH(QString, key);
        QFETCH(int, ndim);
        QFETCH(int, dim);
        QCOMPARE(megatronSplitDim(key, ndim), dim);
    }
};

QTEST_GUILESS_MAIN(TestCheckpointSet)
#include "tst_checkpointset.moc"
