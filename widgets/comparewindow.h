#pragma once

#include "model/diff.h"
#include "model/difftreemodel.h"

#include <QMainWindow>

#include <map>
#include <memory>
#include <optional>

class QAbstractButton;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableWidget;
class QTabWidget;
class QTextBrowser;
class QTimer;
class QToolButton;
class QTreeView;

namespace ckpt {

class DiffFilterProxy;
class DiffLayerCanvas;
class HistogramView;
class LatestTask;

// Two checkpoints side by side: one tree aligned by key (through the normalisation rules, editable in place and
// pre-filled with the suggested ones), grouped by module, coloured and filterable by status, sortable by every
// metric; a summary of the counts and the biggest changes; the relative change along depth of repeated blocks;
// and for the selected pair both descriptors, both statistics and their histograms drawn over each other.
// The diff runs off the GUI thread with progress and Cancel; editing a rule or a tolerance runs it again.
class CompareWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit CompareWindow(QWidget* parent = nullptr);
    ~CompareWindow() override;

    // Opens both files and starts comparing; a file that cannot be opened shows as an error in the window.
    bool openFiles(const QString& a, const QString& b);
    void setCheckpoints(CheckpointPtr a, CheckpointPtr b);

    const DiffResult* result() const { return m_result.get(); }
    bool isRunning() const { return m_running; }
    void cancel();
    void rerun();

    DiffTreeModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const;
    QTreeView* view() const { return m_view; }
    QAbstractButton* filterButton(DiffStatus s) const;
    void setStatusShown(DiffStatus s, bool shown);
    QLineEdit* keyFilter() const { return m_filter; }
    QString summaryText() const; // the counts and biggest changes, plain
    QString errorText() const;
    QTableWidget* rulesTable() const { return m_rules; }
    std::vector<RenameRule> rules() const; // as the table holds them now
    void setRules(const std::vector<RenameRule>& rules); // and compare again
    HistogramView* histogram() const { return m_hist; }
    bool selectKey(const QString& key);
    QString pairText() const; // the selected pair's panel, plain
    QTabWidget* sideTabs() const { return m_tabs; }
    const std::vector<DiffBlockProfile>& layerProfiles() const { return m_profiles; }

signals:
    void diffFinished(); // a comparison completed (or failed: errorText() says why)
    void pairStatsReady();

private:
    void runDiff();
    void diffProgress(int done, int total);
    void showResult();
    void updateSummary();
    void applyFilters();
    void showCurrentPair();
    void renderPair();
    void rulesEdited();
    void fillRules(const std::vector<RenameRule>& rules);
    void showLayers();
    void setError(const QString& message);

    CheckpointPtr m_a, m_b;
    std::shared_ptr<const DiffResult> m_result;
    std::optional<LoadCheck> m_load;
    std::vector<DiffBlockProfile> m_profiles;
    bool m_running = false;
    bool m_rulesEdited = false;
    bool m_fillingRules = false;
    quint64 m_generation = 0;
    int m_pair = -1;
    struct PairStats;
    std::unique_ptr<PairStats> m_pairStats;

    LatestTask* m_task = nullptr;
    LatestTask* m_statsTask = nullptr;
    DiffTreeModel* m_model = nullptr;
    DiffFilterProxy* m_proxy = nullptr;
    QLabel* m_files = nullptr;
    QLabel* m_error = nullptr;
    std::map<DiffStatus, QToolButton*> m_buttons;
    QLabel* m_biggest = nullptr;
    QLabel* m_loadLabel = nullptr;
    QLineEdit* m_rtol = nullptr;
    QLineEdit* m_atol = nullptr;
    QLineEdit* m_filter = nullptr;
    QTreeView* m_view = nullptr;
    QTableWidget* m_rules = nullptr;
    QLabel* m_rulesNote = nullptr;
    QTimer* m_rulesTimer = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTextBrowser* m_pairView = nullptr;
    HistogramView* m_hist = nullptr;
    QComboBox* m_blockChoice = nullptr;
    DiffLayerCanvas* m_layerCanvas = nullptr;
    QLabel* m_layerNote = nullptr;
    QTableWidget* m_scalars = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_cancel = nullptr;
    QLabel* m_statusLabel = nullptr;
};

} // namespace ckpt
