#include "widgets/modulepane.h"

#include "model/moduletreemodel.h"
#include "widgets/bulktreeview.h"
#include "widgets/modulefilterproxy.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QTimer>
#include <QTreeView>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

namespace ckpt {
namespace {

// Expanding every match in a 100,000-tensor model would freeze the view; past this many the rest stay folded.
constexpr int kRevealBudget = 2000;

} // namespace

ModulePane::ModulePane(ModuleTreeModel* model, QWidget* parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new ModuleFilterProxy(this))
{
    m_proxy->setSourceModel(m_model);

    m_view = new BulkTreeView;
    m_view->setObjectName(QStringLiteral("moduleTree"));
    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setTextElideMode(Qt::ElideMiddle);
    auto* header = m_view->header();
    header->setStretchLastSection(false);
    header->setMinimumSectionSize(40);
    header->setSortIndicatorClearable(true);
    header->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    // Twelve columns do not fit beside the details; min and max are one right-click away.
    header->hideSection(ModuleTreeModel::MinColumn);
    header->hideSection(ModuleTreeModel::MaxColumn);
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QHeaderView::customContextMenuRequested, this, [this, header](const QPoint& pos) {
        QMenu menu(this);
        for (int c = ModuleTreeModel::KindColumn; c < ModuleTreeModel::ColumnCount; ++c) {
            auto* action = menu.addAction(m_model->headerData(c, Qt::Horizontal).toString());
            action->setCheckable(true);
            action->setChecked(!header->isSectionHidden(c));
            connect(action, &QAction::toggled, header, [header, c](bool on) { header->setSectionHidden(c, !on); });
        }
        menu.exec(header->mapToGlobal(pos));
    });
    header->setToolTip(tr("Right-click to choose columns"));

    m_search = new QLineEdit;
    m_search->setObjectName(QStringLiteral("moduleSearch"));
    m_search->setPlaceholderText(tr("Search names (Ctrl+F): attn, blocks.*.weight, ^layers\\.(0|1)\\."));
    m_search->setClearButtonEnabled(true);
    m_search->setAcceptDrops(false);
    auto* clear = new QAction(m_search);
    clear->setShortcut(Qt::Key_Escape);
    clear->setShortcutContext(Qt::WidgetShortcut);
    connect(clear, &QAction::triggered, m_search, &QLineEdit::clear);
    m_search->addAction(clear);
    m_mode = new QComboBox;
    m_mode->setObjectName(QStringLiteral("moduleSearchMode"));
    m_mode->addItem(tr("Text"), int(MatchMode::Text));
    m_mode->addItem(tr("Glob"), int(MatchMode::Glob));
    m_mode->addItem(tr("Regex"), int(MatchMode::Regex));
    m_mode->setItemData(0, tr("Substring of the dotted name; * and ? make it a wildcard pattern"), Qt::ToolTipRole);
    m_mode->setItemData(1, tr("Wildcard pattern over the whole dotted name"), Qt::ToolTipRole);
    m_mode->setItemData(2, tr("Regular expression searched in the dotted name"), Qt::ToolTipRole);
    m_note = new QLabel;
    m_note->setVisible(false);
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setInterval(150);
    connect(m_search, &QLineEdit::textChanged, m_timer, qOverload<>(&QTimer::start));
    connect(m_search, &QLineEdit::returnPressed, this, &ModulePane::applySearch);
    connect(m_timer, &QTimer::timeout, this, &ModulePane::applySearch);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &ModulePane::applySearch);

    auto* row = new QHBoxLayout;
    row->setContentsMargins(4, 4, 4, 0);
    row->addWidget(m_search, 1);
    row->addWidget(m_mode);
    row->addWidget(m_note);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addLayout(row);
    layout->addWidget(m_view, 1);

    connect(m_view, &QTreeView::expanded, this, [this] {
        // Coalesced: revealing a search's matches expands many rows at once.
        if (!m_growPending) {
            m_growPending = true;
            QTimer::singleShot(0, this, &ModulePane::growNameColumn);
        }
    });
    connect(header, &QHeaderView::sectionResized, this, [this](int section) {
        if (!m_autoSizing && section == ModuleTreeModel::NameColumn)
            m_nameWidthByUser = true;
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this,
        [this](const QModelIndex& current) { emit currentNodeChanged(m_model->nodeOf(m_proxy->mapToSource(current))); });
}

QString ModulePane::searchNote() const
{
    return m_note->isHidden() ? QString() : m_note->text();
}

void ModulePane::setSearch(const QString& text, MatchMode mode)
{
    {
        const QSignalBlocker block(m_mode);
        m_mode->setCurrentIndex(m_mode->findData(int(mode)));
    }
    m_search->setText(text);
    applySearch();
}

void ModulePane::focusSearch()
{
    m_search->setFocus(Qt::ShortcutFocusReason);
    m_search->selectAll();
}

void ModulePane::applySearch()
{
    m_timer->stop();
    const QString text = m_search->text().trimmed();
    const auto mode = MatchMode(m_mode->currentData().toInt());
    const ModuleTree* tree = m_model->tree();
    ModuleMatch match = tree ? matchModules(*tree, text, mode) : ModuleMatch {};
    const auto setNote = [this](const QString& note, bool error) {
        m_note->setText(note);
        m_note->setStyleSheet(error ? QStringLiteral("QLabel { color: #b3261e; }") : QStringLiteral("QLabel { color: gray; }"));
        m_note->setVisible(!note.isEmpty());
    };
    if (!match.error.isEmpty()) {
        // Keep showing what the last valid search showed while the expression is being typed.
        setNote(tr("Invalid: %1").arg(match.error), true);
        m_search->setToolTip(match.error);
        return;
    }
    m_search->setToolTip({});
    const bool changed = m_fresh || text != m_applied || mode != m_appliedMode;
    m_fresh = false;
    m_applied = text;
    m_appliedMode = mode;
    if (text.isEmpty())
        setNote({}, false);
    else if (match.matches.empty())
        setNote(tr("No match"), true);
    else
        setNote(match.matches.size() == 1 ? tr("1 match") : tr("%1 matches").arg(match.matches.size()), false);
    const bool filtering = !match.visible.empty();
    m_proxy->setMatch(std::move(match));
    if (!changed)
        return;
    if (filtering)
        expandMatches();
    else
        expandDefault();
}

void ModulePane::expandDefault()
{
    const QModelIndex top = m_proxy->index(0, 0);
    if (!top.isValid())
        return;
    m_view->expand(top);
    // A lone child (a "model." or "module." prefix) is opened down to where the tree branches.
    QModelIndex i = top;
    while (m_proxy->rowCount(i) == 1) {
        i = m_proxy->index(0, 0, i);
        m_view->expand(i);
    }
}

void ModulePane::expandMatches()
{
    const ModuleTree* tree = m_model->tree();
    if (!tree)
        return;
    int budget = kRevealBudget;
    std::vector<char> opened(tree->nodes.size(), 0);
    for (int node : m_proxy->match().matches) {
        if (budget <= 0)
            break;
        // The ancestors, from the top down, so each expansion has a mapped parent.
        std::vector<int> chain;
        for (int p = tree->nodes[size_t(node)].parent; p >= 0 && !opened[size_t(p)]; p = tree->nodes[size_t(p)].parent)
            chain.push_back(p);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            opened[size_t(*it)] = 1;
            m_view->expand(m_proxy->mapFromSource(m_model->indexOfNode(*it)));
            budget -= int(tree->nodes[size_t(*it)].children.size());
        }
    }
    if (budget <= 0)
        spdlog::debug("search '{}': only the first matches were revealed", m_applied.toStdString());
}

void ModulePane::growNameColumn()
{
    m_growPending = false;
    if (m_nameWidthByUser)
        return;
    const int wanted = std::min(static_cast<const QAbstractItemView*>(m_view)->sizeHintForColumn(ModuleTreeModel::NameColumn) + 16,
        std::max(260, width() * 2 / 5));
    if (wanted > m_view->columnWidth(ModuleTreeModel::NameColumn)) {
        m_autoSizing = true;
        m_view->setColumnWidth(ModuleTreeModel::NameColumn, wanted);
        m_autoSizing = false;
    }
}

void ModulePane::fitColumns()
{
    m_autoSizing = true;
    const QFontMetrics fm = m_view->fontMetrics();
    for (int c = ModuleTreeModel::KindColumn; c < ModuleTreeModel::ColumnCount; ++c) {
        m_view->resizeColumnToContents(c);
        int w = m_view->columnWidth(c) + 6;
        if (c >= ModuleTreeModel::FirstStatsColumn && c != ModuleTreeModel::NonFiniteColumn)
            w = std::max(w, fm.horizontalAdvance(QStringLiteral("-1.234e-05")) + 10);
        if (c == ModuleTreeModel::ShapeColumn) // leaves are folded away when this runs
            w = std::max(w, fm.horizontalAdvance(QStringLiteral("[4096, 4096]")) + 8);
        m_view->setColumnWidth(c, std::min(w, 160));
    }
    const int wanted = static_cast<const QAbstractItemView*>(m_view)->sizeHintForColumn(ModuleTreeModel::NameColumn) + 24;
    if (!m_nameWidthByUser)
        m_view->setColumnWidth(ModuleTreeModel::NameColumn, std::clamp(wanted, 150, std::max(260, width() * 2 / 5)));
    m_autoSizing = false;
}

void ModulePane::resetView()
{
    m_fresh = true;
    applySearch();
    fitColumns();
    m_view->setCurrentIndex(m_proxy->index(0, 0));
}

void ModulePane::selectNode(int node)
{
    const QModelIndex source = m_model->indexOfNode(node);
    if (!source.isValid())
        return;
    QModelIndex proxyIndex = m_proxy->mapFromSource(source);
    if (!proxyIndex.isValid()) { // hidden by the search: clear it rather than select nothing
        m_search->clear();
        applySearch();
        proxyIndex = m_proxy->mapFromSource(source);
    }
    for (QModelIndex p = proxyIndex.parent(); p.isValid(); p = p.parent())
        m_view->expand(p);
    m_view->setCurrentIndex(proxyIndex);
    m_view->scrollTo(proxyIndex);
}

int ModulePane::currentNode() const
{
    return m_model->nodeOf(m_proxy->mapToSource(m_view->currentIndex()));
}

} // namespace ckpt
