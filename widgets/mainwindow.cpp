#include "widgets/mainwindow.h"

#include "model/objecttreemodel.h"
#include "model/summary.h"

#include <QAction>
#include <QApplication>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTreeView>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

namespace ckpt {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_model(new ObjectTreeModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
{
    setWindowTitle(QStringLiteral("Checkpoint Lens"));
    setAcceptDrops(true);
    resize(1200, 760);

    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(ObjectTreeModel::SortRole);
    m_proxy->setRecursiveFilteringEnabled(true);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

    m_view = new QTreeView;
    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(false);
    m_view->header()->setStretchLastSection(true);
    m_view->setColumnWidth(ObjectTreeModel::KeyColumn, 340);
    m_view->setColumnWidth(ObjectTreeModel::TypeColumn, 150);

    m_message = new QLabel;
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message->setVisible(false);
    m_message->setStyleSheet(QStringLiteral("QLabel { background: #fdecea; color: #611a15; padding: 8px; }"));

    m_details = new QPlainTextEdit;
    m_details->setReadOnly(true);
    m_details->setPlaceholderText(tr("Select a row to see its details"));

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_view);
    splitter->addWidget(m_details);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_message);
    layout->addWidget(splitter);
    setCentralWidget(central);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open..."), QKeySequence::Open, this, &MainWindow::openDialog);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
    rebuildRecentMenu();

    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &MainWindow::showDetails);
    statusBar()->showMessage(tr("Open a checkpoint (File > Open, or drop a file here)"));
}

MainWindow::~MainWindow() = default;

QString MainWindow::errorText() const
{
    return m_message->isVisible() ? m_message->text() : QString();
}

bool MainWindow::openFile(const QString& path)
{
    auto ck = openCheckpoint(path);
    if (!ck) {
        spdlog::warn("cannot open {}: {}", path.toStdString(), ck.error().message().toStdString());
        m_message->setText(tr("Cannot open this file: %1").arg(ck.error().message()));
        m_message->setVisible(true);
        return false;
    }
    m_message->setVisible(false);
    m_model->setCheckpoint(*ck);
    m_view->expand(m_proxy->index(0, 0));
    const auto s = summarize(**ck);
    setWindowTitle(QStringLiteral("%1 - Checkpoint Lens").arg(QFileInfo(path).fileName()));
    statusBar()->showMessage(tr("%1 · %2 tensors · %3 elements · %4").arg(formatName(s.format)).arg(s.tensorCount)
            .arg(QLocale().toString(qlonglong(s.totalElements)), formatBytes(s.tensorBytes)));
    m_details->setPlainText(summaryToText(s));
    addRecent(QFileInfo(path).absoluteFilePath());
    return true;
}

void MainWindow::openDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open checkpoint"), {},
        tr("Checkpoints (*.pth *.pt *.ckpt *.bin *.safetensors *.tar);;All files (*)"));
    if (!path.isEmpty())
        openFile(path);
}

void MainWindow::addRecent(const QString& path)
{
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("recentFiles")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > 10)
        recent.removeLast();
    settings.setValue(QStringLiteral("recentFiles"), recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentFiles")).toStringList();
    for (const QString& path : recent)
        m_recentMenu->addAction(path, this, [this, path] { openFile(path); });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::showDetails()
{
    const QModelIndex current = m_proxy->mapToSource(m_view->currentIndex());
    if (!current.isValid() || !m_model->checkpoint())
        return;
    const auto& ck = *m_model->checkpoint();
    QString text = current.siblingAtColumn(0).data(ObjectTreeModel::PathRole).toStringList().join(QLatin1Char('.')) + QLatin1Char('\n');
    const int ti = current.data(ObjectTreeModel::TensorIndexRole).toInt();
    if (ti >= 0) {
        const TensorInfo& t = ck.tensors[size_t(ti)];
        QDebug(&text) << t;
        if (t.storage >= 0)
            QDebug(&text) << "\n" << ck.storages[size_t(t.storage)];
    } else {
        for (int c = 1; c < ObjectTreeModel::ColumnCount; ++c)
            text += current.siblingAtColumn(c).data().toString() + QLatin1Char('\n');
    }
    m_details->setPlainText(text);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile())
        openFile(urls.first().toLocalFile());
}

} // namespace ckpt
