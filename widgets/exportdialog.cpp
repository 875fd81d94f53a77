#include "widgets/exportdialog.h"

#include "model/exportpreviewtreemodel.h"
#include "widgets/exportpreviewstyle.h"

#include "model/dtypecast.h"
#include "model/latesttask.h"
#include "model/objectchildren.h"
#include "model/semantic.h"
#include "model/summary.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHash>
#include <QHeaderView>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSettings>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>
#include <QTreeWidget>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVBoxLayout>

namespace ckpt {
namespace {

QStringList globList(const QString& text)
{
    static const QRegularExpression separators(QStringLiteral("[,\\s]+"));
    return text.split(separators, Qt::SkipEmptyParts);
}

QString sizeText(std::int64_t bytes)
{
    if (bytes <= 0)
        return {};
    for (const auto& [unit, factor] :
        { std::pair { "GB", 1'000'000'000LL }, std::pair { "MB", 1'000'000LL }, std::pair { "KB", 1'000LL } })
        if (bytes % factor == 0)
            return QString::number(bytes / factor) + QLatin1String(unit);
    return QString::number(bytes);
}

QString extension(ExportFormat f)
{
    return f == ExportFormat::Safetensors ? QStringLiteral("safetensors") : QStringLiteral("pth");
}

QString pathText(const QStringList& path)
{
    return path.isEmpty() ? ExportDialog::tr("<root>") : path.join(QLatin1Char('/'));
}

constexpr int PathRole = Qt::UserRole + 1; // state dict combo: the container path of an item

} // namespace

void ExportSelection::addModule(const QString& prefix)
{
    if (prefix.isEmpty()) {
        include.clear(); // the whole container
        wholeContainer = true;
        return;
    }
    if (!wholeContainer && !include.contains(ExportPreviewTreeModel::modulePattern(prefix)))
        include << ExportPreviewTreeModel::modulePattern(prefix);
}

void ExportSelection::addTensor(const QString& key)
{
    if (!wholeContainer && !include.contains(ExportPreviewTreeModel::keyPattern(key)))
        include << ExportPreviewTreeModel::keyPattern(key);
}

ExportSelection ExportSelection::fromObjectPath(
    const Semantic& sem, const QStringList& path, bool isTensor, bool isContainer)
{
    ExportSelection out;
    const StateDictRef* best = nullptr;
    for (const auto& sd : sem.stateDicts)
        if (path.size() >= sd.path.size() && path.mid(0, sd.path.size()) == sd.path
            && (!best || sd.path.size() > best->path.size()))
            best = &sd;
    if (best) {
        const bool primary = sem.primary >= 0 && best == &sem.stateDicts[size_t(sem.primary)];
        out.select = primary ? QStringList() : best->path;
        if (path.size() == best->path.size()) {
            out.addModule({});
            return out;
        }
        // A state dict's keys are dotted strings, one level below it; deeper nodes belong to that key's tensor.
        const QString key = path[best->path.size()];
        if (std::any_of(best->entries.begin(), best->entries.end(), [&](const auto& e) { return e.first == key; }))
            out.addTensor(key);
        else
            out.addModule(key);
        return out;
    }
    if (isTensor && path.size() >= 2) {
        out.select = path.mid(0, path.size() - 1);
        out.addTensor(path.last());
    } else if (isContainer && !path.isEmpty()) {
        out.select = path;
        out.addModule({});
    }
    return out;
}


// One edit of the plan: undo and redo set the whole plan. Typing into one field merges into one step.
class PlanCommand : public QUndoCommand {
public:
    PlanCommand(ExportDialog* dialog, ExportPlan before, ExportPlan after, int field, const QString& text)
        : QUndoCommand(text)
        , m_dialog(dialog)
        , m_before(std::move(before))
        , m_after(std::move(after))
        , m_field(field)
    {
    }
    void undo() override { m_dialog->applyPlan(m_before); }
    void redo() override { m_dialog->applyPlan(m_after); }
    int id() const override { return m_field; }
    bool mergeWith(const QUndoCommand* other) override
    {
        if (other->id() != id())
            return false;
        m_after = static_cast<const PlanCommand*>(other)->m_after;
        return true;
    }

private:
    ExportDialog* m_dialog;
    ExportPlan m_before, m_after;
    int m_field;
};

ExportDialog::ExportDialog(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, QWidget* parent)
    : ExportDialog(std::move(ck), std::move(sem), ExportSelection {}, parent)
{
}

ExportDialog::ExportDialog(
    CheckpointPtr ck, std::shared_ptr<const Semantic> sem, const ExportSelection& selection, QWidget* parent)
    : QDialog(parent)
    , m_ck(std::move(ck))
    , m_sem(std::move(sem))
    , m_undo(new QUndoStack(this))
    , m_overflowTask(new LatestTask(this))
    , m_exportTask(new LatestTask(this))
    , m_preview(new ExportPreviewTreeModel(this))
{
    // A check box in the preview asks for a plan; it is one undoable step like any other edit.
    connect(m_preview, &ExportPreviewTreeModel::planEditRequested, this,
        [this](const ExportPlan& next, const QString& what) { pushPlan(next, NoMerge, what); });
    setObjectName(QStringLiteral("exportDialog"));
    setWindowTitle(tr("Export %1").arg(QFileInfo(m_ck->path).fileName()));
    resize(1200, 720);

    m_stateDict = new QComboBox;
    m_stateDict->setObjectName(QStringLiteral("stateDict"));
    for (size_t i = 0; i < m_sem->stateDicts.size(); ++i) {
        const StateDictRef& sd = m_sem->stateDicts[i];
        m_stateDict->addItem(tr("%1  (%2 tensors, %3)")
                                 .arg(pathText(sd.path))
                                 .arg(sd.entries.size())
                                 .arg(int(i) == m_sem->primary ? tr("the model") : sd.role),
            int(i));
        m_stateDict->setItemData(m_stateDict->count() - 1, sd.path, PathRole);
    }
    m_stateDict->setToolTip(tr("The state dict exported; a recipe or the Objects tab may choose another container, "
                               "whose tensors are written under dotted keys relative to it"));
    connect(m_stateDict, &QComboBox::currentIndexChanged, this,
        [this] { widgetsEdited(NoMerge, tr("Choose the state dict")); });

    m_include = new QLineEdit;
    m_include->setObjectName(QStringLiteral("include"));
    m_include->setPlaceholderText(tr("everything; e.g. encoder.*, *.weight, re:layers\\.[0-3]\\."));
    m_include->setToolTip(tr("Patterns on the source keys, separated by commas or spaces: globs (* crosses dots, ? is "
                             "one character, the whole key must match) or regular expressions written re:PATTERN "
                             "(searched anywhere in the key). The check boxes of the preview edit the excludes."));
    m_exclude = new QLineEdit;
    m_exclude->setObjectName(QStringLiteral("exclude"));
    m_exclude->setPlaceholderText(tr("nothing; e.g. *.num_batches_tracked, re:\\.bias$"));
    m_exclude->setToolTip(m_include->toolTip());
    connect(m_include, &QLineEdit::textEdited, this, [this] { widgetsEdited(IncludeField); });
    connect(m_exclude, &QLineEdit::textEdited, this, [this] { widgetsEdited(ExcludeField); });

    m_renames = new QTableWidget(0, 2);
    m_renames->setObjectName(QStringLiteral("renames"));
    m_renames->setHorizontalHeaderLabels({ tr("Pattern (regular expression)"), tr("Replacement") });
    m_renames->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_renames->verticalHeader()->setVisible(false);
    m_renames->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_renames->setToolTip(tr("Applied in order to every kept key; \\1 refers to a group of the pattern"));
    m_renames->setMinimumHeight(110);
    connect(m_renames, &QTableWidget::itemChanged, this, [this] { widgetsEdited(NoMerge, tr("Edit a rename")); });
    auto* presets = new QToolButton;
    presets->setObjectName(QStringLiteral("renamePresets"));
    presets->setText(tr("Add rule"));
    presets->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(presets);
    menu->addAction(tr("Strip \"module.\" (DataParallel)"), this, [this] { addPreset(Preset::StripModule); });
    menu->addAction(tr("Strip \"_orig_mod.\" (torch.compile)"), this, [this] { addPreset(Preset::StripCompile); });
    menu->addAction(tr("Remove a prefix…"), this, [this] {
        bool ok = false;
        const QString p = QInputDialog::getText(this, tr("Remove prefix"), tr("Prefix to remove from every key:"),
            QLineEdit::Normal, QStringLiteral("model."), &ok);
        if (ok && !p.isEmpty())
            addPreset(Preset::RemovePrefix, p);
    });
    menu->addAction(tr("Add a prefix…"), this, [this] {
        bool ok = false;
        const QString p = QInputDialog::getText(this, tr("Add prefix"), tr("Prefix to put before every key:"),
            QLineEdit::Normal, QStringLiteral("model."), &ok);
        if (ok && !p.isEmpty())
            addPreset(Preset::AddPrefix, p);
    });
    menu->addSeparator();
    menu->addAction(tr("Empty rule (write your own)"), this, [this] { addRename({ QStringLiteral("^"), QString() }); });
    presets->setMenu(menu);
    auto* removeRule = new QToolButton;
    removeRule->setText(tr("Remove"));
    connect(removeRule, &QToolButton::clicked, this, [this] {
        if (m_renames->currentRow() >= 0)
            removeRename(m_renames->currentRow());
    });

    m_cast = new QComboBox;
    m_cast->setObjectName(QStringLiteral("cast"));
    m_cast->addItem(tr("keep each tensor's dtype"), QString());
    for (DType t : { DType::Float16, DType::BFloat16, DType::Float32 })
        m_cast->addItem(tr("cast floating-point tensors to %1").arg(dtypeName(t)), dtypeName(t));
    connect(m_cast, &QComboBox::currentIndexChanged, this, [this] { widgetsEdited(NoMerge, tr("Change the dtype")); });
    m_format = new QComboBox;
    m_format->setObjectName(QStringLiteral("format"));
    m_format->addItem(tr("torch (.pth, torch.load)"), int(ExportFormat::Torch));
    m_format->addItem(tr("safetensors"), int(ExportFormat::Safetensors));
    connect(
        m_format, &QComboBox::currentIndexChanged, this, [this] { widgetsEdited(NoMerge, tr("Change the format")); });
    m_shard = new QLineEdit;
    m_shard->setObjectName(QStringLiteral("shardSize"));
    m_shard->setPlaceholderText(tr("one file; e.g. 5GB, 500MB, 2GiB"));
    connect(m_shard, &QLineEdit::textEdited, this, [this] { widgetsEdited(ShardField); });
    m_keepOthers = new QCheckBox(tr("Keep non-tensor entries (epoch, config, ...)"));
    m_keepOthers->setObjectName(QStringLiteral("keepOthers"));
    m_keepOthers->setToolTip(tr("Entries that are not tensors are written too: those beside the state dict at their "
                                "places, those inside a flattened container under their dotted keys. Safetensors "
                                "and sharded exports keep them as JSON metadata."));
    connect(m_keepOthers, &QCheckBox::toggled, this, [this](bool on) {
        widgetsEdited(NoMerge, on ? tr("Keep non-tensor entries") : tr("Drop non-tensor entries"));
    });
    m_shardNote = new QLabel;
    m_shardNote->setStyleSheet(QStringLiteral("QLabel { color: #b3261e; }"));
    m_shardNote->setVisible(false);

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("State dict:"), m_stateDict);
    form->addRow(tr("Include:"), m_include);
    form->addRow(tr("Exclude:"), m_exclude);
    auto* renameHead = new QHBoxLayout;
    renameHead->addWidget(new QLabel(tr("Renames:")));
    renameHead->addStretch(1);
    renameHead->addWidget(presets);
    renameHead->addWidget(removeRule);
    form->addRow(renameHead);
    form->addRow(m_renames);
    form->addRow(tr("dtype:"), m_cast);
    form->addRow(tr("Format:"), m_format);
    auto* shardRow = new QVBoxLayout;
    shardRow->addWidget(m_shard);
    shardRow->addWidget(m_shardNote);
    form->addRow(tr("Shard size:"), shardRow);
    form->addRow(m_keepOthers);

    // Undo/redo and recipes.
    auto* undo = m_undo->createUndoAction(this, tr("Undo"));
    undo->setShortcut(QKeySequence::Undo);
    auto* redo = m_undo->createRedoAction(this, tr("Redo"));
    redo->setShortcut(QKeySequence::Redo);
    addAction(undo);
    addAction(redo);
    // Fixed labels; what would be undone or redone shows as the tooltip.
    auto* undoButton = new QPushButton(tr("Undo"));
    undoButton->setObjectName(QStringLiteral("undo"));
    connect(undoButton, &QPushButton::clicked, m_undo, &QUndoStack::undo);
    connect(m_undo, &QUndoStack::canUndoChanged, undoButton, &QPushButton::setEnabled);
    connect(m_undo, &QUndoStack::undoTextChanged, undoButton,
        [undoButton](const QString& t) { undoButton->setToolTip(tr("Undo: %1 (Ctrl+Z)").arg(t)); });
    undoButton->setEnabled(false);
    auto* redoButton = new QPushButton(tr("Redo"));
    redoButton->setObjectName(QStringLiteral("redo"));
    connect(redoButton, &QPushButton::clicked, m_undo, &QUndoStack::redo);
    connect(m_undo, &QUndoStack::canRedoChanged, redoButton, &QPushButton::setEnabled);
    connect(m_undo, &QUndoStack::redoTextChanged, redoButton,
        [redoButton](const QString& t) { redoButton->setToolTip(tr("Redo: %1 (Ctrl+Shift+Z)").arg(t)); });
    redoButton->setEnabled(false);
    auto* saveRecipe = new QPushButton(tr("Save recipe…"));
    connect(saveRecipe, &QPushButton::clicked, this, &ExportDialog::saveRecipeDialog);
    auto* loadRecipe = new QPushButton(tr("Load recipe…"));
    connect(loadRecipe, &QPushButton::clicked, this, &ExportDialog::loadRecipeDialog);
    m_recentButton = new QToolButton;
    m_recentButton->setObjectName(QStringLiteral("recentRecipes"));
    m_recentButton->setText(tr("Recent recipes"));
    m_recentButton->setPopupMode(QToolButton::InstantPopup);
    m_recentMenu = new QMenu(m_recentButton);
    m_recentButton->setMenu(m_recentMenu);
    connect(m_recentMenu, &QMenu::aboutToShow, this, &ExportDialog::rebuildRecentMenu);
    auto* planButtons = new QHBoxLayout;
    planButtons->addWidget(undoButton);
    planButtons->addWidget(redoButton);
    planButtons->addStretch(1);
    planButtons->addWidget(m_recentButton);
    planButtons->addWidget(loadRecipe);
    planButtons->addWidget(saveRecipe);

    auto* planBox = new QGroupBox(tr("Plan"));
    auto* planLayout = new QVBoxLayout(planBox);
    planLayout->addLayout(form);
    planLayout->addStretch(1);
    planLayout->addLayout(planButtons);

    // Preview.
    m_previewView = new QTreeView;
    m_previewView->setObjectName(QStringLiteral("preview"));
    auto* style = new ExportPreviewStyle(m_previewView);
    style->setSourceModel(m_preview);
    m_previewView->setModel(style);
    m_previewView->setUniformRowHeights(true);
    m_previewView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_previewView->setTextElideMode(Qt::ElideMiddle);
    m_previewView->setWordWrap(false);
    m_previewView->setToolTip(tr("Every key of the exported container; uncheck a tensor or a module to leave it out"));
    m_previewView->header()->setStretchLastSection(false);
    m_previewView->header()->setSectionResizeMode(ExportPreviewTreeModel::KeyColumn, QHeaderView::Interactive);
    m_previewView->header()->setSectionResizeMode(ExportPreviewTreeModel::OutputColumn, QHeaderView::Stretch);
    // Wide enough for a cast ("float32 → bfloat16") and any size before they show: the tree opens collapsed, and
    // sizing to the contents then would see only the top rows.
    const QFontMetrics fm = fontMetrics();
    m_previewView->setColumnWidth(ExportPreviewTreeModel::KeyColumn, fm.horizontalAdvance(QStringLiteral("x")) * 26);
    m_previewView->setColumnWidth(
        ExportPreviewTreeModel::DtypeColumn, fm.horizontalAdvance(QStringLiteral("float32 → bfloat16")) + 16);
    m_previewView->setColumnWidth(
        ExportPreviewTreeModel::ShapeColumn, fm.horizontalAdvance(QStringLiteral("[1024, 1024]")) + 16);
    m_previewView->setColumnWidth(
        ExportPreviewTreeModel::BytesColumn, fm.horizontalAdvance(QStringLiteral("999.99 KiB")) + 16);
    m_othersView = new QTreeWidget;
    m_othersView->setObjectName(QStringLiteral("others"));
    m_othersView->setColumnCount(3);
    m_othersView->setHeaderLabels({ tr("Non-tensor entry"), tr("Value"), tr("Written") });
    m_othersView->setRootIsDecorated(false);
    m_othersView->setUniformRowHeights(true);
    m_othersView->setTextElideMode(Qt::ElideMiddle);
    m_othersView->setMinimumHeight(60);
    m_othersView->header()->setStretchLastSection(true);
    m_othersNote = new QLabel;
    m_othersNote->setObjectName(QStringLiteral("othersNote"));
    m_othersNote->setWordWrap(true);
    m_warnings = new QLabel;
    m_warnings->setObjectName(QStringLiteral("exportWarnings"));
    m_warnings->setWordWrap(true);
    m_warnings->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_warnings->setStyleSheet(QStringLiteral("QLabel { color: #a15c00; }"));
    m_warnings->setVisible(false);
    m_summary = new QLabel;
    m_summary->setObjectName(QStringLiteral("exportSummary"));
    m_summary->setWordWrap(true);
    m_overflowLabel = new QLabel;
    m_overflowLabel->setObjectName(QStringLiteral("overflow"));
    m_overflowLabel->setWordWrap(true);
    m_problems = new QLabel;
    m_problems->setObjectName(QStringLiteral("exportProblems"));
    m_problems->setWordWrap(true);
    m_problems->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_problems->setStyleSheet(QStringLiteral("QLabel { color: #b3261e; }"));
    auto* previewBox = new QGroupBox(tr("Preview of the output"));
    auto* previewLayout = new QVBoxLayout(previewBox);
    auto* othersPane = new QWidget;
    auto* othersLayout = new QVBoxLayout(othersPane);
    othersLayout->setContentsMargins(0, 0, 0, 0);
    othersLayout->addWidget(m_othersNote);
    othersLayout->addWidget(m_othersView, 1);
    auto* previewSplit = new QSplitter(Qt::Vertical);
    previewSplit->addWidget(m_previewView);
    previewSplit->addWidget(othersPane);
    previewSplit->setStretchFactor(0, 4);
    previewSplit->setStretchFactor(1, 1);
    previewSplit->setSizes({ 480, 130 });
    previewSplit->setChildrenCollapsible(false);
    previewLayout->addWidget(m_summary);
    previewLayout->addWidget(previewSplit, 1);
    previewLayout->addWidget(m_warnings);
    previewLayout->addWidget(m_overflowLabel);
    previewLayout->addWidget(m_problems);

    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(planBox);
    split->addWidget(previewBox);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    split->setSizes({ 420, 780 });
    split->setChildrenCollapsible(false);

    // Destination, progress, buttons.
    m_output = new QLineEdit;
    m_output->setObjectName(QStringLiteral("output"));
    connect(m_output, &QLineEdit::textEdited, this, [this] {
        m_outputByUser = true;
        updateButtons();
    });
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, &ExportDialog::browseOutput);
    auto* outRow = new QHBoxLayout;
    outRow->addWidget(new QLabel(tr("Write to:")));
    outRow->addWidget(m_output, 1);
    outRow->addWidget(browse);
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("exportProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setVisible(false);
    m_resultLabel = new QLabel;
    m_resultLabel->setObjectName(QStringLiteral("exportResult"));
    m_resultLabel->setWordWrap(true);
    m_resultLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_export = new QPushButton(tr("Export"));
    m_export->setObjectName(QStringLiteral("exportButton"));
    m_export->setDefault(true);
    connect(m_export, &QPushButton::clicked, this, [this] { startExport(); });
    m_cancel = new QPushButton(tr("Cancel Export"));
    m_cancel->setObjectName(QStringLiteral("cancelExport"));
    m_cancel->setVisible(false);
    connect(m_cancel, &QPushButton::clicked, this, &ExportDialog::cancelExport);
    auto* close = new QPushButton(tr("Close"));
    connect(close, &QPushButton::clicked, this, &QDialog::reject);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(m_resultLabel, 1);
    bottom->addWidget(m_progress);
    bottom->addWidget(m_cancel);
    bottom->addWidget(m_export);
    bottom->addWidget(close);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split, 1);
    layout->addLayout(outRow);
    layout->addLayout(bottom);

    m_previewTimer = new QTimer(this);
    m_previewTimer->setSingleShot(true);
    m_previewTimer->setInterval(60);
    connect(m_previewTimer, &QTimer::timeout, this, &ExportDialog::refreshPreview);

    // The last recipe used comes back, less a state dict this file does not have.
    ExportPlan initial;
    const QByteArray saved = QSettings().value(lastRecipeKey()).toByteArray();
    if (!saved.isEmpty())
        if (auto p = ExportPlan::fromJson(QJsonDocument::fromJson(saved).object()); p) {
            initial = *p;
            if (std::none_of(m_sem->stateDicts.begin(), m_sem->stateDicts.end(),
                    [&](const StateDictRef& s) { return s.path == initial.select; }))
                initial.select.clear();
        }
    const QFileInfo source(m_ck->path);
    m_output->setText(
        QDir(source.absolutePath())
            .filePath(source.completeBaseName() + QStringLiteral("-export.") + extension(initial.format)));
    // A selection in the main window: its container and includes over the last recipe's settings. It is where
    // the dialog starts, like the last recipe: nothing to undo.
    if (!selection.isEmpty()) {
        initial.select = selection.select;
        initial.include = selection.include;
        initial.exclude.clear(); // the last recipe's could hide what was selected
    }
    m_plan = initial;
    rebuildRecentMenu();
    syncWidgets();
    refreshPreview();
    m_previewView->expandToDepth(0);
}

ExportDialog::~ExportDialog()
{
    // Callbacks of both tasks refer to this dialog: their threads end first.
    if (m_exportCancel)
        m_exportCancel->store(true);
    m_exportTask->stop();
    m_overflowTask->stop();
}

QString ExportDialog::lastRecipeKey()
{
    return QStringLiteral("export/lastRecipe");
}

QString ExportDialog::recentRecipesKey()
{
    return QStringLiteral("export/recentRecipes");
}

QStringList ExportDialog::recentRecipes()
{
    QSettings settings;
    const QStringList stored = settings.value(recentRecipesKey()).toStringList();
    QStringList out;
    for (const QString& p : stored)
        if (QFileInfo(p).isFile() && !out.contains(p))
            out << p;
    out = out.mid(0, kMaxRecentRecipes);
    if (out != stored)
        settings.setValue(recentRecipesKey(), out);
    return out;
}

void ExportDialog::addRecentRecipe(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QSettings settings;
    QStringList list = settings.value(recentRecipesKey()).toStringList();
    list.removeAll(absolute);
    list.prepend(absolute);
    settings.setValue(recentRecipesKey(), list.mid(0, kMaxRecentRecipes));
}

bool ExportDialog::loadRecentRecipe(int i, QString* error)
{
    const QStringList list = recentRecipes();
    if (i < 0 || i >= list.size()) {
        if (error)
            *error = tr("no such recent recipe");
        return false;
    }
    return loadRecipe(list[i], error);
}

void ExportDialog::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList list = recentRecipes();
    for (int i = 0; i < list.size(); ++i) {
        QAction* a = m_recentMenu->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(list[i]).fileName()));
        a->setToolTip(list[i]);
        a->setData(list[i]);
        connect(a, &QAction::triggered, this, [this, path = list[i]] {
            QString error;
            if (!loadRecipe(path, &error))
                m_resultLabel->setText(tr("<span style=\"color:#b3261e\">Cannot load the recipe: %1</span>")
                                           .arg(error.toHtmlEscaped()));
        });
    }
    m_recentButton->setEnabled(!list.isEmpty());
    m_recentButton->setToolTip(list.isEmpty() ? tr("Recipes you save or load are listed here")
                                              : tr("Load one of the last recipes saved or loaded"));
}

void ExportDialog::setPlan(const ExportPlan& plan)
{
    pushPlan(plan, NoMerge, tr("Set the plan"));
}

void ExportDialog::addRename(const RenameRule& rule)
{
    ExportPlan next = m_plan;
    next.renames.push_back(rule);
    pushPlan(next, NoMerge, tr("Add rename %1").arg(rule.pattern));
}

void ExportDialog::addPreset(Preset preset, const QString& prefix)
{
    switch (preset) {
    case Preset::StripModule: addRename(ExportPlan::stripPrefix(QStringLiteral("module."))); break;
    case Preset::StripCompile: addRename(ExportPlan::stripPrefix(QStringLiteral("_orig_mod."))); break;
    case Preset::RemovePrefix: addRename(ExportPlan::stripPrefix(prefix)); break;
    case Preset::AddPrefix: addRename(ExportPlan::addPrefix(prefix)); break;
    }
}

void ExportDialog::removeRename(int row)
{
    if (row < 0 || size_t(row) >= m_plan.renames.size())
        return;
    ExportPlan next = m_plan;
    next.renames.erase(next.renames.begin() + row);
    pushPlan(next, NoMerge, tr("Remove rename"));
}

void ExportDialog::pushPlan(const ExportPlan& next, Field field, const QString& text)
{
    if (next == m_plan)
        return;
    m_undo->push(new PlanCommand(this, m_plan, next, int(field), text));
}

void ExportDialog::applyPlan(const ExportPlan& plan)
{
    m_plan = plan;
    syncWidgets();
    m_previewTimer->start();
}

void ExportDialog::syncWidgets()
{
    m_syncing = true;
    // The combo lists the detected state dicts, and the other container the plan selects, if any.
    int item = m_sem->primary >= 0 && m_plan.select.isEmpty() ? m_stateDict->findData(m_sem->primary) : -1;
    for (int i = 0; i < m_stateDict->count() && item < 0; ++i)
        if (!m_plan.select.isEmpty() && m_stateDict->itemData(i, PathRole).toStringList() == m_plan.select)
            item = i;
    if (item < 0 && !m_plan.select.isEmpty()) {
        m_stateDict->addItem(tr("%1  (a container, flattened to dotted keys)").arg(pathText(m_plan.select)), -1);
        item = m_stateDict->count() - 1;
        m_stateDict->setItemData(item, m_plan.select, PathRole);
    }
    if (item >= 0)
        m_stateDict->setCurrentIndex(item);
    m_keepOthers->setChecked(m_plan.keepOthers);
    // Text the user is typing stays as typed while it means the same globs.
    if (globList(m_include->text()) != m_plan.include)
        m_include->setText(m_plan.include.join(QStringLiteral(", ")));
    if (globList(m_exclude->text()) != m_plan.exclude)
        m_exclude->setText(m_plan.exclude.join(QStringLiteral(", ")));
    if (parseSize(m_shard->text()) != m_plan.maxShardSize)
        m_shard->setText(sizeText(m_plan.maxShardSize));
    std::vector<RenameRule> shown;
    for (int r = 0; r < m_renames->rowCount(); ++r)
        shown.push_back({ m_renames->item(r, 0) ? m_renames->item(r, 0)->text() : QString(),
            m_renames->item(r, 1) ? m_renames->item(r, 1)->text() : QString() });
    if (shown != m_plan.renames) {
        m_renames->setRowCount(int(m_plan.renames.size()));
        for (size_t r = 0; r < m_plan.renames.size(); ++r) {
            m_renames->setItem(int(r), 0, new QTableWidgetItem(m_plan.renames[r].pattern));
            m_renames->setItem(int(r), 1, new QTableWidgetItem(m_plan.renames[r].replacement));
        }
    }
    m_cast->setCurrentIndex(std::max(0, m_cast->findData(m_plan.castTo ? dtypeName(*m_plan.castTo) : QString())));
    const ExportFormat before = ExportFormat(m_format->currentData().toInt());
    m_format->setCurrentIndex(m_format->findData(int(m_plan.format)));
    // The destination follows the format's extension.
    const QString out = m_output->text();
    if (before != m_plan.format || !out.endsWith(QLatin1Char('.') + extension(m_plan.format))) {
        for (ExportFormat f : { ExportFormat::Torch, ExportFormat::Safetensors })
            if (out.endsWith(QLatin1Char('.') + extension(f)) && f != m_plan.format) {
                m_output->setText(out.left(out.size() - extension(f).size()) + extension(m_plan.format));
                break;
            }
    }
    m_syncing = false;
}

ExportPlan ExportDialog::planFromWidgets() const
{
    ExportPlan p = m_plan;
    const int sd = m_stateDict->currentData().toInt();
    p.select = sd == m_sem->primary || m_stateDict->currentIndex() < 0
        ? QStringList()
        : m_stateDict->currentData(PathRole).toStringList();
    p.keepOthers = m_keepOthers->isChecked();
    p.include = globList(m_include->text());
    p.exclude = globList(m_exclude->text());
    p.renames.clear();
    for (int r = 0; r < m_renames->rowCount(); ++r)
        p.renames.push_back({ m_renames->item(r, 0) ? m_renames->item(r, 0)->text() : QString(),
            m_renames->item(r, 1) ? m_renames->item(r, 1)->text() : QString() });
    const QString cast = m_cast->currentData().toString();
    p.castTo = cast.isEmpty() ? std::nullopt : dtypeFromTorchName(cast);
    p.format = ExportFormat(m_format->currentData().toInt());
    const QString shard = m_shard->text().trimmed();
    if (shard.isEmpty())
        p.maxShardSize = 0;
    else if (const auto bytes = parseSize(shard); bytes > 0)
        p.maxShardSize = bytes;
    return p;
}

void ExportDialog::widgetsEdited(Field field, const QString& text)
{
    if (m_syncing)
        return;
    const QString shard = m_shard->text().trimmed();
    const bool badShard = !shard.isEmpty() && parseSize(shard) <= 0;
    m_shardNote->setText(badShard ? tr("Not a size: write 5GB, 500MB, 2GiB or a number of bytes") : QString());
    m_shardNote->setVisible(badShard);
    QString what;
    switch (field) {
    case IncludeField: what = tr("Edit include"); break;
    case ExcludeField: what = tr("Edit exclude"); break;
    case ShardField: what = tr("Edit shard size"); break;
    case NoMerge: what = text.isEmpty() ? tr("Edit the plan") : text; break;
    }
    pushPlan(planFromWidgets(), field, what);
    updateButtons();
}

void ExportDialog::refreshPreview()
{
    m_previewTimer->stop();
    m_overflowTask->stop();
    m_overflow.reset();
    m_countingOverflow = false;
    m_resolveError.clear();
    auto rp = resolvePlan(*m_ck, *m_sem, m_plan);
    // Every key of the container, filters aside, so that the excluded ones show (unchecked) and can come back; and
    // every non-tensor entry, to show what keeping them would keep.
    ExportPlan unfiltered = m_plan;
    unfiltered.include.clear();
    unfiltered.exclude.clear();
    unfiltered.keepOthers = true;
    auto all = resolvePlan(*m_ck, *m_sem, unfiltered);
    if (rp) {
        m_resolved = std::move(*rp);
        (void)markUnwritableOthers(*m_ck, *m_resolved, m_plan); // a source that cannot be read fails the export itself, with its error
    } else {
        m_resolved.reset();
        m_resolveError = rp.error().what.isEmpty() ? rp.error().message()
                                                   : rp.error().where + QStringLiteral(": ") + rp.error().what;
    }
    const int keysBefore = m_preview->keyCount();
    m_preview->setPlan(m_ck, m_plan, all ? all->tensors : std::vector<PlannedTensor> {}, m_resolved);
    if (keysBefore != m_preview->keyCount() || keysBefore == 0) {
        m_previewView->expandToDepth(0);
        // The output keys take what is left (a stretched column); a wide shape may take a little more.
        const int shape = ExportPreviewTreeModel::ShapeColumn;
        m_previewView->setColumnWidth(shape,
            std::max(m_previewView->columnWidth(shape),
                std::min(fontMetrics().horizontalAdvance(QStringLiteral("[32000, 4096, 3]")) + 16,
                    static_cast<QAbstractItemView*>(m_previewView)->sizeHintForColumn(shape))));
    }
    if (m_plan.keepOthers && m_resolved)
        refreshOthers(m_resolved->others, true);
    else
        refreshOthers(all ? all->others : std::vector<PlannedOther> {}, false);
    const QStringList warnings = m_resolved && m_plan.keepOthers ? m_resolved->warnings : QStringList();
    QStringList shownWarnings = warnings.mid(0, 4);
    if (warnings.size() > 4)
        shownWarnings << tr("… and %1 more").arg(warnings.size() - 4);
    m_warnings->setText(shownWarnings.join(QLatin1Char('\n')));
    m_warnings->setVisible(!warnings.isEmpty());

    if (m_resolved) {
        const ResolvedPlan& r = *m_resolved;
        const StateDictRef* sd = nullptr;
        for (const auto& s : m_sem->stateDicts)
            if (s.path == r.statePath)
                sd = &s;
        const int total = sd ? int(sd->entries.size()) : m_preview->keyCount();
        int renamed = 0, cast = 0;
        for (const auto& t : r.tensors) {
            renamed += t.outputKey != t.sourceKey ? 1 : 0;
            cast += t.outputDtype != m_ck->tensors[size_t(t.tensor)].dtype ? 1 : 0;
        }
        QString text = tr("%1 of %2 tensors of %3%4, %5")
                           .arg(r.tensors.size())
                           .arg(total)
                           .arg(pathText(r.statePath), r.flattened ? tr(" (flattened)") : QString(),
                               formatBytes(r.totalBytes));
        if (renamed)
            text += tr(" · %1 renamed").arg(renamed);
        if (cast)
            text += tr(" · %1 cast to %2").arg(cast).arg(dtypeName(*m_plan.castTo));
        if (m_plan.maxShardSize > 0 && r.totalBytes > m_plan.maxShardSize)
            text += tr(" · about %1 shards of at most %2")
                        .arg((r.totalBytes + m_plan.maxShardSize - 1) / m_plan.maxShardSize)
                        .arg(formatBytes(m_plan.maxShardSize));
        if (m_preview->collisions())
            text += tr(" · <span style=\"color:#b3261e\"><b>%1 keys collide</b></span>").arg(m_preview->collisions());
        m_summary->setText(text);
        // How many values the cast overflows, counted from the data before anything is written.
        if (cast && r.errors.isEmpty()) {
            m_countingOverflow = true;
            m_overflowLabel->setText(
                tr("Counting values the cast to %1 would overflow…").arg(dtypeName(*m_plan.castTo)));
            const ResolvedPlan plan = r;
            const CheckpointPtr ck = m_ck;
            m_overflowTask->start<Expected<std::int64_t>>(
                [ck, plan](const std::atomic<bool>& cancel) { return countCastOverflow(*ck, plan, &cancel); },
                [this](Expected<std::int64_t> n) {
                    m_countingOverflow = false;
                    if (!n) {
                        m_overflowLabel->setText(tr("Cannot count overflowing values: %1").arg(n.error().message()));
                    } else {
                        m_overflow = *n;
                        const QString to = m_plan.castTo ? dtypeName(*m_plan.castTo) : QString();
                        m_overflowLabel->setText(
                            *n ? tr(
                                "<span style=\"color:#b3261e\"><b>%1 finite values would overflow to ±inf</b> in %2 "
                                "(beyond its largest value)</span>")
                                     .arg(QLocale().toString(qlonglong(*n)), to)
                               : tr("<span style=\"color:#2e7d32\">No value overflows in %1.</span>").arg(to));
                    }
                    emit overflowCounted();
                });
        } else {
            m_overflowLabel->setText(
                cast ? QString() : tr("<span style=\"color:gray\">No cast: values are copied as they are.</span>"));
        }
    } else {
        m_summary->setText(tr("Nothing to preview"));
        m_overflowLabel->clear();
    }
    const QStringList bad = problems();
    QStringList shown = bad.mid(0, 6);
    if (bad.size() > 6)
        shown << tr("… and %1 more").arg(bad.size() - 6);
    m_problems->setText(shown.join(QLatin1Char('\n')));
    m_problems->setVisible(!bad.isEmpty());
    updateButtons();
    emit previewUpdated();
}

void ExportDialog::refreshOthers(const std::vector<PlannedOther>& others, bool keeping)
{
    m_othersView->clear();
    QList<QTreeWidgetItem*> items;
    int kept = 0;
    for (const PlannedOther& o : others) {
        QString where = pathText(o.path);
        if (keeping && !o.outputKey.isEmpty() && o.outputKey != o.path.join(QLatin1Char('.')))
            where += QStringLiteral(" → ") + o.outputKey;
        const bool written = keeping && o.kept;
        kept += written ? 1 : 0;
        const QString state = written ? tr("kept")
            : !keeping                ? tr("no (not kept)")
                                      : tr("no: %1").arg(o.why);
        auto* item = new QTreeWidgetItem({ where, o.summary, state });
        item->setToolTip(0, where);
        item->setToolTip(1, o.summary);
        item->setToolTip(2, state);
        if (!written)
            for (int c = 0; c < 3; ++c)
                item->setForeground(c, QColor(128, 128, 128));
        if (keeping && !o.kept)
            item->setForeground(2, QColor(179, 38, 30));
        items << item;
    }
    m_othersView->addTopLevelItems(items);
    m_othersView->resizeColumnToContents(0);
    if (m_othersView->columnWidth(0) > 320)
        m_othersView->setColumnWidth(0, 320);
    if (others.empty())
        m_othersNote->setText(tr("No non-tensor entries beside or inside the exported tensors."));
    else if (!keeping)
        m_othersNote->setText(
            tr("Non-tensor entries: %1, not written (check \"Keep non-tensor entries\" to keep them).")
                .arg(others.size()));
    else
        m_othersNote->setText(tr("%1 of %2 non-tensor entries written.").arg(kept).arg(others.size()));
}

QStringList ExportDialog::problems() const
{
    QStringList out;
    if (!m_resolveError.isEmpty())
        out << m_resolveError;
    if (m_resolved)
        out << m_resolved->errors;
    const QString shard = m_shard->text().trimmed();
    if (!shard.isEmpty() && parseSize(shard) <= 0)
        out << tr("Shard size \"%1\" is not a size").arg(shard);
    return out;
}

QString ExportDialog::summaryText() const
{
    QStringList parts { m_summary->text(), m_overflowLabel->text(),
        m_problems->isHidden() ? QString() : m_problems->text() };
    parts.removeAll(QString());
    return parts.join(QLatin1Char('\n'));
}

void ExportDialog::updateButtons()
{
    m_export->setEnabled(!m_exporting && m_resolved && problems().isEmpty() && !m_output->text().trimmed().isEmpty());
}

void ExportDialog::setOutputPath(const QString& path)
{
    m_output->setText(path);
    m_outputByUser = true;
    updateButtons();
}

QString ExportDialog::outputPath() const
{
    return m_output->text().trimmed();
}

void ExportDialog::browseOutput()
{
    const QString filter = m_plan.format == ExportFormat::Safetensors ? tr("safetensors (*.safetensors)")
                                                                      : tr("torch (*.pth *.pt *.bin)");
    const QString path = QFileDialog::getSaveFileName(this, tr("Export to"), outputPath(), filter);
    if (!path.isEmpty())
        setOutputPath(path);
}

bool ExportDialog::saveRecipe(const QString& path, QString* error) const
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(m_plan.toJson()).toJson(QJsonDocument::Indented)) < 0
        || !f.commit()) {
        if (error)
            *error = f.errorString();
        return false;
    }
    addRecentRecipe(path);
    return true;
}

bool ExportDialog::loadRecipe(const QString& path, QString* error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = f.errorString();
        return false;
    }
    QJsonParseError parse;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &parse);
    if (!doc.isObject()) {
        if (error)
            *error = parse.errorString();
        return false;
    }
    auto plan = ExportPlan::fromJson(doc.object());
    if (!plan) {
        if (error)
            *error = plan.error().what;
        return false;
    }
    pushPlan(*plan, NoMerge, tr("Load recipe %1").arg(QFileInfo(path).fileName()));
    addRecentRecipe(path);
    rebuildRecentMenu();
    return true;
}

void ExportDialog::saveRecipeDialog()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save export recipe"), QFileInfo(m_ck->path).absolutePath(), tr("Recipes (*.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!saveRecipe(path, &error))
        m_resultLabel->setText(
            tr("<span style=\"color:#b3261e\">Cannot save the recipe: %1</span>").arg(error.toHtmlEscaped()));
    else
        m_resultLabel->setText(tr("Recipe saved to %1").arg(path.toHtmlEscaped()));
    rebuildRecentMenu();
}

void ExportDialog::loadRecipeDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Load export recipe"), QFileInfo(m_ck->path).absolutePath(), tr("Recipes (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!loadRecipe(path, &error))
        m_resultLabel->setText(
            tr("<span style=\"color:#b3261e\">Cannot load the recipe: %1</span>").arg(error.toHtmlEscaped()));
}

bool ExportDialog::startExport()
{
    refreshPreview(); // what is written is what the preview shows now
    if (m_exporting || !m_resolved || !problems().isEmpty() || outputPath().isEmpty())
        return false;
    QSettings().setValue(lastRecipeKey(), QJsonDocument(m_plan.toJson()).toJson(QJsonDocument::Compact));
    m_exporting = true;
    m_result.reset();
    const quint64 generation = ++m_exportGeneration;
    m_progress->setValue(0);
    m_progress->setVisible(true);
    m_cancel->setVisible(true);
    m_resultLabel->setText(tr("Exporting…"));
    updateButtons();
    const CheckpointPtr ck = m_ck;
    const ResolvedPlan rp = *m_resolved;
    const ExportPlan plan = m_plan;
    const QString out = outputPath();
    const double total = double(std::max<std::int64_t>(1, rp.totalBytes));
    m_exportCancel = std::make_shared<std::atomic<bool>>(false);
    m_exportTask->start<Expected<ExportResult>>(
        [this, ck, rp, plan, out, total, generation, cancel = m_exportCancel](const std::atomic<bool>&) {
            QElapsedTimer clock;
            clock.start();
            qint64 last = -1000;
            return runExport(*ck, rp, plan, out,
                [&](std::int64_t done) {
                    if (clock.elapsed() - last < 50)
                        return;
                    last = clock.elapsed();
                    const int permille = int(std::min(1.0, double(done) / total) * 1000);
                    QMetaObject::invokeMethod(
                        this,
                        [this, generation, permille] {
                            if (generation == m_exportGeneration)
                                m_progress->setValue(permille);
                        },
                        Qt::QueuedConnection);
                },
                cancel.get());
        },
        [this](Expected<ExportResult> r) {
            m_exporting = false;
            m_progress->setVisible(false);
            m_cancel->setVisible(false);
            m_cancel->setEnabled(true);
            if (!r && m_exportCancel && m_exportCancel->load()) {
                m_resultText = tr("Cancelled; nothing was written.");
                m_resultLabel->setText(m_resultText);
                updateButtons();
                emit exportFinished(false);
                return;
            }
            if (!r) {
                m_resultText = tr("Export failed: %1. Nothing was written.").arg(r.error().message());
                m_resultLabel->setText(
                    QStringLiteral("<span style=\"color:#b3261e\">%1</span>").arg(m_resultText.toHtmlEscaped()));
                updateButtons();
                emit exportFinished(false);
                return;
            }
            m_result = *r;
            QStringList names;
            for (const QString& f : r->files)
                names << QFileInfo(f).fileName();
            m_resultText = tr("Wrote %1 in %2 file(s): %3")
                               .arg(formatBytes(r->bytes))
                               .arg(r->files.size())
                               .arg(names.join(QStringLiteral(", ")));
            if (r->overflow)
                m_resultText += tr("; %1 values overflowed to inf").arg(QLocale().toString(qlonglong(r->overflow)));
            if (!r->warnings.isEmpty())
                m_resultText += QStringLiteral("; ") + r->warnings.join(QStringLiteral("; "));
            m_resultLabel->setText(
                QStringLiteral("<span style=\"color:#2e7d32\">%1</span>").arg(m_resultText.toHtmlEscaped()));
            m_resultLabel->setToolTip(r->files.join(QLatin1Char('\n')));
            updateButtons();
            emit exportFinished(true);
        });
    return true;
}

void ExportDialog::cancelExport()
{
    if (!m_exporting || !m_exportCancel)
        return;
    // runExport stops between chunks and removes what it had written; its answer says whether it finished first.
    m_exportCancel->store(true);
    m_cancel->setEnabled(false);
    m_resultLabel->setText(tr("Cancelling…"));
}

void ExportDialog::reject()
{
    // Closing stops a running export: runExport returns promptly once asked and removes what it wrote.
    if (m_exporting && m_exportCancel) {
        m_exportCancel->store(true);
        m_exportTask->stop();
        m_exporting = false;
    }
    QDialog::reject();
}

QString ExportDialog::resultText() const
{
    return m_resultText;
}

} // namespace ckpt
