#include "widgets/mainwindow.h"
#include "widgets/scriptcodeview.h"

#include "model/layerprofile.h"
#include "model/modeloverview.h"
#include "model/moduletreemodel.h"
#include "model/objecttreemodel.h"
#include "model/safety.h"
#include "model/semantic.h"
#include "model/statsjob.h"
#include "model/summary.h"
#include "model/tensornames.h"
#include "widgets/aboutdialog.h"
#include "widgets/checkpointload.h"
#include "widgets/comparewindow.h"
#include "widgets/detailsview.h"
#include "widgets/exportdialog.h"
#include "widgets/filewatcher.h"
#include "widgets/histogramview.h"
#include "widgets/safetybanner.h"
#include "widgets/findingsbanner.h"
#include "widgets/layerplot.h"
#include "widgets/logdialog.h"
#include "widgets/modelpage.h"
#include "widgets/modulepane.h"
#include "widgets/recentfiles.h"
#include "widgets/theme.h"
#include "widgets/treefilterproxy.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

#include <optional>

namespace ckpt {
namespace {

constexpr QLatin1StringView kAutoStatsKey("computeStatisticsOnOpen");
constexpr QLatin1StringView kGeometryKey("window/geometry");
constexpr QLatin1StringView kSplittersKey("window/splitters/");
// A new window placed on top of another one exactly would look like nothing opened.
constexpr int kCascade = 32;

QString& logFilePath()
{
    static QString path;
    return path;
}

// The platform's bindings for a standard key plus the one every desktop user expects: platform themes differ
// (the offscreen and some X11 themes bind Close to Ctrl+F4 only and Quit to nothing).
QList<QKeySequence> keys(QKeySequence::StandardKey standard, const QKeySequence& expected)
{
    QList<QKeySequence> out { expected };
    for (const QKeySequence& k : QKeySequence::keyBindings(standard))
        if (!out.contains(k))
            out << k;
    return out;
}

// The desktop theme's icon where there is one, the style's (drawn for the screen's scale) otherwise.
QIcon themedIcon(const char* name, QStyle::StandardPixmap fallback)
{
    return QIcon::fromTheme(QString::fromLatin1(name), QApplication::style()->standardIcon(fallback));
}

// Expanding every match of a filter that hits a million-row state dict would freeze the view; past this many
// revealed rows the rest stays collapsed and the user expands what they need.
constexpr int kFilterRevealBudget = 2000;
// Statistics results handed to the models per turn of the event loop (see statsArrived).
constexpr int kStatsSlice = 1000;
// A root with more entries than this is a plain state dict: showing its entries is enough.
constexpr int kSmallRoot = 64;

std::string utf8(const QString& s)
{
    return s.toStdString();
}

std::optional<QString> firstLocalFile(const QMimeData* mime)
{
    if (!mime || !mime->hasUrls())
        return std::nullopt;
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile())
            return url.toLocalFile();
    return std::nullopt;
}

QString rowText(const QModelIndex& index)
{
    QStringList cells;
    for (int c = 0; c < index.model()->columnCount(index.parent()); ++c)
        cells << index.siblingAtColumn(c).data().toString();
    return cells.join(QLatin1Char('\t'));
}

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_model(new ObjectTreeModel(this))
    , m_proxy(new TreeFilterProxy(this))
    , m_moduleModel(new ModuleTreeModel(this))
    , m_stats(new StatsJob(this))
{
    setWindowTitle(tr("Checkpoint Lens"));
    setAcceptDrops(true);
    resize(1280, 800);
    m_proxy->setSourceModel(m_model);

    m_view = new QTreeView;
    m_view->setObjectName(QStringLiteral("objectTree"));
    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    // The end of a key ("...attn.out_proj.weight") tells rows apart better than its start.
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    auto* header = m_view->header();
    header->setStretchLastSection(true);
    header->setMinimumSectionSize(48);
    // Fitting columns measures this many rows, not all of a 60,000-key state dict (1000 by default: 25 ms per fit).
    header->setResizeContentsPrecision(256);
    // File order first; a third click on a header goes back to it.
    header->setSortIndicatorClearable(true);
    header->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);

    m_filter = new QLineEdit;
    m_filter->setObjectName(QStringLiteral("filter"));
    m_filter->setPlaceholderText(tr("Filter keys (Ctrl+F); * and ? are wildcards"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setAcceptDrops(false);
    auto* clearFilter = new QAction(m_filter);
    clearFilter->setShortcut(Qt::Key_Escape);
    clearFilter->setShortcutContext(Qt::WidgetShortcut);
    connect(clearFilter, &QAction::triggered, m_filter, &QLineEdit::clear);
    m_filter->addAction(clearFilter);
    m_filterNote = new QLabel(tr("No key matches"));
    m_filterNote->setVisible(false);
    // Typing re-filters after a short pause so a big tree is not filtered once per keystroke.
    m_filterTimer = new QTimer(this);
    m_filterTimer->setSingleShot(true);
    m_filterTimer->setInterval(150);
    connect(m_filter, &QLineEdit::textChanged, m_filterTimer, qOverload<>(&QTimer::start));
    connect(m_filter, &QLineEdit::returnPressed, this, &MainWindow::applyFilter);
    connect(m_filterTimer, &QTimer::timeout, this, &MainWindow::applyFilter);

    auto* treePane = new QWidget;
    auto* treeLayout = new QVBoxLayout(treePane);
    treeLayout->setContentsMargins(0, 0, 0, 0);
    treeLayout->setSpacing(4);
    auto* filterRow = new QHBoxLayout;
    filterRow->setContentsMargins(4, 4, 4, 0);
    filterRow->addWidget(m_filter, 1);
    filterRow->addWidget(m_filterNote);
    treeLayout->addLayout(filterRow);
    treeLayout->addWidget(m_view);

    m_details = new DetailsView;
    m_details->setObjectName(QStringLiteral("details"));

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(treePane);
    splitter->addWidget(m_details);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 0);
    splitter->setChildrenCollapsible(false);
    splitter->setSizes({ 520, 190 });
    splitter->setObjectName(QStringLiteral("objectsSplitter"));

    auto* placeholder = new QLabel(tr("<h3>No checkpoint open</h3>"
                                      "<p>File &gt; Open (Ctrl+O), File &gt; Open Recent,<br>"
                                      "or drop a .pth, .pt, .ckpt, .bin or .safetensors file here.</p>"));
    placeholder->setAlignment(Qt::AlignCenter);
    placeholder->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));

    m_objectsPage = splitter;
    m_modelPage = new ModelPage(m_moduleModel, m_stats);
    m_modelPage->setObjectName(QStringLiteral("modelPage"));
    installHistogram();
    m_layerPlot = new LayerPlot;
    m_layerPlot->setObjectName(QStringLiteral("layerPlot"));
    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("tabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_modelPage, tr("Model"));
    m_tabs->addTab(m_layerPlot, tr("Layers"));
    m_tabs->addTab(m_objectsPage, tr("Objects"));
    m_tabs->setTabToolTip(0, tr("The model's state dict as a module hierarchy, with statistics"));
    m_tabs->setTabToolTip(1, tr("Parameters and L2 norm per block of the repeated layers"));
    m_tabs->setTabToolTip(2, tr("Everything in the file, as the pickle holds it"));
    m_code = new ScriptCodeView;
    m_code->setObjectName(QStringLiteral("codeView"));
    m_tabs->addTab(m_code, tr("Code"));
    m_tabs->setTabToolTip(3, tr("The Python code a TorchScript archive carries"));
    m_tabs->setTabVisible(3, false);

    m_stack = new QStackedWidget;
    m_stack->addWidget(placeholder);
    m_stack->addWidget(m_tabs);
    m_findings = new FindingsBanner;
    m_safety = new SafetyBanner;

    m_errorBar = new QFrame;
    m_errorBar->setObjectName(QStringLiteral("errorBar"));
    m_errorLabel = new QLabel;
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setTextFormat(Qt::RichText);
    m_errorLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* closeError = new QToolButton;
    closeError->setAutoRaise(true);
    closeError->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    closeError->setToolTip(tr("Dismiss"));
    connect(closeError, &QToolButton::clicked, this, &MainWindow::hideError);
    auto* errorLayout = new QHBoxLayout(m_errorBar);
    errorLayout->setContentsMargins(10, 6, 6, 6);
    errorLayout->addWidget(m_errorLabel, 1);
    errorLayout->addWidget(closeError, 0, Qt::AlignTop);
    m_errorBar->setVisible(false);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_errorBar);
    layout->addWidget(m_safety);
    layout->addWidget(m_findings);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    m_statusLabel = new QLabel;
    m_statusLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addWidget(m_statusLabel, 1);
    m_statusLabel->setText(tr("Open a checkpoint (File > Open, or drop a file here)"));
    m_statsLabel = new QLabel;
    m_statsBar = new QProgressBar;
    m_statsBar->setObjectName(QStringLiteral("statsProgress"));
    m_statsBar->setMaximumWidth(160);
    m_statsBar->setMaximumHeight(statusBar()->fontMetrics().height() + 2);
    m_statsBar->setTextVisible(false);
    m_statsButton = new QToolButton;
    m_statsButton->setObjectName(QStringLiteral("statsButton"));
    m_statsButton->setAutoRaise(true);
    connect(m_statsButton, &QToolButton::clicked, this, [this] {
        if (m_stats->isRunning())
            m_stats->cancel();
        else
            startStatistics();
    });
    m_openLabel = new QLabel;
    m_openBar = new QProgressBar;
    m_openBar->setObjectName(QStringLiteral("openProgress"));
    m_openBar->setRange(0, 0); // parsing reports no steps: a busy indicator
    m_openBar->setMaximumWidth(120);
    m_openBar->setMaximumHeight(statusBar()->fontMetrics().height() + 2);
    m_openBar->setTextVisible(false);
    m_openCancel = new QToolButton;
    m_openCancel->setObjectName(QStringLiteral("openCancel"));
    m_openCancel->setAutoRaise(true);
    m_openCancel->setText(tr("Cancel"));
    m_openCancel->setToolTip(tr("Stop opening; what the window showed stays"));
    connect(m_openCancel, &QToolButton::clicked, this, &MainWindow::cancelOpening);
    for (QWidget* widget : std::initializer_list<QWidget*> { m_openLabel, m_openBar, m_openCancel }) {
        statusBar()->addPermanentWidget(widget);
        widget->setVisible(false);
    }
    statusBar()->addPermanentWidget(m_statsLabel);
    statusBar()->addPermanentWidget(m_statsBar);
    statusBar()->addPermanentWidget(m_statsButton);
    m_statsLabel->setVisible(false);
    m_statsBar->setVisible(false);
    m_statsButton->setVisible(false);
    m_profileTimer = new QTimer(this);
    m_profileTimer->setSingleShot(true);
    m_profileTimer->setInterval(200);
    connect(m_profileTimer, &QTimer::timeout, this, &MainWindow::updateLayerProfile);
    connect(m_stats, &StatsJob::resultsReady, this, &MainWindow::statsArrived);
    connect(m_stats, &StatsJob::progress, this, &MainWindow::statsProgress);
    connect(m_stats, &StatsJob::finished, this, &MainWindow::statsFinished);
    connect(m_layerPlot, &LayerPlot::blockChosen, this, &MainWindow::updateLayerProfile);
    connect(m_layerPlot, &LayerPlot::layerActivated, this, [this](int node) {
        m_tabs->setCurrentWidget(m_modelPage);
        m_modelPage->pane()->selectNode(node);
    });

    applyNoticeColors();
    connect(ThemeSignals::instance(), &ThemeSignals::changed, this, &MainWindow::applyNoticeColors);
    m_watcher = new FileWatcher(this);
    connect(m_watcher, &FileWatcher::changed, this, &MainWindow::changedOnDisk);

    createMenus();
    restoreLayout();

    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::showDetails);
    connect(m_view, &QTreeView::customContextMenuRequested, this, &MainWindow::showContextMenu);
    connect(m_view, &QTreeView::expanded, this, [this] {
        // Coalesced: expanding a filter's matches emits this once per row.
        if (!m_growPending) {
            m_growPending = true;
            QTimer::singleShot(0, this, &MainWindow::growKeyColumn);
        }
    });
    connect(header, &QHeaderView::sectionResized, this, [this](int section) {
        if (!m_autoSizing && section == ObjectTreeModel::KeyColumn)
            m_keyWidthByUser = true;
    });
}

MainWindow::~MainWindow()
{
    // Loads still running hand their result to this window through a QPointer; their QThread objects are children.
    m_openGeneration = ~quint64(0);
    for (QThread* thread : findChildren<QThread*>())
        thread->wait();
}

void MainWindow::createMenus()
{
    const auto named = [](QAction* action, const char* name, const QList<QKeySequence>& shortcuts = {}) {
        action->setObjectName(QString::fromLatin1(name));
        if (!shortcuts.isEmpty())
            action->setShortcuts(shortcuts);
        return action;
    };
    auto* file = menuBar()->addMenu(tr("&File"));
    named(file->addAction(themedIcon("window-new", QStyle::SP_FileIcon), tr("&New Window"), this, [] { newWindow(); }),
        "actionNewWindow", keys(QKeySequence::New, QKeySequence(Qt::CTRL | Qt::Key_N)));
    named(file->addAction(themedIcon("document-open", QStyle::SP_DialogOpenButton), tr("&Open..."), this,
              &MainWindow::openDialog),
        "actionOpen", keys(QKeySequence::Open, QKeySequence(Qt::CTRL | Qt::Key_O)));
    named(file->addAction(themedIcon("folder-open", QStyle::SP_DirOpenIcon), tr("Open &Folder..."), this,
              &MainWindow::openFolderDialog),
        "actionOpenFolder");
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    // Files deleted since the list was written leave the menu when it is opened.
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
    named(file->addAction(themedIcon("view-refresh", QStyle::SP_BrowserReload), tr("&Reload"), this, [this] { reload(); }),
        "actionReload", keys(QKeySequence::Refresh, QKeySequence(Qt::Key_F5)));
    named(file->addAction(themedIcon("document-close", QStyle::SP_DialogCloseButton), tr("&Close"), this,
              &MainWindow::closeFileOrWindow),
        "actionClose", keys(QKeySequence::Close, QKeySequence(Qt::CTRL | Qt::Key_W)));
    file->addSeparator();
    file->addAction(tr("Co&mpare With..."), this, &MainWindow::compareWithDialog);
    file->addAction(tr("&Export..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::openExportDialog);
    file->addAction(tr("&Safety Report..."), this, [this] { m_safety->showDetails(); });
    file->addSeparator();
    // Every window closes as the user would close it (each saves its layout), then the application ends.
    named(file->addAction(themedIcon("application-exit", QStyle::SP_DialogCloseButton), tr("&Quit"), qApp,
              &QApplication::closeAllWindows),
        "actionQuit", keys(QKeySequence::Quit, QKeySequence(Qt::CTRL | Qt::Key_Q)));
    rebuildRecentMenu();

    auto* edit = menuBar()->addMenu(tr("&Edit"));
    auto* copy = edit->addAction(tr("&Copy Row"), QKeySequence::Copy, this, [this] {
        const QModelIndex current = m_view->currentIndex();
        if (current.isValid())
            QGuiApplication::clipboard()->setText(rowText(current));
    });
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_view->addAction(copy);
    auto* find = edit->addAction(tr("&Find Key"), QKeySequence::Find, this, [this] {
        if (m_tabs->currentWidget() == m_modelPage) {
            m_modelPage->pane()->focusSearch();
            return;
        }
        m_tabs->setCurrentWidget(m_objectsPage);
        m_filter->setFocus(Qt::ShortcutFocusReason);
        m_filter->selectAll();
    });
    named(find, "actionFind", keys(QKeySequence::Find, QKeySequence(Qt::CTRL | Qt::Key_F)));

    auto* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Collapse All"), this, [this] { m_view->collapseAll(); });
    view->addAction(tr("&Default Expansion"), this, [this] {
        m_view->collapseAll();
        expandDefault();
    });
    view->addAction(tr("&File Order"), this, [this] { m_view->header()->setSortIndicator(-1, Qt::AscendingOrder); });
    view->addSeparator();
    auto* theme = view->addMenu(tr("&Theme"));
    theme->setObjectName(QStringLiteral("themeMenu"));
    m_themeGroup = new QActionGroup(this);
    for (auto [choice, label] : { std::pair { ThemeChoice::System, tr("&System") },
             std::pair { ThemeChoice::Light, tr("&Light") }, std::pair { ThemeChoice::Dark, tr("&Dark") } }) {
        auto* action = theme->addAction(label);
        action->setCheckable(true);
        action->setData(themeName(choice));
        m_themeGroup->addAction(action);
        connect(action, &QAction::triggered, this, [choice] {
            saveTheme(choice);
            applyTheme(choice);
        });
    }
    // The theme is the application's: another window may have changed it since this menu was last shown.
    const auto checkTheme = [this] {
        for (QAction* action : m_themeGroup->actions())
            action->setChecked(action->data().toString() == themeName(currentTheme()));
    };
    connect(theme, &QMenu::aboutToShow, this, checkTheme);
    checkTheme();

    auto* stats = menuBar()->addMenu(tr("&Statistics"));
    stats->addAction(tr("&Compute All"), this, &MainWindow::startStatistics);
    stats->addAction(tr("C&ancel"), this, [this] { m_stats->cancel(); });
    stats->addSeparator();
    m_autoStats = stats->addAction(tr("Compute on &Open"));
    m_autoStats->setCheckable(true);
    m_autoStats->setChecked(QSettings().value(kAutoStatsKey, true).toBool());
    connect(m_autoStats, &QAction::toggled, this, [](bool on) { QSettings().setValue(kAutoStatsKey, on); });

    auto* help = menuBar()->addMenu(tr("&Help"));
    named(help->addAction(themedIcon("text-x-generic", QStyle::SP_FileDialogDetailedView), tr("Show &Log"), this,
              &MainWindow::showLog),
        "actionShowLog");
    named(help->addAction(themedIcon("help-about", QStyle::SP_MessageBoxInformation), tr("&About Checkpoint Lens"), this,
              &MainWindow::showAbout),
        "actionAbout");
}

QString MainWindow::errorText() const
{
    // isHidden, not isVisible: the banner counts as shown even while the window itself is not (tests).
    return m_errorBar->isHidden() ? QString() : m_errorPlain;
}

QString MainWindow::detailsText() const
{
    return m_details->toPlainText();
}

QString MainWindow::statusText() const
{
    return m_statusLabel->text();
}

QString MainWindow::moduleDetailsText() const
{
    return m_modelPage->detailsText();
}

QString MainWindow::findingsText() const
{
    return m_findings->text();
}

QString MainWindow::statsText() const
{
    return m_statsLabel->isHidden() ? QString() : m_statsLabel->text();
}

QString MainWindow::noticeText() const
{
    return statusBar()->currentMessage();
}

void MainWindow::showError(const QString& title, const QString& message)
{
    m_errorPlain = title + QLatin1Char('\n') + message;
    m_errorLabel->setText(QStringLiteral("<b>%1</b><br>%2").arg(title.toHtmlEscaped(), message.toHtmlEscaped()));
    m_errorBar->setVisible(true);
}

void MainWindow::hideError()
{
    m_errorBar->setVisible(false);
    m_errorPlain.clear();
}

bool MainWindow::openFile(const QString& path)
{
    cancelOpening();
    return install(loadCheckpoint(path), OpenReason::User);
}

void MainWindow::openInBackground(const QString& path, OpenReason reason)
{
    const quint64 generation = ++m_openGeneration;
    m_openingPath = QFileInfo(path).absoluteFilePath();
    m_openLabel->setText(reason == OpenReason::User ? tr("Opening %1…").arg(QFileInfo(path).fileName())
                                                    : tr("Reloading %1…").arg(QFileInfo(path).fileName()));
    // Shown only when opening takes long enough to notice; a small file is there before the bar would be.
    QTimer::singleShot(150, this, [this, generation] {
        if (generation == m_openGeneration && isOpening()) {
            m_openLabel->setVisible(true);
            m_openBar->setVisible(true);
            m_openCancel->setVisible(true);
        }
    });
    // The parse cannot be interrupted, so Cancel drops its result instead; the thread ends on its own, and the
    // window waits for its threads before it goes.
    QPointer<MainWindow> self(this);
    QThread* thread = QThread::create([self, path, generation, reason] {
        auto loaded = std::make_shared<LoadedCheckpoint>(loadCheckpoint(path));
        QMetaObject::invokeMethod(
            qApp,
            [self, loaded, generation, reason] {
                if (!self || generation != self->m_openGeneration)
                    return;
                self->finishOpening();
                self->install(std::move(*loaded), reason);
            },
            Qt::QueuedConnection);
    });
    thread->setParent(this);
    connect(thread, &QThread::finished, thread, &QObject::deleteLater);
    thread->start(QThread::LowPriority);
}

bool MainWindow::isOpening() const
{
    return !m_openingPath.isEmpty();
}

void MainWindow::cancelOpening()
{
    if (!isOpening())
        return;
    spdlog::info("stopped opening {}", utf8(m_openingPath));
    ++m_openGeneration;
    finishOpening();
}

void MainWindow::finishOpening()
{
    m_openingPath.clear();
    m_openLabel->setVisible(false);
    m_openBar->setVisible(false);
    m_openCancel->setVisible(false);
}

bool MainWindow::install(LoadedCheckpoint loaded, OpenReason reason)
{
    const QString& absolute = loaded.path;
    const QFileInfo info(absolute);
    QElapsedTimer timer;
    timer.start();
    if (!loaded.checkpoint) {
        const Error& error = loaded.checkpoint.error();
        spdlog::warn("cannot open {}: {}", utf8(absolute), utf8(error.message()));
        showError(reason == OpenReason::User ? tr("Cannot open %1").arg(info.fileName())
                                             : tr("Cannot reload %1; the version shown is the one read before").arg(info.fileName()),
            error.message());
        if (loaded.scan && loaded.scan->verdict == SafetyClass::Dangerous)
            m_safety->setScan(loaded.scan);
        return false;
    }
    // Where the user was stays on a reload: the tab (when the file still has it) and the filter.
    const int tab = reason == OpenReason::User ? -1 : m_tabs->currentIndex();
    hideError();
    const CheckpointPtr checkpoint = *loaded.checkpoint;
    m_summary = std::make_unique<CheckpointSummary>(*loaded.summary);
    m_model->setCheckpoint(checkpoint);
    m_stack->setCurrentIndex(1);

    const std::shared_ptr<const Semantic> sem = loaded.sem;
    m_sem = sem;
    m_names = loaded.names;
    m_stats->setCheckpoint(checkpoint);
    m_moduleModel->setTree(checkpoint, sem);
    m_nonFinite.clear();
    m_nonFiniteCounts.clear();
    // Statistics this session already computed for the file come back at once.
    StatsBatch known;
    for (int t = 0; t < int(checkpoint->tensors.size()); ++t)
        if (const StatsResult* r = m_stats->result(t))
            known.push_back(*r);
    m_modelPage->setFile(checkpoint, sem, *m_summary, std::move(loaded.overview));
    if (!known.empty())
        statsArrived(m_stats->generation(), known);
    m_layerPlot->setBlocks(loaded.blocks);
    updateLayerProfile();
    updateFindings();
    m_safety->setScan(loaded.scan);
    showSelectedHistogram(m_modelPage->pane()->currentNode());
    const bool hasModel = m_moduleModel->rowCount() > 0;
    m_tabs->setTabEnabled(m_tabs->indexOf(m_modelPage), hasModel);
    m_tabs->setTabEnabled(m_tabs->indexOf(m_layerPlot), !loaded.blocks.empty());
    m_tabs->setTabVisible(m_tabs->indexOf(m_code), m_code->setCheckpoint(checkpoint));
    m_tabs->setCurrentWidget(hasModel ? m_modelPage : m_objectsPage);
    if (tab >= 0 && m_tabs->isTabEnabled(tab))
        m_tabs->setCurrentIndex(tab);
    m_statsLabel->setVisible(false);
    m_statsBar->setVisible(false);
    m_statsButton->setVisible(false);
    if (m_autoStats->isChecked())
        startStatistics();
    if (m_proxy->keyFilter().isEmpty())
        expandDefault();
    else
        expandMatches();
    fitColumns();
    m_view->setCurrentIndex(m_proxy->index(0, 0));
    showDetails();

    const CheckpointSummary& s = *m_summary;
    setWindowTitle(tr("%1 - Checkpoint Lens").arg(info.fileName()));
    QStringList status { formatName(s.format),
        s.tensorCount == 1 ? tr("1 tensor") : tr("%1 tensors").arg(QLocale().toString(qlonglong(s.tensorCount))),
        tr("%1 elements").arg(QLocale().toString(qlonglong(s.totalElements))),
        tr("%1 in tensors").arg(formatBytes(s.tensorBytes)), tr("file %1").arg(formatBytes(s.fileSize)) };
    if (s.brokenTensors)
        status << tr("%1 broken").arg(s.brokenTensors);
    if (s.devices != QStringList { QStringLiteral("cpu") } && !s.devices.isEmpty())
        status << tr("saved from %1").arg(s.devices.join(QStringLiteral(", ")));
    if (m_model->truncated())
        status << tr("tree cut at %1 rows").arg(ObjectTreeModel::kMaxNodes);
    m_statusLabel->setText(status.join(QStringLiteral("  ·  ")));
    m_statusLabel->setToolTip(absolute);

    addRecent(absolute);
    m_path = absolute;
    m_watcher->watch(absolute);
    if (reason == OpenReason::ChangedOnDisk)
        statusBar()->showMessage(tr("%1 changed on disk and was reloaded").arg(info.fileName()), 10'000);
    spdlog::info("opened {} ({} tensors) in {} ms ({} ms in the window)", utf8(absolute), s.tensorCount,
        loaded.milliseconds + timer.elapsed(), timer.elapsed());
    return true;
}

void MainWindow::reload()
{
    if (!m_path.isEmpty())
        openInBackground(m_path, OpenReason::Reload);
}

void MainWindow::changedOnDisk(const QString& path)
{
    if (path != m_path)
        return;
    spdlog::info("{} changed on disk; reloading", utf8(path));
    openInBackground(path, OpenReason::ChangedOnDisk);
}

void MainWindow::closeFile()
{
    cancelOpening();
    m_watcher->watch({});
    m_path.clear();
    m_stats->setCheckpoint(nullptr);
    m_histogram->clear();
    m_modelPage->clear();
    m_moduleModel->setTree(nullptr, nullptr);
    m_model->setCheckpoint(nullptr);
    m_code->setCheckpoint(nullptr);
    m_tabs->setTabVisible(m_tabs->indexOf(m_code), false);
    m_layerPlot->setBlocks({});
    m_layerPlot->setProfile({});
    m_sem.reset();
    m_names.reset();
    m_summary.reset();
    m_nonFinite.clear();
    m_nonFiniteCounts.clear();
    m_findings->setFindings({});
    m_safety->clear();
    m_details->showNothing();
    hideError();
    m_statsLabel->setVisible(false);
    m_statsBar->setVisible(false);
    m_statsButton->setVisible(false);
    m_stack->setCurrentIndex(0);
    setWindowTitle(tr("Checkpoint Lens"));
    m_statusLabel->setText(tr("Open a checkpoint (File > Open, or drop a file here)"));
    m_statusLabel->setToolTip({});
}

bool MainWindow::isEmpty() const
{
    return m_path.isEmpty() && m_errorBar->isHidden() && !isOpening();
}

void MainWindow::closeFileOrWindow()
{
    if (isEmpty())
        close();
    else
        closeFile();
}

MainWindow* MainWindow::newWindow()
{
    auto* window = new MainWindow;
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->show();
    return window;
}

MainWindow* MainWindow::showInWindow(const QString& path)
{
    const QString absolute = path.isEmpty() ? QString() : QFileInfo(path).absoluteFilePath();
    MainWindow* target = nullptr;
    MainWindow* empty = nullptr;
    for (QWidget* widget : QApplication::topLevelWidgets()) {
        auto* window = qobject_cast<MainWindow*>(widget);
        if (!window || !window->isVisible())
            continue;
        if (!absolute.isEmpty() && (window->currentPath() == absolute || window->m_openingPath == absolute))
            target = window;
        else if (window->isEmpty() && !empty)
            empty = window;
    }
    if (!target) {
        target = empty && !absolute.isEmpty() ? empty : newWindow();
        if (!absolute.isEmpty())
            target->openInBackground(absolute);
    }
    target->show();
    target->setWindowState((target->windowState() & ~Qt::WindowMinimized) | Qt::WindowActive);
    target->raise();
    target->activateWindow();
    return target;
}

void MainWindow::setLogFile(const QString& path)
{
    logFilePath() = path;
}

QString MainWindow::logFile()
{
    return logFilePath();
}

AboutDialog* MainWindow::showAbout()
{
    auto* dialog = new AboutDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

LogDialog* MainWindow::showLog()
{
    auto* dialog = new LogDialog(logFile(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void MainWindow::applyNoticeColors()
{
    const QString bar = noticeStyleSheet(m_errorBar->objectName(), Notice::Error);
    if (m_errorBar->styleSheet() != bar)
        m_errorBar->setStyleSheet(bar);
    const QString note = QStringLiteral("QLabel { color: %1; }").arg(problemColor());
    if (m_filterNote->styleSheet() != note)
        m_filterNote->setStyleSheet(note);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::saveLayout() const
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    for (const QSplitter* splitter : findChildren<QSplitter*>())
        if (!splitter->objectName().isEmpty())
            settings.setValue(kSplittersKey + splitter->objectName(), splitter->saveState());
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    for (QSplitter* splitter : findChildren<QSplitter*>())
        if (!splitter->objectName().isEmpty())
            splitter->restoreState(settings.value(kSplittersKey + splitter->objectName()).toByteArray());
    if (!restoreGeometry(settings.value(kGeometryKey).toByteArray()))
        return;
    for (QWidget* widget : QApplication::topLevelWidgets())
        if (widget != this && qobject_cast<MainWindow*>(widget) && widget->isVisible() && widget->pos() == pos())
            move(pos() + QPoint(kCascade, kCascade));
}

void MainWindow::openDialog()
{
    const QStringList recent = recentFiles();
    const QString dir = recent.isEmpty() ? QDir::homePath() : QFileInfo(recent.first()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open checkpoint"), dir,
        tr("Checkpoints (*.pth *.pt *.ckpt *.bin *.safetensors *.tar *.json);;All files (*)"));
    if (!path.isEmpty())
        openInBackground(path);
}

void MainWindow::openFolderDialog()
{
    const QStringList recent = recentFiles();
    const QString dir = recent.isEmpty() ? QDir::homePath() : QFileInfo(recent.first()).absolutePath();
    // A sharded set or a training run's folder opens as one checkpoint; which folders can is openCheckpoint's call.
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open folder as one checkpoint"), dir);
    if (!path.isEmpty())
        openInBackground(path);
}

QStringList MainWindow::recentFiles()
{
    return recent::files();
}

void MainWindow::addRecent(const QString& path)
{
    recent::add(path);
    rebuildRecentMenu();
}

void MainWindow::clearRecent()
{
    recent::clear();
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = recent::existingFiles();
    for (qsizetype i = 0; i < recent.size(); ++i) {
        const QString path = recent[i];
        const QFileInfo info(path);
        QString name = info.fileName();
        name.replace(QLatin1Char('&'), QStringLiteral("&&"));
        const QString label = i < 9 ? QStringLiteral("&%1  %2").arg(i + 1).arg(name) : name;
        auto* action = m_recentMenu->addAction(label, this, [this, path] { openInBackground(path); });
        action->setData(path);
        action->setToolTip(path);
        action->setStatusTip(path);
    }
    if (!recent.isEmpty()) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("&Clear Menu"), this, &MainWindow::clearRecent);
    }
    m_recentMenu->setToolTipsVisible(true);
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::applyFilter()
{
    m_filterTimer->stop();
    const QString before = m_proxy->keyFilter();
    m_proxy->setKeyFilter(m_filter->text());
    if (m_proxy->keyFilter() == before)
        return;
    const bool filtering = !m_proxy->keyFilter().isEmpty();
    m_filterNote->setVisible(filtering && m_model->rowCount() > 0 && m_proxy->rowCount() == 0);
    m_view->collapseAll();
    if (filtering)
        expandMatches();
    else
        expandDefault();
    if (m_view->currentIndex().isValid())
        m_view->scrollTo(m_view->currentIndex());
    // A filtered-out ancestor invalidates the current row without currentChanged; the pane must not keep it.
    showDetails();
}

void MainWindow::expandDefault()
{
    const QModelIndex top = m_proxy->index(0, 0);
    if (!top.isValid())
        return;
    m_view->expand(top);
    const int n = m_proxy->rowCount(top);
    if (n > kSmallRoot)
        return;
    // A training checkpoint holds its weights in its biggest entry ("model_state_dict", "state_dict", ...).
    QModelIndex biggest;
    int most = 0;
    for (int r = 0; r < n; ++r) {
        const QModelIndex child = m_proxy->index(r, 0, top);
        const int rows = m_proxy->rowCount(child);
        if (rows > most) {
            most = rows;
            biggest = child;
        }
    }
    if (biggest.isValid())
        m_view->expand(biggest);
}

void MainWindow::expandMatches()
{
    std::vector<QModelIndex> queue;
    for (int r = 0; r < m_proxy->rowCount(); ++r)
        queue.push_back(m_proxy->index(r, 0));
    int revealed = 0;
    for (size_t i = 0; i < queue.size() && revealed < kFilterRevealBudget; ++i) {
        const int rows = m_proxy->rowCount(queue[i]);
        if (rows == 0)
            continue;
        m_view->expand(queue[i]);
        revealed += rows;
        for (int r = 0; r < rows; ++r)
            queue.push_back(m_proxy->index(r, 0, queue[i]));
    }
}

void MainWindow::fitColumns()
{
    m_autoSizing = true;
    for (int c : { ObjectTreeModel::TypeColumn, ObjectTreeModel::DTypeColumn, ObjectTreeModel::ShapeColumn,
             ObjectTreeModel::ElementsColumn, ObjectTreeModel::BytesColumn }) {
        m_view->resizeColumnToContents(c);
        m_view->setColumnWidth(c, m_view->columnWidth(c) + 12);
    }
    // Long class names ("torch.torch_version.TorchVersion") are elided rather than given half the window.
    m_view->setColumnWidth(
        ObjectTreeModel::TypeColumn, std::min(m_view->columnWidth(ObjectTreeModel::TypeColumn), 180));
    m_autoSizing = false;
    if (!m_keyWidthByUser) {
        m_autoSizing = true;
        m_view->setColumnWidth(ObjectTreeModel::KeyColumn, 200);
        m_autoSizing = false;
        growKeyColumn();
    }
}

void MainWindow::growKeyColumn()
{
    m_growPending = false;
    if (m_keyWidthByUser)
        return;
    const int cap = std::max(260, width() * 2 / 5);
    const int wanted = std::min(
        static_cast<const QAbstractItemView*>(m_view)->sizeHintForColumn(ObjectTreeModel::KeyColumn) + 16, cap);
    if (wanted > m_view->columnWidth(ObjectTreeModel::KeyColumn)) {
        m_autoSizing = true;
        m_view->setColumnWidth(ObjectTreeModel::KeyColumn, wanted);
        m_autoSizing = false;
    }
}

void MainWindow::showDetails()
{
    const QModelIndex current = m_proxy->mapToSource(m_view->currentIndex());
    if (!m_model->checkpoint() || !m_summary) {
        m_details->showNothing();
        return;
    }
    // The top row stands for the file itself.
    if (!current.isValid() || !current.parent().isValid()) {
        m_details->showSummary(*m_summary, m_model->truncated());
        return;
    }
    const int tensor = current.siblingAtColumn(ObjectTreeModel::KeyColumn).data(ObjectTreeModel::TensorIndexRole).toInt();
    if (tensor >= 0)
        m_stats->request(tensor);
    const int scroll = m_details->verticalScrollBar()->value();
    m_details->showIndex(*m_model->checkpoint(), current, tensor >= 0 ? m_stats->result(tensor) : nullptr);
    m_details->verticalScrollBar()->setValue(scroll);
}

void MainWindow::startStatistics()
{
    if (!m_stats->checkpoint())
        return;
    m_stats->startAll();
}

void MainWindow::statsArrived(quint64 generation, const StatsBatch& all)
{
    // Thousands of small tensors finish within one delivery; the models and views they update would hold the GUI
    // thread for tens of milliseconds, so a big batch is taken in slices, one per turn of the event loop. A slice
    // of a file no longer shown is dropped.
    if (all.size() > size_t(kStatsSlice)) {
        auto rest = std::make_shared<const StatsBatch>(all.begin() + kStatsSlice, all.end());
        QTimer::singleShot(0, this, [this, generation, rest] {
            if (generation == m_stats->generation())
                statsArrived(generation, *rest);
        });
    }
    const StatsBatch batch = all.size() > size_t(kStatsSlice) ? StatsBatch(all.begin(), all.begin() + kStatsSlice) : all;
    m_moduleModel->setStats(batch);
    bool newNonFinite = false;
    for (const StatsResult& r : batch)
        if (r.stats && r.stats->nan + r.stats->inf > 0
            && std::find(m_nonFinite.begin(), m_nonFinite.end(), r.tensor) == m_nonFinite.end()) {
            m_nonFinite.push_back(r.tensor);
            m_nonFiniteCounts.push_back(r.stats->nan + r.stats->inf);
            newNonFinite = true;
        }
    if (newNonFinite)
        updateFindings();
    m_modelPage->statsArrived(batch);
    if (!m_profileTimer->isActive())
        m_profileTimer->start();
    // The object tree's details follow when the tensor they show is among the new results.
    const int shown = m_proxy->mapToSource(m_view->currentIndex())
                          .siblingAtColumn(ObjectTreeModel::KeyColumn)
                          .data(ObjectTreeModel::TensorIndexRole)
                          .toInt();
    if (shown >= 0 && std::any_of(batch.begin(), batch.end(), [&](const StatsResult& r) { return r.tensor == shown; }))
        showDetails();
}

void MainWindow::statsProgress(int done, int total)
{
    const bool running = m_stats->isRunning();
    m_statsLabel->setText(tr("Statistics %1 / %2").arg(QLocale().toString(done), QLocale().toString(total)));
    m_statsBar->setRange(0, std::max(1, total));
    m_statsBar->setValue(done);
    m_statsLabel->setVisible(running);
    m_statsBar->setVisible(running);
    m_statsButton->setVisible(running);
    m_statsButton->setText(tr("Cancel"));
    m_statsButton->setToolTip(tr("Stop computing statistics; what is known stays"));
}

void MainWindow::statsFinished(bool cancelled)
{
    m_statsBar->setVisible(false);
    if (!cancelled || !m_stats->checkpoint()) {
        m_statsLabel->setVisible(false);
        m_statsButton->setVisible(false);
        updateLayerProfile();
        return;
    }
    m_statsLabel->setText(tr("Statistics stopped at %1 / %2")
                              .arg(QLocale().toString(m_stats->knownCount()), QLocale().toString(m_stats->tensorCount())));
    m_statsLabel->setVisible(true);
    m_statsButton->setText(tr("Resume"));
    m_statsButton->setToolTip(tr("Compute the statistics of the remaining tensors"));
    m_statsButton->setVisible(true);
}

void MainWindow::updateFindings()
{
    std::vector<Finding> findings;
    if (m_sem)
        findings = m_sem->findings;
    if (!m_nonFinite.empty() && m_names)
        findings.push_back(nonFiniteFinding(m_nonFinite, m_nonFiniteCounts, *m_names));
    m_findings->setFindings(findings);
}

void MainWindow::updateLayerProfile()
{
    const ModuleTree* tree = m_moduleModel->tree();
    if (!tree || m_layerPlot->currentBlock() < 0) {
        m_layerPlot->setProfile({});
        return;
    }
    m_layerPlot->setProfile(
        layerProfile(*tree, m_layerPlot->currentBlock(), [this](int tensor) { return m_stats->result(tensor); }));
}

void MainWindow::showContextMenu(const QPoint& pos)
{
    const QModelIndex index = m_view->indexAt(pos);
    if (!index.isValid())
        return;
    QMenu menu(this);
    menu.addAction(tr("Copy Key"), this, [index] {
        QGuiApplication::clipboard()->setText(index.siblingAtColumn(ObjectTreeModel::KeyColumn).data().toString());
    });
    menu.addAction(tr("Copy Path"), this, [index] {
        QGuiApplication::clipboard()->setText(index.siblingAtColumn(ObjectTreeModel::KeyColumn)
                                                  .data(ObjectTreeModel::PathRole)
                                                  .toStringList()
                                                  .join(QLatin1Char('/')));
    });
    menu.addAction(tr("Copy Row"), this, [index] { QGuiApplication::clipboard()->setText(rowText(index)); });
    if (m_proxy->hasChildren(index.siblingAtColumn(0))) {
        menu.addSeparator();
        menu.addAction(
            tr("Expand All Below"), this, [this, index] { m_view->expandRecursively(index.siblingAtColumn(0)); });
    }
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (firstLocalFile(event->mimeData()))
        event->acceptProposedAction();
    else
        event->ignore();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    // Two files dropped at once: compare them.
    QStringList dropped;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile())
            dropped << url.toLocalFile();
    if (dropped.size() >= 2) {
        event->acceptProposedAction();
        openCompare(dropped[0], dropped[1]);
        return;
    }
    const auto path = firstLocalFile(event->mimeData());
    if (!path) {
        event->ignore();
        return;
    }
    event->acceptProposedAction();
    openInBackground(*path);
}

void MainWindow::installHistogram()
{
    // Under the Model tab's details, so the selected tensor's distribution sits beside its statistics; shown for
    // tensors while Details is in front, and only then computed.
    m_histogram = new HistogramView;
    m_histogram->setObjectName(QStringLiteral("histogram"));
    QTabWidget* panel = m_modelPage->panel();
    if (auto* outer = qobject_cast<QSplitter*>(panel->parentWidget())) {
        auto* column = new QSplitter(Qt::Vertical);
        column->setObjectName(QStringLiteral("detailsColumn"));
        column->setChildrenCollapsible(false);
        outer->replaceWidget(outer->indexOf(panel), column);
        column->addWidget(panel);
        column->addWidget(m_histogram);
        panel->show();
        column->setStretchFactor(0, 3);
        column->setStretchFactor(1, 2);
        column->setSizes({ 420, 300 });
        connect(panel, &QTabWidget::currentChanged, this, [this] { showSelectedHistogram(m_modelPage->pane()->currentNode()); });
        m_histogram->hide(); // until a tensor is selected
    } else {
        panel->addTab(m_histogram, tr("Histogram"));
    }
    connect(m_modelPage->pane(), &ModulePane::currentNodeChanged, this, &MainWindow::showSelectedHistogram);
}

void MainWindow::showSelectedHistogram(int node)
{
    const ModuleTree* tree = m_moduleModel->tree();
    const bool tensor = tree && node > 0 && size_t(node) < tree->nodes.size() && tree->nodes[size_t(node)].isLeaf();
    if (tensor) {
        const ModuleNode& n = tree->nodes[size_t(node)];
        m_histogram->setTensor(m_model->checkpoint(), n.tensor, n.fullName);
    } else {
        m_histogram->clear();
    }
    QTabWidget* panel = m_modelPage->panel();
    if (panel->indexOf(m_histogram) < 0)
        m_histogram->setVisible(tensor && panel->currentWidget() == m_modelPage->details());
}

CompareWindow* MainWindow::openCompare(const QString& a, const QString& b)
{
    auto* window = new CompareWindow(this);
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->openFiles(a, b);
    window->show();
    return window;
}

void MainWindow::compareWithDialog()
{
    const QString filter = tr("Checkpoints (*.pth *.pt *.ckpt *.bin *.safetensors *.tar);;All files (*)");
    const CheckpointPtr& ck = m_model->checkpoint();
    QString a = ck ? ck->path : QString();
    const QString dir = ck ? QFileInfo(a).absolutePath() : QDir::homePath();
    if (a.isEmpty())
        a = QFileDialog::getOpenFileName(this, tr("Compare: the first checkpoint (A)"), dir, filter);
    if (a.isEmpty())
        return;
    const QString b = QFileDialog::getOpenFileName(this, tr("Compare %1 with (B)").arg(QFileInfo(a).fileName()), dir, filter);
    if (!b.isEmpty())
        openCompare(a, b);
}

void MainWindow::openExportDialog()
{
    const CheckpointPtr& ck = m_model->checkpoint();
    if (!ck || !m_sem) {
        statusBar()->showMessage(tr("Open a checkpoint to export from"), 4000);
        return;
    }
    // The export starts from what the shown tree has selected: modules and tensors of the Model tab (the model
    // state dict), or a node of the Objects tab (its state dict and key, or another container).
    ExportSelection selection;
    auto selectedRows = [](QTreeView* view) {
        QModelIndexList rows = view->selectionModel()->selectedRows();
        if (rows.isEmpty() && view->currentIndex().isValid())
            rows << view->currentIndex().siblingAtColumn(0);
        return rows;
    };
    if (m_tabs->currentWidget() == m_modelPage && m_sem->primary >= 0) {
        for (const QModelIndex& i : selectedRows(m_modelPage->pane()->view())) {
            const QString name = i.data(ModuleTreeModel::FullNameRole).toString();
            if (i.data(ModuleTreeModel::TensorIndexRole).toInt() >= 0)
                selection.addTensor(name);
            else
                selection.addModule(name);
        }
    } else if (m_tabs->currentWidget() == m_objectsPage) {
        for (const QModelIndex& i : selectedRows(m_view)) {
            const QModelIndex key = i.siblingAtColumn(ObjectTreeModel::KeyColumn);
            const ExportSelection one = ExportSelection::fromObjectPath(*m_sem,
                key.data(ObjectTreeModel::PathRole).toStringList(),
                key.data(ObjectTreeModel::TensorIndexRole).toInt() >= 0, m_view->model()->hasChildren(key));
            if (one.isEmpty())
                continue;
            if (selection.isEmpty())
                selection = one;
            else if (one.select == selection.select && !selection.wholeContainer)
                for (const QString& p : one.include)
                    if (!selection.include.contains(p))
                        selection.include << p;
        }
    }
    auto* dialog = new ExportDialog(ck, m_sem, selection, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

} // namespace ckpt
