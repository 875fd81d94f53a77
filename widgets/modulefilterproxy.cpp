#include "widgets/modulefilterproxy.h"

#include "model/moduletreemodel.h"
#include "widgets/treefilterproxy.h"

#include <QColor>
#include <QFont>
#include <QPalette>

namespace ckpt {

ModuleFilterProxy::ModuleFilterProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(ModuleTreeModel::SortRole);
    // Statistics arriving must not re-run the filter: it depends on names only.
    setFilterKeyColumn(ModuleTreeModel::NameColumn);
}

void ModuleFilterProxy::setSourceModel(QAbstractItemModel* source)
{
    m_modules = qobject_cast<ModuleTreeModel*>(source);
    QSortFilterProxyModel::setSourceModel(source);
}

void ModuleFilterProxy::setMatch(ModuleMatch match)
{
    m_match = std::move(match);
    invalidateFilter();
}

bool ModuleFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_match.visible.empty() || !m_modules)
        return true;
    const int node = m_modules->nodeOf(m_modules->index(sourceRow, 0, sourceParent));
    return node >= 0 && size_t(node) < m_match.visible.size() && m_match.visible[size_t(node)];
}

bool ModuleFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant l = left.data(sortRole());
    const QVariant r = right.data(sortRole());
    const auto isNumber = [](const QVariant& v) {
        const int t = v.typeId();
        return t == QMetaType::LongLong || t == QMetaType::Int || t == QMetaType::Double;
    };
    const bool ln = isNumber(l), rn = isNumber(r);
    if (ln && rn)
        return l.toDouble() < r.toDouble();
    // Rows without a figure (modules in the shape column, statistics not known yet) go last.
    if (ln != rn)
        return ln;
    const QString ls = l.toString(), rs = r.toString();
    if (ls.isEmpty() != rs.isEmpty())
        return !ls.isEmpty();
    return naturalCompare(ls, rs) < 0;
}

QVariant ModuleFilterProxy::data(const QModelIndex& index, int role) const
{
    if (role == Qt::ForegroundRole) {
        const QModelIndex source = mapToSource(index);
        if (index.column() == ModuleTreeModel::NonFiniteColumn && source.data(ModuleTreeModel::NonFiniteRole).toLongLong() > 0)
            return QColor(0xb3, 0x26, 0x1e);
        if (source.data(ModuleTreeModel::TensorRoleRole).toInt() == int(TensorRole::Buffer))
            return QPalette().color(QPalette::Disabled, QPalette::Text);
    }
    if (role == Qt::FontRole && index.column() == ModuleTreeModel::NonFiniteColumn
        && mapToSource(index).data(ModuleTreeModel::NonFiniteRole).toLongLong() > 0) {
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    return QSortFilterProxyModel::data(index, role);
}

} // namespace ckpt
