#pragma once

#include "model/exporter.h"
#include "model/exportplan.h"

#include <QDialog>

#include <atomic>
#include <memory>
#include <optional>

class QAbstractItemModel;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableView;
class QTableWidget;
class QTimer;
class QToolButton;
class QUndoStack;

namespace ckpt {

class ExportPreviewModel;
class LatestTask;
struct Semantic;

// File > Export: a plan (which state dict, include/exclude globs, renames with presets, a dtype cast, format and
// shard size) edited with undo/redo, and a live preview of what the output will hold: renamed keys, new dtypes,
// sizes, rename collisions and how many values a float16 cast would overflow, before anything is written.
// The plan saves and loads as a JSON recipe; the last one used is remembered. Exporting runs off the GUI thread
// with progress and Cancel; on failure or cancel nothing of the export is left behind.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    enum PreviewColumn { SourceColumn, OutputColumn, DtypeColumn, ShapeColumn, BytesColumn, PreviewColumnCount };
    enum class Preset { StripModule, StripCompile, AddPrefix, RemovePrefix };

    ExportDialog(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, QWidget* parent = nullptr);
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
    QAbstractItemModel* preview() const;
    QString summaryText() const;

    bool saveRecipe(const QString& path, QString* error = nullptr) const;
    bool loadRecipe(const QString& path, QString* error = nullptr);
    static QString lastRecipeKey();

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
    ExportPreviewModel* m_preview = nullptr;
    QComboBox* m_stateDict = nullptr;
    QLineEdit* m_include = nullptr;
    QLineEdit* m_exclude = nullptr;
    QTableWidget* m_renames = nullptr;
    QComboBox* m_cast = nullptr;
    QComboBox* m_format = nullptr;
    QLineEdit* m_shard = nullptr;
    QLabel* m_shardNote = nullptr;
    QLineEdit* m_output = nullptr;
    QTableView* m_previewView = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_problems = nullptr;
    QLabel* m_overflowLabel = nullptr;
    QLabel* m_resultLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_export = nullptr;
    QPushButton* m_cancel = nullptr;
};

} // namespace ckpt
