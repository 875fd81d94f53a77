#include "widgets/bulktreeview.h"

namespace ckpt {

void BulkTreeView::dataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight, const QList<int>& roles)
{
    // Rows under a collapsed parent or ancestor are not on screen: nothing to measure or repaint. QTreeView
    // would still look each of them up among the shown rows (a scan of them all, to find nothing), and a batch
    // of statistics names thousands of such short ranges: that was half of the GUI thread's time while the
    // statistics of 60,000 tensors came in.
    for (QModelIndex p = topLeft.parent(); p.isValid() && p != rootIndex(); p = p.parent())
        if (!isExpanded(p))
            return;
    const bool bulk = uniformRowHeights() && topLeft.isValid() && bottomRight.isValid()
        && topLeft.parent() == bottomRight.parent() && bottomRight.row() - topLeft.row() >= kBulkRows;
    if (!bulk) {
        QTreeView::dataChanged(topLeft, bottomRight, roles);
        return;
    }
    viewport()->update();
}

} // namespace ckpt
