#pragma once

#include "model/exporter.h"
#include "model/exportplan.h"

#include <QDialog>

#include <atomic>
#include <memory>
#include <optional>

class QAbstractItemModel;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QMenu;
class QTableWidget;
class QTimer;
class QToolButton;
class QTreeView;
class QTreeWidget;
class QUndoStack;

namespace ckpt {

class ExportPreviewTreeModel;
class LatestTask;
struct Semantic;

// What the main window's trees have selected, for an export that starts from it: the container exported (a state
// dict, or another container flattened to dotted keys; empty: the model state dict) and include patterns for the
// selected modules ("encoder.layers.3.*") and tensors (their exact keys). Nothing selected: the dialog's plan is
// the last recipe used, as before.
struct ExportSelection {
    QStringList select;
    QStringList include;
    bool wholeContainer = false; // the container itself was selected: no include patterns
    // The model state dict as a whole (the Model tab's top row, current by default) is no selection: the last
    // recipe stays as it was.
    bool isEmpty() const { return select.isEmpty() && include.isEmpty(); }
    void addModule(const QString& prefix); // "" (the whole state dict) adds nothing
    void addTensor(const QString& key);
    // A node of the object tree: inside a detected state dict, that state dict and the key under it; a container
    // elsewhere, that container; a tensor elsewhere, its container and its dotted key. Other nodes select nothing.
    static ExportSelection fromObjectPath(const Semantic& sem, const QStringList& path, bool isTensor, bool isContainer);
    bool operator==(const ExportSelection&) const = default;
};

// File > Export: a plan (which state dict, include/exclude globs and regexes, renames with presets, a dtype cast,
// non-tensor entries kept or not, format and shard size) edited with undo/redo, and a live preview of what the
// output will hold: a tree of every key of the exported container with a check box on each row (unchecking edits
// the excludes), renamed keys, new dtypes, sizes, rename collisions, the non-tensor entries and what becomes of
// them, and how many values a float16 cast would overflow, before anything is written.
// Opened from a selection, the plan starts with it (the base state: nothing to undo). The plan saves and loads as a
// JSON recipe; the last one exported is remembered and the last kMaxRecentRecipes recipe files are offered.
// Exporting runs off the GUI thread with progress and Cancel; on failure or cancel nothing of the export is left.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    enum class Preset { StripModule, StripCompile, AddPrefix, RemovePrefix };
    static constexpr int kMaxRecentRecipes = 8;

    ExportDialog(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, QWidget* parent = nullptr);
    // Starting from a selection: the last recipe's settings with the selection's container and includes.
    ExportDialog(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, const ExportSelection& selection,
        QWidget* parent = nullptr);
    ~ExportDialog() override;

    const ExportPlan& plan() const { return m_plan; }
    void setPlan(const ExportPlan& plan); // one undoable step
    void addRename(const RenameRule& rule);
    void addPreset(Preset preset, const QString& prefix = {});
    void removeRename(int row);
    QUndoStack* undoStack() const { return m_undo; }

    // The plan as it resolves against the file now (empty when it cannot: an unknown state dict, a bad pattern).
    const std::optional<ResolvedPlan>& resolved() const { return m_resolved; }
    QStringList problems() const; // what keeps Export disabled
    std::optional<std::int64_t> overflowCount() const { return m_overflow; }
    ExportPreviewTreeModel* preview() const { return m_preview; } // every key, checked when written
    QString summaryText() const;

    bool saveRecipe(const QString& path, QString* error = nullptr) const;
    bool loadRecipe(const QString& path, QString* error = nullptr);
    static QString lastRecipeKey();     // the plan of the last export (JSON), the next dialog's start
    static QString recentRecipesKey();  // recipe files saved or loaded, most recent first
    static QStringList recentRecipes(); // existing ones (the missing are dropped from the list)
    static void addRecentRecipe(const QString& path);
    bool loadRecentRecipe(int i, QString* error = nullptr); // recentRecipes()[i], an undoable step
    QMenu* recentRecipesMenu() const { return m_recentMenu; }

    void setOutputPath(const QString& path);
    QString outputPath() const;
    bool startExport();
    void cancelExport();
    bool isExporting() const { return m_exporting; }
    QString resultText() const;
    void reject() override; // stops a running export first
    const std::optional<ExportResult>& lastResult() const { return m_result; }

    QLineEdit* includeEdit() const { return m_include; }
    QLineEdit* excludeEdit() const { return m_exclude; }
    QTableWidget* renamesTable() const { return m_renames; }
    QComboBox* castCombo() const { return m_cast; }
    QComboBox* formatCombo() const { return m_format; }
    QComboBox* stateDictCombo() const { return m_stateDict; }
    QCheckBox* keepOthersBox() const { return m_keepOthers; }
    QTreeView* previewView() const { return m_previewView; }
    QTreeWidget* othersView() const { return m_othersView; } // non-tensor entries, kept or why not
    QLineEdit* shardEdit() const { return m_shard; }
    QPushButton* exportButton() const { return m_export; }

signals:
    void previewUpdated();
    void overflowCounted();
    void exportFinished(bool ok);

private:
    friend class PlanCommand;
    enum Field { NoMerge = -1, IncludeField = 1, ExcludeField, ShardField };
    void applyPlan(const ExportPlan& plan); // from the undo stack: the plan becomes this, the widgets follow
    void syncWidgets();
    ExportPlan planFromWidgets() const;
    void widgetsEdited(Field field, const QString& text = {});
    void pushPlan(const ExportPlan& next, Field field, const QString& text);
    void refreshPreview();
    void updateButtons();
    void browseOutput();
    void saveRecipeDialog();
    void loadRecipeDialog();
    void rebuildRecentMenu();
    void refreshOthers(const std::vector<PlannedOther>& others, bool kept);

    CheckpointPtr m_ck;
    std::shared_ptr<const Semantic> m_sem;
    ExportPlan m_plan;
    std::optional<ResolvedPlan> m_resolved;
    QString m_resolveError;
    std::optional<std::int64_t> m_overflow;
    bool m_countingOverflow = false;
    bool m_syncing = false;
    bool m_exporting = false;
    bool m_outputByUser = false;
    quint64 m_exportGeneration = 0;
    // Cancel asks runExport to stop and still takes its answer: a run that finished first did write its files.
    std::shared_ptr<std::atomic<bool>> m_exportCancel;
    std::optional<ExportResult> m_result;
    QString m_resultText;

    QUndoStack* m_undo = nullptr;
    LatestTask* m_overflowTask = nullptr;
    LatestTask* m_exportTask = nullptr;
    QTimer* m_previewTimer = nullptr;
    ExportPreviewTreeModel* m_preview = nullptr;
    QComboBox* m_stateDict = nullptr;
    QLineEdit* m_include = nullptr;
    QLineEdit* m_exclude = nullptr;
    QTableWidget* m_renames = nullptr;
    QComboBox* m_cast = nullptr;
    QComboBox* m_format = nullptr;
    QCheckBox* m_keepOthers = nullptr;
    QLineEdit* m_shard = nullptr;
    QLabel* m_shardNote = nullptr;
    QLineEdit* m_output = nullptr;
    QTreeView* m_previewView = nullptr;
    QTreeWidget* m_othersView = nullptr;
    QLabel* m_othersNote = nullptr;
    QLabel* m_warnings = nullptr;
    QToolButton* m_recentButton = nullptr;
    QMenu* m_recentMenu = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_problems = nullptr;
    QLabel* m_overflowLabel = nullptr;
    QLabel* m_resultLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_export = nullptr;
    QPushButton* m_cancel = nullptr;
};

} // namespace ckpt
