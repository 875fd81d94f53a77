#pragma once

#include "io/checkpoint.h"
#include "model/layerprofile.h"

#include <QTextBrowser>

namespace ckpt {

struct CheckpointSummary;
struct ModelOverview;
struct Semantic;
struct StatsResult;

// The pane under the tree: what one selected row is, or the whole file when the top row is selected.
// It lays out values the model already computed; it derives nothing itself.
class DetailsView : public QTextBrowser {
    Q_OBJECT
public:
    explicit DetailsView(QWidget* parent = nullptr);

    void showSummary(const CheckpointSummary& s, bool treeTruncated);
    // `index` is an index of the ObjectTreeModel holding `ck` (not of a proxy); `stats` when known for its tensor.
    void showIndex(const Checkpoint& ck, const QModelIndex& index, const StatsResult* stats = nullptr);
    // `index` is an index of the ModuleTreeModel (not of a proxy) below its top row: a module or a tensor, with its
    // statistics and, for a parameter, the optimizer state kept for it.
    void showModuleNode(const Checkpoint& ck, const Semantic& sem, const QModelIndex& index, const StatsLookup& stats);
    // The file as a model: format, sizes, parameters per top-level module, largest tensors, layers, optimizers,
    // training metadata.
    void showOverview(const Checkpoint& ck, const CheckpointSummary& s, const ModelOverview& o, const Semantic& sem);
    void showNothing();
};

} // namespace ckpt
