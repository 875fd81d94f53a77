// Pages of 2-D slices of views (transposed, strided, permuted, expanded) against the values torch's own
// contiguous copy gives (tensorBytes), paging bounds, heat maps that keep every cell's extremes, and the
// per-block profile of a repeated stack.
#include "model/heatmap.h"
#include "model/layerprofile.h"
#include "model/tensorstats.h"
#include "model/valueslice.h"
#include "testutil.h"

#include <cmath>
#include <cstring>

using namespace ckpt;

namespace {

struct Opened {
    CheckpointPtr ck;
    std::shared_ptr<const Semantic> sem;
};

Opened open(const QString& name)
{
    auto ck = openCheckpoint(test::fixture(name));
    if (!ck)
        return {};
    return { *ck, std::make_shared<const Semantic>(analyze(**ck)) };
}

int tensorNamed(const Opened& o, const QString& key)
{
    for (const auto& [k, t] : o.sem->stateDicts.at(0).entries)
        if (k == key)
            return t;
    return -1;
}

// The tensor's elements in row-major logical order, from the contiguous copy the reader makes.
std::vector<double> logical(const Checkpoint& ck, int tensor)
{
    const QByteArray raw = *ck.tensorBytes(tensor);
    const TensorInfo& t = ck.tensors[size_t(tensor)];
    std::vector<double> out;
    for (qsizetype i = 0; i < raw.size(); i += dtypeItemSize(t.dtype)) {
        if (t.dtype == DType::Float32) {
            float f;
            std::memcpy(&f, raw.constData() + i, 4);
            out.push_back(f);
        } else if (t.dtype == DType::Int64) {
            qint64 v;
            std::memcpy(&v, raw.constData() + i, 8);
            out.push_back(double(v));
        }
    }
    return out;
}

// Element (row, col) of a slice, from first principles.
double expectedAt(const TensorInfo& t, const std::vector<double>& values, const SliceSpec& s, std::int64_t row, std::int64_t col)
{
    if (s.flatten) {
        const std::int64_t cols = t.numel() / t.shape[0];
        return values[size_t(row * cols + col)];
    }
    std::int64_t flat = 0;
    for (size_t d = 0; d < t.shape.size(); ++d) {
        const std::int64_t i = int(d) == s.rowDim ? row : int(d) == s.colDim ? col : s.index[d];
        flat = flat * t.shape[d] + i;
    }
    return values[size_t(flat)];
}

SliceSpec slice(int rowDim, int colDim, std::vector<std::int64_t> index, bool flatten = false)
{
    return SliceSpec { rowDim, colDim, std::move(index), flatten };
}

} // namespace

Q_DECLARE_METATYPE(ckpt::SliceSpec)

class TestValueSlice : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    }

    void pages_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<SliceSpec>("spec");
        QTest::addColumn<qlonglong>("rowBegin");
        QTest::addColumn<qlonglong>("rows");
        QTest::addColumn<qlonglong>("colBegin");
        QTest::addColumn<qlonglong>("cols");
        QTest::addColumn<qlonglong>("pageRows"); // after cutting to the slice
        QTest::addColumn<qlonglong>("pageCols");
        QTest::newRow("base, whole") << "base" << slice(0, 1, { 0, 0 }) << 0LL << 100LL << 0LL << 100LL << 6LL << 8LL;
        QTest::newRow("transposed (stride 1, 8)") << "transposed" << slice(0, 1, { 0, 0 }) << 0LL << 8LL << 0LL << 6LL << 8LL << 6LL;
        QTest::newRow("transposed, inner block") << "transposed" << slice(0, 1, { 0, 0 }) << 2LL << 3LL << 1LL << 4LL << 3LL << 4LL;
        QTest::newRow("transposed, shown transposed back") << "transposed" << slice(1, 0, { 0, 0 }) << 0LL << 6LL << 0LL << 8LL << 6LL << 8LL;
        QTest::newRow("row slice with offset") << "row_slice" << slice(0, 1, { 0, 0 }) << 1LL << 5LL << 3LL << 5LL << 2LL << 5LL;
        QTest::newRow("column slice") << "col_slice" << slice(0, 1, { 0, 0 }) << 0LL << 6LL << 0LL << 4LL << 6LL << 4LL;
        QTest::newRow("strided (16, 3)") << "strided" << slice(0, 1, { 0, 0 }) << 0LL << 3LL << 0LL << 3LL << 3LL << 3LL;
        QTest::newRow("expanded (stride 0)") << "expanded" << slice(0, 1, { 0, 0 }) << 0LL << 4LL << 0LL << 5LL << 4LL << 5LL;
        QTest::newRow("permuted: dims 0 x 2 at 1") << "permuted" << slice(0, 2, { 0, 1, 0 }) << 0LL << 4LL << 0LL << 3LL << 4LL << 3LL;
        QTest::newRow("permuted: dims 2 x 1 at 3") << "permuted" << slice(2, 1, { 3, 0, 0 }) << 0LL << 3LL << 0LL << 2LL << 3LL << 2LL;
        QTest::newRow("permuted: flattened") << "permuted" << slice(0, 1, { 0, 0, 0 }, true) << 0LL << 4LL << 2LL << 10LL << 4LL << 4LL;
        QTest::newRow("vector as a column") << "unrelated" << slice(0, -1, { 0 }) << 2LL << 10LL << 0LL << 1LL << 5LL << 1LL;
        QTest::newRow("vector as a row") << "unrelated" << slice(-1, 0, { 0 }) << 0LL << 1LL << 0LL << 7LL << 1LL << 7LL;
        QTest::newRow("0-d element at offset 37") << "element" << slice(-1, -1, {}) << 0LL << 1LL << 0LL << 1LL << 1LL << 1LL;
    }

    void pages()
    {
        QFETCH(QString, key);
        QFETCH(SliceSpec, spec);
        QFETCH(qlonglong, rowBegin);
        QFETCH(qlonglong, rows);
        QFETCH(qlonglong, colBegin);
        QFETCH(qlonglong, cols);
        QFETCH(qlonglong, pageRows);
        QFETCH(qlonglong, pageCols);
        const Opened o = open(QStringLiteral("views.pth"));
        QVERIFY(o.ck);
        const int t = tensorNamed(o, key);
        QVERIFY(t >= 0);
        const TensorInfo& info = o.ck->tensors[size_t(t)];
        auto page = readSlice(*o.ck, t, spec, rowBegin, rows, colBegin, cols);
        QVERIFY2(page, qPrintable(page ? QString() : page.error().message()));
        QCOMPARE(page->rows, pageRows);
        QCOMPARE(page->cols, pageCols);
        QCOMPARE(page->rowBegin, rowBegin);
        QCOMPARE(page->colBegin, colBegin);
        const std::vector<double> values = logical(*o.ck, t);
        QCOMPARE(qint64(values.size()), info.numel());
        for (std::int64_t r = 0; r < page->rows; ++r)
            for (std::int64_t c = 0; c < page->cols; ++c)
                QCOMPARE(page->at(r, c), expectedAt(info, values, spec, rowBegin + r, colBegin + c));
    }

    void defaults_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<SliceSpec>("spec");
        QTest::addColumn<qlonglong>("rows");
        QTest::addColumn<qlonglong>("cols");
        QTest::newRow("matrix") << "transposed" << slice(0, 1, { 0, 0 }) << 8LL << 6LL;
        QTest::newRow("vector") << "unrelated" << slice(0, -1, { 0 }) << 7LL << 1LL;
        QTest::newRow("scalar") << "element" << slice(-1, -1, {}) << 1LL << 1LL;
        QTest::newRow("3-d: dim 0 against the rest") << "permuted" << slice(0, 1, { 0, 0, 0 }, true) << 4LL << 6LL;
    }

    void defaults()
    {
        QFETCH(QString, key);
        QFETCH(SliceSpec, spec);
        QFETCH(qlonglong, rows);
        QFETCH(qlonglong, cols);
        const Opened o = open(QStringLiteral("views.pth"));
        const int t = tensorNamed(o, key);
        QCOMPARE(defaultSlice(o.ck->tensors[size_t(t)]), spec);
        auto reader = SliceReader::open(*o.ck, t, spec);
        QVERIFY(reader);
        QCOMPARE(reader->rows(), rows);
        QCOMPARE(reader->cols(), cols);
    }

    void pagingBounds_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<SliceSpec>("spec");
        QTest::addColumn<qlonglong>("rowBegin");
        QTest::addColumn<qlonglong>("colBegin");
        QTest::addColumn<QString>("error"); // empty: a valid page
        QTest::newRow("last row") << "base" << slice(0, 1, { 0, 0 }) << 5LL << 7LL << "";
        QTest::newRow("row past the end") << "base" << slice(0, 1, { 0, 0 }) << 6LL << 0LL << "outside the 6 x 8 slice";
        QTest::newRow("column past the end") << "transposed" << slice(0, 1, { 0, 0 }) << 0LL << 6LL << "outside the 8 x 6 slice";
        QTest::newRow("negative row") << "base" << slice(0, 1, { 0, 0 }) << -1LL << 0LL << "outside";
        QTest::newRow("fixed index out of range") << "permuted" << slice(0, 2, { 0, 2, 0 }) << 0LL << 0LL << "index 2 is out of range for dimension 1";
        QTest::newRow("same dimension twice") << "permuted" << slice(1, 1, { 0, 0, 0 }) << 0LL << 0LL << "no slice of dimensions 1 and 1";
        QTest::newRow("dimension the tensor lacks") << "base" << slice(0, 2, { 0, 0 }) << 0LL << 0LL << "no slice of dimensions 0 and 2";
        QTest::newRow("wrong index count") << "permuted" << slice(0, 1, { 0 }) << 0LL << 0LL << "1 indices for a 3-d tensor";
        QTest::newRow("flattening a scalar") << "element" << slice(0, 1, {}, true) << 0LL << 0LL << "cannot be flattened";
    }

    void pagingBounds()
    {
        QFETCH(QString, key);
        QFETCH(SliceSpec, spec);
        QFETCH(qlonglong, rowBegin);
        QFETCH(qlonglong, colBegin);
        QFETCH(QString, error);
        const Opened o = open(QStringLiteral("views.pth"));
        auto page = readSlice(*o.ck, tensorNamed(o, key), spec, rowBegin, 100, colBegin, 100);
        if (error.isEmpty()) {
            QVERIFY(page);
            QCOMPARE(page->rows, 1);
            QCOMPARE(page->cols, 1);
        } else {
            QVERIFY(!page);
            QVERIFY2(page.error().what.contains(error), qPrintable(page.error().what));
            QCOMPARE(page.error().kind, ErrorKind::OutOfBounds);
        }
    }

    void heatMapKeepsExtremes_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<int>("maxCols");
        QTest::addColumn<int>("maxRows");
        QTest::addColumn<int>("cellCols");
        QTest::addColumn<int>("cellRows");
        QTest::addColumn<bool>("asRow"); // a vector laid out as one row instead of one column
        QTest::newRow("700 x 1000 into 64 x 64") << "big" << 64 << 64 << 63 << 64 << false;
        QTest::newRow("transposed view") << "big_t" << 100 << 50 << 100 << 50 << false;
        QTest::newRow("strided view") << "big_strided" << 40 << 40 << 36 << 39 << false;
        QTest::newRow("bfloat16") << "big_bf16" << 128 << 128 << 125 << 117 << false;
        QTest::newRow("no downsampling needed") << "big_strided" << 1000 << 1000 << 143 << 234 << false;
        QTest::newRow("specials: NaN and Inf left out") << "specials_f32" << 1 << 1 << 1 << 1 << false;
        QTest::newRow("a row longer than one read") << "offset_mean" << 30 << 1 << 30 << 1 << true;
        QTest::newRow("a long column") << "offset_mean" << 1 << 70 << 1 << 70 << false;
    }

    void heatMapKeepsExtremes()
    {
        QFETCH(QString, key);
        QFETCH(int, maxCols);
        QFETCH(int, maxRows);
        QFETCH(int, cellCols);
        QFETCH(int, cellRows);
        QFETCH(bool, asRow);
        const Opened o = open(QStringLiteral("values.pth"));
        const int t = tensorNamed(o, key);
        QVERIFY(t >= 0);
        const SliceSpec spec = asRow ? slice(-1, 0, { 0 }) : defaultSlice(o.ck->tensors[size_t(t)]);
        auto map = heatMap(*o.ck, t, spec, maxCols, maxRows, 0);
        QVERIFY(map);
        QCOMPARE(map->cellCols, cellCols);
        QCOMPARE(map->cellRows, cellRows);
        QVERIFY(map->cellCols <= maxCols && map->cellRows <= maxRows);
        // The global extremes are exactly the tensor's.
        const TensorStats stats = *computeStats(*o.ck, t, 1);
        QCOMPARE(map->lo, stats.min);
        QCOMPARE(map->hi, stats.max);
        QCOMPARE(map->nonFinite, stats.nan + stats.inf);
        // Every cell against a brute-force pass over its block.
        auto reader = SliceReader::open(*o.ck, t, spec);
        std::vector<double> all(size_t(reader->rows() * reader->cols()));
        reader->read(0, reader->rows(), 0, reader->cols(), all.data());
        for (int cr = 0; cr < map->cellRows; ++cr)
            for (int cc = 0; cc < map->cellCols; ++cc) {
                double lo = INFINITY, hi = -INFINITY, sum = 0;
                std::int64_t n = 0;
                for (std::int64_t r = cr * map->rowsPerCell; r < std::min(map->rows, (cr + 1) * map->rowsPerCell); ++r)
                    for (std::int64_t c = cc * map->colsPerCell; c < std::min(map->cols, (cc + 1) * map->colsPerCell); ++c) {
                        const double x = all[size_t(r * map->cols + c)];
                        if (!std::isfinite(x))
                            continue;
                        lo = std::min(lo, x);
                        hi = std::max(hi, x);
                        sum += x;
                        ++n;
                    }
                QCOMPARE(map->min[map->cell(cr, cc)], lo);
                QCOMPARE(map->max[map->cell(cr, cc)], hi);
                QVERIFY(std::fabs(map->mean[map->cell(cr, cc)] - sum / double(n)) <= 1e-9 * std::max(1.0, std::fabs(lo)));
            }
    }

    void heatMapCancel()
    {
        const Opened o = open(QStringLiteral("values.pth"));
        const std::atomic<bool> cancelled { true };
        auto map = heatMap(*o.ck, tensorNamed(o, QStringLiteral("big")), slice(0, 1, { 0, 0 }), 64, 64, 1, &cancelled);
        QVERIFY(!map);
        QCOMPARE(map.error().what, QStringLiteral("cancelled"));
    }

    void layerProfileOfBlocks()
    {
        const Opened o = open(QStringLiteral("sem_adam.pth"));
        QVERIFY(o.ck);
        const ModuleTree& tree = o.sem->modules;
        const std::vector<int> blocks = repeatedBlocks(tree);
        QVERIFY(!blocks.empty());
        QCOMPARE(tree.nodes[size_t(blocks.front())].fullName, QStringLiteral("blocks"));

        // Without statistics: sizes only.
        LayerProfile p = layerProfile(tree, blocks.front(), {});
        QCOMPARE(p.block, QStringLiteral("blocks"));
        QCOMPARE(int(p.layers.size()), 3);
        QCOMPARE(p.l2Known, 0);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(p.layers[size_t(i)].name, QString::number(i));
            QCOMPARE(p.layers[size_t(i)].fullName, QStringLiteral("blocks.%1").arg(i));
            QCOMPARE(p.layers[size_t(i)].parameters, 552);
            QCOMPARE(p.layers[size_t(i)].bytes, 2376);
            QCOMPARE(p.layers[size_t(i)].tensors, 9);
            QVERIFY(!p.layers[size_t(i)].l2);
        }

        // With statistics: the L2 of a block's parameters together, running statistics left out.
        std::vector<StatsResult> stats(o.ck->tensors.size());
        for (int t = 0; t < int(stats.size()); ++t)
            stats[size_t(t)] = StatsResult { t, *computeStats(*o.ck, t, 1), {} };
        p = layerProfile(tree, blocks.front(), [&](int t) { return &stats[size_t(t)]; });
        QCOMPARE(p.l2Known, 3);
        for (int i = 0; i < 3; ++i) {
            double sumSquares = 0;
            for (const auto& [key, t] : o.sem->stateDicts[size_t(o.sem->primary)].entries)
                if (key.startsWith(QStringLiteral("blocks.%1.").arg(i)) && o.sem->roles.at(key) == TensorRole::Parameter)
                    sumSquares += stats[size_t(t)].stats->l2 * stats[size_t(t)].stats->l2;
            QVERIFY(std::fabs(*p.layers[size_t(i)].l2 - std::sqrt(sumSquares)) < 1e-12);
            QCOMPARE(p.layers[size_t(i)].nonFinite, 0);
        }

        // One block still unknown: its L2 stays empty, the others are there.
        const int missing = tensorNamed(o, QStringLiteral("blocks.1.3.bias"));
        p = layerProfile(tree, blocks.front(), [&](int t) { return t == missing ? nullptr : &stats[size_t(t)]; });
        QCOMPARE(p.l2Known, 2);
        QVERIFY(!p.layers[1].l2);
        QVERIFY(p.layers[2].l2);
        // A buffer unknown does not hold the L2 back.
        const int buffer = tensorNamed(o, QStringLiteral("blocks.1.1.running_var"));
        p = layerProfile(tree, blocks.front(), [&](int t) { return t == buffer ? nullptr : &stats[size_t(t)]; });
        QCOMPARE(p.l2Known, 3);
        QVERIFY(layerProfile(tree, -1, {}).layers.empty());
    }
};

QTEST_GUILESS_MAIN(TestValueSlice)
#include "tst_valueslice.moc"
