// PlainValue::toJsonText writes what Python's json.dumps writes for the same value (the safetensors metadata of
// kept entries, a shard index as transformers writes it): checked against json.dumps itself, run on each row's
// Python literal. Dict order and repeated keys survive, floats read back as floats, and non-finite float values become
// strings (json.dumps's NaN is not JSON, so those rows state the expected text).
#include "io/plainvalue.h"

#include <QProcess>
#include <QRandomGenerator>
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <cstring>

using namespace ckpt;
using K = PlainValue::Kind;

namespace {

PlainValue num(double d) { return PlainValue::float64(d); }
PlainValue integer(std::int64_t i) { return PlainValue::int64(i); }
PlainValue seq(K kind, std::vector<PlainValue> items) { return PlainValue::sequence(kind, std::move(items)); }
PlainValue dict(std::vector<PlainValue> keysAndValues) { return PlainValue::dict(std::move(keysAndValues)); }

// json.dumps(eval(literal)), the literal on standard input, by the Python interpreter the other tests use, compact or as an index is written.
QString pythonJson(const QString& literal, const JsonStyle& style)
{
    const auto py = [](bool b) { return b ? QLatin1String("True") : QLatin1String("False"); };
    QString args = QStringLiteral("sort_keys=%1, ensure_ascii=%2").arg(py(style.sortKeys), py(style.asciiOnly));
    args += style.indent >= 0 ? QStringLiteral(", indent=%1").arg(style.indent) : QStringLiteral(", separators=(',', ':')");
    QProcess p;
    p.start(QStringLiteral(CKPTLENS_TORCH_PYTHON),
        { QStringLiteral("-c"), QStringLiteral("import json, sys; sys.stdout.write(json.dumps(eval(sys.stdin.read()), %1))").arg(args) });
    p.write(literal.toUtf8());
    p.closeWriteChannel();
    if (!p.waitForFinished(30'000) || p.exitCode() != 0)
        return QStringLiteral("python failed: ") + QString::fromUtf8(p.readAllStandardError());
    return QString::fromUtf8(p.readAllStandardOutput());
}

} // namespace

class TestPlainValue : public QObject {
    Q_OBJECT
private slots:
    void matchesJsonDumps_data();
    void matchesJsonDumps();
    void nonFiniteFloatsAreStrings_data();
    void nonFiniteFloatsAreStrings();
};

void TestPlainValue::matchesJsonDumps_data()
{
    QTest::addColumn<PlainValue>("value");
    QTest::addColumn<QString>("python"); // the same value as a Python literal
    QTest::addColumn<bool>("indexStyle"); // as an index is written: json.dumps(v, indent=2, sort_keys=True)

    const auto s = [](const char* t) { return PlainValue::str(QString::fromUtf8(t)); };
    QTest::newRow("whole float keeps .0") << num(3.0) << "3.0" << false;
    QTest::newRow("small fixed") << num(2e-4) << "2e-4" << false;
    QTest::newRow("first exponent below") << num(1e-5) << "1e-5" << false;
    QTest::newRow("last fixed above") << num(1e15 + 0.5) << "1e15 + 0.5" << false;
    QTest::newRow("first exponent above") << num(1e16) << "1e16" << false;
    QTest::newRow("negative zero") << num(-0.0) << "-0.0" << false;
    QTest::newRow("shortest round trip") << num(0.1) << "0.1" << false;
    QTest::newRow("max") << num(1.7976931348623157e308) << "1.7976931348623157e308" << false;
    QTest::newRow("min subnormal") << num(5e-324) << "5e-324" << false;
    QTest::newRow("negative exponent") << num(-1.5e-7) << "-1.5e-7" << false;
    QTest::newRow("int64 extremes") << seq(K::List, { integer(INT64_MIN), integer(INT64_MAX), integer(0) })
                                    << "[-2**63, 2**63 - 1, 0]" << false;
    QTest::newRow("dict keeps its order") << dict({ s("lr"), num(2e-4), s("hidden"), integer(20), s("layers"), integer(3) })
                                          << "{'lr': 2e-4, 'hidden': 20, 'layers': 3}" << false;
    // {1: 'a', '1': 'b'}: json.dumps writes the key "1" twice; a QJsonObject would have kept one.
    QTest::newRow("keys that meet as text") << dict({ integer(1), s("a"), s("1"), s("b") }) << "{1: 'a', '1': 'b'}" << false;
    QTest::newRow("keys: None, bools, floats") << dict({ PlainValue::none(), integer(0), PlainValue::flag(true), integer(1),
                                                     PlainValue::flag(false), integer(2), num(2.5), integer(3) })
                                               << "{None: 0, True: 1, False: 2, 2.5: 3}" << false;
    // As keys, non-finite floats are what json.dumps writes there (a key is a string, so NaN is valid JSON there).
    QTest::newRow("keys: nan, inf") << dict({ num(std::nan("")), integer(1), num(INFINITY), integer(2), num(-INFINITY), integer(3), num(1e-7), integer(4) })
                                    << "{float('nan'): 1, float('inf'): 2, float('-inf'): 3, 1e-7: 4}" << false;
    QTest::newRow("tuple is a list, nested, empty") << seq(K::Tuple, { seq(K::List, {}), dict({}), seq(K::Tuple, { num(1.0) }) })
                                                    << "((), {}, (1.0,))" << false;
    QTest::newRow("strings: escapes, control, unicode")
        << seq(K::List, { s("quote \" back \\ slash / tab \t nl \n"), s("\x01\x1f\x7f"), s("café 東京 \xF0\x9F\x98\x80 \xE2\x80\xA8") })
        << QString::fromUtf8("['quote \" back \\\\ slash / tab \\t nl \\n', '\\x01\\x1f\\x7f', 'café 東京 \\U0001F600 \\u2028']") << false;
    QTest::newRow("bytes as ints") << PlainValue::blob(QByteArray("\x00\x7f\xff", 3)) << "[0, 127, 255]" << false;
    QTest::newRow("index: sorted, indented")
        << dict({ s("weight_map"), dict({ s("z.weight"), s("model-00002-of-00002.safetensors"), s("a.bias"), s("model-00001-of-00002.safetensors") }),
               s("metadata"), dict({ s("total_size"), integer(123456), s("epoch"), integer(3), s("lr"), num(1.0), s("empty"), dict({}) }) })
        << "{'weight_map': {'z.weight': 'model-00002-of-00002.safetensors', 'a.bias': 'model-00001-of-00002.safetensors'},"
           " 'metadata': {'total_size': 123456, 'epoch': 3, 'lr': 1.0, 'empty': {}}}"
        << true;
    QTest::newRow("index: non-ASCII keys escaped") << dict({ s("\xC3\xA9t\xC3\xA9.w"), s("a"), s("\xF0\x9F\x98\x80.b"), s("b"), s("z"), s("c"), s("\xEF\xBC\xA1"), s("d") })
                                                   << QString::fromUtf8("{'\xC3\xA9t\xC3\xA9.w': 'a', '\xF0\x9F\x98\x80.b': 'b', 'z': 'c', '\xEF\xBC\xA1': 'd'}") << true;

    // Random doubles from their bits (every exponent, subnormals included), given to Python by their hex.
    QRandomGenerator rng(20261207);
    std::vector<PlainValue> many;
    QStringList literal;
    while (many.size() < 2000) {
        const quint64 bits = rng.generate64();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (!std::isfinite(d))
            continue;
        many.push_back(num(d));
        char hex[40];
        std::snprintf(hex, sizeof hex, "%a", d); // the C library's: QString::asprintf has its own %a
        literal << QStringLiteral("float.fromhex('%1')").arg(QLatin1String(hex));
    }
    QTest::newRow("2000 random doubles") << seq(K::List, std::move(many)) << QLatin1Char('[') + literal.join(QLatin1Char(',')) + QLatin1Char(']')
                                         << false;
}

void TestPlainValue::matchesJsonDumps()
{
    QFETCH(PlainValue, value);
    QFETCH(QString, python);
    QFETCH(bool, indexStyle);
    const JsonStyle style = indexStyle ? JsonStyle { .sortKeys = true, .indent = 2, .asciiOnly = true } : JsonStyle {};
    QCOMPARE(value.toJsonText(style), pythonJson(python, style));
}

void TestPlainValue::nonFiniteFloatsAreStrings_data()
{
    QTest::addColumn<PlainValue>("value");
    QTest::addColumn<QString>("json");
    QTest::newRow("nan") << num(std::nan("")) << "\"nan\"";
    QTest::newRow("inf in a list") << seq(K::List, { num(INFINITY), num(-INFINITY) }) << "[\"inf\",\"-inf\"]";
}

void TestPlainValue::nonFiniteFloatsAreStrings()
{
    QFETCH(PlainValue, value);
    QFETCH(QString, json);
    QCOMPARE(value.toJsonText(), json);
}

QTEST_GUILESS_MAIN(TestPlainValue)
#include "tst_plainvalue.moc"
