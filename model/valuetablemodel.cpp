#include "model/valuetablemodel.h"

#include <cmath>

namespace ckpt {

ValueTableModel::ValueTableModel(QObject* parent)
    : QAbstractTableModel(parent)
{
}

void ValueTableModel::setPage(ValuePage page, DType dtype)
{
    beginResetModel();
    m_page = std::move(page);
    m_dtype = dtype;
    endResetModel();
}

void ValueTableModel::clear()
{
    setPage({}, DType::Float32);
}

int ValueTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_page.rows);
}

int ValueTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_page.cols);
}

QString ValueTableModel::format(double v, DType dtype)
{
    if (std::isnan(v))
        return QStringLiteral("nan");
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    if (dtype == DType::Bool)
        return v != 0 ? QStringLiteral("True") : QStringLiteral("False");
    if (!dtypeIsFloatingPoint(dtype) && dtype != DType::Complex32 && dtype != DType::Complex64
        && dtype != DType::Complex128)
        return QString::number(v, 'f', 0);
    // float16/bfloat16/float8 carry 3-4 significant digits, float32 about 7, float64 about 16.
    const int digits = dtype == DType::Float64 || dtype == DType::Complex128 ? 10
        : dtype == DType::Float32 || dtype == DType::Complex64              ? 7
                                                                              : 4;
    return QString::number(v, 'g', digits);
}

QVariant ValueTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const double v = m_page.at(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole: return format(v, m_dtype);
    case ValueRole: return v;
    case Qt::TextAlignmentRole: return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole:
        return QStringLiteral("[%1, %2] = %3")
            .arg(m_page.rowBegin + index.row())
            .arg(m_page.colBegin + index.column())
            .arg(QString::number(v, 'g', 17));
    default: return {};
    }
}

QVariant ValueTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    return QString::number((orientation == Qt::Horizontal ? m_page.colBegin : m_page.rowBegin) + section);
}

} // namespace ckpt
