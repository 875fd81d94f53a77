// The safety banner and report in the main window, offscreen: every hostile file of the malicious corpus that opens
// shows the red "dangerous" banner, and its Details list the globals expected.json names with their class, reason,
// count and where they are called; a file with unknown classes shows the amber banner; clean files show none; the
// opaque objects stay visible in the Objects tree. With CKPTLENS_SCREENSHOT_DIR set, screenshot() writes safety.png.
#include "model/objecttreemodel.h"
#include "model/safety.h"
#include "testutil.h"
#include "widgets/mainwindow.h"
#include "widgets/safetybanner.h"

#include <QApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTreeWidget>

using namespace ckpt;

namespace {

QJsonObject expectedMalicious()
{
    return QJsonDocument::fromJson(test::readAll(test::fixture(QStringLiteral("malicious/expected.json")))).object();
}

// expected.json writes "posix.system|os.system" where the pickled name depends on the platform that wrote it.
bool mentions(const QString& text, const QString& alternatives)
{
    const QStringList names = alternatives.split(QLatin1Char('|'));
    return std::any_of(names.begin(), names.end(), [&](const QString& n) { return text.contains(n); });
}

} // namespace

class TestSafetyWidget : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_safetywidget"));
        QSettings().clear();
        if (!test::haveTorchFixtures())
            QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
        if (expectedMalicious().isEmpty())
            QSKIP("no malicious corpus: tests/gen_malicious.py writes it with the fixtures");
    }

    void dangerousFilesShowTheBanner_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QStringList>("globals");
        const QJsonObject files = expectedMalicious().value(QLatin1String("files")).toObject();
        for (auto it = files.begin(); it != files.end(); ++it) {
            QStringList globals;
            for (const auto& g : it->toArray())
                globals << g.toString();
            QTest::newRow(qPrintable(it.key())) << it.key() << globals;
        }
    }

    void dangerousFilesShowTheBanner()
    {
        QFETCH(QString, file);
        QFETCH(QStringList, globals);
        MainWindow w;
        // A raw pickle of a bare call is no checkpoint: it is refused with a reason, and still flagged.
        const bool opened = w.openFile(test::fixture(QStringLiteral("malicious/") + file));
        QCOMPARE(w.errorText().isEmpty(), opened);
        QCOMPARE(opened, file.endsWith(QLatin1String(".pth")));
        SafetyBanner* banner = w.safetyBanner();
        QVERIFY(banner->report());
        QCOMPARE(banner->report()->verdict, SafetyClass::Dangerous);
        QVERIFY(!banner->isHidden());
        const QString text = banner->text();
        QVERIFY2(text.startsWith(QStringLiteral("Dangerous: ") + file), qPrintable(text));
        QVERIFY2(mentions(text, globals.first()), qPrintable(text));
        // The red style, not the amber one.
        QVERIFY(banner->styleSheet().contains(QStringLiteral("#fdecea")));

        banner->detailsButton()->click();
        SafetyDialog* dialog = banner->dialog();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        const QString list = dialog->text();
        for (const QString& g : globals)
            QVERIFY2(mentions(list, g), qPrintable(list));
        // Each dangerous global: its class, count, reason and locations as the report has them.
        const QTreeWidget* table = dialog->table();
        int dangerous = 0;
        for (const SafetyGlobal& g : banner->report()->globals) {
            if (g.cls != SafetyClass::Dangerous)
                continue;
            ++dangerous;
            const auto items = table->findItems(g.module + QLatin1Char('.') + g.name, Qt::MatchExactly, 0);
            QCOMPARE(items.size(), 1);
            QCOMPARE(items[0]->text(1), QStringLiteral("dangerous"));
            QCOMPARE(items[0]->text(2), QString::number(g.count));
            QCOMPARE(items[0]->text(3), g.reason);
            QVERIFY(!g.reason.isEmpty());
            for (const QString& where : g.locations)
                QVERIFY2(items[0]->text(4).contains(where), qPrintable(items[0]->text(4)));
        }
        QVERIFY(dangerous > 0);
        dialog->close();
    }

    void stateDictPayload()
    {
        MainWindow w;
        QVERIFY(w.openFile(test::fixture(QStringLiteral("malicious/in_state_dict.pth"))));
        QVERIFY2(
            w.safetyBanner()->text().contains(QStringLiteral("posix.system")), qPrintable(w.safetyBanner()->text()));
        w.safetyBanner()->showDetails();
        const auto items
            = w.safetyBanner()->dialog()->table()->findItems(QStringLiteral("posix.system"), Qt::MatchExactly, 0);
        QCOMPARE(items.size(), 1);
        QVERIFY2(items[0]->text(4).contains(QStringLiteral("evil")), qPrintable(items[0]->text(4)));
        // The payload stays an inert node of the object tree, where the report says it is.
        QVERIFY2(w.treeModel()->dump().contains(QStringLiteral("evil")), qPrintable(w.treeModel()->dump()));
        QVERIFY(w.treeModel()->dump().contains(QStringLiteral("posix.system")));
    }

    void unknownClassesAreAmber()
    {
        MainWindow w;
        QVERIFY(w.openFile(test::fixture(QStringLiteral("whole_model.pth"))));
        SafetyBanner* banner = w.safetyBanner();
        QCOMPARE(banner->report()->verdict, SafetyClass::Unknown);
        QVERIFY(!banner->isHidden());
        QVERIFY2(
            banner->text().startsWith(QStringLiteral("Unknown globals: whole_model.pth")), qPrintable(banner->text()));
        QVERIFY2(banner->text().contains(QStringLiteral("fixture_models.SmallNet")), qPrintable(banner->text()));
        QVERIFY(banner->styleSheet().contains(QStringLiteral("#fff4d6")));
    }

    void cleanFilesShowNothing_data()
    {
        QTest::addColumn<QString>("file");
        for (const char* f : { "state_dict.pth", "training.pth", "sem_adam.pth", "sem_lightning.ckpt",
                 "model.safetensors", "state_dict_legacy.pth" })
            QTest::newRow(f) << QString::fromLatin1(f);
    }

    void cleanFilesShowNothing()
    {
        QFETCH(QString, file);
        MainWindow w;
        QVERIFY(w.openFile(test::fixture(file)));
        QVERIFY(w.safetyBanner()->report());
        QCOMPARE(w.safetyBanner()->report()->verdict, SafetyClass::Safe);
        QVERIFY(w.safetyBanner()->isHidden());
        QVERIFY(w.safetyBanner()->text().isEmpty());
        // The report is still there to read (File > Safety Report).
        w.safetyBanner()->showDetails();
        QVERIFY(w.safetyBanner()->dialog()->isVisible());
        w.safetyBanner()->dialog()->close();
    }

    void nextFileReplacesTheBanner()
    {
        MainWindow w;
        QVERIFY(w.openFile(test::fixture(QStringLiteral("malicious/in_state_dict.pth"))));
        QVERIFY(!w.safetyBanner()->isHidden());
        QVERIFY(w.openFile(test::fixture(QStringLiteral("state_dict.pth"))));
        QVERIFY(w.safetyBanner()->isHidden());
        // A file that fails to open leaves the shown one (and its banner) as they were.
        QVERIFY(w.openFile(test::fixture(QStringLiteral("malicious/webbrowser.pth"))));
        QVERIFY(!w.safetyBanner()->isHidden());
        QVERIFY(!w.openFile(test::fixture(QStringLiteral("malicious/expected.json"))));
        QVERIFY(w.safetyBanner()->text().contains(QStringLiteral("webbrowser.open")));
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes safety.png (the window with the banner, the report over
    // it) for CKPTLENS_SCREENSHOT_FILE (default malicious/backward_hooks.pth).
    void screenshot()
    {
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(qEnvironmentVariable(
            "CKPTLENS_SCREENSHOT_FILE", test::fixture(QStringLiteral("malicious/in_state_dict.pth")))));
        w.tabs()->setCurrentWidget(w.objectsPage());
        w.treeView()->expandAll();
        w.safetyBanner()->showDetails();
        SafetyDialog* d = w.safetyBanner()->dialog();
        d->resize(900, 300);
        QTest::qWait(300);
        QPixmap shot = w.grab();
        {
            QPainter p(&shot);
            const QPixmap dialog = d->grab();
            const QPoint at(shot.width() - dialog.width() - 40, shot.height() - dialog.height() - 60);
            p.fillRect(QRect(at - QPoint(1, 1), dialog.size() + QSize(2, 2)), QColor(120, 120, 120));
            p.drawPixmap(at, dialog);
        }
        QVERIFY(shot.save(dir + QStringLiteral("/safety.png")));
    }
};

QTEST_MAIN(TestSafetyWidget)
#include "tst_safetywidget.moc"
