#pragma once

#include "io/checkpoint.h"
#include "model/statsresult.h"
#include "widgets/recentfiles.h"

#include <QMainWindow>

#include <memory>

class QAction;
class QActionGroup;
class QFrame;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QStackedWidget;
class QTabWidget;
class QTimer;
class QToolButton;
class QTreeView;

namespace ckpt {

class AboutDialog;
class CompareWindow;
class DetailsView;
class FileWatcher;
struct LoadedCheckpoint;
class LogDialog;
class HistogramView;
class SafetyBanner;
class FindingsBanner;
class LayerPlot;
class ModelPage;
class ScriptCodeView;
class ModuleTreeModel;
class ObjectTreeModel;
class StatsJob;
class TensorNames;
class TreeFilterProxy;
struct CheckpointSummary;
struct Semantic;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a file (or a folder: openCheckpoint decides what it can read); a failure shows as a banner in the
    // window (never a dialog) and returns false. The file shown before, if any, stays.
    // File > Open, Open Recent, Open Folder and a drop replace what this window shows: the user picked the window.
    // Paths from outside (the command line, a second launch) go through showInWindow: one window per file.
    // openFile parses on the calling thread and returns when the window shows the file (or the error): for tests and
    // small files. Everything the user starts (menus, drops, reload, files handed in) opens in the background with
    // a busy indicator and Cancel in the status bar, so the window keeps responding whatever the file's size.
    bool openFile(const QString& path);
    enum class OpenReason { User, Reload, ChangedOnDisk };
    void openInBackground(const QString& path, OpenReason reason = OpenReason::User);
    bool isOpening() const;
    void cancelOpening(); // the file shown before stays
    // The file again as it is on disk now (F5; also when the file watcher says it changed), in the background.
    void reload();
    // Back to the empty window (File > Close when a file is shown).
    void closeFile();
    QString currentPath() const { return m_path; }
    bool isEmpty() const; // no file shown and no error about one either

    // A new window that closes itself for good (WA_DeleteOnClose), shown.
    static MainWindow* newWindow();
    // The window for a path handed in from outside: the one already showing it, else an empty one, else a new one;
    // shown and raised. An empty path asks for a window (a launch without files).
    static MainWindow* showInWindow(const QString& path);
    // Where the program logs (Help > Show Log); empty: stderr only.
    static void setLogFile(const QString& path);
    static QString logFile();

    // The "Objects" tab: the raw object tree.
    ObjectTreeModel* treeModel() const { return m_model; }
    TreeFilterProxy* filterModel() const { return m_proxy; }
    QTreeView* treeView() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QMenu* recentMenu() const { return m_recentMenu; }
    // The "Model" tab (module tree and the selection's panel), "Layers" tab, and the statistics behind them.
    QTabWidget* tabs() const { return m_tabs; }
    ModelPage* modelPage() const { return m_modelPage; }
    ModuleTreeModel* moduleModel() const { return m_moduleModel; }
    LayerPlot* layerPlot() const { return m_layerPlot; }
    ScriptCodeView* codeView() const { return m_code; }
    StatsJob* statsJob() const { return m_stats; }
    QWidget* objectsPage() const { return m_objectsPage; }
    // The selected tensor's histogram (under the Model tab's details) and the banner of a file whose pickles import
    // what is not plainly data.
    HistogramView* histogramView() const { return m_histogram; }
    SafetyBanner* safetyBanner() const { return m_safety; }
    FileWatcher* fileWatcher() const { return m_watcher; }
    // File > Compare With (also two files dropped at once) and File > Export.
    CompareWindow* openCompare(const QString& a, const QString& b);
    void openExportDialog();
    // Help > About and Help > Show Log (non-modal, deleted on close).
    AboutDialog* showAbout();
    LogDialog* showLog();
    // Plain text of what the window shows, for tests and accessibility.
    QString errorText() const;
    QString detailsText() const;       // the Objects tab's details
    QString moduleDetailsText() const; // the Model tab's details
    QString findingsText() const;
    QString statusText() const;
    QString statsText() const;
    QString noticeText() const; // the status bar's passing message ("... changed on disk and was reloaded")

    static QStringList recentFiles();
    static constexpr int kMaxRecentFiles = recent::kMax;

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void createMenus();
    void openDialog();
    void openFolderDialog();
    void closeFileOrWindow();
    void changedOnDisk(const QString& path);
    bool install(LoadedCheckpoint loaded, OpenReason reason);
    void finishOpening();
    void saveLayout() const;
    void applyNoticeColors();
    void restoreLayout();
    void showError(const QString& title, const QString& message);
    void hideError();
    void rebuildRecentMenu();
    void addRecent(const QString& path);
    void clearRecent();
    void applyFilter();
    void expandDefault();
    void expandMatches();
    void fitColumns();
    void growKeyColumn();
    void showDetails();
    void showContextMenu(const QPoint& pos);
    void startStatistics();
    void statsArrived(quint64 generation, const StatsBatch& batch);
    void statsProgress(int done, int total);
    void statsFinished(bool cancelled);
    void updateFindings();
    void updateLayerProfile();
    void installHistogram();
    void showSelectedHistogram(int node);
    void compareWithDialog();

    ObjectTreeModel* m_model = nullptr;
    TreeFilterProxy* m_proxy = nullptr;
    ModuleTreeModel* m_moduleModel = nullptr;
    StatsJob* m_stats = nullptr;
    QStackedWidget* m_stack = nullptr;
    QTabWidget* m_tabs = nullptr;
    ModelPage* m_modelPage = nullptr;
    LayerPlot* m_layerPlot = nullptr;
    ScriptCodeView* m_code = nullptr;
    HistogramView* m_histogram = nullptr;
    SafetyBanner* m_safety = nullptr;
    QWidget* m_objectsPage = nullptr;
    FindingsBanner* m_findings = nullptr;
    QLabel* m_statsLabel = nullptr;
    QProgressBar* m_statsBar = nullptr;
    QToolButton* m_statsButton = nullptr;
    QAction* m_autoStats = nullptr;
    QTimer* m_profileTimer = nullptr;
    std::shared_ptr<const Semantic> m_sem;
    std::shared_ptr<TensorNames> m_names;
    std::vector<int> m_nonFinite;             // tensors with NaN/Inf, in the order statistics found them
    std::vector<std::int64_t> m_nonFiniteCounts;
    QTreeView* m_view = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_filterNote = nullptr;
    QTimer* m_filterTimer = nullptr;
    DetailsView* m_details = nullptr;
    QFrame* m_errorBar = nullptr;
    QLabel* m_errorLabel = nullptr;
    QString m_errorPlain;
    QLabel* m_statusLabel = nullptr;
    QMenu* m_recentMenu = nullptr;
    QActionGroup* m_themeGroup = nullptr;
    FileWatcher* m_watcher = nullptr;
    QString m_path; // what the window shows, absolute; empty when nothing
    QString m_openingPath; // what is being opened in the background; empty when nothing
    quint64 m_openGeneration = 0; // results of older background opens are dropped
    QLabel* m_openLabel = nullptr;
    QProgressBar* m_openBar = nullptr;
    QToolButton* m_openCancel = nullptr;
    std::unique_ptr<CheckpointSummary> m_summary;
    bool m_keyWidthByUser = false;
    bool m_autoSizing = false;
    bool m_growPending = false;
};

} // namespace ckpt
