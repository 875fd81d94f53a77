#pragma once

#include "model/exportplan.h"

#include <QAbstractItemModel>

#include <optional>
#include <vector>

namespace ckpt {

// What an export will write, as a tree over the SOURCE keys of the exported container (modules as parents, split
// at dots; tensors as leaves, in file order) so that every key shows, kept or not: a check box on every row
// (modules tri-state), the output key after renaming, the dtype after the cast, shape and size. Excluded keys are
// unchecked and grey; colliding output keys red. Checking or unchecking a row does not change the plan here: it
// emits planEditRequested with the plan that keeps or leaves out that row's keys (planWithChecked), and the owner
// applies it (an undoable step) and calls setPlan again. How a state looks (grey, red, blue) is the view's choice
// (widgets/exportpreviewstyle.h): RowStateRole says what a cell is.
class ExportPreviewTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Columns { KeyColumn, OutputColumn, DtypeColumn, ShapeColumn, BytesColumn, ColumnCount };
    enum Roles {
        SortRole = Qt::UserRole, // raw numbers for numeric columns (bytes), keys otherwise
        SourceKeyRole, // the dotted source key, or the module prefix
        KeptRole, // bool: a leaf is written / a module has a key written
        TensorIndexRole, // index into Checkpoint::tensors, -1 for modules
        RowStateRole, // RowState flags of the cell
    };
    enum RowState {
        Excluded = 1, // nothing of the row is written
        Collides = 2, // another kept tensor is written under the same output key
        Changed = 4, // this cell differs from the source: the output key renamed, the dtype cast
    };

    explicit ExportPreviewTreeModel(QObject* parent = nullptr);

    // `all`: every tensor of the exported container as `plan` renames and casts it, include/exclude aside (the
    // plan resolved without filters); `resolved`: the plan as it is (unset when it does not resolve: nothing is
    // checkable then). The same keys as before keep the rows (and the view's expansion); other keys reset.
    void setPlan(CheckpointPtr ck, const ExportPlan& plan, std::vector<PlannedTensor> all,
        const std::optional<ResolvedPlan>& resolved);
    const ExportPlan& plan() const { return m_plan; }

    int keyCount() const { return int(m_all.size()); }
    int keptCount() const { return m_keptCount; }
    int collisions() const;
    QModelIndex indexOfKey(const QString& sourceKey, int column = 0) const; // a tensor's key or a module's prefix
    // The patterns that name a node: a tensor's exact key, a module's "prefix.*" (a regular expression when the key
    // holds a glob character).
    static QString keyPattern(const QString& key);
    static QString modulePattern(const QString& prefix);

    // The plan with the keys of `index` kept (checked) or left out. Leaving out adds the row's pattern to the
    // excludes (dropping the ones of rows below it). Keeping drops the row's own patterns; an exclude that is broader
    // (a glob or regex, a module above) is replaced by the patterns of the other keys it matched, as few as the tree
    // allows ("blocks.1.*", exact keys); when includes are set and miss a key, the row's pattern is included.
    ExportPlan planWithChecked(const QModelIndex& index, bool checked) const;

    // One row a line, indented two spaces a level: [x]/[ ]/[~] name | output | dtype | shape | bytes.
    QString dump() const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void planEditRequested(const ckpt::ExportPlan& plan, const QString& what);

private:
    struct Node {
        QString name; // last component
        QString key; // source key (leaf) or module prefix; empty for the root
        int parent = -1;
        int row = 0;
        std::vector<int> children;
        int entry = -1; // leaf: index into m_all
        int leaves = 0; // aggregates over the subtree
        int kept = 0;
        std::int64_t bytes = 0; // output bytes of the kept leaves
        std::int64_t allBytes = 0; // output bytes of every leaf
    };
    void build();
    void aggregate();
    const Node* nodeOf(const QModelIndex& index) const;
    int nodeIndex(const QModelIndex& index) const;
    QString patternOf(int node) const;
    void subtree(int node, std::vector<int>& out) const;
    QString whyNotKept(int entry) const;
    void dumpNode(int node, int depth, QString& out) const;

    CheckpointPtr m_ck;
    ExportPlan m_plan;
    bool m_resolvable = false;
    std::vector<PlannedTensor> m_all;
    std::vector<char> m_kept; // per entry of m_all
    std::vector<int> m_uses; // per entry: kept tensors written under its output key
    std::vector<Node> m_nodes; // [0]: the invisible root; children after their parent
    int m_keptCount = 0;
};

} // namespace ckpt
