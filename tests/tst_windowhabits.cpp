// The application habits of the main window, offscreen: standard shortcuts, reload (F5 and when the file changes
// on disk, also when it is replaced by a rename), Close, Open Folder and folder drops, recent files pruned of what
// is gone, window geometry and splitters remembered, the theme, About and the log viewer, one window per file
// handed in from outside, and --help/--version of both executables.
#include "ckptlens-config.h"
#include "model/histogram.h"
#include "model/moduletreemodel.h"
#include "model/objecttreemodel.h"
#include "safetensorswrite.h"
#include "testutil.h"
#include "widgets/aboutdialog.h"
#include "widgets/filewatcher.h"
#include "widgets/logdialog.h"
#include "widgets/mainwindow.h"
#include "model/semantic.h"
#include "model/statsjob.h"
#include "widgets/modelpage.h"
#include "widgets/modulepane.h"
#include "widgets/recentfiles.h"
#include "widgets/theme.h"

#include <QAction>
#include <QApplication>
#include <QDropEvent>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>
#include <QUrl>

#include <spdlog/version.h>

#include <cstdio>

using namespace ckpt;

namespace {

QString sample()
{
    return QFileInfo(QStringLiteral(CKPTLENS_TESTS_SOURCE_DIR "/../resources/samples/tiny-transformer.pth"))
        .absoluteFilePath();
}

// A small state dict of `layers` blocks, two tensors each.
bool writeModel(const QString& path, int layers, std::uint32_t seed = 1)
{
    std::vector<test::StTensor> tensors;
    for (int i = 0; i < layers; ++i) {
        tensors.push_back({ QStringLiteral("layers.%1.weight").arg(i), { 8, 8 } });
        tensors.push_back({ QStringLiteral("layers.%1.bias").arg(i), { 8 } });
    }
    return test::writeSafetensors(path, tensors, seed);
}

QString tensorsText(int n)
{
    return QStringLiteral("%1 tensors").arg(n);
}

QAction* action(const QWidget& w, const char* name)
{
    return w.findChild<QAction*>(QString::fromLatin1(name));
}

void dropUrls(MainWindow& w, const QList<QUrl>& urls)
{
    QMimeData mime;
    mime.setUrls(urls);
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
}

QString guiExecutable()
{
    return QFileInfo(QStringLiteral(CKPTLENS_CLI)).absolutePath() + QStringLiteral("/ckptlens");
}

QList<MainWindow*> visibleMainWindows()
{
    QList<MainWindow*> out;
    for (QWidget* w : QApplication::topLevelWidgets())
        if (auto* m = qobject_cast<MainWindow*>(w); m && m->isVisible())
            out << m;
    return out;
}

} // namespace

class TestWindowHabits : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("Checkpoint Lens Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_windowhabits"));
        QVERIFY2(QSettings().fileName().contains(QStringLiteral("qttest")), qPrintable(QSettings().fileName()));
        QVERIFY(QFileInfo::exists(sample()));
    }

    void init() { QSettings().clear(); }

    void cleanup()
    {
        for (MainWindow* w : visibleMainWindows())
            if (w->testAttribute(Qt::WA_DeleteOnClose))
                w->close();
        applyTheme(ThemeChoice::System);
    }

    void shortcuts_data()
    {
        QTest::addColumn<QString>("action");
        QTest::addColumn<QKeySequence>("keys");
        QTest::newRow("open") << QStringLiteral("actionOpen") << QKeySequence(Qt::CTRL | Qt::Key_O);
        QTest::newRow("close") << QStringLiteral("actionClose") << QKeySequence(Qt::CTRL | Qt::Key_W);
        QTest::newRow("find") << QStringLiteral("actionFind") << QKeySequence(Qt::CTRL | Qt::Key_F);
        QTest::newRow("quit") << QStringLiteral("actionQuit") << QKeySequence(Qt::CTRL | Qt::Key_Q);
        QTest::newRow("reload") << QStringLiteral("actionReload") << QKeySequence(Qt::Key_F5);
        QTest::newRow("new window") << QStringLiteral("actionNewWindow") << QKeySequence(Qt::CTRL | Qt::Key_N);
    }

    void shortcuts()
    {
        QFETCH(QString, action);
        QFETCH(QKeySequence, keys);
        MainWindow w;
        auto* a = w.findChild<QAction*>(action);
        QVERIFY2(a, qPrintable(action));
        QVERIFY2(a->shortcuts().contains(keys), qPrintable(a->shortcut().toString()));
        QVERIFY(!a->icon().isNull() || action == QLatin1String("actionFind"));
    }

    void ctrlFFocusesTheFilter()
    {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(sample()));
        w.tabs()->setCurrentWidget(w.objectsPage());
        w.treeView()->setFocus();
        QTest::keyClick(&w, Qt::Key_F, Qt::ControlModifier);
        QTRY_VERIFY(w.filterEdit()->hasFocus());
    }

    void closeFileThenWindow()
    {
        auto* w = MainWindow::newWindow();
        QPointer<MainWindow> alive(w);
        QVERIFY(w->openFile(sample()));
        QVERIFY(!w->isEmpty());
        action(*w, "actionClose")->trigger(); // a file shown: Close empties the window
        QVERIFY(w->isEmpty());
        QCOMPARE(w->treeModel()->rowCount(), 0);
        QCOMPARE(w->moduleModel()->rowCount(), 0);
        QVERIFY(w->isVisible());
        QCOMPARE(w->windowTitle(), QStringLiteral("Checkpoint Lens"));
        QVERIFY(w->openFile(sample())); // and it opens again from there
        QVERIFY2(w->statusText().contains(tensorsText(164)), qPrintable(w->statusText()));
        action(*w, "actionClose")->trigger();
        action(*w, "actionClose")->trigger(); // nothing shown: Close closes the window
        QTRY_VERIFY(!alive);
    }

    void reloadWithF5()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("m.safetensors"));
        QVERIFY(writeModel(path, 2));
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.fileWatcher()->setQuietMs(60'000); // this row is about F5, not the watcher
        QVERIFY(w.openFile(path));
        QVERIFY(w.statusText().contains(tensorsText(4)));
        QVERIFY(writeModel(path, 3));
        QTest::keyClick(&w, Qt::Key_F5);
        QTRY_VERIFY2(w.statusText().contains(tensorsText(6)), qPrintable(w.statusText()));
        QCOMPARE(w.currentPath(), QFileInfo(path).absoluteFilePath());
    }

    void reloadWhenChangedOnDisk_data()
    {
        QTest::addColumn<bool>("byRename");
        QTest::addColumn<int>("chunks"); // writes in a row, 50 ms apart: one reload at the end
        QTest::newRow("rewritten in place") << false << 1;
        QTest::newRow("written in many steps") << false << 8;
        QTest::newRow("replaced by a rename") << true << 1;
    }

    void reloadWhenChangedOnDisk()
    {
        QFETCH(bool, byRename);
        QFETCH(int, chunks);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("m.safetensors"));
        QVERIFY(writeModel(path, 2));
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        // Long enough that the pauses between the writes of one save (50 ms, more on a loaded machine) never count.
        w.fileWatcher()->setQuietMs(1000);
        QVERIFY(w.openFile(path));
        QSignalSpy changed(w.fileWatcher(), &FileWatcher::changed);
        // Twice: after the first replace the watch has to follow the path to the new file.
        for (int layers : { 5, 7 }) {
            const QString next = dir.filePath(QStringLiteral("next.safetensors"));
            QVERIFY(writeModel(next, layers));
            const QByteArray bytes = test::readAll(next);
            if (byRename) {
                // rename(2) replaces the old file in one step, as torch.save through a temporary file does
                // (QFile::rename refuses to replace).
                QCOMPARE(std::rename(QFile::encodeName(next).constData(), QFile::encodeName(path).constData()), 0);
            } else {
                QFile f(path);
                QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
                const qsizetype step = (bytes.size() + chunks - 1) / chunks;
                for (qsizetype at = 0; at < bytes.size(); at += step) {
                    QVERIFY(f.write(bytes.mid(at, step)) > 0);
                    f.flush();
                    if (chunks > 1)
                        QTest::qWait(50);
                }
                f.close();
                QFile::remove(next);
            }
            QTRY_VERIFY_WITH_TIMEOUT(w.statusText().contains(tensorsText(2 * layers)), 10'000);
            QVERIFY2(w.noticeText().contains(QStringLiteral("changed on disk")), qPrintable(w.noticeText()));
            QVERIFY(w.errorText().isEmpty());
        }
        QTest::qWait(500);
        QCOMPARE(changed.count(), 2); // once per save, however many writes it took
    }

    void cancelOpening()
    {
        MainWindow w;
        QVERIFY(w.openFile(sample()));
        QTemporaryDir dir;
        const QString other = dir.filePath(QStringLiteral("other.safetensors"));
        QVERIFY(writeModel(other, 3));
        w.openInBackground(other);
        QVERIFY(w.isOpening());
        QVERIFY(!w.isEmpty());
        w.cancelOpening();
        QVERIFY(!w.isOpening());
        QTest::qWait(300); // the parse finishes on its thread; its result must be dropped
        QCOMPARE(w.currentPath(), sample());
        QVERIFY(w.statusText().contains(tensorsText(164)));
    }

    void reloadInABusyFolder()
    {
        // Other files in the folder change all the time (a training run saving beside the file shown): they must
        // neither reload the window nor keep postponing the reload of the file that did change.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("m.safetensors"));
        QVERIFY(writeModel(path, 2));
        MainWindow w;
        w.fileWatcher()->setQuietMs(300);
        QVERIFY(w.openFile(path));
        QSignalSpy changed(w.fileWatcher(), &FileWatcher::changed);
        QTimer busy;
        int n = 0;
        connect(&busy, &QTimer::timeout, this, [&] {
            // New files and deletions: what a folder watch reports.
            ++n;
            test::writeFile(dir.filePath(QStringLiteral("step-%1.tmp").arg(n)), QByteArray::number(n));
            QFile::remove(dir.filePath(QStringLiteral("step-%1.tmp").arg(n - 2)));
        });
        busy.start(50);
        QTest::qWait(800);
        QCOMPARE(changed.count(), 0);
        QVERIFY(writeModel(path, 4));
        QTRY_VERIFY_WITH_TIMEOUT(w.statusText().contains(tensorsText(8)), 5000);
        busy.stop();
        QCOMPARE(changed.count(), 1);
    }

    void openFolderGoesThroughOpenFile()
    {
        // Whether a folder opens is openCheckpoint's decision; an empty folder is no checkpoint either way, and the
        // window says so in its banner (no special case, no dialog).
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("empty-run"));
        QVERIFY(QDir().mkpath(folder));
        MainWindow w;
        QVERIFY(!w.openFile(folder));
        QVERIFY2(w.errorText().contains(QStringLiteral("empty-run")), qPrintable(w.errorText()));
        QVERIFY(w.findChild<QAction*>(QStringLiteral("actionOpenFolder")));

        MainWindow dropped;
        dropUrls(dropped, { QUrl::fromLocalFile(folder) });
        QTRY_VERIFY(!dropped.isOpening());
        QVERIFY2(dropped.errorText().contains(QStringLiteral("empty-run")), qPrintable(dropped.errorText()));
    }

    void recentFilesPruned()
    {
        QTemporaryDir dir;
        QStringList paths;
        for (int i = 0; i < 3; ++i) {
            paths << QFileInfo(dir.filePath(QStringLiteral("r%1.safetensors").arg(i))).absoluteFilePath();
            QVERIFY(writeModel(paths.last(), 1));
        }
        MainWindow w;
        for (const QString& p : paths)
            QVERIFY(w.openFile(p));
        QCOMPARE(recent::files(), QStringList({ paths[2], paths[1], paths[0] }));
        QVERIFY(QFile::remove(paths[1]));
        emit w.recentMenu()->aboutToShow();
        QStringList listed;
        for (QAction* a : w.recentMenu()->actions())
            if (!a->data().toString().isEmpty())
                listed << a->data().toString();
        QCOMPARE(listed, QStringList({ paths[2], paths[0] }));
        QCOMPARE(recent::files(), listed); // saved pruned: the next start agrees
    }

    void layoutRemembered()
    {
        QList<int> sizes;
        {
            MainWindow w;
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.resize(1000, 700);
            auto* splitter = w.findChild<QSplitter*>(QStringLiteral("objectsSplitter"));
            QVERIFY(splitter);
            splitter->setSizes({ 300, 250 });
            sizes = splitter->sizes();
            w.close();
        }
        MainWindow again;
        QCOMPARE(again.size(), QSize(1000, 700));
        QCOMPARE(again.findChild<QSplitter*>(QStringLiteral("objectsSplitter"))->sizes(), sizes);
    }

    void theme_data()
    {
        QTest::addColumn<int>("choice");
        QTest::addColumn<bool>("dark");
        // The offscreen platform's palette is light: System is light here.
        QTest::newRow("system") << int(ThemeChoice::System) << systemPrefersDark();
        QTest::newRow("light") << int(ThemeChoice::Light) << false;
        QTest::newRow("dark") << int(ThemeChoice::Dark) << true;
    }

    void theme()
    {
        QFETCH(int, choice);
        QFETCH(bool, dark);
        MainWindow w;
        QVERIFY(w.openFile(sample())); // tied weights: the findings strip shows
        auto* menu = w.findChild<QMenu*>(QStringLiteral("themeMenu"));
        QVERIFY(menu);
        QAction* item = nullptr;
        for (QAction* a : menu->actions())
            if (a->data().toString() == themeName(ThemeChoice(choice)))
                item = a;
        QVERIFY(item);
        item->trigger();
        QCOMPARE(darkInEffect(), dark);
        QTRY_COMPARE(isDark(w.palette()), dark); // widgets follow the application's palette by an event
        QCOMPARE(savedTheme(), ThemeChoice(choice));
        // The tinted strips are restyled for the new palette, also when switched while shown.
        auto* findings = w.findChild<QFrame*>(QStringLiteral("findingsBar"));
        QVERIFY(findings);
        QTRY_COMPARE(findings->styleSheet(), noticeStyleSheet(QStringLiteral("findingsBar"), Notice::Warning));
        QTRY_COMPARE(w.findChild<QFrame*>(QStringLiteral("errorBar"))->styleSheet(),
            noticeStyleSheet(QStringLiteral("errorBar"), Notice::Error));
        QCOMPARE(themeFromName(themeName(ThemeChoice(choice))), ThemeChoice(choice));
        emit menu->aboutToShow();
        QVERIFY(item->isChecked());
    }

    void about()
    {
        MainWindow w;
        AboutDialog* about = w.showAbout();
        QSignalSpy described(about, &AboutDialog::cudaDescribed);
        QTRY_VERIFY_WITH_TIMEOUT(about->cudaKnown(), 30'000);
        const QString text = about->text();
        QVERIFY2(text.contains(QStringLiteral("Qt: %1 (built with %2)").arg(QString::fromLatin1(qVersion()),
                                   QStringLiteral(QT_VERSION_STR))),
            qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("spdlog: %1.%2.%3")
                                   .arg(SPDLOG_VER_MAJOR)
                                   .arg(SPDLOG_VER_MINOR)
                                   .arg(SPDLOG_VER_PATCH)),
            qPrintable(text));
        QVERIFY2(QRegularExpression(QStringLiteral("QuaZip: \\d+\\.\\d+")).match(text).hasMatch(), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("CUDA: ") + cudaDescription()), qPrintable(text));
        QCOMPARE(AboutDialog::versionsText(cudaDescription()).count(QLatin1Char('\n')), 5);
        about->close();
    }

    void showLog_data()
    {
        QTest::addColumn<int>("lines");
        QTest::addColumn<bool>("cut");
        QTest::newRow("short log") << 3 << false;
        QTest::newRow("longer than the tail") << 20'000 << true;
    }

    void showLog()
    {
        QFETCH(int, lines);
        QFETCH(bool, cut);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("ckptlens.log"));
        QByteArray content;
        for (int i = 0; i < lines; ++i)
            content += QStringLiteral("[info] line %1 of the log, padded to be long enough\n").arg(i).toUtf8();
        QVERIFY(test::writeFile(path, content));
        QCOMPARE(content.size() > LogDialog::kTailBytes, cut);
        MainWindow::setLogFile(path);
        MainWindow w;
        LogDialog* log = w.showLog();
        const QString text = log->text();
        QVERIFY(text.endsWith(QStringLiteral("line %1 of the log, padded to be long enough\n").arg(lines - 1)));
        QCOMPARE(text.startsWith(QStringLiteral("[info] line 0 ")), !cut);
        QVERIFY(text.startsWith(QStringLiteral("[info] line "))); // whole lines only
        log->close();
        MainWindow::setLogFile({});
    }

    void oneWindowPerFileFromOutside()
    {
        QTemporaryDir dir;
        const QString a = QFileInfo(dir.filePath(QStringLiteral("a.safetensors"))).absoluteFilePath();
        const QString b = QFileInfo(dir.filePath(QStringLiteral("b.safetensors"))).absoluteFilePath();
        QVERIFY(writeModel(a, 1));
        QVERIFY(writeModel(b, 2));
        MainWindow* empty = MainWindow::newWindow();
        const qsizetype before = visibleMainWindows().size();
        MainWindow* wa = MainWindow::showInWindow(a);
        QCOMPARE(wa, empty); // an empty window is used first
        MainWindow* wb = MainWindow::showInWindow(b);
        QVERIFY(wb != wa);
        QCOMPARE(MainWindow::showInWindow(a), wa); // being opened or shown already: that window comes forward
        QTRY_COMPARE(wb->currentPath(), b);
        QTRY_COMPARE(wa->currentPath(), a);
        QCOMPARE(MainWindow::showInWindow(b), wb);
        QCOMPARE(visibleMainWindows().size(), before + 1);
    }

    // Not a check: with CKPTLENS_SCREENSHOT_DIR set, writes main-light.png and main-dark.png (the sample, a tensor
    // selected with its statistics and histogram).
    void screenshots_data()
    {
        QTest::addColumn<int>("choice");
        QTest::newRow("light") << int(ThemeChoice::Light);
        QTest::newRow("dark") << int(ThemeChoice::Dark);
    }

    void screenshots()
    {
        QFETCH(int, choice);
        const QString dir = qEnvironmentVariable("CKPTLENS_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set CKPTLENS_SCREENSHOT_DIR to write screenshots");
        applyTheme(ThemeChoice(choice));
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(sample()));
        QTRY_VERIFY_WITH_TIMEOUT(!w.statsJob()->isRunning(), 60'000);
        const ModuleTree* tree = w.moduleModel()->tree();
        QVERIFY(tree);
        int node = -1;
        for (size_t i = 0; i < tree->nodes.size(); ++i)
            if (tree->nodes[i].fullName == QLatin1String("blocks.1.attn.in_proj_weight"))
                node = int(i);
        QVERIFY(node > 0);
        w.modelPage()->pane()->selectNode(node);
        QTest::qWait(800);
        QVERIFY(w.grab().save(dir + QStringLiteral("/main-%1.png").arg(themeName(ThemeChoice(choice)))));
    }

    void executablesVersionAndHelp_data()
    {
        QTest::addColumn<QString>("program");
        QTest::addColumn<QString>("argument");
        QTest::addColumn<QString>("expected");
        const QString version = QStringLiteral(CKPTLENS_VERSION);
        QTest::newRow("cli --version") << QStringLiteral(CKPTLENS_CLI) << QStringLiteral("--version")
                                       << QStringLiteral("ckptlens-cli ") + version;
        QTest::newRow("cli --help") << QStringLiteral(CKPTLENS_CLI) << QStringLiteral("--help")
                                    << QStringLiteral("--log-level");
        QTest::newRow("gui --version") << guiExecutable() << QStringLiteral("--version")
                                       << QStringLiteral("ckptlens ") + version;
        QTest::newRow("gui --help") << guiExecutable() << QStringLiteral("--help") << QStringLiteral("--new-instance");
    }

    void executablesVersionAndHelp()
    {
        QFETCH(QString, program);
        QFETCH(QString, argument);
        QFETCH(QString, expected);
        if (!QFileInfo::exists(program))
            QSKIP("the executable is not built (build the ckptlens target)");
        QProcess p;
        p.start(program, { argument });
        QVERIFY(p.waitForFinished(30'000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(out.contains(expected), qPrintable(out));
    }
};

QTEST_MAIN(TestWindowHabits)
#include "tst_windowhabits.moc"
