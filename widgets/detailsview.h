#pragma once

#include "io/checkpoint.h"

#include <QTextBrowser>

namespace ckpt {

struct CheckpointSummary;

// The pane under the tree: what one selected row is, or the whole file when the top row is selected.
// It lays out values the model already computed; it derives nothing itself.
class DetailsView : public QTextBrowser {
    Q_OBJECT
public:
    explicit DetailsView(QWidget* parent = nullptr);

    void showSummary(const CheckpointSummary& s, bool treeTruncated);
    // `index` is an index of the ObjectTreeModel holding `ck` (not of a proxy).
    void showIndex(const Checkpoint& ck, const QModelIndex& index);
    void showNothing();
};

} // namespace ckpt
