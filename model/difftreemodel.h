#pragma once

#include "model/diff.h"

#include <QAbstractItemModel>
#include <QHash>

#include <array>
#include <memory>
#include <vector>

namespace ckpt {

// How bad a status is, for a module's summary and for sorting: 0 equal ... 6 only in one file.
int diffSeverity(DiffStatus s);
QString diffStatusLabel(DiffStatus s); // "equal", "close", "different", "shape", "dtype", "only in A", "only in B"
constexpr std::array<DiffStatus, 7> kDiffStatuses { DiffStatus::Equal, DiffStatus::Close, DiffStatus::Different,
    DiffStatus::Shape, DiffStatus::Dtype, DiffStatus::OnlyA, DiffStatus::OnlyB };

// A comparison as one tree aligned by key and grouped by module: `blocks.0.attn.weight` sits under blocks > 0 > attn.
// Leaves are the aligned pairs (DiffResult::tensors, in file order); a module node summarises its subtree: the
// statuses it holds, its worst one, and the largest of each metric below it.
// Nodes live in one contiguous vector; an index's internalId is its parent node's position in it.
class DiffTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Columns {
        KeyColumn,
        StatusColumn,
        RelL2Column,
        MaxAbsColumn,
        MeanAbsColumn,
        CosineColumn,
        DifferingColumn,
        AColumn,
        BColumn,
        ColumnCount
    };
    enum Roles {
        SortRole = Qt::UserRole, // raw numbers for metric columns, severity for the status column
        StatusRole,              // int(DiffStatus): the pair's, or the worst below a module
        DiffIndexRole,           // index into DiffResult::tensors, -1 for modules
        KeyRole,                 // the aligned key, or the module prefix
    };

    explicit DiffTreeModel(QObject* parent = nullptr);

    // `a` and `b` are the compared files (for the dtype/shape columns).
    void setResult(CheckpointPtr a, CheckpointPtr b, std::shared_ptr<const DiffResult> result);
    void clear();
    const DiffResult* result() const { return m_result.get(); }
    const CheckpointPtr& checkpointA() const { return m_a; }
    const CheckpointPtr& checkpointB() const { return m_b; }

    QModelIndex indexOfDiff(int diff, int column = KeyColumn) const;
    // A module prefix ("blocks.3") or an aligned key; invalid when absent.
    QModelIndex indexOfKey(const QString& key, int column = KeyColumn) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // One line a node, indented by depth: "name  status" (tests compare against it).
    QString dump() const;

    static QString metricText(double v);

private:
    struct Node {
        QString name;   // last key component
        QString key;    // full key or module prefix
        int parent = -1;
        int row = 0;
        int diff = -1;  // leaf: index into m_result->tensors
        std::vector<int> children;
        std::array<int, 7> counts {}; // by int(DiffStatus), over the subtree
        DiffStatus worst = DiffStatus::Equal;
        double maxAbs = -1, meanAbs = -1, relL2 = -1, cosine = 2; // extremes below a module; -1 / 2: none
        std::int64_t differing = -1;
    };
    int nodeOf(const QModelIndex& index) const;
    void summarise(int node);
    QString statusText(const Node& n) const;
    QString sideText(int tensor, const Checkpoint* ck) const;

    CheckpointPtr m_a, m_b;
    std::shared_ptr<const DiffResult> m_result;
    std::vector<Node> m_nodes; // m_nodes[0]: the invisible root
    std::vector<int> m_leafOf; // diff index -> node
    QHash<QString, int> m_byKey; // module prefix or key -> node (the first of that name)
};

// Relative change along depth for repeated blocks (`layers.N.`): per block the mean and largest rel. L2 of its
// tensors' changes. Only model (not optimizer) pairs count; blocks with fewer than two members are not repeated.
struct DiffLayer {
    int index = 0;          // N
    QString prefix;         // "blocks.3"
    int tensors = 0;        // aligned pairs in the block
    int measured = 0;       // pairs with metrics (same shape in both files)
    int changed = 0;        // pairs neither equal nor close
    double meanRelL2 = 0;   // over the measured pairs with a finite rel. L2
    double maxRelL2 = 0;    // the largest finite one
    int fromZero = 0;       // pairs whose A side is all zeros (an infinite rel. L2 when B is not)
    bool operator==(const DiffLayer&) const = default;
};

struct DiffBlockProfile {
    QString block;          // "blocks", "encoder.layers"
    std::vector<DiffLayer> layers; // by N
    bool operator==(const DiffBlockProfile&) const = default;
};

// Largest block first.
std::vector<DiffBlockProfile> diffLayerProfiles(const DiffResult& r);

} // namespace ckpt
