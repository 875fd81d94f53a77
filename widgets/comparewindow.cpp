#include "widgets/comparewindow.h"

#include "model/latesttask.h"
#include "model/objectchildren.h"
#include "model/summary.h"
#include "model/tensorstats.h"
#include "widgets/histogramview.h"

#include <QCollator>
#include <QComboBox>
#include <QDoubleValidator>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextBrowser>
#include <QTextDocument>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QTreeView>
#include <QVBoxLayout>

#include <cmath>

namespace ckpt {
namespace {

// A pattern that matches nothing: the rules the user emptied on purpose (an empty list means "suggested").
const QString kNoRule = QStringLiteral("(?!)");

QColor statusForeground(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return QColor(105, 105, 105);
    case DiffStatus::Close: return QColor(46, 125, 50);
    case DiffStatus::Different: return QColor(179, 38, 30);
    case DiffStatus::Shape: return QColor(106, 27, 154);
    case DiffStatus::Dtype: return QColor(21, 101, 192);
    case DiffStatus::OnlyA: return QColor(138, 90, 0);
    case DiffStatus::OnlyB: return QColor(0, 105, 92);
    }
    return {};
}

QColor statusBackground(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return QColor(245, 245, 245);
    case DiffStatus::Close: return QColor(232, 245, 233);
    case DiffStatus::Different: return QColor(253, 236, 234);
    case DiffStatus::Shape: return QColor(243, 229, 245);
    case DiffStatus::Dtype: return QColor(227, 242, 253);
    case DiffStatus::OnlyA: return QColor(255, 244, 214);
    case DiffStatus::OnlyB: return QColor(224, 242, 241);
    }
    return {};
}

QString statusExplanation(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return CompareWindow::tr("Same dtype, same bytes");
    case DiffStatus::Close:
        return CompareWindow::tr("Every element within |a−b| ≤ atol + rtol·|b| (numpy.allclose)");
    case DiffStatus::Different: return CompareWindow::tr("Some elements beyond the tolerances");
    case DiffStatus::Shape: return CompareWindow::tr("Shapes differ");
    case DiffStatus::Dtype: return CompareWindow::tr("Same shape, different dtype");
    case DiffStatus::OnlyA: return CompareWindow::tr("Only in the first file");
    case DiffStatus::OnlyB: return CompareWindow::tr("Only in the second file");
    }
    return {};
}

QString esc(const QString& s)
{
    return s.toHtmlEscaped();
}

QString optNumber(const std::optional<double>& v)
{
    return v ? QString::number(*v, 'g', 6) : QStringLiteral("–");
}

} // namespace

// Leaves pass by status and key text; modules show while anything below them passes (recursive filtering).
// Colours by status; metric columns sort numerically with empty cells last, keys naturally (layers.2 < layers.10).
class DiffFilterProxy : public QSortFilterProxyModel {
public:
    explicit DiffFilterProxy(QObject* parent)
        : QSortFilterProxyModel(parent)
    {
        setRecursiveFilteringEnabled(true);
        setSortRole(DiffTreeModel::SortRole);
        m_collator.setNumericMode(true);
        m_collator.setCaseSensitivity(Qt::CaseInsensitive);
        for (DiffStatus s : kDiffStatuses)
            m_shown[size_t(s)] = true;
    }

    void setShown(DiffStatus s, bool on)
    {
        m_shown[size_t(s)] = on;
        invalidateRowsFilter();
    }
    bool shown(DiffStatus s) const { return m_shown[size_t(s)]; }
    void setText(const QString& text)
    {
        m_text = text.trimmed();
        m_glob.reset();
        if (m_text.contains(QLatin1Char('*')) || m_text.contains(QLatin1Char('?')))
            m_glob = QRegularExpression(QRegularExpression::wildcardToRegularExpression(
                                            m_text, QRegularExpression::UnanchoredWildcardConversion),
                QRegularExpression::CaseInsensitiveOption);
        invalidateRowsFilter();
    }

    QVariant data(const QModelIndex& index, int role) const override
    {
        if (role == Qt::ForegroundRole || role == Qt::BackgroundRole) {
            const auto s = DiffStatus(index.data(DiffTreeModel::StatusRole).toInt());
            const bool leaf = index.data(DiffTreeModel::DiffIndexRole).toInt() >= 0;
            if (role == Qt::ForegroundRole
                && (index.column() == DiffTreeModel::StatusColumn
                    || (leaf && index.column() == DiffTreeModel::KeyColumn)))
                return statusForeground(s);
            if (role == Qt::BackgroundRole && index.column() == DiffTreeModel::StatusColumn && leaf)
                return statusBackground(s);
            if (role == Qt::ForegroundRole && !leaf && index.column() > DiffTreeModel::StatusColumn)
                return QColor(128, 128, 128);
        }
        return QSortFilterProxyModel::data(index, role);
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override
    {
        const QModelIndex i = sourceModel()->index(row, 0, parent);
        if (i.data(DiffTreeModel::DiffIndexRole).toInt() < 0)
            return false;
        if (!m_shown[size_t(i.data(DiffTreeModel::StatusRole).toInt())])
            return false;
        if (m_text.isEmpty())
            return true;
        const QString key = i.data(DiffTreeModel::KeyRole).toString();
        return m_glob ? m_glob->match(key).hasMatch() : key.contains(m_text, Qt::CaseInsensitive);
    }

    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override
    {
        const QVariant l = left.data(DiffTreeModel::SortRole), r = right.data(DiffTreeModel::SortRole);
        if (!l.isValid() || !r.isValid()) {
            // Empty cells (no metrics) go last whichever way the column is sorted.
            if (l.isValid() == r.isValid())
                return false;
            return sortOrder() == Qt::AscendingOrder ? l.isValid() : !l.isValid();
        }
        if (l.userType() == QMetaType::QString)
            return m_collator.compare(l.toString(), r.toString()) < 0;
        return l.toDouble() < r.toDouble();
    }

private:
    std::array<bool, 7> m_shown {};
    QString m_text;
    std::optional<QRegularExpression> m_glob;
    QCollator m_collator;
};

// Relative change per block along depth: a bar of the mean rel. L2 of each block's tensors, a tick at the largest.
class DiffLayerCanvas : public QWidget {
public:
    explicit DiffLayerCanvas(QWidget* parent = nullptr)
        : QWidget(parent)
    {
        setMouseTracking(true);
        setMinimumHeight(200);
    }
    void setProfile(const DiffBlockProfile* p)
    {
        m_profile = p;
        m_hover = -1;
        update();
    }
    std::function<void(const QString& prefix)> onActivate;

protected:
    QRect plotRect() const
    {
        const QFontMetrics fm = fontMetrics();
        return rect().adjusted(
            fm.horizontalAdvance(QStringLiteral("0.000e-00")) + 12, fm.height() + 12, -14, -(2 * fm.height() + 12));
    }

    int layerAt(const QPoint& pos) const
    {
        if (!m_profile || m_profile->layers.empty())
            return -1;
        const QRect r = plotRect();
        if (pos.x() < r.left() || pos.x() > r.right() || pos.y() < r.top() - 10 || pos.y() > r.bottom() + 4)
            return -1;
        const int i = int((pos.x() - r.left()) / (double(r.width()) / double(m_profile->layers.size())));
        return i >= 0 && size_t(i) < m_profile->layers.size() ? i : -1;
    }

    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().color(QPalette::Base));
        if (!m_profile || m_profile->layers.empty())
            return;
        const QRect r = plotRect();
        const QFontMetrics fm = fontMetrics();
        const auto& layers = m_profile->layers;
        double max = 0;
        for (const auto& l : layers)
            max = std::max(max, l.maxRelL2);
        const QColor text = palette().color(QPalette::WindowText);
        QFont bold = font();
        bold.setBold(true);
        p.setFont(bold);
        p.setPen(text);
        p.drawText(QRect(r.left(), 4, r.width(), fm.height()), Qt::AlignLeft,
            CompareWindow::tr("Relative change ‖a−b‖ / ‖a‖ per block of %1").arg(m_profile->block));
        p.setFont(font());
        QPen grid(palette().color(QPalette::Midlight));
        grid.setStyle(Qt::DotLine);
        // A 1-2-5 step giving about four grid lines; the top is the first line above the largest value.
        double gridStep = 1;
        if (max > 0) {
            const double raw = max / 4, mag = std::pow(10.0, std::floor(std::log10(raw))), norm = raw / mag;
            gridStep = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
        }
        const int lines = max > 0 ? int(std::ceil(max / gridStep - 1e-9)) : 4;
        const double top = max > 0 ? lines * gridStep : 1;
        for (int k = 0; k <= lines; ++k) {
            const double v = k * gridStep;
            const double y = r.bottom() - v / top * r.height();
            p.setPen(grid);
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y));
            p.setPen(text);
            p.drawText(QRectF(0, y - fm.height() / 2.0, r.left() - 6, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                max > 0 ? QString::number(v, 'g', 3) : (k == 0 ? QStringLiteral("0") : QString()));
        }
        p.setPen(palette().color(QPalette::Mid));
        p.drawLine(r.bottomLeft(), r.bottomRight());
        p.drawLine(r.bottomLeft(), r.topLeft());
        const double step = double(r.width()) / double(layers.size());
        const double bw = std::clamp(step * 0.7, 1.0, 48.0);
        for (size_t i = 0; i < layers.size(); ++i) {
            const DiffLayer& l = layers[i];
            const double x = r.left() + (double(i) + 0.5) * step;
            QColor fill = l.changed ? statusForeground(DiffStatus::Different) : statusForeground(DiffStatus::Close);
            fill.setAlpha(int(i) == m_hover ? 255 : 190);
            if (l.measured == 0) {
                QPen hollow(palette().color(QPalette::Mid));
                hollow.setStyle(Qt::DashLine);
                p.setPen(hollow);
                p.setBrush(Qt::NoBrush);
                p.drawRect(QRectF(x - bw / 2, r.top() + r.height() * 0.6, bw, r.height() * 0.4 - 1));
                continue;
            }
            const double h = max > 0 ? l.meanRelL2 / top * r.height() : 0;
            p.setPen(Qt::NoPen);
            p.setBrush(fill);
            p.drawRect(QRectF(x - bw / 2, r.bottom() - h, bw, h));
            if (max > 0) {
                const double y = r.bottom() - l.maxRelL2 / top * r.height();
                p.setPen(QPen(text, 2));
                p.drawLine(QPointF(x - bw / 2, y), QPointF(x + bw / 2, y));
            }
        }
        p.setBrush(Qt::NoBrush);
        const int every
            = std::max(1, int(std::ceil((fm.horizontalAdvance(QString::number(layers.back().index)) + 8) / step)));
        p.setPen(text);
        for (size_t i = 0; i < layers.size(); i += size_t(every)) {
            const int x = r.left() + int((double(i) + 0.5) * step);
            p.drawText(
                QRect(x - 30, r.bottom() + 4, 60, fm.height()), Qt::AlignHCenter, QString::number(layers[i].index));
        }
        p.drawText(QRect(r.left(), r.bottom() + 4 + fm.height(), r.width(), fm.height()), Qt::AlignHCenter,
            CompareWindow::tr("%1.N (click a block to show it in the tree)").arg(m_profile->block));
    }

    void mouseMoveEvent(QMouseEvent* event) override
    {
        const int i = layerAt(event->position().toPoint());
        if (i != m_hover) {
            m_hover = i;
            update();
        }
        if (i < 0) {
            QToolTip::hideText();
            return;
        }
        const DiffLayer& l = m_profile->layers[size_t(i)];
        QToolTip::showText(event->globalPosition().toPoint(),
            CompareWindow::tr(
                "<b>%1</b><br>mean rel. L2 %2, largest %3<br>%4 of %5 tensors changed beyond tolerance%6%7")
                .arg(esc(l.prefix), DiffTreeModel::metricText(l.meanRelL2), DiffTreeModel::metricText(l.maxRelL2))
                .arg(l.changed)
                .arg(l.tensors)
                .arg(l.measured < l.tensors ? CompareWindow::tr("<br>%1 without metrics (shape or one side missing)")
                                                  .arg(l.tensors - l.measured)
                                            : QString(),
                    l.fromZero ? CompareWindow::tr("<br>%1 all zeros in A (left out)").arg(l.fromZero) : QString()),
            this);
    }

    void leaveEvent(QEvent*) override
    {
        m_hover = -1;
        update();
    }

    void mouseReleaseEvent(QMouseEvent* event) override
    {
        const int i = layerAt(event->position().toPoint());
        if (i >= 0 && onActivate)
            onActivate(m_profile->layers[size_t(i)].prefix);
    }

private:
    const DiffBlockProfile* m_profile = nullptr;
    int m_hover = -1;
};

struct CompareWindow::PairStats {
    int pair = -1;
    bool done = false;
    std::optional<TensorStats> a, b;
    QString errorA, errorB;
};

CompareWindow::CompareWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_pairStats(std::make_unique<PairStats>())
    , m_task(new LatestTask(this))
    , m_statsTask(new LatestTask(this))
    , m_model(new DiffTreeModel(this))
    , m_proxy(new DiffFilterProxy(this))
{
    setWindowTitle(tr("Compare - Checkpoint Lens"));
    resize(1360, 860);
    m_proxy->setSourceModel(m_model);

    // Header: the two files and the tolerances.
    m_files = new QLabel;
    m_files->setObjectName(QStringLiteral("compareFiles"));
    m_files->setTextFormat(Qt::RichText);
    m_files->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_rtol = new QLineEdit(QStringLiteral("1e-05"));
    m_atol = new QLineEdit(QStringLiteral("1e-08"));
    for (QLineEdit* e : { m_rtol, m_atol }) {
        auto* v = new QDoubleValidator(0, 1e6, 20, e);
        v->setNotation(QDoubleValidator::ScientificNotation);
        v->setLocale(QLocale::c());
        e->setValidator(v);
        e->setMaximumWidth(fontMetrics().horizontalAdvance(QStringLiteral("0.000000e-00")));
        connect(e, &QLineEdit::editingFinished, this, [this, e] {
            if (e->isModified()) {
                e->setModified(false);
                runDiff();
            }
        });
    }
    m_rtol->setToolTip(tr("Relative tolerance of \"close\" (numpy.allclose: |a−b| ≤ atol + rtol·|b|)"));
    m_atol->setToolTip(tr("Absolute tolerance of \"close\""));
    auto* head = new QHBoxLayout;
    head->addWidget(m_files, 1);
    head->addWidget(new QLabel(tr("rtol")));
    head->addWidget(m_rtol);
    head->addWidget(new QLabel(tr("atol")));
    head->addWidget(m_atol);

    m_error = new QLabel;
    m_error->setObjectName(QStringLiteral("compareError"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(
        QStringLiteral("QLabel { background: #fdecea; color: #611a15; padding: 6px; border: 1px solid #f1aeb5; }"));
    m_error->setVisible(false);

    // Summary bar: a filter button per status with its count, then the biggest changes.
    auto* summary = new QHBoxLayout;
    summary->setSpacing(4);
    summary->addWidget(new QLabel(tr("Show:")));
    for (DiffStatus s : kDiffStatuses) {
        auto* b = new QToolButton;
        b->setObjectName(QStringLiteral("filter_%1").arg(diffStatusName(s)));
        b->setCheckable(true);
        b->setChecked(true);
        b->setText(QStringLiteral("0 %1").arg(diffStatusLabel(s)));
        b->setToolTip(tr("%1. Click to hide or show these pairs").arg(statusExplanation(s)));
        const QColor fg = statusForeground(s), bg = statusBackground(s);
        b->setStyleSheet(QStringLiteral(
            "QToolButton { border: 1px solid #c8c8c8; border-radius: 3px; padding: 2px 7px; color: #9a9a9a; }"
            "QToolButton:checked { border-color: %1; background: %2; color: %1; font-weight: bold; }"
            "QToolButton:disabled { color: #c0c0c0; border-color: #e0e0e0; background: transparent; font-weight: "
            "normal; }")
                             .arg(fg.name(), bg.name()));
        connect(b, &QToolButton::toggled, this, [this, s](bool on) {
            m_proxy->setShown(s, on);
            applyFilters();
        });
        m_buttons[s] = b;
        summary->addWidget(b);
    }
    summary->addSpacing(12);
    m_biggest = new QLabel;
    m_biggest->setObjectName(QStringLiteral("biggestChanges"));
    m_biggest->setTextFormat(Qt::RichText);
    m_biggest->setWordWrap(true);
    connect(m_biggest, &QLabel::linkActivated, this, [this](const QString& key) { selectKey(key); });
    summary->addWidget(m_biggest, 1);
    m_loadLabel = new QLabel;
    m_loadLabel->setObjectName(QStringLiteral("loadCheck"));
    m_loadLabel->setWordWrap(true);
    m_loadLabel->setTextFormat(Qt::RichText);

    // Left: key filter, the aligned tree, the normalisation rules.
    m_filter = new QLineEdit;
    m_filter->setObjectName(QStringLiteral("compareFilter"));
    m_filter->setPlaceholderText(tr("Filter keys; * and ? are wildcards"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& t) {
        m_proxy->setText(t);
        applyFilters();
    });
    m_view = new QTreeView;
    m_view->setObjectName(QStringLiteral("compareTree"));
    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setTextElideMode(Qt::ElideMiddle);
    auto* header = m_view->header();
    header->setStretchLastSection(false);
    header->setSortIndicatorClearable(true);
    header->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->setSortingEnabled(true);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &CompareWindow::showCurrentPair);

    m_rules = new QTableWidget(0, 2);
    m_rules->setObjectName(QStringLiteral("rules"));
    m_rules->setHorizontalHeaderLabels({ tr("Pattern (regular expression)"), tr("Replacement") });
    m_rules->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_rules->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_rules->verticalHeader()->setVisible(false);
    m_rules->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_rules->setToolTip(tr("Applied in order to both files' keys before aligning them; \\1 refers to a group"));
    connect(m_rules, &QTableWidget::itemChanged, this, &CompareWindow::rulesEdited);
    m_rulesTimer = new QTimer(this);
    m_rulesTimer->setSingleShot(true);
    m_rulesTimer->setInterval(400);
    connect(m_rulesTimer, &QTimer::timeout, this, &CompareWindow::runDiff);
    auto* addRule = new QToolButton;
    addRule->setText(tr("Add"));
    connect(addRule, &QToolButton::clicked, this, [this] {
        const int row = m_rules->rowCount();
        m_fillingRules = true;
        m_rules->insertRow(row);
        m_rules->setItem(row, 0, new QTableWidgetItem(QStringLiteral("^")));
        m_rules->setItem(row, 1, new QTableWidgetItem);
        m_fillingRules = false;
        m_rules->editItem(m_rules->item(row, 0));
    });
    auto* removeRule = new QToolButton;
    removeRule->setText(tr("Remove"));
    connect(removeRule, &QToolButton::clicked, this, [this] {
        const int row = m_rules->currentRow();
        if (row < 0)
            return;
        m_rules->removeRow(row);
        rulesEdited();
    });
    auto* suggested = new QToolButton;
    suggested->setObjectName(QStringLiteral("suggestedRules"));
    suggested->setText(tr("Suggested"));
    suggested->setToolTip(
        tr("Back to the rules suggested for these two files (prefixes one side has and the other lacks)"));
    connect(suggested, &QToolButton::clicked, this, [this] {
        m_rulesEdited = false;
        fillRules({});
        runDiff();
    });
    for (QToolButton* b : { addRule, removeRule, suggested })
        b->setAutoRaise(true);
    m_rulesNote = new QLabel;
    m_rulesNote->setWordWrap(true);
    m_rulesNote->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));
    auto* rulesBox = new QWidget;
    auto* rulesLayout = new QVBoxLayout(rulesBox);
    rulesLayout->setContentsMargins(4, 2, 4, 2);
    auto* rulesHead = new QHBoxLayout;
    auto* rulesTitle = new QLabel(tr("<b>Normalisation rules</b>"));
    rulesHead->addWidget(rulesTitle);
    rulesHead->addStretch(1);
    rulesHead->addWidget(addRule);
    rulesHead->addWidget(removeRule);
    rulesHead->addWidget(suggested);
    rulesLayout->addLayout(rulesHead);
    rulesLayout->addWidget(m_rules, 1);
    rulesLayout->addWidget(m_rulesNote);

    auto* treePane = new QWidget;
    auto* treeLayout = new QVBoxLayout(treePane);
    treeLayout->setContentsMargins(4, 4, 0, 0);
    treeLayout->addWidget(m_filter);
    treeLayout->addWidget(m_view, 1);
    auto* left = new QSplitter(Qt::Vertical);
    left->addWidget(treePane);
    left->addWidget(rulesBox);
    left->setStretchFactor(0, 1);
    left->setSizes({ 600, 150 });
    left->setChildrenCollapsible(false);

    // Right: the selected pair, the layers, the metadata.
    m_pairView = new QTextBrowser;
    m_pairView->setObjectName(QStringLiteral("pairDetails"));
    m_pairView->setOpenLinks(false);
    m_hist = new HistogramView;
    m_hist->setObjectName(QStringLiteral("pairHistogram"));
    m_hist->clear(tr("Select a pair to see both distributions"));
    auto* pairSplit = new QSplitter(Qt::Vertical);
    pairSplit->addWidget(m_pairView);
    pairSplit->addWidget(m_hist);
    pairSplit->setSizes({ 420, 320 });
    pairSplit->setChildrenCollapsible(false);

    m_blockChoice = new QComboBox;
    m_blockChoice->setObjectName(QStringLiteral("diffBlock"));
    connect(m_blockChoice, &QComboBox::currentIndexChanged, this, &CompareWindow::showLayers);
    m_layerCanvas = new DiffLayerCanvas;
    m_layerCanvas->onActivate = [this](const QString& prefix) { selectKey(prefix); };
    m_layerNote = new QLabel;
    m_layerNote->setWordWrap(true);
    m_layerNote->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));
    auto* layersPage = new QWidget;
    auto* layersLayout = new QVBoxLayout(layersPage);
    auto* layersHead = new QHBoxLayout;
    layersHead->addWidget(new QLabel(tr("Repeated block:")));
    layersHead->addWidget(m_blockChoice);
    layersHead->addStretch(1);
    layersLayout->addLayout(layersHead);
    layersLayout->addWidget(m_layerCanvas, 1);
    layersLayout->addWidget(m_layerNote);

    m_scalars = new QTableWidget(0, 3);
    m_scalars->setObjectName(QStringLiteral("scalars"));
    m_scalars->setHorizontalHeaderLabels({ tr("Value"), tr("A"), tr("B") });
    m_scalars->horizontalHeader()->setStretchLastSection(true);
    m_scalars->verticalHeader()->setVisible(false);
    m_scalars->setEditTriggers(QAbstractItemView::NoEditTriggers);

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("compareTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(pairSplit, tr("Pair"));
    m_tabs->addTab(layersPage, tr("Layers"));
    m_tabs->addTab(m_scalars, tr("Metadata"));

    auto* body = new QSplitter(Qt::Horizontal);
    body->addWidget(left);
    body->addWidget(m_tabs);
    body->setStretchFactor(0, 3);
    body->setStretchFactor(1, 2);
    body->setSizes({ 800, 560 });
    body->setChildrenCollapsible(false);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->setSpacing(5);
    layout->addLayout(head);
    layout->addWidget(m_error);
    layout->addLayout(summary);
    layout->addWidget(m_loadLabel);
    layout->addWidget(body, 1);
    setCentralWidget(central);

    m_statusLabel = new QLabel;
    m_progress = new QProgressBar;
    m_progress->setObjectName(QStringLiteral("compareProgress"));
    m_progress->setMaximumWidth(220);
    m_progress->setMaximumHeight(statusBar()->fontMetrics().height() + 2);
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setObjectName(QStringLiteral("compareCancel"));
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_running)
            cancel();
        else
            rerun();
    });
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);
    m_progress->setVisible(false);
    m_cancel->setVisible(false);
    showLayers();
}

CompareWindow::~CompareWindow()
{
    // The tasks' callbacks refer to this window: their threads end before anything of it goes.
    m_task->stop();
    m_statsTask->stop();
}

QSortFilterProxyModel* CompareWindow::proxy() const
{
    return m_proxy;
}

QAbstractButton* CompareWindow::filterButton(DiffStatus s) const
{
    return m_buttons.at(s);
}

void CompareWindow::setStatusShown(DiffStatus s, bool shown)
{
    m_buttons.at(s)->setChecked(shown);
}

void CompareWindow::setError(const QString& message)
{
    m_error->setText(message);
    m_error->setVisible(!message.isEmpty());
}

QString CompareWindow::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

bool CompareWindow::openFiles(const QString& a, const QString& b)
{
    QStringList errors;
    auto ca = openCheckpoint(QFileInfo(a).absoluteFilePath());
    auto cb = openCheckpoint(QFileInfo(b).absoluteFilePath());
    if (!ca)
        errors << tr("Cannot open %1: %2").arg(QFileInfo(a).fileName(), ca.error().message());
    if (!cb)
        errors << tr("Cannot open %1: %2").arg(QFileInfo(b).fileName(), cb.error().message());
    if (!errors.isEmpty()) {
        setError(errors.join(QLatin1Char('\n')));
        m_files->setText(tr("<b>A</b> %1 &nbsp; <b>B</b> %2").arg(esc(a), esc(b)));
        return false;
    }
    setCheckpoints(*ca, *cb);
    return true;
}

void CompareWindow::setCheckpoints(CheckpointPtr a, CheckpointPtr b)
{
    m_a = std::move(a);
    m_b = std::move(b);
    setError({});
    const QFileInfo ia(m_a->path), ib(m_b->path);
    setWindowTitle(tr("%1 ↔ %2 - Checkpoint Lens").arg(ia.fileName(), ib.fileName()));
    const auto side = [](const QString& tag, const Checkpoint& ck, const QFileInfo& info) {
        return QStringLiteral(
            "<b>%1</b> <span title=\"%2\">%3</span> <span style=\"color:gray\">(%4, %5 tensors, %6)</span>")
            .arg(tag, esc(info.absoluteFilePath()), esc(info.fileName()), formatName(ck.format))
            .arg(ck.tensors.size())
            .arg(formatBytes(ck.fileSize));
    };
    m_files->setText(
        side(QStringLiteral("A"), *m_a, ia) + QStringLiteral(" &nbsp;&nbsp; ") + side(QStringLiteral("B"), *m_b, ib));
    m_rulesEdited = false;
    fillRules({});
    m_model->clear();
    m_result.reset();
    m_pair = -1;
    runDiff();
}

std::vector<RenameRule> CompareWindow::rules() const
{
    std::vector<RenameRule> out;
    for (int r = 0; r < m_rules->rowCount(); ++r) {
        const QTableWidgetItem* p = m_rules->item(r, 0);
        const QTableWidgetItem* x = m_rules->item(r, 1);
        if (p && !p->text().isEmpty())
            out.push_back({ p->text(), x ? x->text() : QString() });
    }
    return out;
}

void CompareWindow::fillRules(const std::vector<RenameRule>& rules)
{
    m_fillingRules = true;
    m_rules->setRowCount(0);
    for (const RenameRule& r : rules) {
        const int row = m_rules->rowCount();
        m_rules->insertRow(row);
        m_rules->setItem(row, 0, new QTableWidgetItem(r.pattern));
        m_rules->setItem(row, 1, new QTableWidgetItem(r.replacement));
    }
    m_fillingRules = false;
}

void CompareWindow::setRules(const std::vector<RenameRule>& rules)
{
    fillRules(rules);
    m_rulesEdited = true;
    runDiff();
}

void CompareWindow::rulesEdited()
{
    if (m_fillingRules)
        return;
    m_rulesEdited = true;
    // A broken pattern waits for its fix instead of running (and failing) the comparison.
    QStringList bad;
    for (int r = 0; r < m_rules->rowCount(); ++r)
        if (QTableWidgetItem* p = m_rules->item(r, 0)) {
            const QRegularExpression re(p->text());
            const bool ok = re.isValid();
            m_fillingRules = true;
            p->setForeground(ok ? palette().color(QPalette::Text) : QColor(179, 38, 30));
            m_fillingRules = false;
            if (!ok)
                bad << tr("row %1: %2").arg(r + 1).arg(re.errorString());
        }
    if (!bad.isEmpty()) {
        m_rulesTimer->stop();
        m_rulesNote->setText(tr("Not applied, invalid pattern: %1").arg(bad.join(QStringLiteral("; "))));
        m_rulesNote->setStyleSheet(QStringLiteral("QLabel { color: #b3261e; }"));
        return;
    }
    m_rulesNote->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));
    m_rulesTimer->start();
}

void CompareWindow::rerun()
{
    runDiff();
}

void CompareWindow::runDiff()
{
    m_rulesTimer->stop();
    if (!m_a || !m_b)
        return;
    DiffOptions options;
    options.rtol = QLocale::c().toDouble(m_rtol->text());
    options.atol = QLocale::c().toDouble(m_atol->text());
    if (m_rulesEdited) {
        options.rules = rules();
        // An empty list would mean "the suggested rules": none on purpose is a rule that never matches.
        if (options.rules.empty())
            options.rules.push_back({ kNoRule, QString() });
    }
    m_running = true;
    const quint64 generation = ++m_generation;
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_cancel->setText(tr("Cancel"));
    m_cancel->setVisible(true);
    m_statusLabel->setText(tr("Comparing…"));
    struct Outcome {
        Expected<DiffResult> diff = Error {};
        std::optional<LoadCheck> load;
    };
    const CheckpointPtr a = m_a, b = m_b;
    m_task->start<Outcome>(
        [this, a, b, options, generation](const std::atomic<bool>& cancel) {
            QElapsedTimer clock;
            clock.start();
            qint64 last = -1000;
            Outcome out;
            out.diff = diffCheckpoints(*a, *b, options,
                [&](int done, int total) {
                    // Throttled: a 60k-tensor diff would otherwise flood the GUI thread.
                    if (clock.elapsed() - last < 40 && done != total)
                        return;
                    last = clock.elapsed();
                    QMetaObject::invokeMethod(
                        this,
                        [this, generation, done, total] {
                            if (generation == m_generation)
                                diffProgress(done, total);
                        },
                        Qt::QueuedConnection);
                },
                &cancel);
            if (out.diff && !cancel.load())
                if (auto lc = checkLoad(*b, *a); lc)
                    out.load = *lc;
            return out;
        },
        [this](Outcome out) {
            m_running = false;
            m_progress->setVisible(false);
            m_cancel->setVisible(false);
            if (!out.diff) {
                setError(tr("Cannot compare: %1").arg(out.diff.error().message()));
                m_statusLabel->setText(tr("Comparison failed"));
                emit diffFinished();
                return;
            }
            setError({});
            m_result = std::make_shared<const DiffResult>(std::move(*out.diff));
            m_load = out.load;
            showResult();
            emit diffFinished();
        });
}

void CompareWindow::diffProgress(int done, int total)
{
    m_progress->setRange(0, std::max(1, total));
    m_progress->setValue(done);
    m_statusLabel->setText(tr("Comparing %1 / %2 pairs…").arg(QLocale().toString(done), QLocale().toString(total)));
}

void CompareWindow::cancel()
{
    if (!m_running)
        return;
    m_task->stop();
    ++m_generation;
    m_running = false;
    m_progress->setVisible(false);
    m_cancel->setText(tr("Compare again"));
    m_cancel->setVisible(true);
    m_statusLabel->setText(m_result ? tr("Cancelled; the previous comparison is shown") : tr("Cancelled"));
}

void CompareWindow::showResult()
{
    const QString current
        = m_view->currentIndex().isValid() ? m_view->currentIndex().data(DiffTreeModel::KeyRole).toString() : QString();
    m_pair = -1; // the new result's pairs are other pairs, even under the same key
    m_model->setResult(m_a, m_b, m_result);
    if (!m_rulesEdited)
        fillRules(m_result->suggestedRules);
    QStringList applied;
    for (const RenameRule& r : rules())
        applied << QStringLiteral("%1 → '%2'").arg(r.pattern, r.replacement);
    m_rulesNote->setText(applied.isEmpty()
            ? tr("No rule: keys are aligned as they are.")
            : (m_rulesEdited
                    ? tr("Applied to both files' keys, in order.")
                    : tr("Suggested for these files and applied: one side's keys carry a prefix the other's lack.")));
    m_profiles = diffLayerProfiles(*m_result);
    {
        const QSignalBlocker block(m_blockChoice);
        const QString was = m_blockChoice->currentText();
        m_blockChoice->clear();
        for (const auto& p : m_profiles)
            m_blockChoice->addItem(p.block);
        const int again = m_blockChoice->findText(was);
        m_blockChoice->setCurrentIndex(again >= 0 ? again : 0);
    }
    showLayers();

    m_scalars->setRowCount(int(m_result->scalars.size()));
    for (size_t i = 0; i < m_result->scalars.size(); ++i) {
        const ScalarDiff& s = m_result->scalars[i];
        m_scalars->setItem(int(i), 0, new QTableWidgetItem(s.key));
        m_scalars->setItem(int(i), 1, new QTableWidgetItem(s.a.isNull() ? tr("(absent)") : s.a));
        m_scalars->setItem(int(i), 2, new QTableWidgetItem(s.b.isNull() ? tr("(absent)") : s.b));
    }
    m_scalars->resizeColumnsToContents();
    m_tabs->setTabText(
        2, m_result->scalars.empty() ? tr("Metadata") : tr("Metadata (%1)").arg(m_result->scalars.size()));

    updateSummary();
    applyFilters();
    m_view->header()->setSectionResizeMode(DiffTreeModel::KeyColumn, QHeaderView::Interactive);
    for (int c = DiffTreeModel::StatusColumn; c < DiffTreeModel::ColumnCount; ++c)
        m_view->resizeColumnToContents(c);
    m_view->setColumnWidth(
        DiffTreeModel::StatusColumn, std::min(m_view->columnWidth(DiffTreeModel::StatusColumn), 150));
    m_view->setColumnWidth(DiffTreeModel::KeyColumn,
        std::max(200,
            std::min(
                static_cast<const QAbstractItemView*>(m_view)->sizeHintForColumn(DiffTreeModel::KeyColumn) + 24, 300)));

    std::int64_t pairs = 0;
    for (const auto& [s, n] : m_result->counts)
        pairs += n;
    m_statusLabel->setText(
        tr("%1 aligned keys; %2")
            .arg(pairs)
            .arg(m_result->anyDifference() ? tr("the files differ") : tr("no difference beyond the tolerances")));

    // Keep the reader where they were; otherwise the biggest change.
    if (!current.isEmpty() && selectKey(current))
        return;
    const TensorDiff* best = nullptr;
    for (const TensorDiff& d : m_result->tensors)
        if (d.metrics && std::isfinite(d.metrics->relL2) && d.metrics->relL2 > 0
            && (!best || d.metrics->relL2 > best->metrics->relL2))
            best = &d;
    // No value changed: the worst status (a shape change, a missing key) says more than an equal pair.
    for (const TensorDiff& d : m_result->tensors)
        if (!best
            || (best->metrics && best->metrics->relL2 > 0 ? false
                                                          : diffSeverity(d.status) > diffSeverity(best->status)))
            best = &d;
    if (best)
        selectKey(best->key);
}

void CompareWindow::updateSummary()
{
    if (!m_result)
        return;
    for (DiffStatus s : kDiffStatuses) {
        const auto it = m_result->counts.find(s);
        const int n = it == m_result->counts.end() ? 0 : it->second;
        m_buttons[s]->setText(QStringLiteral("%1 %2").arg(n).arg(diffStatusLabel(s)));
        m_buttons[s]->setEnabled(n > 0);
    }
    // Biggest changes by rel. L2 among the pairs that have metrics; a tensor that was all zeros in A has an infinite
    // one and is counted apart.
    std::vector<const TensorDiff*> changed;
    int fromZero = 0;
    for (const TensorDiff& d : m_result->tensors)
        if (d.metrics && d.metrics->relL2 > 0) {
            if (std::isfinite(d.metrics->relL2))
                changed.push_back(&d);
            else
                ++fromZero;
        }
    std::sort(changed.begin(), changed.end(),
        [](const TensorDiff* x, const TensorDiff* y) { return x->metrics->relL2 > y->metrics->relL2; });
    QStringList parts;
    for (size_t i = 0; i < changed.size() && i < 3; ++i)
        parts << QStringLiteral("<a href=\"%1\">%2</a> %3")
                     .arg(esc(changed[i]->key), esc(changed[i]->key),
                         DiffTreeModel::metricText(changed[i]->metrics->relL2));
    QString biggest = parts.isEmpty() ? tr("<span style=\"color:gray\">No value changed.</span>")
                                      : tr("Biggest changes (rel. L2): %1").arg(parts.join(QStringLiteral(" · ")));
    if (fromZero)
        biggest += tr(" <span style=\"color:gray\">(%1 all-zero in A, now nonzero)</span>").arg(fromZero);
    m_biggest->setText(biggest);
    if (m_load) {
        const LoadCheck& c = *m_load;
        if (c.loads()) {
            m_loadLabel->setText(
                tr("<span style=\"color:#2e7d32\">B loads into A's model as it is</span> "
                   "<span style=\"color:gray\">(load_state_dict(strict=True) would find every key and shape)</span>"));
        } else {
            QStringList what;
            if (!c.missing.isEmpty())
                what << tr("%1 missing").arg(c.missing.size());
            if (!c.unexpected.isEmpty())
                what << tr("%1 unexpected").arg(c.unexpected.size());
            if (!c.sizeMismatch.empty())
                what << tr("%1 size mismatches").arg(c.sizeMismatch.size());
            m_loadLabel->setText(
                tr("<span style=\"color:#b3261e\">B does not load into A's model with strict=True</span>: %1%2")
                    .arg(what.join(QStringLiteral(", ")),
                        c.suggestion.isEmpty() ? QString() : tr(" — fix: %1").arg(esc(c.suggestion))));
        }
    }
    m_loadLabel->setVisible(m_load.has_value());
}

QString CompareWindow::summaryText() const
{
    QStringList parts;
    for (DiffStatus s : kDiffStatuses)
        parts << m_buttons.at(s)->text();
    QTextDocument doc;
    doc.setHtml(m_biggest->text());
    return parts.join(QStringLiteral(", ")) + QLatin1Char('\n') + doc.toPlainText();
}

void CompareWindow::applyFilters()
{
    const int leaves = m_result ? int(m_result->tensors.size()) : 0;
    if (leaves <= 400)
        m_view->expandAll();
    else
        m_view->expandToDepth(0);
    if (m_view->currentIndex().isValid())
        m_view->scrollTo(m_view->currentIndex());
}

bool CompareWindow::selectKey(const QString& key)
{
    const QModelIndex source = m_model->indexOfKey(key);
    if (!source.isValid())
        return false;
    QModelIndex index = m_proxy->mapFromSource(source);
    if (!index.isValid()) {
        // Hidden by the filters: show everything again rather than select nothing.
        m_filter->clear();
        for (DiffStatus s : kDiffStatuses)
            m_buttons[s]->setChecked(true);
        index = m_proxy->mapFromSource(source);
        if (!index.isValid())
            return false;
    }
    m_view->expand(index);
    m_view->setCurrentIndex(index);
    m_view->scrollTo(index);
    m_tabs->setCurrentIndex(0);
    return true;
}

void CompareWindow::showCurrentPair()
{
    const QModelIndex index = m_view->currentIndex();
    const int pair = index.isValid() ? index.data(DiffTreeModel::DiffIndexRole).toInt() : -1;
    if (pair == m_pair && pair >= 0 && m_pairStats->pair == pair)
        return;
    m_pair = pair;
    m_statsTask->stop();
    *m_pairStats = PairStats {};
    if (!m_result || pair < 0 || size_t(pair) >= m_result->tensors.size()) {
        m_pairView->setHtml(index.isValid()
                ? tr("<p><b>%1</b></p><p>%2</p><p style=\"color:gray\">Select a tensor to compare its two sides.</p>")
                      .arg(esc(index.data(DiffTreeModel::KeyRole).toString()),
                          esc(index.siblingAtColumn(DiffTreeModel::StatusColumn).data().toString()))
                : QString());
        m_hist->clear(tr("Select a pair to see both distributions"));
        return;
    }
    const TensorDiff& d = m_result->tensors[size_t(pair)];
    m_pairStats->pair = pair;
    if (d.tensorA >= 0 && d.tensorB >= 0)
        m_hist->setOverlay(m_a, d.tensorA, m_b, d.tensorB, tr("A"), tr("B"));
    else if (d.tensorA >= 0)
        m_hist->setTensor(m_a, d.tensorA, tr("A"));
    else
        m_hist->setTensor(m_b, d.tensorB, tr("B"));
    renderPair();
    const CheckpointPtr a = m_a, b = m_b;
    const int ta = d.tensorA, tb = d.tensorB;
    m_statsTask->start<PairStats>(
        [a, b, ta, tb, pair](const std::atomic<bool>& cancel) {
            PairStats s;
            s.pair = pair;
            s.done = true;
            const auto one = [&](const CheckpointPtr& ck, int t, std::optional<TensorStats>& out, QString& error) {
                if (t < 0)
                    return;
                auto r = computeStats(*ck, t, 0, &cancel);
                if (r)
                    out = *r;
                else
                    error = r.error().what;
            };
            one(a, ta, s.a, s.errorA);
            one(b, tb, s.b, s.errorB);
            return s;
        },
        [this](PairStats s) {
            if (s.pair != m_pair)
                return;
            *m_pairStats = std::move(s);
            renderPair();
            emit pairStatsReady();
        });
}

void CompareWindow::renderPair()
{
    if (!m_result || m_pair < 0)
        return;
    const TensorDiff& d = m_result->tensors[size_t(m_pair)];
    const TensorInfo* ta = d.tensorA >= 0 ? &m_a->tensors[size_t(d.tensorA)] : nullptr;
    const TensorInfo* tb = d.tensorB >= 0 ? &m_b->tensors[size_t(d.tensorB)] : nullptr;
    const Checkpoint* ca = m_a.get();
    const Checkpoint* cb = m_b.get();
    QString rows;
    // Values that differ between the sides are bold.
    const auto row = [&](const QString& label, const QString& a, const QString& b, bool compare = true) {
        const bool differ = compare && a != b;
        const auto cell = [&](const QString& v) {
            return QStringLiteral("<td%1>%2</td>")
                .arg(differ ? QStringLiteral(" style=\"font-weight:bold\"") : QString(), esc(v));
        };
        rows += QStringLiteral("<tr><td class=\"k\">%1</td>%2%3</tr>").arg(esc(label), cell(a), cell(b));
    };
    const auto section = [&](const QString& title) {
        rows += QStringLiteral("<tr><td colspan=\"3\"><h4>%1</h4></td></tr>").arg(esc(title));
    };
    const auto device = [](const Checkpoint* ck, const TensorInfo* t) {
        return t && t->storage >= 0 ? ck->storages[size_t(t->storage)].location : QString();
    };
    const auto field = [](const TensorInfo* t, auto f) { return t ? f(*t) : QStringLiteral("–"); };
    section(tr("Descriptor"));
    row(tr("path"), d.pathA.isEmpty() ? tr("(absent)") : d.pathA.join(QLatin1Char('/')),
        d.pathB.isEmpty() ? tr("(absent)") : d.pathB.join(QLatin1Char('/')), false);
    row(tr("dtype"), field(ta, [](const TensorInfo& t) { return dtypeName(t.dtype); }),
        field(tb, [](const TensorInfo& t) { return dtypeName(t.dtype); }));
    row(tr("shape"), field(ta, [](const TensorInfo& t) { return shapeText(t.shape); }),
        field(tb, [](const TensorInfo& t) { return shapeText(t.shape); }));
    row(tr("stride"), field(ta, [](const TensorInfo& t) { return shapeText(t.stride); }),
        field(tb, [](const TensorInfo& t) { return shapeText(t.stride); }));
    row(tr("storage offset"), field(ta, [](const TensorInfo& t) { return QString::number(t.storageOffset); }),
        field(tb, [](const TensorInfo& t) { return QString::number(t.storageOffset); }));
    row(tr("elements"), field(ta, [](const TensorInfo& t) { return QLocale().toString(qlonglong(t.numel())); }),
        field(tb, [](const TensorInfo& t) { return QLocale().toString(qlonglong(t.numel())); }));
    row(tr("bytes"), field(ta, [](const TensorInfo& t) { return formatBytes(t.nbytes()); }),
        field(tb, [](const TensorInfo& t) { return formatBytes(t.nbytes()); }));
    row(tr("device"), device(ca, ta), device(cb, tb));
    row(tr("parameter"), field(ta, [](const TensorInfo& t) { return t.parameter ? tr("yes") : tr("no"); }),
        field(tb, [](const TensorInfo& t) { return t.parameter ? tr("yes") : tr("no"); }));

    section(tr("Statistics"));
    const PairStats& s = *m_pairStats;
    if (!s.done) {
        row(tr("computing…"), ta ? QStringLiteral("…") : QString(), tb ? QStringLiteral("…") : QString(), false);
    } else {
        const auto stat
            = [&](const std::optional<TensorStats>& st, const QString& error, const TensorInfo* t, auto f) -> QString {
            if (!t)
                return QStringLiteral("–");
            if (!st)
                return error;
            return f(*st);
        };
        const auto statRow = [&](const QString& label, auto f) {
            row(label, stat(s.a, s.errorA, ta, f), stat(s.b, s.errorB, tb, f));
        };
        statRow(tr("min"), [](const TensorStats& t) { return optNumber(t.min); });
        statRow(tr("max"), [](const TensorStats& t) { return optNumber(t.max); });
        statRow(tr("mean"), [](const TensorStats& t) { return optNumber(t.mean); });
        statRow(tr("std"), [](const TensorStats& t) { return optNumber(t.std); });
        statRow(tr("L2 norm"), [](const TensorStats& t) { return QString::number(t.l2, 'g', 6); });
        statRow(tr("max |x|"), [](const TensorStats& t) { return optNumber(t.absmax); });
        statRow(tr("zeros"), [](const TensorStats& t) { return QLocale().toString(qlonglong(t.zeros)); });
        statRow(tr("NaN"), [](const TensorStats& t) { return QLocale().toString(qlonglong(t.nan)); });
        statRow(tr("Inf"), [](const TensorStats& t) { return QLocale().toString(qlonglong(t.inf)); });
    }

    QString metrics;
    if (d.metrics) {
        const PairMetrics& m = *d.metrics;
        const std::int64_t n = ta ? ta->numel() : 0;
        const auto line = [&](const QString& label, const QString& value) {
            metrics += QStringLiteral("<tr><td class=\"k\">%1</td><td>%2</td></tr>").arg(esc(label), esc(value));
        };
        line(tr("max |a−b|"), DiffTreeModel::metricText(m.maxAbs));
        line(tr("mean |a−b|"), DiffTreeModel::metricText(m.meanAbs));
        line(tr("‖a−b‖ / ‖a‖"), DiffTreeModel::metricText(m.relL2));
        line(tr("cosine"), m.cosine ? QString::number(*m.cosine, 'f', 8) : tr("undefined (a side is all zeros)"));
        line(tr("differing elements"),
            n ? tr("%1 of %2 (%3%)")
                    .arg(QLocale().toString(qlonglong(m.differing)), QLocale().toString(qlonglong(n)))
                    .arg(100.0 * double(m.differing) / double(n), 0, 'g', 3)
              : QLocale().toString(qlonglong(m.differing)));
        line(tr("not close"), QLocale().toString(qlonglong(m.notClose)));
        line(tr("compared on"), m.backend == QLatin1String("cuda") ? tr("GPU (CUDA)") : m.identical ? tr("CPU (same bytes)") : tr("CPU"));
        metrics = QStringLiteral("<h4>%1</h4><table cellspacing=\"0\" cellpadding=\"2\">%2</table>")
                      .arg(tr("Difference"), metrics);
    }
    const DiffStatus st = d.status;
    const QString html = QStringLiteral(
        "<html><head><style>td.k { color: gray; padding-right: 14px; white-space: nowrap; }"
        "td { vertical-align: top; padding-right: 12px; } h4 { margin: 8px 0 2px 0; }</style></head><body>"
        "<p><b>%1</b> &nbsp; <span style=\"color:%2; background:%3\">&nbsp;%4&nbsp;</span></p>"
        "%5<table cellspacing=\"0\" cellpadding=\"2\"><tr><td></td><td><b>A</b></td><td><b>B</b></td></tr>%6</table>"
        "</body></html>")
                             .arg(esc(d.key), statusForeground(st).name(), statusBackground(st).name(),
                                 esc(diffStatusLabel(st)), metrics, rows);
    const int scroll = m_pairView->verticalScrollBar()->value();
    m_pairView->setHtml(html);
    m_pairView->verticalScrollBar()->setValue(scroll);
}

QString CompareWindow::pairText() const
{
    return m_pairView->toPlainText();
}

void CompareWindow::showLayers()
{
    const int i = m_blockChoice->currentIndex();
    const bool any = i >= 0 && size_t(i) < m_profiles.size();
    m_blockChoice->setEnabled(m_profiles.size() > 1);
    m_layerCanvas->setProfile(any ? &m_profiles[size_t(i)] : nullptr);
    m_layerCanvas->setVisible(any);
    if (!any) {
        m_layerNote->setText(tr("No repeated block (such as layers.0 … layers.N) among the compared keys."));
        return;
    }
    const DiffBlockProfile& p = m_profiles[size_t(i)];
    int changed = 0;
    for (const auto& l : p.layers)
        changed += l.changed ? 1 : 0;
    int fromZero = 0;
    for (const auto& l : p.layers)
        fromZero += l.fromZero;
    QString note = tr(
        "Bars: the mean over a block's tensors; ticks: the largest. %1 blocks, %2 with a tensor changed beyond the "
        "tolerances (red). Hollow blocks have no comparable tensor (shapes differ or a side lacks them).")
                       .arg(p.layers.size())
                       .arg(changed);
    if (fromZero)
        note += tr(" %1 tensors all zeros in A are left out (their relative change is infinite).").arg(fromZero);
    m_layerNote->setText(note);
}

} // namespace ckpt
