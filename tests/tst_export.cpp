// Export: every written file is checked by real torch (tests/verify_export.py loads it with weights_only=True and
// compares it bit for bit with torch's own selection, renaming and cast of the source; safetensors files with an
// independent reader). Failure cases must leave the source intact and no partial output behind.
#include "model/dtypecast.h"
#include "model/exporter.h"
#include "model/semantic.h"
#include "testutil.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>
#include <QProcess>
#include <QTemporaryDir>

#include <bit>
#include <csignal>
#include <limits>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace ckpt;

class TestExport : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void exportMatchesTorch_data();
    void exportMatchesTorch();
    void renameCollisionIsRefused();
    void recipeRoundTrip();
    void globsCrossDots_data();
    void globsCrossDots();
    void sizes_data();
    void sizes();
    void castMatchesTorchRounding();
    void deflatedSourceStaysIntact();
    void cancelLeavesNothing();
    void cancelDuringLargeCopy_data();
    void cancelDuringLargeCopy();
    void failedShardKeepsEveryDestination();
    void manyShardsUnderALowFileLimit();
    void refusesToOverwriteSource();
    void refusesToOverwriteAShardOfTheSource_data();
    void refusesToOverwriteAShardOfTheSource();
    void keepOthersResolution();
    void reservedMetadataKeys_data();
    void reservedMetadataKeys();
    void zip64PastFourGiB();
    void unwritableDestination();
    void diskFull();
    void otherFileSystemSource();
    void checkRunsBeforeReplacing_data();
    void checkRunsBeforeReplacing();
    void verifyCatchesOtherBytes_data();
    void verifyCatchesOtherBytes();

private:
    static QString sample() { return QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth"); }
    static QStringList filesIn(const QString& dir) { return QDir(dir).entryList(QDir::Files | QDir::Hidden); }
};

void TestExport::initTestCase()
{
    std::signal(SIGXFSZ, SIG_IGN); // the disk-full case limits the file size: writes must fail, not kill us
}

static ExportPlan plan(const QStringList& include, const QStringList& exclude, std::vector<RenameRule> renames,
    std::optional<DType> cast, ExportFormat format, std::int64_t shard = 0)
{
    ExportPlan p;
    p.include = include;
    p.exclude = exclude;
    p.renames = std::move(renames);
    p.castTo = cast;
    p.format = format;
    p.maxShardSize = shard;
    return p;
}

void TestExport::exportMatchesTorch_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<QString>("outName");
    QTest::addColumn<ExportPlan>("plan");
    QTest::addColumn<int>("files");
    const auto T = ExportFormat::Torch, S = ExportFormat::Safetensors;
    QTest::newRow("bf16 subset, renamed, torch") << sample() << "out.pth"
        << plan({}, { QStringLiteral("head.*") }, { { QStringLiteral("^blocks"), QStringLiteral("layers") } }, DType::BFloat16, T) << 1;
    QTest::newRow("everything as float16 safetensors") << sample() << "model.safetensors" << plan({}, {}, {}, DType::Float16, S) << 1;
    QTest::newRow("backbone only, float32") << sample() << "backbone.pt" << plan({ QStringLiteral("blocks.*") }, {}, {}, DType::Float32, T) << 1;
    QTest::newRow("torch shards") << sample() << "pytorch_model.bin" << plan({}, {}, {}, std::nullopt, T, 100'000) << 3;
    QTest::newRow("safetensors shards") << sample() << "model.safetensors" << plan({}, {}, {}, DType::BFloat16, S, 40'000) << 3;
    if (!test::haveTorchFixtures())
        return;
    QTest::newRow("views stay compact and tied") << test::fixture(QStringLiteral("views.pth")) << "views.pth"
        << plan({}, { QStringLiteral("base"), QStringLiteral("transposed") }, {}, std::nullopt, T) << 1;
    QTest::newRow("views cast keep sharing") << test::fixture(QStringLiteral("views.pth")) << "views16.pth"
        << plan({}, {}, {}, DType::Float16, T) << 1;
    QTest::newRow("views gathered into safetensors") << test::fixture(QStringLiteral("views.pth")) << "views.safetensors"
        << plan({}, { QStringLiteral("permuted") }, {}, std::nullopt, S) << 1;
    QTest::newRow("strip module. prefix") << test::fixture(QStringLiteral("sem_sgd_dataparallel.pth")) << "plain.pth"
        << plan({}, {}, { ExportPlan::stripPrefix(QStringLiteral("module.")) }, std::nullopt, T) << 1;
    QTest::newRow("strip _orig_mod. and add a prefix") << test::fixture(QStringLiteral("sem_compile_ema.pth")) << "prefixed.safetensors"
        << plan({}, {}, { ExportPlan::stripPrefix(QStringLiteral("_orig_mod.")), ExportPlan::addPrefix(QStringLiteral("model.")) }, std::nullopt, S) << 1;
    QTest::newRow("every dtype, float16 cast of floats only") << test::fixture(QStringLiteral("dtypes.pth")) << "dtypes16.pth"
        << plan({}, {}, {}, DType::Float16, T) << 1;
    QTest::newRow("legacy source to safetensors") << test::fixture(QStringLiteral("training_legacy.pt")) << "legacy.safetensors"
        << plan({}, {}, {}, std::nullopt, S) << 1;
    QTest::newRow("0-dim, empty and special values") << test::fixture(QStringLiteral("scalars_empty.pth")) << "scalars.pth"
        << plan({}, {}, {}, DType::BFloat16, T) << 1;
    QTest::newRow("large strided views to bfloat16") << test::fixture(QStringLiteral("values.pth")) << "values.pth"
        << plan({ QStringLiteral("big*"), QStringLiteral("subnormal*"), QStringLiteral("offset_mean") }, {}, {}, DType::BFloat16, T) << 1;
    // Verbatim storages of several MiB: copied file to file with their CRC taken on a second thread, read back in
    // 8 MiB pieces on every core.
    QTest::newRow("large storages verbatim, torch") << test::fixture(QStringLiteral("large_storages.pth")) << "large.pth"
        << plan({}, {}, {}, std::nullopt, T) << 1;
    QTest::newRow("large storages verbatim, safetensors") << test::fixture(QStringLiteral("large_storages.pth")) << "large.safetensors"
        << plan({}, {}, {}, std::nullopt, S) << 1;
    // Regular expressions beside globs (searched in the key, as re.search).
    QTest::newRow("regex include and exclude") << test::fixture(QStringLiteral("sem_lightning.ckpt")) << "re.pth"
        << plan({ QStringLiteral("re:blocks\\.[02]\\."), QStringLiteral("model.head.*") }, { QStringLiteral("re:running_(mean|var)$") }, {},
               std::nullopt, T)
        << 1;
    // Non-tensor entries kept: the model without its optimizer, epoch and the rest beside it where they were.
    ExportPlan keep = plan({}, {}, {}, DType::Float16, T);
    keep.keepOthers = true;
    QTest::newRow("keep others: model without optimizer, float16") << test::fixture(QStringLiteral("training.pth")) << "model.pth" << keep << 1;
    keep = plan({}, {}, { ExportPlan::stripPrefix(QStringLiteral("model.")) }, std::nullopt, T);
    keep.keepOthers = true;
    QTest::newRow("keep others: lightning, hyper-parameters and loops kept") << test::fixture(QStringLiteral("sem_lightning.ckpt")) << "pl.pth" << keep << 1;
    keep.format = S;
    QTest::newRow("keep others: safetensors metadata") << test::fixture(QStringLiteral("sem_lightning.ckpt")) << "pl.safetensors" << keep << 1;
    keep = plan({}, {}, {}, std::nullopt, T, 3000);
    keep.keepOthers = true;
    QTest::newRow("keep others: shard index metadata") << test::fixture(QStringLiteral("sem_lightning.ckpt")) << "pytorch_model.bin" << keep << 5;
    // Any container: the optimizer's state flattened to dotted keys, its hyper-parameters kept beside them.
    keep = plan({}, { QStringLiteral("re:exp_avg_sq") }, {}, std::nullopt, T);
    keep.select = { QStringLiteral("optimizer_state_dict") };
    keep.keepOthers = true;
    QTest::newRow("any container: optimizer flattened, others kept") << test::fixture(QStringLiteral("training.pth")) << "opt.pth" << keep << 1;
    keep.format = S;
    keep.keepOthers = false;
    QTest::newRow("any container: optimizer state to safetensors") << test::fixture(QStringLiteral("training.pth")) << "opt.safetensors" << keep << 1;
}

void TestExport::exportMatchesTorch()
{
    QFETCH(QString, source);
    QFETCH(QString, outName);
    QFETCH(ExportPlan, plan);
    QFETCH(int, files);
    QTemporaryDir dir;
    auto ck = openCheckpoint(source);
    QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
    const Semantic sem = analyze(**ck);
    auto resolved = resolvePlan(**ck, sem, plan);
    QVERIFY(resolved);
    QVERIFY2(resolved->errors.isEmpty(), qPrintable(resolved->errors.join(QLatin1Char(';'))));
    const QString out = dir.filePath(outName);
    std::int64_t lastProgress = 0;
    auto result = runExport(**ck, *resolved, plan, out, [&](std::int64_t done) { QVERIFY(done >= lastProgress); lastProgress = done; });
    QVERIFY2(result, result ? "" : qPrintable(result.error().message()));
    QCOMPARE(result->files.size(), files + (files > 1 ? 1 : 0));
    QCOMPARE(lastProgress, result->bytes);
    QCOMPARE(filesIn(dir.path()).size(), result->files.size()); // no temporaries left over

    if (!QFileInfo::exists(QStringLiteral(CKPTLENS_TORCH_PYTHON)))
        QSKIP("no torch to verify with");
    ExportPlan withSelect = plan;
    withSelect.select = resolved->statePath;
    const QString planFile = dir.filePath(QStringLiteral("plan.json.txt"));
    QVERIFY(test::writeFile(planFile, QJsonDocument(withSelect.toJson()).toJson()));
    QProcess py;
    py.start(QStringLiteral(CKPTLENS_TORCH_PYTHON), { QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/verify_export.py"), source, planFile, out });
    QVERIFY(py.waitForFinished(300'000));
    const QString report = QString::fromUtf8(py.readAllStandardOutput() + py.readAllStandardError());
    if (py.exitCode() != 0 && report.contains(QLatin1String("No module named 'torch'")))
        QSKIP("torch is not installed");
    QVERIFY2(py.exitCode() == 0, qPrintable(report));
}

void TestExport::renameCollisionIsRefused()
{
    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    const ExportPlan p = plan({ QStringLiteral("blocks.*.bias") }, {}, { { QStringLiteral("blocks\\.[0-9]+"), QStringLiteral("blocks.N") } }, std::nullopt, ExportFormat::Torch);
    auto resolved = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(resolved);
    QVERIFY(!resolved->errors.isEmpty());
    QVERIFY(resolved->errors.first().contains(QLatin1String("would both be written as blocks.N")));
    QTemporaryDir dir;
    QVERIFY(!runExport(**ck, *resolved, p, dir.filePath(QStringLiteral("x.pth"))));
    QVERIFY(filesIn(dir.path()).isEmpty());
    // An empty selection is an error too.
    auto none = resolvePlan(**ck, analyze(**ck), plan({ QStringLiteral("nothing.*") }, {}, {}, std::nullopt, ExportFormat::Torch));
    QVERIFY(none && !none->errors.isEmpty());
}

void TestExport::recipeRoundTrip()
{
    ExportPlan p = plan({ QStringLiteral("a.*") }, { QStringLiteral("*.bias") }, { ExportPlan::stripPrefix(QStringLiteral("module.")) },
        DType::BFloat16, ExportFormat::Safetensors, 5'000'000'000);
    p.select = { QStringLiteral("model_state_dict") };
    p.keepOthers = true;
    p.include << QStringLiteral("re:^blocks\\.\\d+$");
    auto back = ExportPlan::fromJson(QJsonDocument::fromJson(QJsonDocument(p.toJson()).toJson()).object());
    QVERIFY(back);
    QCOMPARE(*back, p);
    QVERIFY(!ExportPlan::fromJson(QJsonObject { { QStringLiteral("hello"), 1 } }));
    QVERIFY(!ExportPlan::fromJson(QJsonObject { { QStringLiteral("ckptlens_recipe"), 1 }, { QStringLiteral("dtype"), QStringLiteral("int8") } }));
}

void TestExport::globsCrossDots_data()
{
    QTest::addColumn<QString>("glob");
    QTest::addColumn<QString>("key");
    QTest::addColumn<bool>("match");
    QTest::newRow("star crosses dots") << "encoder.*" << "encoder.layers.3.attn.weight" << true;
    QTest::newRow("anchored") << "encoder.*" << "decoder.encoder.x" << false;
    QTest::newRow("middle star") << "*.bias" << "blocks.0.mlp.bias" << true;
    QTest::newRow("question mark") << "layer?.w" << "layer1.w" << true;
    QTest::newRow("dot is literal") << "a.b" << "axb" << false;
    QTest::newRow("regex chars literal") << "w[0]" << "w[0]" << true;
    QTest::newRow("re: searched anywhere") << "re:attn\\.(q|k)_proj" << "encoder.3.attn.q_proj.weight" << true;
    QTest::newRow("re: anchored by the user") << "re:^attn" << "encoder.attn.w" << false;
    QTest::newRow("re: alternation") << "re:(bias|running_mean)$" << "bn.running_mean" << true;
    QTest::newRow("re: invalid matches nothing") << "re:(" << "(" << false;
    QTest::newRow("re: without the prefix is a glob") << "attn\\.q" << "attn.q" << false;
}

void TestExport::globsCrossDots()
{
    QFETCH(QString, glob);
    QFETCH(QString, key);
    QFETCH(bool, match);
    QCOMPARE(keyPatternMatches(glob, key), match);
}

void TestExport::sizes_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("bytes");
    QTest::newRow("5GB") << "5GB" << qint64(5'000'000'000);
    QTest::newRow("500MB") << "500MB" << qint64(500'000'000);
    QTest::newRow("1.5GiB") << "1.5GiB" << qint64(1'610'612'736);
    QTest::newRow("bytes") << "123" << qint64(123);
    QTest::newRow("kb lower") << "10kb" << qint64(10'000);
    QTest::newRow("garbage") << "lots" << qint64(0);
    QTest::newRow("zero") << "0MB" << qint64(0);
}

void TestExport::sizes()
{
    QFETCH(QString, text);
    QFETCH(qint64, bytes);
    QCOMPARE(qint64(parseSize(text)), bytes);
}

void TestExport::castMatchesTorchRounding()
{
    // Ties round to even; float16 saturates to inf from 65520; bfloat16 NaN is 0x7fc0; subnormals kept.
    QCOMPARE(floatToHalf(1.0f), std::uint16_t(0x3c00));
    QCOMPARE(floatToHalf(65504.0f), std::uint16_t(0x7bff));
    QCOMPARE(floatToHalf(65519.996f), std::uint16_t(0x7bff));
    QCOMPARE(floatToHalf(65520.0f), std::uint16_t(0x7c00));
    QCOMPARE(floatToHalf(-1e-8f), std::uint16_t(0x8000));
    QCOMPARE(floatToHalf(5.9604645e-08f), std::uint16_t(0x0001));
    QCOMPARE(floatToHalf(1.0f + 1.0f / 2048), std::uint16_t(0x3c00)); // tie to even (down)
    QCOMPARE(floatToHalf(1.0f + 3.0f / 2048), std::uint16_t(0x3c02)); // tie to even (up)
    QCOMPARE(floatToHalf(std::numeric_limits<float>::quiet_NaN()) & 0x7c00, 0x7c00);
    QCOMPARE(floatToBFloat16(1.0f), std::uint16_t(0x3f80));
    QCOMPARE(floatToBFloat16(std::bit_cast<float>(0x3f808000u)), std::uint16_t(0x3f80)); // tie to even
    QCOMPARE(floatToBFloat16(std::bit_cast<float>(0x3f818000u)), std::uint16_t(0x3f82));
    QCOMPARE(floatToBFloat16(std::numeric_limits<float>::quiet_NaN()), std::uint16_t(0x7fc0));
    QCOMPARE(floatToBFloat16(3.4e38f), std::uint16_t(0x7f80)); // rounds up to inf, as torch does

    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    auto none = resolvePlan(**ck, analyze(**ck), plan({}, {}, {}, DType::Float16, ExportFormat::Torch));
    QVERIFY(none);
    QCOMPARE(*countCastOverflow(**ck, *none), 0);
    if (!test::haveTorchFixtures())
        return;
    auto values = openCheckpoint(test::fixture(QStringLiteral("values.pth")));
    QVERIFY(values);
    auto rp = resolvePlan(**values, analyze(**values), plan({ QStringLiteral("subnormal_bf16"), QStringLiteral("offset_mean") }, {}, {}, DType::Float16, ExportFormat::Torch));
    QVERIFY(rp);
    // 3e38 (bf16) and all 100000 values near 1e8 exceed float16's range; nothing else does.
    QCOMPARE(*countCastOverflow(**values, *rp), 100001);
    QTemporaryDir dir;
    auto result = runExport(**values, *rp, plan({}, {}, {}, DType::Float16, ExportFormat::Torch), dir.filePath(QStringLiteral("o.pth")));
    QVERIFY(result);
    QCOMPARE(result->overflow, 100001);
}

// A source with deflated records is read from its inflated copy on the heap; releasing "used pages" must only
// ever touch the file's map, or the copy would be zeroed under the second reader.
void TestExport::deflatedSourceStaysIntact()
{
    if (!test::haveTorchFixtures() || !QFileInfo::exists(QStringLiteral(CKPTLENS_TORCH_PYTHON)))
        QSKIP("needs the torch fixtures and Python");
    QTemporaryDir dir;
    const QString deflated = dir.filePath(QStringLiteral("views_deflated.pth"));
    QProcess py;
    py.start(QStringLiteral(CKPTLENS_TORCH_PYTHON), { QStringLiteral("-c"),
        QStringLiteral("import sys, zipfile\n"
                       "with zipfile.ZipFile(sys.argv[1]) as zi, zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as zo:\n"
                       "    [zo.writestr(n, zi.read(n)) for n in zi.namelist()]\n"),
        test::fixture(QStringLiteral("views.pth")), deflated });
    QVERIFY(py.waitForFinished(60'000) && py.exitCode() == 0);
    auto ck = openCheckpoint(deflated);
    QVERIFY(ck);
    QVERIFY((*ck)->records.back().deflated || (*ck)->records.front().deflated);
    for (ExportFormat format : { ExportFormat::Torch, ExportFormat::Safetensors, ExportFormat::Torch }) {
        const ExportPlan p = plan({}, {}, {}, std::nullopt, format);
        auto rp = resolvePlan(**ck, analyze(**ck), p);
        QVERIFY(rp);
        const QString out = dir.filePath(format == ExportFormat::Torch ? QStringLiteral("o.pth") : QStringLiteral("o.safetensors"));
        QVERIFY(runExport(**ck, *rp, p, out));
        ExportPlan withSelect = p;
        withSelect.select = rp->statePath;
        const QString planFile = dir.filePath(QStringLiteral("plan.json.txt"));
        QVERIFY(test::writeFile(planFile, QJsonDocument(withSelect.toJson()).toJson()));
        QProcess verify;
        verify.start(QStringLiteral(CKPTLENS_TORCH_PYTHON), { QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/verify_export.py"), deflated, planFile, out });
        QVERIFY(verify.waitForFinished(120'000));
        QVERIFY2(verify.exitCode() == 0, verify.readAllStandardOutput().constData()); // the third pass re-reads the cache
    }
}

// The sample as bfloat16 in 40 kB torch shards (97 KB: three of them); with `cancelInSecond`, cancelled in the
// middle of the second.
static Expected<ExportResult> threeShardExport(const QString& sampleFile, const QString& out, bool cancelInSecond)
{
    auto ck = openCheckpoint(sampleFile);
    if (!ck)
        return ck.error();
    const ExportPlan p = plan({}, {}, {}, DType::BFloat16, ExportFormat::Torch, 40'000);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    if (!rp)
        return rp.error();
    std::atomic<bool> cancel { false };
    return runExport(**ck, *rp, p, out, [&](std::int64_t done) {
        if (cancelInSecond && done > 60'000)
            cancel = true;
    }, &cancel);
}

void TestExport::cancelLeavesNothing()
{
    QTemporaryDir dir;
    auto result = threeShardExport(sample(), dir.filePath(QStringLiteral("out.pth")), true);
    QVERIFY(!result);
    QVERIFY(result.error().what.contains(QLatin1String("cancel")));
    QCOMPARE(filesIn(dir.path()), QStringList());
}

void TestExport::cancelDuringLargeCopy_data()
{
    QTest::addColumn<bool>("safetensors");
    QTest::newRow("torch") << false;
    QTest::newRow("safetensors") << true;
}

// Cancelled inside a 6 MiB verbatim copy, while its CRC is being taken on the second thread: the export stops
// with "cancelled" and leaves nothing behind.
void TestExport::cancelDuringLargeCopy()
{
    QFETCH(bool, safetensors);
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto ck = openCheckpoint(test::fixture(QStringLiteral("large_storages.pth")));
    QVERIFY(ck);
    const ExportPlan p = plan({}, {}, {}, std::nullopt, safetensors ? ExportFormat::Safetensors : ExportFormat::Torch);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(rp);
    QTemporaryDir dir;
    std::atomic<bool> cancel { false };
    std::int64_t seen = 0;
    auto result = runExport(**ck, *rp, p, dir.filePath(safetensors ? QStringLiteral("o.safetensors") : QStringLiteral("o.pth")),
        [&](std::int64_t done) {
            seen = done;
            if (done > (1 << 20))
                cancel = true;
        },
        &cancel);
    QVERIFY(!result);
    QVERIFY2(result.error().what.contains(QLatin1String("cancel")), qPrintable(result.error().message()));
    QVERIFY(seen < (6 << 20) + (8 << 20)); // stopped within the storage that was being copied, or the next
    QCOMPARE(filesIn(dir.path()), QStringList());
}

// Shards are all written and checked before any of them is renamed into place: cancelling inside the second
// shard leaves the files an earlier export wrote under the same names exactly as they were.
void TestExport::failedShardKeepsEveryDestination()
{
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("out.pth"));
    auto first = threeShardExport(sample(), out, false);
    QVERIFY(first);
    QVERIFY(first->files.size() >= 3); // two shards or more, and the index
    std::map<QString, QByteArray> before;
    for (const QString& f : first->files) {
        QFile file(f);
        QVERIFY(file.open(QIODevice::WriteOnly));
        const QByteArray marker = "kept: " + f.toUtf8();
        file.write(marker);
        before[f] = marker;
    }
    auto second = threeShardExport(sample(), out, true);
    QVERIFY(!second);
    QVERIFY(second.error().what.contains(QLatin1String("cancel")));
    QCOMPARE(filesIn(dir.path()).size(), int(before.size()));
    for (const auto& [f, marker] : before)
        QCOMPARE(test::readAll(f), marker);
}

// Every shard stays open until all are checked: with the soft open-file limit below what that needs, the export
// raises it (toward the hard limit) instead of failing half-way.
void TestExport::manyShardsUnderALowFileLimit()
{
    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    const ExportPlan p = plan({}, {}, {}, std::nullopt, ExportFormat::Safetensors, 1); // a shard per tensor
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(rp);
    QTemporaryDir dir;
    rlimit old {};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit low = old;
    low.rlim_cur = 40;
    if (old.rlim_max != RLIM_INFINITY && old.rlim_max < rlim_t(rp->tensors.size()) + 300)
        QSKIP("the hard open-file limit is too low for this test");
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &low), 0);
    auto result = runExport(**ck, *rp, p, dir.filePath(QStringLiteral("many.safetensors")));
    rlimit after {};
    getrlimit(RLIMIT_NOFILE, &after);
    setrlimit(RLIMIT_NOFILE, &old);
    QVERIFY2(result, qPrintable(result ? QString() : result.error().message()));
    QCOMPARE(result->files.size(), qsizetype(rp->tensors.size() + 1)); // the shards and the index
    QVERIFY(after.rlim_cur > 40);
}

void TestExport::refusesToOverwriteSource()
{
    QTemporaryDir dir;
    const QString copy = dir.filePath(QStringLiteral("model.pth"));
    QVERIFY(QFile::copy(sample(), copy));
    const QByteArray before = QCryptographicHash::hash(test::readAll(copy), QCryptographicHash::Sha256);
    auto ck = openCheckpoint(copy);
    QVERIFY(ck);
    const ExportPlan p = plan({}, {}, {}, DType::Float16, ExportFormat::Torch);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    auto result = runExport(**ck, *rp, p, copy);
    QVERIFY(!result);
    QVERIFY(result.error().what.contains(QLatin1String("refusing")));
    QCOMPARE(QCryptographicHash::hash(test::readAll(copy), QCryptographicHash::Sha256), before);
    QCOMPARE(filesIn(dir.path()), QStringList { QStringLiteral("model.pth") });
}

// A sharded set is many files: exporting onto any of them (by its name, or through a hard link to it) would
// destroy a source the export reads from.
void TestExport::refusesToOverwriteAShardOfTheSource_data()
{
    QTest::addColumn<bool>("hardLink");
    QTest::newRow("a shard by its name") << false;
    QTest::newRow("a hard link to a shard") << true;
}

void TestExport::refusesToOverwriteAShardOfTheSource()
{
    QFETCH(bool, hardLink);
    QTemporaryDir dir;
    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    ExportPlan p = plan({}, {}, {}, std::nullopt, ExportFormat::Safetensors, 40'000);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    const QString set = dir.filePath(QStringLiteral("model.safetensors"));
    auto written = runExport(**ck, *rp, p, set);
    QVERIFY2(written, written ? "" : qPrintable(written.error().message()));
    QVERIFY(written->files.size() >= 4); // three shards or more, and the index
    auto shards = openCheckpoint(set + QStringLiteral(".index.json"));
    QVERIFY2(shards, shards ? "" : qPrintable(shards.error().message()));
    QCOMPARE((*shards)->parts.size(), size_t(written->files.size() - 1));
    const QString second = written->files[1];
    QString target = second;
    if (hardLink) {
        target = dir.filePath(QStringLiteral("other.safetensors"));
        QCOMPARE(::link(QFile::encodeName(second).constData(), QFile::encodeName(target).constData()), 0);
    }
    const QByteArray before = QCryptographicHash::hash(test::readAll(second), QCryptographicHash::Sha256);
    const QStringList filesBefore = filesIn(dir.path());
    ExportPlan again = plan({}, {}, {}, DType::Float16, ExportFormat::Safetensors);
    auto rp2 = resolvePlan(**shards, analyze(**shards), again);
    QVERIFY(rp2 && rp2->errors.isEmpty());
    auto result = runExport(**shards, *rp2, again, target);
    QVERIFY(!result);
    QVERIFY2(result.error().what.contains(QLatin1String("refusing")), qPrintable(result.error().message()));
    QCOMPARE(QCryptographicHash::hash(test::readAll(second), QCryptographicHash::Sha256), before);
    QCOMPARE(filesIn(dir.path()), filesBefore);
}

// Which non-tensor entries a plan keeps, and why the others are not: entries holding tensors are state (left out
// as without keep_others), objects torch.load(weights_only=True) refuses are listed with the reason.
// A kept entry named as a key the output writes itself ("format" in safetensors metadata, "total_size" in a shard
// index) is left out with a warning, so each key appears once and holds what the format defines.
void TestExport::reservedMetadataKeys_data()
{
    QTest::addColumn<bool>("torch");
    QTest::addColumn<qint64>("shard");
    QTest::addColumn<QString>("reserved");
    QTest::addColumn<QString>("otherReserved"); // kept there: reserved only in the other place
    QTest::newRow("safetensors file: format") << false << qint64(0) << "format" << "total_size";
    QTest::newRow("safetensors shards: total_size") << false << qint64(400) << "total_size" << "format";
    QTest::newRow("torch shards: total_size") << true << qint64(400) << "total_size" << "format";
    QTest::newRow("torch file: nothing reserved") << true << qint64(0) << "" << "format";
}

void TestExport::reservedMetadataKeys()
{
    QFETCH(bool, torch);
    QFETCH(qint64, shard);
    const ExportFormat format = torch ? ExportFormat::Torch : ExportFormat::Safetensors;
    QFETCH(QString, reserved);
    QFETCH(QString, otherReserved);
    auto ck = openCheckpoint(test::fixture(QStringLiteral("reserved_keys.pth")));
    QVERIFY2(ck, ck ? "" : qPrintable(ck.error().message()));
    ExportPlan p = plan({}, {}, {}, std::nullopt, format, shard);
    p.keepOthers = true;
    auto resolved = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(resolved && resolved->errors.isEmpty());
    QTemporaryDir dir;
    const QString out = dir.filePath(format == ExportFormat::Torch ? QStringLiteral("pytorch_model.bin") : QStringLiteral("model.safetensors"));
    // Told the same before writing (a preview, a dry run: the entry marked not kept) as by an export of the plan as
    // resolved.
    ResolvedPlan marked = *resolved;
    QVERIFY(markUnwritableOthers(**ck, marked, p));
    auto result = runExport(**ck, *resolved, p, out);
    QVERIFY2(result, result ? "" : qPrintable(result.error().message()));
    const QStringList told = result->warnings.filter(QStringLiteral(" holds its own "));
    QCOMPARE(marked.warnings.filter(QStringLiteral(" holds its own ")), told);
    for (const PlannedOther& o : marked.others)
        QCOMPARE(o.kept, o.path.join(QLatin1Char('.')) != reserved);
    if (reserved.isEmpty()) {
        // A torch file keeps every entry in its pickle: torch loads both back as they were.
        QVERIFY(told.isEmpty());
        auto back = openCheckpoint(out);
        QVERIFY(back);
        const ObjectGraph& g = (*back)->graph;
        std::map<QString, std::int64_t> ints;
        const auto& items = g.at((*back)->root).items;
        for (size_t i = 0; i + 1 < items.size(); i += 2)
            if (g.at(items[i]).kind == ObjKind::Str && g.at(items[i + 1]).kind == ObjKind::Int)
                ints[g.at(items[i]).text] = g.at(items[i + 1]).integer;
        QCOMPARE(ints[QStringLiteral("total_size")], std::int64_t(7));
        QCOMPARE(ints[QStringLiteral("epoch")], std::int64_t(1));
        return;
    }
    QCOMPARE(told, QStringList { QStringLiteral("%1 is not kept: %2 holds its own %1")
                                     .arg(reserved, shard > 0 ? QStringLiteral("the shard index") : QStringLiteral("safetensors metadata")) });
    auto again = runExport(**ck, marked, p, out); // marked first: told once
    QVERIFY(again);
    QCOMPARE(again->warnings.filter(QStringLiteral(" holds its own ")), told);

    // The metadata object as written: the safetensors header's __metadata__, or the index's metadata.
    QByteArray text;
    if (shard > 0) {
        QVERIFY(result->files.size() > 2);
        QFile f(result->files.last());
        QVERIFY(f.open(QIODevice::ReadOnly));
        text = f.readAll();
    } else {
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray head = f.read(8);
        QCOMPARE(head.size(), 8);
        text = f.read(qFromLittleEndian<qint64>(head.constData()));
    }
    const QJsonObject top = QJsonDocument::fromJson(text).object();
    const QJsonObject meta = top.value(shard > 0 ? QLatin1String("metadata") : QLatin1String("__metadata__")).toObject();
    QCOMPARE(text.count(QByteArray("\"") + reserved.toUtf8() + "\""), qsizetype(1));
    if (shard > 0)
        QCOMPARE(meta.value(QLatin1String("total_size")).toInteger(), qint64(result->bytes));
    else
        QCOMPARE(meta.value(QLatin1String("format")).toString(), QStringLiteral("pt"));
    QVERIFY(meta.contains(otherReserved)); // the other name is an ordinary key there, and kept
    QCOMPARE(meta.value(QLatin1String("epoch")).toVariant().toString(), QStringLiteral("1"));
}

void TestExport::keepOthersResolution()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    auto ck = openCheckpoint(test::fixture(QStringLiteral("sem_lightning.ckpt")));
    QVERIFY(ck);
    ExportPlan p;
    p.keepOthers = true;
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(rp && rp->errors.isEmpty());
    QStringList kept, dropped;
    for (const auto& o : rp->others)
        (o.kept ? kept : dropped) << o.path.join(QLatin1Char('/'));
    QCOMPARE(kept, (QStringList { QStringLiteral("epoch"), QStringLiteral("global_step"), QStringLiteral("pytorch-lightning_version"),
                       QStringLiteral("loops"), QStringLiteral("lr_schedulers"), QStringLiteral("hyper_parameters") }));
    QVERIFY(rp->layout);
    QCOMPARE(stateDictPath(*rp->layout), QStringList { QStringLiteral("state_dict") });
    // Without keep_others the output is the flat state dict alone.
    p.keepOthers = false;
    auto flat = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(flat && !flat->layout && flat->others.empty());
    // A path that names nothing, or a tensor, is an error that says what the file holds.
    p.select = { QStringLiteral("no_such_key") };
    auto bad = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(!bad);
    QVERIFY2(bad.error().what.contains(QLatin1String("no such container")), qPrintable(bad.error().what));
    p.select = { QStringLiteral("state_dict"), QStringLiteral("model.head.weight") };
    bad = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(!bad);
    QVERIFY2(bad.error().what.contains(QLatin1String("not a container")), qPrintable(bad.error().what));
    // An invalid regular expression is refused before anything is read.
    p.select.clear();
    p.include = { QStringLiteral("re:blocks(") };
    bad = resolvePlan(**ck, analyze(**ck), p);
    QVERIFY(!bad);
    QVERIFY2(bad.error().what.contains(QLatin1String("re:blocks(")), qPrintable(bad.error().what));
}

// A storage past 4 GiB (and a record whose local header lies past it) needs zip64 sizes and offsets: torch reads
// the file, and so does Python's zipfile; the offsets torch >= 2.6 computes without reading headers hold there too
// (zip64 extra fields and 24-byte data descriptors, as miniz writes them). Written to /dev/shm (memory, not the
// disk), skipped without room there.
void TestExport::zip64PastFourGiB()
{
    struct statvfs vfs {};
    if (::statvfs("/dev/shm", &vfs) != 0 || double(vfs.f_bavail) * double(vfs.f_frsize) < 6.0 * (1u << 30))
        QSKIP("zip64 export needs 6 GiB free in /dev/shm");
    QTemporaryDir dir(QStringLiteral("/dev/shm/ckptlens-zip64-XXXXXX"));
    QVERIFY(dir.isValid());
    const std::int64_t big = (std::int64_t(4) << 30) + 4096 + 123;
    static const std::vector<std::uint8_t> zeros(8 << 20, 0);
    static const float small[4] = { 1.5f, -2.0f, 3.25f, 65504.0f };
    StateDictOut sd;
    sd.storages.push_back(StorageOut { DType::UInt8, big,
        [big](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>*, QString&) {
            for (std::int64_t done = 0; done < big;) {
                const size_t n = size_t(std::min<std::int64_t>(std::int64_t(zeros.size()), big - done));
                if (!write(zeros.data(), n))
                    return false;
                done += std::int64_t(n);
            }
            return true;
        } });
    sd.storages.push_back(StorageOut { DType::Float32, 4,
        [](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>*, QString&) {
            return write(reinterpret_cast<const std::uint8_t*>(small), sizeof small);
        } });
    sd.tensors.push_back(TensorOut { QStringLiteral("big"), 0, DType::UInt8, { big }, { 1 }, 0, false });
    sd.tensors.push_back(TensorOut { QStringLiteral("small"), 1, DType::Float32, { 4 }, { 1 }, 0, false });
    const QString out = dir.filePath(QStringLiteral("big.pth"));
    auto written = writeTorchZip(out, sd, {}, nullptr,
        [&](const QString& readable, const WriteReport& report) { return verifyWritten(readable, sd, report); });
    QVERIFY2(written, written ? "" : qPrintable(written.error().message()));
    QVERIFY(QFileInfo(out).size() > big);
    if (!QFileInfo::exists(QStringLiteral(CKPTLENS_TORCH_PYTHON)))
        QSKIP("no torch to verify with");
    QProcess py;
    py.start(QStringLiteral(CKPTLENS_TORCH_PYTHON), { QStringLiteral("-c"), QStringLiteral(R"(
import sys, zipfile, torch
sys.path.insert(0, sys.argv[2])
from verify_export import check_storage_offsets, check_torch_zip
problems = check_storage_offsets(sys.argv[1]) + check_torch_zip(sys.argv[1])
assert not problems, problems
z = zipfile.ZipFile(sys.argv[1])
sizes = {i.filename.split("/", 1)[1]: (i.file_size, i.header_offset) for i in z.infolist()}
assert sizes["data/0"][0] == %1, sizes
assert sizes["data/1"][1] > 2**32, sizes
sd = torch.load(sys.argv[1], weights_only=True)
assert list(sd) == ["big", "small"], list(sd)
assert sd["big"].shape == (%1,) and sd["big"].dtype == torch.uint8
assert int(sd["big"][-1]) == 0 and int(sd["big"].max()) == 0
assert sd["small"].tolist() == [1.5, -2.0, 3.25, 65504.0], sd["small"]
print("OK")
)").arg(big), out, QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR) });
    QVERIFY(py.waitForFinished(300'000));
    const QByteArray report = py.readAllStandardOutput() + py.readAllStandardError();
    QVERIFY2(py.exitCode() == 0 && report.contains("OK"), report.constData());
}

void TestExport::unwritableDestination()
{
    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    const ExportPlan p = plan({}, {}, {}, std::nullopt, ExportFormat::Safetensors);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    for (const QString& bad : { QStringLiteral("/nonexistent-dir/x.safetensors"), QStringLiteral("/proc/ckptlens.safetensors") }) {
        auto result = runExport(**ck, *rp, p, bad);
        QVERIFY2(!result, qPrintable(bad));
        QVERIFY(result.error().message().contains(bad));
        QVERIFY(!QFileInfo::exists(bad));
    }
    // A missing folder, or a file where the folder should be, is named as such; with shards the error names what
    // the user gave, not a shard file they never typed.
    QTemporaryDir dir;
    const QString aFile = dir.filePath(QStringLiteral("plain-file"));
    QVERIFY(QFile(aFile).open(QIODevice::WriteOnly));
    ExportPlan sharded = p;
    sharded.maxShardSize = 64;
    auto rps = resolvePlan(**ck, analyze(**ck), sharded);
    QVERIFY(rps);
    for (const auto& [folder, why] : { std::pair { dir.filePath(QStringLiteral("missing")), QStringLiteral("does not exist") },
             std::pair { aFile, QStringLiteral("is not a folder") } }) {
        const QString out = folder + QStringLiteral("/model.safetensors");
        auto result = runExport(**ck, *rps, sharded, out);
        QVERIFY(!result);
        QCOMPARE(result.error().file, out);
        QVERIFY2(result.error().what == QStringLiteral("the destination folder %1 %2").arg(folder, why), qPrintable(result.error().what));
    }
    QCOMPARE(filesIn(dir.path()), QStringList { QStringLiteral("plain-file") });
}

void TestExport::diskFull()
{
    // A file-size limit makes writes fail past 64 KiB, as a full disk does (ENOSPC and EFBIG take one path).
    auto ck = openCheckpoint(sample());
    QVERIFY(ck);
    const ExportPlan p = plan({}, {}, {}, std::nullopt, ExportFormat::Torch);
    auto rp = resolvePlan(**ck, analyze(**ck), p);
    QTemporaryDir dir;
    rlimit old {};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
    auto result = runExport(**ck, *rp, p, dir.filePath(QStringLiteral("full.pth")));
    setrlimit(RLIMIT_FSIZE, &old);
    QVERIFY(!result);
    QVERIFY(result.error().what.contains(QLatin1String("write failed")));
    QCOMPARE(filesIn(dir.path()), QStringList());
}

// Verbatim storages are copied with copy_file_range; from a source on another file system (tmpfs to the temporary
// folder's) the kernel may refuse (EXDEV) and the bytes are written from the map instead. Either way the output is
// the same file, byte for byte, as an export from the source where it was.
void TestExport::otherFileSystemSource()
{
    QTemporaryDir shm(QStringLiteral("/dev/shm/ckptlens-XXXXXX"));
    if (!shm.isValid())
        QSKIP("no writable /dev/shm");
    const QString copy = shm.filePath(QStringLiteral("model.pth"));
    QVERIFY(QFile::copy(sample(), copy));
    QTemporaryDir dir;
    QByteArray outputs[2];
    for (int i = 0; i < 2; ++i) {
        auto ck = openCheckpoint(i == 0 ? sample() : copy);
        QVERIFY(ck);
        const ExportPlan p = plan({}, {}, {}, std::nullopt, ExportFormat::Safetensors);
        auto rp = resolvePlan(**ck, analyze(**ck), p);
        QVERIFY(rp);
        const QString out = dir.filePath(QStringLiteral("out%1.safetensors").arg(i));
        auto result = runExport(**ck, *rp, p, out);
        QVERIFY2(result, qPrintable(result ? QString() : result.error().message()));
        outputs[i] = test::readAll(out);
        // and the torch format from the other file system too (its archive has a random serialization id)
        const ExportPlan t = plan({}, {}, {}, std::nullopt, ExportFormat::Torch);
        auto rt = resolvePlan(**ck, analyze(**ck), t);
        QVERIFY(rt);
        auto torchOut = runExport(**ck, *rt, t, dir.filePath(QStringLiteral("out%1.pth").arg(i)));
        QVERIFY2(torchOut, qPrintable(torchOut ? QString() : torchOut.error().message()));
    }
    QVERIFY(!outputs[0].isEmpty());
    QVERIFY(outputs[0] == outputs[1]);
}

void TestExport::checkRunsBeforeReplacing_data()
{
    QTest::addColumn<bool>("safetensors");
    QTest::addColumn<bool>("accept");
    for (bool st : { false, true })
        for (bool accept : { true, false })
            QTest::addRow("%s %s", st ? "safetensors" : "torch", accept ? "accepted" : "refused") << st << accept;
}

// The read-back check sees the finished file before the rename: a refused file never replaces what the
// destination held, and leaves no temporary behind; an accepted one is the file the check read.
void TestExport::checkRunsBeforeReplacing()
{
    QFETCH(bool, safetensors);
    QFETCH(bool, accept);
    std::vector<float> values(1000);
    for (size_t i = 0; i < values.size(); ++i)
        values[i] = float(i) - 0.5f;
    const auto* data = reinterpret_cast<const std::uint8_t*>(values.data());
    StateDictOut sd;
    sd.storages.push_back(StorageOut { DType::Float32, std::int64_t(values.size()),
        [data](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>*, QString&) {
            return write(data, 4000);
        } });
    sd.tensors.push_back(TensorOut { QStringLiteral("w"), 0, DType::Float32, { 1000 }, { 1 }, 0, false });
    QTemporaryDir dir;
    const QString dest = dir.filePath(safetensors ? QStringLiteral("keep.safetensors") : QStringLiteral("keep.pth"));
    {
        QFile old(dest);
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("what the user had");
    }
    QString seenPath;
    std::optional<QString> seenProblem;
    const ReadBackCheck check = [&](const QString& readable, const WriteReport& report) -> std::optional<QString> {
        seenPath = readable;
        seenProblem = verifyWritten(readable, sd, report);
        return accept ? std::nullopt : std::optional<QString>(QStringLiteral("refused by the test"));
    };
    auto written = safetensors ? writeSafetensors(dest, sd, {}, nullptr, check) : writeTorchZip(dest, sd, {}, nullptr, check);
    QVERIFY(seenPath.startsWith(QLatin1String("/proc/self/fd/")));
    QVERIFY2(!seenProblem, qPrintable(seenProblem.value_or(QString())));
    QCOMPARE(filesIn(dir.path()), QStringList { QFileInfo(dest).fileName() });
    if (accept) {
        QVERIFY(written);
        QVERIFY(!verifyWritten(dest, sd, *written));
    } else {
        QVERIFY(!written);
        QVERIFY(written.error().message().contains(QLatin1String("refused by the test")));
        QCOMPARE(test::readAll(dest), QByteArray("what the user had"));
    }
}

void TestExport::verifyCatchesOtherBytes_data()
{
    QTest::addColumn<bool>("safetensors");
    QTest::addColumn<QString>("damage");
    QTest::addColumn<int>("damagedElement"); // of t0; past 8 MiB it lies in the second piece the check reads
    for (bool st : { false, true }) {
        for (const char* damage : { "none", "report", "file", "length" })
            QTest::addRow("%s %s", st ? "safetensors" : "torch", damage) << st << QString::fromLatin1(damage) << 1;
        QTest::addRow("%s file, second piece", st ? "safetensors" : "torch") << st << QStringLiteral("file") << (8 << 20) / 4 + 500;
        QTest::addRow("%s none, two pieces", st ? "safetensors" : "torch") << st << QStringLiteral("none") << (8 << 20) / 4 + 500;
    }
}

// The read-back check after writing finds a file whose bytes differ from what was produced (a flipped byte in a
// storage), a report that does not match the file, and a report for a different number of storages.
void TestExport::verifyCatchesOtherBytes()
{
    QFETCH(bool, safetensors);
    QFETCH(QString, damage);
    QFETCH(int, damagedElement);
    StateDictOut sd;
    const size_t firstSize = damagedElement < 3000 ? 3000 : size_t(damagedElement) + 1000;
    std::vector<std::vector<float>> values { std::vector<float>(firstSize), std::vector<float>(17) };
    for (size_t s = 0; s < values.size(); ++s) {
        for (size_t i = 0; i < values[s].size(); ++i)
            values[s][i] = float(s * 1000 + i) * 0.25f;
        const auto* data = reinterpret_cast<const std::uint8_t*>(values[s].data());
        const size_t n = values[s].size() * sizeof(float);
        sd.storages.push_back(StorageOut { DType::Float32, std::int64_t(values[s].size()),
            [data, n](const std::function<bool(const std::uint8_t*, size_t)>& write, const std::atomic<bool>*, QString&) {
                return write(data, n / 2) && write(data + n / 2, n - n / 2);
            } });
        sd.tensors.push_back(TensorOut { QStringLiteral("t%1").arg(s), int(s), DType::Float32, { std::int64_t(values[s].size()) }, { 1 }, 0, false });
    }
    QTemporaryDir dir;
    const QString file = dir.filePath(safetensors ? QStringLiteral("v.safetensors") : QStringLiteral("v.pth"));
    auto written = safetensors ? writeSafetensors(file, sd) : writeTorchZip(file, sd);
    QVERIFY2(written, qPrintable(written ? QString() : written.error().message()));
    QCOMPARE(written->bytes, std::int64_t((firstSize + 17) * 4));
    QCOMPARE(written->storageCrc.size(), size_t(2));
    WriteReport report = *written;
    if (damage == QLatin1String("report"))
        report.storageCrc[1] ^= 1;
    if (damage == QLatin1String("length"))
        report.storageCrc.pop_back();
    if (damage == QLatin1String("file")) {
        // The first storage's bytes: find the damaged element's value in the file and change it.
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QByteArray all = f.readAll();
        const float value = float(damagedElement) * 0.25f;
        const qsizetype at = all.indexOf(QByteArray(reinterpret_cast<const char*>(&value), 4));
        QVERIFY(at > qsizetype(damagedElement) * 4);
        QVERIFY(f.seek(at));
        QCOMPARE(f.write("\x01", 1), qint64(1));
    }
    const auto problem = verifyWritten(file, sd, report);
    if (damage == QLatin1String("none")) {
        QVERIFY2(!problem, qPrintable(problem.value_or(QString())));
        return;
    }
    QVERIFY(problem);
    if (damage == QLatin1String("length"))
        QVERIFY2(problem->contains(QLatin1String("storages")), qPrintable(*problem));
    else
        QVERIFY2(problem->contains(damage == QLatin1String("file") ? QLatin1String("tensor t0") : QLatin1String("tensor t1"))
                && problem->contains(QLatin1String("other bytes")),
            qPrintable(*problem));
}

QTEST_GUILESS_MAIN(TestExport)
#include "tst_export.moc"
