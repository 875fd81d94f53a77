#include "widgets/bulktreeview.h"

namespace ckpt {

void BulkTreeView::dataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight, const QList<int>& roles)
{
    const bool bulk = uniformRowHeights() && topLeft.isValid() && bottomRight.isValid()
        && topLeft.parent() == bottomRight.parent() && bottomRight.row() - topLeft.row() >= kBulkRows;
    if (!bulk) {
        QTreeView::dataChanged(topLeft, bottomRight, roles);
        return;
    }
    // Rows of a collapsed parent are not on screen: nothing to repaint.
    if (topLeft.parent().isValid() && !isExpanded(topLeft.parent()))
        return;
    viewport()->update();
}

} // namespace ckpt
