// The TorchScript code view: lists the archive's code records and shows their text; nothing for other files.
#include "widgets/mainwindow.h"
#include "widgets/scriptcodeview.h"
#include "testutil.h"

#include <QApplication>
#include <QTabWidget>

using namespace ckpt;

class TestScriptCodeWidget : public QObject {
    Q_OBJECT

private slots:
    void showsCode_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("minRecords");
        QTest::addColumn<QString>("text");
        QTest::newRow("torch.jit.save") << test::fixture(QStringLiteral("layouts/scripted.pt")) << 2 << "class ScriptNet(Module)";
        QTest::newRow("plain torch.save") << test::fixture(QStringLiteral("values.pth")) << 0 << "";
    }

    void showsCode()
    {
        QFETCH(QString, file);
        QFETCH(int, minRecords);
        QFETCH(QString, text);
        if (!QFileInfo::exists(file))
            QSKIP("torch fixtures were not generated");
        auto ck = openCheckpoint(file);
        QVERIFY(ck);
        ScriptCodeView view;
        QCOMPARE(view.setCheckpoint(*ck), minRecords > 0);
        QVERIFY(view.recordCount() >= minRecords);
        bool found = text.isEmpty();
        for (int r = 0; r < view.recordCount() && !found; ++r) {
            view.showRecord(r);
            found = view.currentText().contains(text);
        }
        QVERIFY(found);
        if (minRecords == 0)
            QVERIFY(view.currentText().isEmpty());
        if (qEnvironmentVariableIsSet("CKPTLENS_SCREENSHOT") && minRecords > 0) {
            view.resize(900, 500);
            view.show();
            QVERIFY(QTest::qWaitForWindowExposed(&view));
            view.grab().save(qEnvironmentVariable("CKPTLENS_SCREENSHOT"));
        }
    }

    // The main window shows a Code tab for TorchScript archives only, and opens folders as one checkpoint.
    void mainWindow_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<bool>("codeTab");
        QTest::addColumn<QString>("title");
        QTest::newRow("torchscript") << test::fixture(QStringLiteral("layouts/scripted.pt")) << true << "scripted.pt";
        QTest::newRow("plain file") << test::fixture(QStringLiteral("values.pth")) << false << "values.pth";
        QTest::newRow("megatron folder") << test::fixture(QStringLiteral("layouts/megatron")) << false << "megatron";
        QTest::newRow("shard index") << test::fixture(QStringLiteral("layouts/hf_bin/pytorch_model.bin.index.json")) << false << "pytorch_model.bin.index.json";
    }

    void mainWindow()
    {
        QFETCH(QString, path);
        QFETCH(bool, codeTab);
        QFETCH(QString, title);
        if (!QFileInfo::exists(path))
            QSKIP("torch fixtures were not generated");
        MainWindow w;
        QVERIFY2(w.openFile(path), qPrintable(w.errorText()));
        QVERIFY(w.windowTitle().contains(title));
        QCOMPARE(w.tabs()->isTabVisible(w.tabs()->indexOf(w.codeView())), codeTab);
        QCOMPARE(w.codeView()->recordCount() > 0, codeTab);
        if (const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR"); !dir.isEmpty()) {
            w.resize(1400, 900);
            w.show();
            if (codeTab)
                w.tabs()->setCurrentWidget(w.codeView());
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            QTest::qWait(200);
            w.grab().save(QDir(dir).filePath(QString::fromLatin1(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('-')) + QStringLiteral(".png")));
        }
        w.closeFile();
        QVERIFY(!w.tabs()->isTabVisible(w.tabs()->indexOf(w.codeView())));
    }
};

QTEST_MAIN(TestScriptCodeWidget)
#include "tst_scriptcodewidget.moc"
