#include "widgets/exportpreviewstyle.h"

#include "model/exportpreviewtreemodel.h"

#include <QColor>

namespace ckpt {

QVariant ExportPreviewStyle::data(const QModelIndex& index, int role) const
{
    if (role != Qt::ForegroundRole && role != Qt::BackgroundRole)
        return QIdentityProxyModel::data(index, role);
    const int state = QIdentityProxyModel::data(index, ExportPreviewTreeModel::RowStateRole).toInt();
    if (role == Qt::BackgroundRole)
        return state & ExportPreviewTreeModel::Collides ? QVariant(QColor(253, 236, 234)) : QVariant();
    if (state & ExportPreviewTreeModel::Excluded)
        return QColor(128, 128, 128);
    if (state & ExportPreviewTreeModel::Collides)
        return QColor(179, 38, 30);
    if (state & ExportPreviewTreeModel::Changed)
        return QColor(21, 101, 192);
    return {};
}

} // namespace ckpt
