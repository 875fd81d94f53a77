#include "widgets/valuetableview.h"

#include "model/valuetablemodel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

namespace ckpt {

ValueTableView::ValueTableView(QWidget* parent)
    : QWidget(parent)
    , m_model(new ValueTableModel(this))
{
    m_table = new QTableView;
    m_table->setObjectName(QStringLiteral("valueTable"));
    m_table->setModel(m_model);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 4);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    // A fixed width that fits "-1.234568e-05": measuring every cell of a page would cost more than it shows.
    m_table->horizontalHeader()->setDefaultSectionSize(m_table->fontMetrics().horizontalAdvance(QStringLiteral("-1.234568e-05")) + 14);
    m_table->horizontalHeader()->setDefaultAlignment(Qt::AlignRight | Qt::AlignVCenter);

    const auto button = [](Qt::ArrowType arrow, const QString& tip) {
        auto* b = new QToolButton;
        b->setArrowType(arrow);
        b->setAutoRaise(true);
        b->setToolTip(tip);
        return b;
    };
    m_prevRows = button(Qt::UpArrow, tr("Previous rows"));
    m_nextRows = button(Qt::DownArrow, tr("Next rows"));
    m_prevCols = button(Qt::LeftArrow, tr("Previous columns"));
    m_nextCols = button(Qt::RightArrow, tr("Next columns"));
    connect(m_prevRows, &QToolButton::clicked, this, &ValueTableView::previousRows);
    connect(m_nextRows, &QToolButton::clicked, this, &ValueTableView::nextRows);
    connect(m_prevCols, &QToolButton::clicked, this, &ValueTableView::previousColumns);
    connect(m_nextCols, &QToolButton::clicked, this, &ValueTableView::nextColumns);
    m_rowsLabel = new QLabel;
    m_colsLabel = new QLabel;
    m_message = new QLabel;
    m_message->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(m_prevRows);
    bar->addWidget(m_rowsLabel);
    bar->addWidget(m_nextRows);
    bar->addSpacing(12);
    bar->addWidget(m_prevCols);
    bar->addWidget(m_colsLabel);
    bar->addWidget(m_nextCols);
    bar->addSpacing(12);
    bar->addWidget(m_message, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_table, 1);
    updateBar();
}

void ValueTableView::clear(const QString& message)
{
    m_ck.reset();
    m_tensor = -1;
    m_model->clear();
    m_message->setText(message);
    updateBar();
}

void ValueTableView::setSource(CheckpointPtr ck, int tensor, const SliceSpec& spec)
{
    m_ck = std::move(ck);
    m_tensor = tensor;
    m_spec = spec;
    m_message->clear();
    showPage(0, 0);
}

bool ValueTableView::showPage(std::int64_t rowBegin, std::int64_t colBegin)
{
    if (!m_ck)
        return false;
    const TensorInfo& t = m_ck->tensors[size_t(m_tensor)];
    auto page = readSlice(*m_ck, m_tensor, m_spec, rowBegin, kPageRows, colBegin, kPageCols);
    if (!page) {
        spdlog::debug("no page at {}, {}: {}", rowBegin, colBegin, page.error().message().toStdString());
        if (rowBegin == 0 && colBegin == 0) {
            m_model->clear();
            m_message->setText(page.error().what);
            updateBar();
        }
        return false;
    }
    m_rowBegin = rowBegin;
    m_colBegin = colBegin;
    m_model->setPage(std::move(*page), t.dtype);
    const bool complex = t.dtype == DType::Complex32 || t.dtype == DType::Complex64 || t.dtype == DType::Complex128;
    m_message->setText(m_model->page().totalRows == 0 || m_model->page().totalCols == 0 ? tr("Empty tensor")
            : complex                                                                   ? tr("complex values shown as |z|")
                                                                                        : QString());
    updateBar();
    return true;
}

QString ValueTableView::pageText() const
{
    return m_rowsLabel->text() + QLatin1Char(' ') + m_colsLabel->text();
}

void ValueTableView::updateBar()
{
    const ValuePage& p = m_model->page();
    const QLocale locale;
    const auto range = [&](std::int64_t begin, std::int64_t count, std::int64_t total, const QString& what) {
        if (total == 0)
            return QString();
        return tr("%1 %2–%3 of %4")
            .arg(what, locale.toString(qlonglong(begin)), locale.toString(qlonglong(begin + count - 1)),
                locale.toString(qlonglong(total)));
    };
    m_rowsLabel->setText(range(p.rowBegin, p.rows, p.totalRows, tr("rows")));
    m_colsLabel->setText(range(p.colBegin, p.cols, p.totalCols, tr("columns")));
    const bool multiRowPages = p.totalRows > kPageRows;
    const bool multiColPages = p.totalCols > kPageCols;
    m_prevRows->setVisible(multiRowPages);
    m_nextRows->setVisible(multiRowPages);
    m_prevCols->setVisible(multiColPages);
    m_nextCols->setVisible(multiColPages);
    m_prevRows->setEnabled(p.rowBegin > 0);
    m_nextRows->setEnabled(p.rowBegin + p.rows < p.totalRows);
    m_prevCols->setEnabled(p.colBegin > 0);
    m_nextCols->setEnabled(p.colBegin + p.cols < p.totalCols);
}

} // namespace ckpt
