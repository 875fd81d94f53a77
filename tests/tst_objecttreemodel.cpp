// The object tree model: structure and columns of torch-written files (compared through a text dump), the
// roles other code relies on, and Qt's model consistency checks.
#include "model/objecttreemodel.h"
#include "testutil.h"

#include <QAbstractItemModelTester>

using namespace ckpt;

class TestObjectTreeModel : public QObject {
    Q_OBJECT
private slots:
    void dump_data();
    void dump();
    void roles();
    void modelTester();
    void emptyModel();
};

static CheckpointPtr open(const QString& name)
{
    auto ck = openCheckpoint(test::fixture(name));
    return ck ? *ck : nullptr;
}

void TestObjectTreeModel::dump_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("expected");
    QTest::newRow("views share storage 0, expanded has stride 0") << QStringLiteral("views.pth") << QStringLiteral(R"(views.pth | collections.OrderedDict |  |  |  |  | 11 entries
  base | Tensor | float32 | [6, 8] | 48 | 192 bytes | stride [8, 1], storage 0
  transposed | Tensor | float32 | [8, 6] | 48 | 192 bytes | stride [1, 8], storage 0
  row_slice | Tensor | float32 | [3, 8] | 24 | 96 bytes | stride [8, 1], offset 16, storage 0
  col_slice | Tensor | float32 | [6, 4] | 24 | 96 bytes | stride [8, 1], offset 3, storage 0
  strided | Tensor | float32 | [3, 3] | 9 | 36 bytes | stride [16, 3], storage 0
  element | Tensor | float32 | [] | 1 | 4 bytes | stride [], offset 37, storage 0
  expanded | Tensor | float32 | [4, 5] | 20 | 80 bytes | stride [1, 0], storage 1
  permuted | Tensor | int64 | [4, 2, 3] | 24 | 192 bytes | stride [1, 12, 4], storage 2
  unrelated | Tensor | float32 | [7] | 7 | 28 bytes | stride [1], storage 3
  tied_a | Tensor | float32 | [3, 3] | 9 | 36 bytes | stride [3, 1], storage 4
  tied_b | Tensor | float32 | [3, 3] | 9 | 36 bytes | stride [3, 1], storage 4
)");
    QTest::newRow("parameters and requires_grad") << QStringLiteral("parameters.pth") << QStringLiteral(R"(parameters.pth | dict |  |  |  |  | 4 entries
  param | Parameter | float32 | [3, 4] | 12 | 48 bytes | stride [4, 1], storage 0, requires_grad
  frozen | Parameter | float32 | [2] | 2 | 8 bytes | stride [1], storage 1
  grad_tensor | Tensor | float32 | [2, 2] | 4 | 16 bytes | stride [2, 1], storage 2, requires_grad
  plain | Tensor | float32 | [2] | 2 | 8 bytes | stride [1], storage 3
)");
    QTest::newRow("scalars, strings, Namespace, numpy scalars") << QStringLiteral("nested.pth") << QStringLiteral(R"(nested.pth | dict |  |  |  |  | 7 entries
  list | list |  |  |  |  | 2 items
    0 | Tensor | float32 | [2] | 2 | 8 bytes | stride [1], storage 0
    1 | list |  |  |  |  | 2 items
      0 | Tensor | float32 | [3] | 3 | 12 bytes | stride [1], storage 1
      1 | tuple |  |  |  |  | 2 items
        0 | Tensor | int64 | [4] | 4 | 32 bytes | stride [1], storage 2
        1 | str |  |  |  |  | 'text'
  tuple | tuple |  |  |  |  | 5 items
    0 | Tensor | float32 | [2, 2] | 4 | 16 bytes | stride [2, 1], storage 3
    1 | int |  |  |  |  | 5
    2 | float |  |  |  |  | 2.5
    3 | None |  |  |  |  | None
    4 | bool |  |  |  |  | True
  int_keys | dict |  |  |  |  | 3 entries
    0 | Tensor | float32 | [2] | 2 | 8 bytes | stride [1], storage 4
    1 | dict |  |  |  |  | 1 entry
      7 | Tensor | float32 | [1] | 1 | 4 bytes | stride [1], storage 5
    -3 | Tensor | int64 | [3] | 3 | 24 bytes | stride [1], storage 6
  strings | dict |  |  |  |  | 3 entries
    name | str |  |  |  |  | 'resnet'
    bytes | bytes |  |  |  |  | b'\x00\x01binary'
    unicode | str |  |  |  |  | 'été ☃'
  numbers | list |  |  |  |  | 7 items
    0 | int |  |  |  |  | 1
    1 | int |  |  |  |  | -1
    2 | int |  |  |  |  | 1099511627776
    3 | int |  |  |  |  | -9223372036854775808
)");
}

void TestObjectTreeModel::dump()
{
    QFETCH(QString, file);
    QFETCH(QString, expected);
    ObjectTreeModel model;
    auto ck = open(file);
    QVERIFY(ck);
    model.setCheckpoint(ck);
    const QString actual = model.dump();
    // The expectation may stop early: compare the lines it has.
    const QStringList want = expected.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    const QStringList got = actual.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QVERIFY(got.size() >= want.size());
    for (qsizetype i = 0; i < want.size(); ++i)
        QCOMPARE(got[i], want[i]);
}

void TestObjectTreeModel::roles()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures");
    ObjectTreeModel model;
    model.setCheckpoint(open(QStringLiteral("training.pth")));
    const QModelIndex root = model.index(0, 0);
    QCOMPARE(model.rowCount(root), 6);
    QModelIndex sd;
    for (int r = 0; r < model.rowCount(root); ++r)
        if (model.index(r, 0, root).data().toString() == QLatin1String("model_state_dict"))
            sd = model.index(r, 0, root);
    QVERIFY(sd.isValid());
    const QModelIndex w = model.index(0, ObjectTreeModel::BytesColumn, sd);
    QCOMPARE(w.siblingAtColumn(0).data().toString(), QStringLiteral("0.weight"));
    QCOMPARE(w.data(ObjectTreeModel::SortRole).toLongLong(), 16 * 8 * 4);
    QCOMPARE(w.siblingAtColumn(ObjectTreeModel::ElementsColumn).data(ObjectTreeModel::SortRole).toLongLong(), 128);
    QCOMPARE(w.data(ObjectTreeModel::PathRole).toStringList(), (QStringList { QStringLiteral("model_state_dict"), QStringLiteral("0.weight") }));
    QVERIFY(w.data(ObjectTreeModel::TensorIndexRole).toInt() >= 0);
    QCOMPARE(sd.data(ObjectTreeModel::TensorIndexRole).toInt(), -1);
    QCOMPARE(sd.siblingAtColumn(ObjectTreeModel::TypeColumn).data().toString(), QStringLiteral("collections.OrderedDict"));
    // Scalars sort by value.
    const QModelIndex epoch = model.index(0, ObjectTreeModel::ValueColumn, root);
    QCOMPARE(epoch.siblingAtColumn(0).data().toString(), QStringLiteral("epoch"));
    QCOMPARE(epoch.data(ObjectTreeModel::SortRole).toLongLong(), 3);
    QCOMPARE(model.parent(w).siblingAtColumn(0), sd);
}

void TestObjectTreeModel::modelTester()
{
    ObjectTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString sample = QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth");
    auto ck = openCheckpoint(sample);
    QVERIFY(ck);
    model.setCheckpoint(*ck);
    QVERIFY(model.rowCount() == 1);
    model.setCheckpoint(nullptr);
    QCOMPARE(model.rowCount(), 0);
    model.setCheckpoint(*ck);
    QVERIFY(!model.truncated());
}

void TestObjectTreeModel::emptyModel()
{
    ObjectTreeModel model;
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.columnCount(), int(ObjectTreeModel::ColumnCount));
    QVERIFY(!model.index(0, 0).isValid());
    QCOMPARE(model.dump(), QString());
}

QTEST_GUILESS_MAIN(TestObjectTreeModel)
#include "tst_objecttreemodel.moc"
