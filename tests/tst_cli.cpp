// The ckptlens-cli contract other work relies on: `tree --json` agrees with torch, `info --json` carries the
// totals, exit code 2 and a message on stderr for a file that cannot be read.
#include "corruptcorpus.h"
#include "testutil.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void treeMatchesTorch_data();
    void treeMatchesTorch();
    void info();
    void stats();
    void exitCodes_data();
    void exitCodes();
    void outOfMemoryIsAnError();
    void exportUnderAddressLimits();
    void exportContract_data();
    void exportContract();
    void exportRecipeReproduces();
    void exportReportsOverflowBeforeWriting();
    void exportWarnsOfReservedKeysBeforeWriting();

private:
    struct Run {
        int code;
        QByteArray out, err;
    };
    // `addressSpaceKiB` > 0 runs the CLI under that `ulimit -v` (through sh).
    static Run cli(const QStringList& args, qint64 addressSpaceKiB = 0)
    {
        QProcess p;
        if (addressSpaceKiB > 0)
            p.start(QStringLiteral("/bin/sh"),
                QStringList { QStringLiteral("-c"), QStringLiteral("ulimit -v %1 && exec \"$0\" \"$@\"").arg(addressSpaceKiB),
                    QStringLiteral(CKPTLENS_CLI) }
                    + args);
        else
            p.start(QStringLiteral(CKPTLENS_CLI), args);
        if (!p.waitForFinished(120'000))
            return { -1, {}, {} };
        return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError() };
    }
};

void TestCli::treeMatchesTorch_data()
{
    if (!ckpt::test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    for (const char* f : { "training.pth", "training_legacy.pt", "views.pth", "dtypes.pth", "nested.pth",
             "training_cuda.pth", "model.safetensors", "many.pth" })
        QTest::newRow(f) << QString::fromLatin1(f);
}

void TestCli::treeMatchesTorch()
{
    QFETCH(QString, file);
    const QString path = ckpt::test::fixture(file);
    const QJsonObject expected = QJsonDocument::fromJson(ckpt::test::readAll(ckpt::test::fixture(QStringLiteral("expected.json"))))
                                     .object()[QFileInfo(path).absoluteFilePath()]
                                     .toObject();
    QVERIFY(!expected.isEmpty());
    const Run r = cli({ QStringLiteral("tree"), QStringLiteral("--json"), path });
    QCOMPARE(r.code, 0);
    const QJsonObject doc = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(doc[QLatin1String("format")].toString(),
        file.endsWith(QLatin1String(".safetensors")) ? QStringLiteral("safetensors")
            : file.contains(QLatin1String("legacy"))  ? QStringLiteral("torch-legacy")
                                                      : QStringLiteral("torch-zip"));
    const QJsonArray ours = doc[QLatin1String("tensors")].toArray();
    const QJsonArray theirs = expected[QLatin1String("tensors")].toArray();
    QCOMPARE(ours.size(), theirs.size());
    for (qsizetype i = 0; i < ours.size(); ++i) {
        const QJsonObject a = ours[i].toObject(), b = theirs[i].toObject();
        for (const char* key : { "path", "dtype", "shape", "stride", "storage_offset", "requires_grad" })
            QCOMPARE(a[QLatin1String(key)], b[QLatin1String(key)]);
        if (b[QLatin1String("device")].isString())
            QCOMPARE(a[QLatin1String("device")], b[QLatin1String("device")]);
        QVERIFY(a[QLatin1String("storage")].isString());
    }
}

void TestCli::info()
{
    const QString sample = QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth");
    const Run r = cli({ QStringLiteral("info"), QStringLiteral("--json"), sample });
    QCOMPARE(r.code, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o[QLatin1String("format")].toString(), QStringLiteral("torch-zip"));
    QCOMPARE(o[QLatin1String("tensors")].toInt(), 164);
    QCOMPARE(o[QLatin1String("top_level_keys")].toArray().first().toString(), QStringLiteral("epoch"));
    const QJsonObject f32 = o[QLatin1String("dtypes")].toObject()[QLatin1String("float32")].toObject();
    QCOMPARE(f32[QLatin1String("tensors")].toInt(), 163);
    QCOMPARE(f32[QLatin1String("bytes")].toInteger(), f32[QLatin1String("elements")].toInteger() * 4);
    qint64 total = 0;
    for (const auto& d : o[QLatin1String("dtypes")].toObject())
        total += d.toObject()[QLatin1String("bytes")].toInteger();
    QCOMPARE(o[QLatin1String("total_bytes")].toInteger(), total);
    // Text output carries the same facts for people.
    const Run text = cli({ QStringLiteral("info"), sample });
    QCOMPARE(text.code, 0);
    QVERIFY(text.out.contains("torch-zip"));
    QVERIFY(text.out.contains("model_state_dict"));
}

void TestCli::stats()
{
    if (!ckpt::test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    const QString path = ckpt::test::fixture(QStringLiteral("values.pth"));
    const QJsonObject expected = QJsonDocument::fromJson(ckpt::test::readAll(ckpt::test::fixture(QStringLiteral("expected.json"))))
                                     .object()[QFileInfo(path).absoluteFilePath()]
                                     .toObject();
    const Run r = cli({ QStringLiteral("stats"), QStringLiteral("--json"), QStringLiteral("--key"), QStringLiteral("s*_f*"), path });
    QCOMPARE(r.code, 0);
    const QJsonArray ours = QJsonDocument::fromJson(r.out).object()[QLatin1String("tensors")].toArray();
    // --key is a glob on the dotted path: specials_f32, specials_f16, subnormal_f16, subnormal_f32, subnormal_f64.
    QStringList names;
    for (const auto& o : ours)
        names << o.toObject()[QLatin1String("path")].toArray().first().toString();
    QCOMPARE(names, (QStringList { QStringLiteral("specials_f32"), QStringLiteral("specials_f16"), QStringLiteral("subnormal_f16"),
                        QStringLiteral("subnormal_f32"), QStringLiteral("subnormal_f64") }));
    for (const auto& o : ours) {
        const QJsonObject a = o.toObject();
        QJsonObject b;
        for (const auto& t : expected[QLatin1String("tensors")].toArray())
            if (t.toObject()[QLatin1String("path")] == a[QLatin1String("path")])
                b = t.toObject()[QLatin1String("stats")].toObject();
        for (const char* k : { "numel", "zeros", "nan", "inf" })
            QCOMPARE(a[QLatin1String(k)].toInteger(), b[QLatin1String(k)].toInteger());
        for (const char* k : { "min", "max", "mean", "std", "l2", "absmax" }) {
            QCOMPARE(a.contains(QLatin1String(k)), b.contains(QLatin1String(k)));
            if (b.contains(QLatin1String(k)))
                QVERIFY(qAbs(a[QLatin1String(k)].toDouble() - b[QLatin1String(k)].toDouble()) <= 1e-9 * qAbs(b[QLatin1String(k)].toDouble()));
        }
    }
}

void TestCli::exitCodes_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QByteArray>("content"); // written to a temp file named x.pth and appended to args, if set
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("stderrHas");
    QTest::newRow("missing file") << QStringList { QStringLiteral("info"), QStringLiteral("/nonexistent/model.pth") }
                                  << QByteArray() << 2 << QStringLiteral("no such file");
    QTest::newRow("empty file") << QStringList { QStringLiteral("info") } << QByteArray("") << 2 << QStringLiteral("empty");
    QTest::newRow("not a checkpoint") << QStringList { QStringLiteral("tree"), QStringLiteral("--json") }
                                      << QByteArray("hello, world\n") << 2 << QStringLiteral("not a PyTorch");
    QTest::newRow("unknown command") << QStringList { QStringLiteral("frobnicate"), QStringLiteral("x") } << QByteArray()
                                     << 1 << QStringLiteral("expected a command");
    QTest::newRow("bad log level") << QStringList { QStringLiteral("--log-level"), QStringLiteral("loud"), QStringLiteral("info"), QStringLiteral("x") }
                                   << QByteArray() << 1 << QStringLiteral("unknown log level");
}

void TestCli::exitCodes()
{
    QFETCH(QStringList, args);
    QFETCH(QByteArray, content);
    QFETCH(int, code);
    QFETCH(QString, stderrHas);
    QTemporaryDir dir;
    if (!content.isNull()) {
        const QString f = dir.filePath(QStringLiteral("x.pth"));
        QVERIFY(ckpt::test::writeFile(f, content));
        args << f;
    }
    const Run r = cli(args);
    QCOMPARE(r.code, code);
    QVERIFY2(QString::fromUtf8(r.err).contains(stderrHas), r.err.constData());
    QVERIFY(r.out.isEmpty());
}

// `export`: 0 on success; 2 on any error (a bad option included) with nothing written, no recipe either.
void TestCli::exportContract_data()
{
    QTest::addColumn<QStringList>("args"); // after `export SAMPLE -o DIR/out.pth`
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("stderrHas");
    QTest::addColumn<QStringList>("written"); // files in DIR afterwards
    const QString recipe = QStringLiteral("--save-recipe=RECIPE");
    QTest::newRow("unknown option") << QStringList { QStringLiteral("--bogus") } << 2 << QStringLiteral("bogus") << QStringList {};
    QTest::newRow("rename without =>") << QStringList { QStringLiteral("--rename"), QStringLiteral("abc"), recipe } << 2
                                       << QStringLiteral("REGEX=>REPLACEMENT") << QStringList {};
    QTest::newRow("colliding renames") << QStringList { QStringLiteral("--rename"), QStringLiteral(".*=>x"), recipe } << 2
                                       << QStringLiteral("would both be written as x") << QStringList {};
    QTest::newRow("bad dtype") << QStringList { QStringLiteral("--dtype"), QStringLiteral("int8") } << 2 << QStringLiteral("--dtype")
                               << QStringList {};
    QTest::newRow("bad format") << QStringList { QStringLiteral("--format"), QStringLiteral("onnx") } << 2 << QStringLiteral("--format")
                                << QStringList {};
    QTest::newRow("bad shard size") << QStringList { QStringLiteral("--max-shard-size"), QStringLiteral("lots") } << 2
                                    << QStringLiteral("not a size") << QStringList {};
    QTest::newRow("invalid regex") << QStringList { QStringLiteral("--include"), QStringLiteral("re:blocks(") } << 2
                                   << QStringLiteral("re:blocks(") << QStringList {};
    QTest::newRow("nothing passes") << QStringList { QStringLiteral("--include"), QStringLiteral("no.such.*"), recipe } << 2
                                    << QStringLiteral("nothing to export") << QStringList {};
    QTest::newRow("unknown container") << QStringList { QStringLiteral("--select"), QStringLiteral("nope/none") } << 2
                                       << QStringLiteral("no such container") << QStringList {};
    QTest::newRow("missing recipe") << QStringList { QStringLiteral("--recipe"), QStringLiteral("/nonexistent/r.json") } << 2
                                    << QStringLiteral("cannot read the recipe") << QStringList {};
    QTest::newRow("dry run writes nothing") << QStringList { QStringLiteral("--dry-run"), QStringLiteral("--dtype"), QStringLiteral("bfloat16"), recipe }
                                            << 0 << QString() << QStringList {};
    QTest::newRow("success with a recipe") << QStringList { QStringLiteral("--include"), QStringLiteral("re:^blocks\\.0\\."), recipe } << 0
                                           << QString() << QStringList { QStringLiteral("out.pth"), QStringLiteral("recipe.json") };
    QTest::newRow("sharded") << QStringList { QStringLiteral("--max-shard-size"), QStringLiteral("100kB") } << 0 << QString()
                             << QStringList { QStringLiteral("out-00001-of-00003.pth"), QStringLiteral("out-00002-of-00003.pth"),
                                    QStringLiteral("out-00003-of-00003.pth"), QStringLiteral("out.pth.index.json") };
}

void TestCli::exportContract()
{
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, stderrHas);
    QFETCH(QStringList, written);
    QTemporaryDir dir;
    for (QString& a : args)
        a.replace(QLatin1String("RECIPE"), dir.filePath(QStringLiteral("recipe.json")));
    const Run r = cli(QStringList { QStringLiteral("export"), QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth"),
                          QStringLiteral("-o"), dir.filePath(QStringLiteral("out.pth")) }
        + args);
    QCOMPARE(r.code, code);
    QVERIFY2(QString::fromUtf8(r.err).contains(stderrHas), r.err.constData());
    QStringList files = QDir(dir.path()).entryList(QDir::Files | QDir::Hidden);
    files.sort();
    QCOMPARE(files, written);
    if (args.contains(QLatin1String("--dry-run")))
        QVERIFY2(r.out.contains("dry run: nothing written"), r.out.constData());
}

// A saved recipe applied again gives the same export: same keys, dtypes and shapes in the same order.
void TestCli::exportRecipeReproduces()
{
    QTemporaryDir dir;
    const QString sample = QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth");
    const QString recipe = dir.filePath(QStringLiteral("r.json"));
    const Run first = cli({ QStringLiteral("export"), sample, QStringLiteral("-o"), dir.filePath(QStringLiteral("a.safetensors")),
        QStringLiteral("--exclude"), QStringLiteral("re:norm"), QStringLiteral("--rename"), QStringLiteral("^blocks=>layers"),
        QStringLiteral("--dtype"), QStringLiteral("float16"), QStringLiteral("--keep-others"), QStringLiteral("--save-recipe"), recipe });
    QVERIFY2(first.code == 0, first.err.constData());
    const QJsonObject saved = QJsonDocument::fromJson(ckpt::test::readAll(recipe)).object();
    QCOMPARE(saved[QLatin1String("keep_others")].toBool(), true);
    QCOMPARE(saved[QLatin1String("format")].toString(), QStringLiteral("safetensors"));
    const Run second = cli({ QStringLiteral("export"), sample, QStringLiteral("-o"), dir.filePath(QStringLiteral("b.safetensors")),
        QStringLiteral("--recipe"), recipe });
    QVERIFY2(second.code == 0, second.err.constData());
    const Run a = cli({ QStringLiteral("tree"), QStringLiteral("--json"), dir.filePath(QStringLiteral("a.safetensors")) });
    const Run b = cli({ QStringLiteral("tree"), QStringLiteral("--json"), dir.filePath(QStringLiteral("b.safetensors")) });
    QCOMPARE(a.code, 0);
    QVERIFY(a.out.contains("layers.0."));
    QVERIFY(!a.out.contains("norm"));
    QVERIFY(a.out.contains("float16"));
    QCOMPARE(a.out, b.out);
}

// The float16 overflow count comes before anything is written (and with --dry-run, instead of writing).
void TestCli::exportReportsOverflowBeforeWriting()
{
    if (!ckpt::test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("v16.pth"));
    const Run dry = cli({ QStringLiteral("export"), ckpt::test::fixture(QStringLiteral("values.pth")), QStringLiteral("-o"), out,
        QStringLiteral("--dtype"), QStringLiteral("float16"), QStringLiteral("--dry-run"), QStringLiteral("--json") });
    QCOMPARE(dry.code, 0);
    const QJsonObject plan = QJsonDocument::fromJson(dry.out).object();
    QCOMPARE(plan[QLatin1String("overflow")].toInteger(), 100001); // as torch counts them: (t.half().isinf() & t.isfinite()).sum() over the float tensors
    QVERIFY(plan[QLatin1String("dry_run")].toBool());
    QVERIFY(!QFileInfo::exists(out));
    const Run real = cli({ QStringLiteral("export"), ckpt::test::fixture(QStringLiteral("values.pth")), QStringLiteral("-o"), out,
        QStringLiteral("--dtype"), QStringLiteral("float16") });
    QCOMPARE(real.code, 0);
    QVERIFY2(real.err.contains("warning: 100001 finite values become infinite in the cast to float16"), real.err.constData());
    QVERIFY(QFileInfo::exists(out));
}

// A kept entry the shard index would overwrite is named in the dry run, before anything is written, and once after.
void TestCli::exportWarnsOfReservedKeysBeforeWriting()
{
    if (!ckpt::test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("model.safetensors"));
    const QStringList args { QStringLiteral("export"), ckpt::test::fixture(QStringLiteral("reserved_keys.pth")), QStringLiteral("-o"), out,
        QStringLiteral("--keep-others"), QStringLiteral("--max-shard-size"), QStringLiteral("400") };
    const Run dry = cli(args + QStringList { QStringLiteral("--dry-run"), QStringLiteral("--json") });
    QCOMPARE(dry.code, 0);
    const QStringList warnings = QJsonDocument::fromJson(dry.out).object()[QLatin1String("warnings")].toVariant().toStringList();
    QVERIFY2(warnings.contains(QStringLiteral("total_size is not kept: the shard index holds its own total_size")), dry.out.constData());
    const Run text = cli(args + QStringList { QStringLiteral("--dry-run") });
    QVERIFY2(text.out.contains("drop total_size: the shard index holds its own total_size"), text.out.constData());
    QVERIFY(QDir(dir.path()).isEmpty());
    const Run real = cli(args);
    QVERIFY2(real.code == 0, real.err.constData());
    QCOMPARE(real.err.count("total_size is not kept"), qsizetype(1));
    QVERIFY(QFileInfo::exists(out + QStringLiteral(".index.json")));
}

// Memory running out is an error with a message and status 2, not an abort: the unpickler reserves its node arena
// up front (half a node per pickle byte), which an address-space limit just above the program's own needs refuses.
// (With mimalloc linked, its own operator new would abort here; the program's replaces it.)
void TestCli::outOfMemoryIsAnError()
{
#if defined(__SANITIZE_ADDRESS__)
    QSKIP("AddressSanitizer reserves terabytes of address space: no ulimit -v leaves it room to start");
#else
    QTemporaryDir dir;
    // A list of 4 million small ints: an 8 MB pickle in a torch-style zip.
    QByteArray pickle("\x80\x02]q\x00(", 6);
    pickle += QByteArray("K\x01").repeated(4'000'000);
    pickle += "e.";
    const QString big = dir.filePath(QStringLiteral("big.pth"));
    QVERIFY(ckpt::test::writeFile(big, ckpt::test::corrupt::zipOf({ { "archive/data.pkl", pickle }, { "archive/version", "3\n" } })));
    const QString small = dir.filePath(QStringLiteral("small.pth"));
    QVERIFY(ckpt::test::writeFile(small, ckpt::test::corrupt::zipOf({ { "archive/data.pkl", QByteArray("\x80\x02]q\x00.", 6) }, { "archive/version", "3\n" } })));
    QCOMPARE(cli({ QStringLiteral("info"), big }).code, 0);
    // The smallest limit (in 16 MiB steps) under which the program opens a tiny file...
    qint64 enough = 0;
    for (qint64 kib = 64 * 1024; kib <= 4 * 1024 * 1024; kib += 16 * 1024)
        if (cli({ QStringLiteral("info"), small }, kib).code == 0) {
            enough = kib;
            break;
        }
    if (enough == 0)
        QSKIP("the CLI did not start under any address-space limit up to 4 GiB");
    // ... and 64 MiB more: room for the 8 MB file, not for the arena of 4 million nodes.
    const Run r = cli({ QStringLiteral("info"), big }, enough + 64 * 1024);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("out of memory"), r.err.constData());
#endif
}

// Export starts threads (a CRC beside each large copy, the read-back check on every core); under an address-space
// limit a thread's stack may not fit. At every limit from "starts at all" to "succeeds" the export finishes or
// fails with a message and status 2; it never dies of a signal (std::terminate on a thread that cannot start).
void TestCli::exportUnderAddressLimits()
{
#if defined(__SANITIZE_ADDRESS__)
    QSKIP("AddressSanitizer reserves terabytes of address space: no ulimit -v leaves it room to start");
#else
    if (!ckpt::test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    const QString source = ckpt::test::fixture(QStringLiteral("large_storages.pth"));
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("out.safetensors"));
    const QStringList args { QStringLiteral("export"), source, QStringLiteral("-o"), out };
    QCOMPARE(cli(args).code, 0);
    QVERIFY(QFile::remove(out));
    qint64 from = 0;
    for (qint64 kib = 64 * 1024; kib <= 4 * 1024 * 1024 && from == 0; kib += 16 * 1024)
        if (cli({ QStringLiteral("--version") }, kib).code == 0)
            from = kib;
    if (from == 0)
        QSKIP("the CLI did not start under any address-space limit up to 4 GiB");
    int failed = 0;
    for (qint64 kib = from; kib <= from + 256 * 1024; kib += 4 * 1024) {
        const Run r = cli(args, kib);
        QVERIFY2(r.code == 0 || r.code == 2,
            qPrintable(QStringLiteral("ulimit -v %1: status %2, %3").arg(kib).arg(r.code).arg(QString::fromUtf8(r.err))));
        if (r.code == 0) {
            QVERIFY(QFile::exists(out));
            break;
        }
        QVERIFY2(!r.err.isEmpty(), qPrintable(QStringLiteral("ulimit -v %1: status 2 without a message").arg(kib)));
        QVERIFY2(!QFile::exists(out), "a failed export left a file behind");
        ++failed;
    }
    QVERIFY2(QFile::exists(out), "the export did not succeed within 256 MiB above the CLI's own start-up needs");
    qInfo("export failed cleanly under %d limits before it succeeded", failed);
#endif
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
