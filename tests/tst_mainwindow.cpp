// The main window end to end, offscreen: what the tree shows, errors as a banner, filter, sort, drop, recent files.
#include "model/objecttreemodel.h"
#include "testutil.h"
#include "widgets/mainwindow.h"
#include "widgets/treefilterproxy.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QDropEvent>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeView>
#include <QUrl>

#include <initializer_list>

using namespace ckpt;

namespace {

QString sample()
{
    return QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth");
}

QString sampleAbsolute()
{
    return QFileInfo(sample()).absoluteFilePath();
}

// The row reached by following keys from the top (file) row; invalid when a key is missing.
QModelIndex findPath(const QAbstractItemModel* model, const QStringList& path)
{
    QModelIndex current = model->index(0, 0);
    for (const QString& key : path) {
        QModelIndex next;
        for (int r = 0; r < model->rowCount(current) && !next.isValid(); ++r) {
            const QModelIndex child = model->index(r, ObjectTreeModel::KeyColumn, current);
            if (child.data().toString() == key)
                next = child;
        }
        if (!next.isValid())
            return {};
        current = next;
    }
    return current;
}

QStringList childKeys(const QAbstractItemModel* model, const QModelIndex& parent)
{
    QStringList keys;
    for (int r = 0; r < model->rowCount(parent); ++r)
        keys << model->index(r, ObjectTreeModel::KeyColumn, parent).data().toString();
    return keys;
}

int countTensorRows(const QAbstractItemModel* model, const QModelIndex& parent = {})
{
    int n = 0;
    for (int r = 0; r < model->rowCount(parent); ++r) {
        const QModelIndex child = model->index(r, 0, parent);
        if (child.data(ObjectTreeModel::TensorIndexRole).toInt() >= 0)
            ++n;
        n += countTensorRows(model, child);
    }
    return n;
}

// Literal string lists for _data() rows (QT_NO_CAST_FROM_ASCII forbids the implicit conversion).
QStringList strings(std::initializer_list<const char*> items)
{
    QStringList out;
    for (const char* s : items)
        out << QString::fromUtf8(s);
    return out;
}

QStringList split(const char* path)
{
    return QString::fromUtf8(path).split(QLatin1Char('/'), Qt::SkipEmptyParts);
}

void setFilter(MainWindow& w, const QString& text)
{
    w.filterEdit()->setText(text);
    // The window filters after a typing pause; wait for it as a user would.
    QTRY_COMPARE(w.filterModel()->keyFilter(), text.trimmed());
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
        QVERIFY2(QFileInfo::exists(sample()), qPrintable(sample()));
        QVERIFY2(QSettings().fileName().contains(QStringLiteral("qttest")), qPrintable(QSettings().fileName()));
    }

    void init() { QSettings().clear(); }

    void emptyWindow()
    {
        MainWindow w;
        QCOMPARE(w.treeModel()->rowCount(), 0);
        QVERIFY(w.errorText().isEmpty());
        QVERIFY(!w.recentMenu()->isEnabled());
    }

    void topLevelKeys()
    {
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        QVERIFY(w.errorText().isEmpty());
        const QAbstractItemModel* m = w.treeView()->model();
        QCOMPARE(m->rowCount(), 1);
        QCOMPARE(m->index(0, 0).data().toString(), QStringLiteral("tiny-transformer.pth"));
        QCOMPARE(childKeys(m, m->index(0, 0)),
            QStringList({ QStringLiteral("epoch"), QStringLiteral("global_step"), QStringLiteral("model_state_dict"),
                QStringLiteral("optimizer_state_dict"), QStringLiteral("lr_scheduler"), QStringLiteral("loss"),
                QStringLiteral("config"), QStringLiteral("torch_version") }));
        QCOMPARE(countTensorRows(m), 164);
        QVERIFY(w.windowTitle().startsWith(QStringLiteral("tiny-transformer.pth")));
        QVERIFY2(w.statusText().contains(QStringLiteral("torch-zip")), qPrintable(w.statusText()));
        QVERIFY2(w.statusText().contains(QStringLiteral("164 tensors")), qPrintable(w.statusText()));
        // Opened on the weights: the top row and the biggest entry are expanded, the file row is current.
        QVERIFY(w.treeView()->isExpanded(m->index(0, 0)));
        QVERIFY(w.treeView()->isExpanded(findPath(m, split("model_state_dict"))));
        QVERIFY(!w.treeView()->isExpanded(findPath(m, split("optimizer_state_dict"))));
        QCOMPARE(w.treeView()->currentIndex(), m->index(0, 0));
    }

    void columnWidths()
    {
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        QTreeView* view = w.treeView();
        const QFontMetrics fm = view->fontMetrics();
        // Wide enough for the longest key shown and for every tensor's shape and size, without eliding.
        QVERIFY2(view->columnWidth(ObjectTreeModel::KeyColumn)
                > fm.horizontalAdvance(QStringLiteral("blocks.0.attn.out_proj.weight")),
            qPrintable(QString::number(view->columnWidth(ObjectTreeModel::KeyColumn))));
        QVERIFY(view->columnWidth(ObjectTreeModel::ShapeColumn) > fm.horizontalAdvance(QStringLiteral("[256, 32]")));
        QVERIFY(view->columnWidth(ObjectTreeModel::BytesColumn) > fm.horizontalAdvance(QStringLiteral("32.00 KiB")));
        QVERIFY(view->columnWidth(ObjectTreeModel::KeyColumn) <= w.width() / 2);

        // Reopening keeps the layout; a width the user chose survives it.
        const int keyWidth = view->columnWidth(ObjectTreeModel::KeyColumn);
        QVERIFY(w.openFile(sample()));
        QCOMPARE(view->columnWidth(ObjectTreeModel::KeyColumn), keyWidth);
        view->header()->resizeSection(ObjectTreeModel::KeyColumn, 333);
        QVERIFY(w.openFile(sample()));
        QCOMPARE(view->columnWidth(ObjectTreeModel::KeyColumn), 333);
    }

    void tensorRow_data()
    {
        // clang-format off
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<QString>("shape");
        QTest::addColumn<qlonglong>("elements");
        QTest::addColumn<qlonglong>("bytes");
        QTest::newRow("embedding weight")
            << "model_state_dict/embed.weight" << "Tensor" << "float32" << "[256, 32]" << 8192LL << 32768LL;
        QTest::newRow("tied head weight")
            << "model_state_dict/head.weight" << "Tensor" << "float32" << "[256, 32]" << 8192LL << 32768LL;
        QTest::newRow("0-d int64 buffer")
            << "model_state_dict/norm.num_batches_tracked" << "Tensor" << "int64" << "[]" << 1LL << 8LL;
        QTest::newRow("attention projection")
            << "model_state_dict/blocks.2.attn.in_proj_weight" << "Tensor" << "float32" << "[96, 32]"
            << 3072LL << 12288LL;
        QTest::newRow("optimizer state under int key")
            << "optimizer_state_dict/state/1/exp_avg_sq" << "Tensor" << "float32" << "[256, 32]" << 8192LL << 32768LL;
        // clang-format on
    }

    void tensorRow()
    {
        QFETCH(QString, path);
        QFETCH(QString, type);
        QFETCH(QString, dtype);
        QFETCH(QString, shape);
        QFETCH(qlonglong, elements);
        QFETCH(qlonglong, bytes);
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        const QModelIndex key = findPath(w.treeView()->model(), path.split(QLatin1Char('/')));
        QVERIFY2(key.isValid(), qPrintable(path));
        QVERIFY(key.data(ObjectTreeModel::TensorIndexRole).toInt() >= 0);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::TypeColumn).data().toString(), type);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::DTypeColumn).data().toString(), dtype);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::ShapeColumn).data().toString(), shape);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::ElementsColumn).data(ObjectTreeModel::SortRole).toLongLong(),
            elements);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::BytesColumn).data(ObjectTreeModel::SortRole).toLongLong(), bytes);
        QVERIFY(!key.siblingAtColumn(ObjectTreeModel::BytesColumn).data().toString().isEmpty());
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::ElementsColumn).data(Qt::TextAlignmentRole).value<Qt::Alignment>()
                & Qt::AlignRight,
            Qt::AlignRight);
    }

    void scalarRow_data()
    {
        // clang-format off
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("value");
        QTest::newRow("int") << "epoch" << "int" << "2";
        QTest::newRow("nested int") << "config/d_model" << "int" << "32";
        QTest::newRow("bool") << "lr_scheduler/verbose" << "bool" << "False";
        QTest::newRow("container") << "config" << "dict" << "4 entries";
        // clang-format on
    }

    void scalarRow()
    {
        QFETCH(QString, path);
        QFETCH(QString, type);
        QFETCH(QString, value);
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        const QModelIndex key = findPath(w.treeView()->model(), path.split(QLatin1Char('/')));
        QVERIFY2(key.isValid(), qPrintable(path));
        QCOMPARE(key.data(ObjectTreeModel::TensorIndexRole).toInt(), -1);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::TypeColumn).data().toString(), type);
        QCOMPARE(key.siblingAtColumn(ObjectTreeModel::ValueColumn).data().toString(), value);
    }

    void details_data()
    {
        // clang-format off
        QTest::addColumn<QString>("path"); // empty: the file row
        QTest::addColumn<QStringList>("fragments");
        QTest::newRow("file row: summary")
            << QString() << strings({ "tiny-transformer.pth", "torch-zip", "164", "cpu", "float32" });
        QTest::newRow("tensor: descriptor")
            << "model_state_dict/embed.weight"
            << strings({ "model_state_dict / embed.weight", "float32", "[256, 32]", "[32, 1]", "Storage offset",
                   "Storage key", "Saved on", "cpu", "requires_grad", "Parameter", "32.00 KiB" });
        QTest::newRow("tensor: tied weight shares storage")
            << "model_state_dict/head.weight" << strings({ "model_state_dict / head.weight", "Storage key" });
        QTest::newRow("container: type and entries")
            << "model_state_dict" << strings({ "collections.OrderedDict", "Entries", "44" });
        QTest::newRow("scalar: full value") << "config/vocab" << strings({ "config / vocab", "int", "256" });
        // clang-format on
    }

    void details()
    {
        QFETCH(QString, path);
        QFETCH(QStringList, fragments);
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        const QAbstractItemModel* m = w.treeView()->model();
        const QModelIndex index = path.isEmpty() ? m->index(0, 0) : findPath(m, path.split(QLatin1Char('/')));
        QVERIFY(index.isValid());
        w.treeView()->setCurrentIndex(m->index(0, 0, m->index(0, 0))); // move away first so the change is seen
        w.treeView()->setCurrentIndex(index);
        const QString text = w.detailsText();
        for (const QString& f : fragments)
            QVERIFY2(text.contains(f), qPrintable(QStringLiteral("missing '%1' in:\n%2").arg(f, text)));
    }

    void detailsStorageKeyMatchesTiedTensor()
    {
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        const QAbstractItemModel* m = w.treeView()->model();
        // head.weight is tied to embed.weight: both name the same storage.
        const auto storageLine = [&](const char* path) {
            w.treeView()->setCurrentIndex(findPath(m, split(path)));
            const QStringList lines = w.detailsText().split(QLatin1Char('\n'));
            const qsizetype i = lines.indexOf(QStringLiteral("Storage key"));
            return i >= 0 && i + 1 < lines.size() ? lines[i + 1] : QString();
        };
        const QString embed = storageLine("model_state_dict/embed.weight");
        QVERIFY(!embed.isEmpty());
        QCOMPARE(storageLine("model_state_dict/head.weight"), embed);
        QVERIFY(storageLine("model_state_dict/pos") != embed);
    }

    void detailsDropFilteredRow()
    {
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        w.treeView()->setCurrentIndex(findPath(w.treeView()->model(), split("model_state_dict/embed.weight")));
        QVERIFY(w.detailsText().contains(QStringLiteral("embed.weight")));
        setFilter(w, QStringLiteral("exp_avg"));
        QVERIFY2(!w.detailsText().contains(QStringLiteral("embed.weight")), qPrintable(w.detailsText()));
        QVERIFY(w.detailsText().contains(QStringLiteral("torch-zip"))); // back to the file summary
    }

    void brokenTensor()
    {
        // The sample with storage record "1" renamed away: embed.weight and its tied head.weight lose their bytes.
        QByteArray bytes = test::readAll(sample());
        const QByteArray record("tiny-transformer/data/1");
        int renamed = 0;
        for (qsizetype at = bytes.indexOf(record); at >= 0; at = bytes.indexOf(record, at + 1)) {
            const char next = bytes.at(at + record.size());
            if (next < '0' || next > '9') {
                bytes[at + record.size() - 1] = 'Z';
                ++renamed;
            }
        }
        QCOMPARE(renamed, 2); // local header and central directory
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("broken.pth"));
        QVERIFY(test::writeFile(path, bytes));

        MainWindow w;
        QVERIFY(w.openFile(path));
        QVERIFY(w.errorText().isEmpty()); // the file opens; only two tensors are unreadable
        QVERIFY2(w.statusText().contains(QStringLiteral("2 broken")), qPrintable(w.statusText()));
        const QAbstractItemModel* m = w.treeView()->model();
        const QModelIndex embed = findPath(m, split("model_state_dict/embed.weight"));
        QVERIFY(embed.isValid());
        QVERIFY(
            embed.siblingAtColumn(ObjectTreeModel::ValueColumn).data().toString().startsWith(QStringLiteral("broken")));
        w.treeView()->setCurrentIndex(embed);
        const QString details = w.detailsText();
        QVERIFY2(details.contains(QStringLiteral("Error")) && details.contains(QStringLiteral("missing")),
            qPrintable(details));
        QVERIFY(details.contains(QStringLiteral("[256, 32]"))); // what the descriptor says is still shown
        w.treeView()->setCurrentIndex(m->index(0, 0));
        QVERIFY2(w.detailsText().contains(QStringLiteral("2 broken")), qPrintable(w.detailsText()));
    }

    void openError_data()
    {
        // clang-format off
        QTest::addColumn<QString>("fileName");
        QTest::addColumn<QByteArray>("bytes"); // null: the file is not created
        QTest::addColumn<QString>("fragment"); // what is wrong; the file's name is checked besides
        QTest::newRow("not a checkpoint")
            << "notes.pth" << QByteArray("hello, this is text\n") << "not a PyTorch or safetensors checkpoint";
        QTest::newRow("empty file") << "empty.pt" << QByteArray("") << "the file is empty";
        QTest::newRow("missing file") << "missing.pth" << QByteArray() << "no such file";
        QTest::newRow("truncated zip")
            << "cut.pth" << test::readAll(sample()).left(2000) << "no end-of-central-directory record";
        QTest::newRow("bad safetensors header")
            << "bad.safetensors" << QByteArray("\x10\0\0\0\0\0\0\0{\"a\": [1, 2", 19)
            << "declared header length 16 exceeds the file";
        // clang-format on
    }

    void openError()
    {
        QFETCH(QString, fileName);
        QFETCH(QByteArray, bytes);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(fileName);
        if (!bytes.isNull())
            QVERIFY(test::writeFile(path, bytes));

        MainWindow w;
        QVERIFY(!w.openFile(path));
        QVERIFY2(w.errorText().contains(fragment), qPrintable(w.errorText()));
        QVERIFY(w.errorText().contains(fileName));
        QCOMPARE(w.treeModel()->rowCount(), 0);
        QVERIFY(MainWindow::recentFiles().isEmpty());
        QVERIFY(QApplication::activeModalWidget() == nullptr);

        // A good file afterwards clears the banner.
        QVERIFY(w.openFile(sample()));
        QVERIFY(w.errorText().isEmpty());

        // A bad file while one is open keeps the good one on screen.
        QVERIFY(!w.openFile(path));
        QVERIFY(!w.errorText().isEmpty());
        QCOMPARE(w.treeModel()->checkpoint()->path, sampleAbsolute());
        QCOMPARE(countTensorRows(w.treeView()->model()), 164);
    }

    void filter_data()
    {
        // clang-format off
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("tensors"); // tensor rows left visible
        QTest::addColumn<QStringList>("visible");
        QTest::addColumn<QStringList>("hidden");
        QTest::newRow("none") << "" << 164 << strings({ "epoch", "model_state_dict/pos" }) << QStringList();
        QTest::newRow("one key")
            << "embed.weight" << 1 << strings({ "model_state_dict/embed.weight" })
            << strings({ "model_state_dict/head.weight", "epoch", "config" });
        QTest::newRow("case-insensitive")
            << "EMBED" << 1 << strings({ "model_state_dict/embed.weight" }) << QStringList();
        QTest::newRow("nested keys keep their ancestors")
            << "exp_avg_sq" << 40 << strings({ "optimizer_state_dict/state/0/exp_avg_sq" })
            << strings({ "optimizer_state_dict/state/0/exp_avg", "optimizer_state_dict/param_groups" });
        QTest::newRow("wildcard")
            << "blocks.*.bias" << 15 << strings({ "model_state_dict/blocks.1.mlp.2.bias" })
            << strings({ "model_state_dict/blocks.1.attn.in_proj_bias" });
        QTest::newRow("matching container keeps its entries")
            << "config" << 0 << strings({ "config/vocab", "config/heads" }) << strings({ "epoch" });
        QTest::newRow("file name is not a key") << "tiny-transformer" << 0 << QStringList() << strings({ "epoch" });
        QTest::newRow("no match") << "no such key" << 0 << QStringList() << strings({ "epoch" });
        // clang-format on
    }

    void filter()
    {
        QFETCH(QString, text);
        QFETCH(int, tensors);
        QFETCH(QStringList, visible);
        QFETCH(QStringList, hidden);
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        setFilter(w, text);
        const QAbstractItemModel* m = w.treeView()->model();
        QCOMPARE(countTensorRows(m), tensors);
        for (const QString& p : visible) {
            const QModelIndex index = findPath(m, p.split(QLatin1Char('/')));
            QVERIFY2(index.isValid(), qPrintable(p));
            if (!text.isEmpty()) // matches are revealed, not left folded away
                QVERIFY2(w.treeView()->isExpanded(index.parent()), qPrintable(p));
        }
        for (const QString& p : hidden)
            QVERIFY2(!findPath(m, p.split(QLatin1Char('/'))).isValid(), qPrintable(p));

        // Clearing the filter brings every row back.
        setFilter(w, QString());
        QCOMPARE(countTensorRows(m), 164);
    }

    void sort_data()
    {
        // clang-format off
        QTest::addColumn<int>("column");
        QTest::addColumn<int>("order");
        QTest::addColumn<QString>("parent");
        QTest::addColumn<QStringList>("first");
        const int key = ObjectTreeModel::KeyColumn;
        const int elements = ObjectTreeModel::ElementsColumn;
        const int bytes = ObjectTreeModel::BytesColumn;
        const int up = Qt::AscendingOrder;
        const int down = Qt::DescendingOrder;
        QTest::newRow("file order") << -1 << up << "model_state_dict" << strings({ "pos", "embed.weight" });
        QTest::newRow("bytes descending, ties in file order")
            << bytes << down << "model_state_dict" << strings({ "embed.weight", "head.weight" });
        QTest::newRow("bytes ascending")
            << bytes << up << "model_state_dict" << strings({ "norm.num_batches_tracked" });
        QTest::newRow("elements descending") << elements << down << "model_state_dict" << strings({ "embed.weight" });
        QTest::newRow("keys: numbers in numeric order")
            << key << up << "optimizer_state_dict/state"
            << strings({ "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10" });
        QTest::newRow("keys descending") << key << down << "model_state_dict" << strings({ "pos", "norm.weight" });
        // clang-format on
    }

    void sort()
    {
        QFETCH(int, column);
        QFETCH(int, order);
        QFETCH(QString, parent);
        QFETCH(QStringList, first);
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        w.treeView()->header()->setSortIndicator(column, Qt::SortOrder(order));
        const QAbstractItemModel* m = w.treeView()->model();
        const QStringList keys = childKeys(m, findPath(m, parent.split(QLatin1Char('/'))));
        QCOMPARE(keys.mid(0, first.size()), first);
        QCOMPARE(countTensorRows(m), 164);
    }

    void naturalOrder_data()
    {
        // clang-format off
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b");
        QTest::addColumn<int>("expected");
        QTest::newRow("numbers by value") << "layers.2.weight" << "layers.10.weight" << -1;
        QTest::newRow("plain indices") << "9" << "10" << -1;
        QTest::newRow("case ignored") << "Beta" << "alpha" << 1;
        QTest::newRow("prefix first") << "norm" << "norm.bias" << -1;
        QTest::newRow("leading zeros tie-broken") << "x01" << "x1" << -1;
        QTest::newRow("equal") << "embed.weight" << "embed.weight" << 0;
        // clang-format on
    }

    void naturalOrder()
    {
        QFETCH(QString, a);
        QFETCH(QString, b);
        QFETCH(int, expected);
        QCOMPARE(naturalCompare(a, b), expected);
        QCOMPARE(naturalCompare(b, a), -expected);
    }

    void drop_data()
    {
        // clang-format off
        QTest::addColumn<QString>("kind");
        QTest::addColumn<bool>("accepted");
        QTest::addColumn<bool>("opened");
        QTest::addColumn<bool>("error");
        QTest::newRow("checkpoint file") << "sample" << true << true << false;
        QTest::newRow("non-checkpoint file shows an error") << "garbage" << true << false << true;
        QTest::newRow("remote url ignored") << "remote" << false << false << false;
        QTest::newRow("plain text ignored") << "text" << false << false << false;
        // clang-format on
    }

    void drop()
    {
        QFETCH(QString, kind);
        QFETCH(bool, accepted);
        QFETCH(bool, opened);
        QFETCH(bool, error);
        QTemporaryDir dir;
        const QString garbage = dir.filePath(QStringLiteral("garbage.pt"));
        QVERIFY(test::writeFile(garbage, QByteArray("\x01\x02\x03\x04 definitely not a checkpoint")));

        QMimeData mime;
        if (kind == QLatin1String("sample"))
            mime.setUrls({ QUrl::fromLocalFile(sample()) });
        else if (kind == QLatin1String("garbage"))
            mime.setUrls({ QUrl::fromLocalFile(garbage) });
        else if (kind == QLatin1String("remote"))
            mime.setUrls({ QUrl(QStringLiteral("https://example.com/model.pth")) });
        else
            mime.setText(sample());

        MainWindow w;
        QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &enter);
        QCOMPARE(enter.isAccepted(), accepted);
        if (accepted) {
            QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(&w, &drop);
            QVERIFY(drop.isAccepted());
        }
        QTRY_VERIFY(!w.isOpening()); // a drop opens in the background
        QCOMPARE(w.treeModel()->checkpoint() != nullptr, opened);
        if (opened)
            QCOMPARE(w.treeModel()->checkpoint()->path, sampleAbsolute());
        QCOMPARE(!w.errorText().isEmpty(), error);
    }

    void recentFiles()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto copyOfSample = [&](const QString& name) {
            const QString path = dir.filePath(name);
            QFile::remove(path);
            return QFile::copy(sample(), path) ? QFileInfo(path).absoluteFilePath() : QString();
        };
        const QString a = sampleAbsolute();
        const QString b = copyOfSample(QStringLiteral("b.pth"));
        QVERIFY(!b.isEmpty());

        MainWindow w;
        QVERIFY(w.openFile(sample()));
        QCOMPARE(MainWindow::recentFiles(), QStringList { a });
        QVERIFY(w.recentMenu()->isEnabled());
        QVERIFY(w.openFile(b));
        QCOMPARE(MainWindow::recentFiles(), QStringList({ b, a }));
        QVERIFY(w.openFile(a)); // reopening moves it to the front, no duplicate
        QCOMPARE(MainWindow::recentFiles(), QStringList({ a, b }));

        const QString bad = dir.filePath(QStringLiteral("bad.pth"));
        QVERIFY(test::writeFile(bad, QByteArray("nope")));
        QVERIFY(!w.openFile(bad)); // failures are not remembered
        QCOMPARE(MainWindow::recentFiles(), QStringList({ a, b }));

        // The menu lists the files in order; triggering an entry opens it.
        QStringList menuPaths;
        QAction* openB = nullptr;
        for (QAction* action : w.recentMenu()->actions()) {
            if (action->data().toString().isEmpty())
                continue;
            menuPaths << action->data().toString();
            if (action->data().toString() == b)
                openB = action;
        }
        QCOMPARE(menuPaths, QStringList({ a, b }));
        QVERIFY(openB);
        openB->trigger();
        QTRY_COMPARE(w.treeModel()->checkpoint()->path, b); // the menu opens in the background
        QCOMPARE(MainWindow::recentFiles().first(), b);

        // A second window (the next start of the program) sees the same list.
        MainWindow next;
        QCOMPARE(next.recentMenu()->actions().first()->data().toString(), b);

        for (int i = 0; i < MainWindow::kMaxRecentFiles + 2; ++i)
            QVERIFY(w.openFile(copyOfSample(QStringLiteral("copy%1.pth").arg(i))));
        QCOMPARE(MainWindow::recentFiles().size(), MainWindow::kMaxRecentFiles);
        QVERIFY(MainWindow::recentFiles().first().endsWith(
            QStringLiteral("copy%1.pth").arg(MainWindow::kMaxRecentFiles + 1)));
    }

    void modelsStayConsistent()
    {
        MainWindow w;
        // Attached before anything is loaded so every reset, filter and sort below is checked as it happens.
        QAbstractItemModelTester sourceTester(w.treeModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxyTester(w.filterModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(w.openFile(sample()));
        setFilter(w, QStringLiteral("weight"));
        w.treeView()->header()->setSortIndicator(ObjectTreeModel::BytesColumn, Qt::DescendingOrder);
        setFilter(w, QStringLiteral("no such key"));
        setFilter(w, QString());
        w.treeView()->header()->setSortIndicator(-1, Qt::AscendingOrder);
        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("bad.pth"));
        QVERIFY(test::writeFile(bad, QByteArray("nope")));
        QVERIFY(!w.openFile(bad));
        QVERIFY(w.openFile(sample()));
        QCOMPARE(countTensorRows(w.treeView()->model()), 164);
    }

    // Not a check: writes the README screenshot when CKPTLENS_SCREENSHOT names a PNG path.
    void screenshot()
    {
        const QString out = qEnvironmentVariable("CKPTLENS_SCREENSHOT");
        if (out.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT=path.png to write a screenshot");
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(sample()));
        const QAbstractItemModel* m = w.treeView()->model();
        const QModelIndex embed = findPath(m, split("model_state_dict/embed.weight"));
        w.treeView()->setCurrentIndex(embed);
        w.treeView()->scrollTo(m->index(0, 0));
        QTest::qWait(200);
        QVERIFY(w.grab().save(out));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
