#pragma once

#include "model/semantic.h"
#include "model/statsresult.h"

#include <QAbstractItemModel>

#include <memory>

namespace ckpt {

// The module hierarchy of the model's state dict: one top row for the state dict, modules below it, tensors as
// leaves. Sizes are aggregated over each subtree; statistics fill in as they are supplied, a module's once all
// of its tensors are known (mean, std, min, max and L2 over its parameters; NaN/Inf over all its tensors).
// Nodes are those of Semantic::modules; an index's internalId is its parent node + 1 (0: above the top row).
class ModuleTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Columns {
        NameColumn,
        KindColumn,
        DTypeColumn,
        ShapeColumn,
        ParametersColumn,
        BytesColumn,
        MeanColumn,
        StdColumn,
        MinColumn,
        MaxColumn,
        L2Column,
        NonFiniteColumn,
        ColumnCount,
        FirstStatsColumn = MeanColumn,
    };
    enum Roles {
        SortRole = Qt::UserRole, // raw numbers for numeric columns
        TensorIndexRole,         // index into Checkpoint::tensors, -1 for modules
        NodeRole,                // index into ModuleTree::nodes
        FullNameRole,            // the dotted key or module prefix
        TensorRoleRole,          // 0 parameter, 1 buffer, -1 module
        NonFiniteRole,           // NaN + Inf count when known, else invalid
    };

    explicit ModuleTreeModel(QObject* parent = nullptr);

    // `sem` must be the analysis of `ck`; without a primary state dict the model is empty.
    void setTree(CheckpointPtr ck, std::shared_ptr<const Semantic> sem);
    const CheckpointPtr& checkpoint() const { return m_ck; }
    const std::shared_ptr<const Semantic>& semantic() const { return m_sem; }
    const ModuleTree* tree() const;

    // Statistics by tensor index; a tensor that appears under several keys fills every row.
    void setStats(const StatsBatch& batch);
    void clearStats();
    const StatsResult* stats(int tensor) const;
    // Tensors of the tree with a known result, and all tensors of the tree.
    int statsKnown() const;
    int tensorCount() const;

    int nodeOf(const QModelIndex& index) const; // -1 for the invisible root
    QModelIndex indexOfNode(int node, int column = 0) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Compact text of the tree, one row a line, cells joined by " | " (tests compare against it).
    QString dump(int maxDepth = 1 << 20) const;

    // How statistics are written in cells: four significant digits.
    static QString number(double v);

private:
    // Subtree statistics: Chan's pairwise merge of counts, means and squared deviations.
    struct Aggregate {
        std::int64_t known = 0;        // leaves with a result
        std::int64_t finite = 0;
        double mean = 0, m2 = 0, sumSquares = 0;
        double min = 0, max = 0;
        std::int64_t nonFinite = 0;
        bool complete = false;         // every leaf below has a result
    };
    void recomputeAggregates();
    QVariant statsCell(int node, int column, bool numeric) const;

    CheckpointPtr m_ck;
    std::shared_ptr<const Semantic> m_sem;
    std::vector<int> m_row;                     // per node: row under its parent
    std::vector<QString> m_kind;                // per node
    std::vector<std::pair<int, int>> m_leaves;  // (tensor, node), sorted
    std::vector<std::optional<StatsResult>> m_stats; // by tensor index
    std::vector<Aggregate> m_agg;               // per node
    int m_known = 0;
};

} // namespace ckpt
