#pragma once

#include <QTreeView>

namespace ckpt {

// A tree view for models that announce changes over long row ranges (statistics arriving for the thousands of
// children of a `layers` module, each announced as one dataChanged over all of them). QTreeView works out the
// rectangle of every row in such a range before repainting, O(rows) on the GUI thread per signal: a quarter of a
// second per batch at 60,000 tensors. Past kBulkRows rows, and with uniform row heights (no row changes height),
// repainting what is visible gives the same picture for the cost of the visible rows. Ranges under a collapsed
// parent are not on screen and cost nothing.
class BulkTreeView : public QTreeView {
    Q_OBJECT
public:
    using QTreeView::QTreeView;
    static constexpr int kBulkRows = 64;

protected:
    void dataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight, const QList<int>& roles) override;
};

} // namespace ckpt
