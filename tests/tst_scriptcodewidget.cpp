// The TorchScript code view: lists the archive's code records and shows their text; nothing for other files.
#include "widgets/scriptcodeview.h"
#include "testutil.h"

#include <QApplication>

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
};

QTEST_MAIN(TestScriptCodeWidget)
#include "tst_scriptcodewidget.moc"
