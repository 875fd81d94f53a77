#pragma once

#include "io/checkpoint.h"

#include <QAbstractItemModel>

#include <vector>

namespace ckpt {

// The parsed object of a checkpoint as a tree: containers, tensors (dtype, shape, elements, bytes), scalars.
// Nodes live in one contiguous vector; an index's internalId is its parent node's position in it.
class ObjectTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Columns { KeyColumn, TypeColumn, DTypeColumn, ShapeColumn, ElementsColumn, BytesColumn, ValueColumn, ColumnCount };
    enum Roles {
        SortRole = Qt::UserRole, // raw numbers for numeric columns
        TensorIndexRole,         // index into Checkpoint::tensors, -1 for non-tensors
        PathRole,                // QStringList of keys from the root
        ObjectIdRole,
    };

    explicit ObjectTreeModel(QObject* parent = nullptr);

    void setCheckpoint(CheckpointPtr ck);
    const CheckpointPtr& checkpoint() const { return m_ck; }
    // The tree stops growing past this many nodes (a pickle can share subtrees exponentially often).
    static constexpr int kMaxNodes = 2'000'000;
    bool truncated() const { return m_truncated; }

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Compact text rendering of the whole tree, one node a line (tests compare against it).
    QString dump(int maxDepth = kDumpAll) const;
    static constexpr int kDumpAll = 1 << 20;

private:
    struct Node {
        QString key;
        ObjId obj = kNoObject;
        int parent = -1;
        int row = 0;
        std::vector<int> children;
    };
    void build(int node, int depth, std::vector<ObjId>& onPath);
    int nodeOf(const QModelIndex& index) const;
    QStringList pathOf(int node) const;

    CheckpointPtr m_ck;
    std::vector<Node> m_nodes; // m_nodes[0] is the invisible root holding the checkpoint's root object
    bool m_truncated = false;
};

} // namespace ckpt
