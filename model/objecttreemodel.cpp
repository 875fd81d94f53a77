#include "model/objecttreemodel.h"

#include "model/objectchildren.h"
#include "model/summary.h"

#include <QFileInfo>
#include <QLocale>

#include <functional>

namespace ckpt {
namespace {

} // namespace

ObjectTreeModel::ObjectTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
    m_nodes.push_back(Node {});
}

void ObjectTreeModel::setCheckpoint(CheckpointPtr ck)
{
    beginResetModel();
    m_ck = std::move(ck);
    m_nodes.clear();
    m_truncated = false;
    if (m_ck && m_ck->graph.valid(m_ck->root)) {
        // A synthetic top node keyed by the file name keeps the root object visible and selectable.
        m_nodes.push_back(Node { {}, kNoObject, -1, 0, { 1 } });
        m_nodes.push_back(Node { QStringLiteral("<root>"), m_ck->root, 0, 0, {} });
        std::vector<ObjId> onPath;
        build(1, 0, onPath);
        // TorchScript: the constants the code uses sit beside the module, as torch.jit.save wrote them.
        if (m_ck->graph.valid(m_ck->scriptConstants) && childCountBound(m_ck->graph, m_ck->scriptConstants) > 0) {
            const int node = int(m_nodes.size());
            m_nodes.push_back(Node { QStringLiteral("constants.pkl"), m_ck->scriptConstants, 0, 1, {} });
            m_nodes[0].children.push_back(node);
            build(node, 0, onPath);
        }
    } else {
        m_nodes.push_back(Node {});
    }
    endResetModel();
}

void ObjectTreeModel::build(int node, int depth, std::vector<ObjId>& onPath)
{
    const ObjId obj = m_nodes[size_t(node)].obj;
    if (m_truncated || depth >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), obj) != onPath.end())
        return;
    // The budget is checked before the children are made: a small pickle can reference one huge dict from
    // every row, and building its children each time would take hours.
    const size_t bound = childCountBound(m_ck->graph, obj);
    if (bound == 0)
        return;
    if (m_nodes.size() + bound > size_t(kMaxNodes)) {
        m_truncated = true;
        return;
    }
    auto children = objectChildren(m_ck->graph, obj);
    onPath.push_back(obj);
    const int first = int(m_nodes.size());
    for (size_t i = 0; i < children.size(); ++i) {
        m_nodes.push_back(Node { children[i].key, children[i].id, node, int(i), {} });
        m_nodes[size_t(node)].children.push_back(first + int(i));
    }
    for (size_t i = 0; i < children.size(); ++i)
        build(first + int(i), depth + 1, onPath);
    onPath.pop_back();
}

int ObjectTreeModel::nodeOf(const QModelIndex& index) const
{
    if (!index.isValid())
        return 0;
    const Node& parent = m_nodes[size_t(index.internalId())];
    return parent.children[size_t(index.row())];
}

QModelIndex ObjectTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (column < 0 || column >= ColumnCount || row < 0)
        return {};
    const int p = nodeOf(parent);
    if (size_t(row) >= m_nodes[size_t(p)].children.size())
        return {};
    return createIndex(row, column, quintptr(p));
}

QModelIndex ObjectTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    const int p = int(child.internalId());
    if (p == 0)
        return {};
    const Node& n = m_nodes[size_t(p)];
    return createIndex(n.row, 0, quintptr(n.parent));
}

int ObjectTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    return int(m_nodes[size_t(nodeOf(parent))].children.size());
}

int ObjectTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QStringList ObjectTreeModel::pathOf(int node) const
{
    QStringList path;
    while (node > 1) { // stop below the synthetic root row
        path.prepend(m_nodes[size_t(node)].key);
        node = m_nodes[size_t(node)].parent;
    }
    return path;
}

QVariant ObjectTreeModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || !m_ck)
        return {};
    const int n = nodeOf(index);
    const Node& node = m_nodes[size_t(n)];
    const ObjectGraph& g = m_ck->graph;
    const PyObject& o = g.at(node.obj);
    const TensorInfo* t = o.kind == ObjKind::Tensor ? &m_ck->tensors[size_t(o.integer)] : nullptr;
    const bool numericRole = role == SortRole;

    switch (role) {
    case TensorIndexRole: return t ? int(o.integer) : -1;
    case PathRole: return pathOf(n);
    case ObjectIdRole: return uint(node.obj);
    case Qt::ToolTipRole:
        if (t && !t->error.isEmpty())
            return t->error;
        if (index.column() == KeyColumn)
            return pathOf(n).join(QLatin1Char('.'));
        return {};
    case Qt::DisplayRole:
    case SortRole:
        break;
    default:
        return {};
    }

    switch (index.column()) {
    case KeyColumn: return n == 1 ? QStringLiteral("%1").arg(QFileInfo(m_ck->path).fileName()) : node.key;
    case TypeColumn:
        if (t)
            return t->parameter ? QStringLiteral("Parameter") : QStringLiteral("Tensor");
        return typeText(g, node.obj);
    case DTypeColumn: return t ? dtypeName(t->dtype) : QVariant();
    case ShapeColumn:
        if (!t)
            return {};
        return numericRole ? QVariant(qlonglong(t->shape.size())) : QVariant(shapeText(t->shape));
    case ElementsColumn:
        if (!t || !t->error.isEmpty())
            return {};
        return numericRole ? QVariant(qlonglong(t->numel())) : QVariant(QLocale().toString(qlonglong(t->numel())));
    case BytesColumn:
        if (!t || !t->error.isEmpty())
            return {};
        return numericRole ? QVariant(qlonglong(t->nbytes())) : QVariant(formatBytes(t->nbytes()));
    case ValueColumn: {
        if (t) {
            if (!t->error.isEmpty())
                return QStringLiteral("broken: %1").arg(t->error);
            const StorageInfo& s = m_ck->storages[size_t(t->storage)];
            QString v = QStringLiteral("stride %1").arg(shapeText(t->stride));
            if (t->storageOffset)
                v += QStringLiteral(", offset %1").arg(t->storageOffset);
            v += QStringLiteral(", storage %1").arg(s.key);
            if (s.location != QLatin1String("cpu"))
                v += QStringLiteral(", saved on %1").arg(s.location);
            if (t->requiresGrad)
                v += QStringLiteral(", requires_grad");
            return v;
        }
        if (numericRole && (o.kind == ObjKind::Int || o.kind == ObjKind::Float || o.kind == ObjKind::NumpyScalar))
            return o.kind == ObjKind::Int ? QVariant(qlonglong(o.integer)) : QVariant(o.real());
        return valueText(g, node.obj);
    }
    default: return {};
    }
}

QVariant ObjectTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case KeyColumn: return tr("Key");
    case TypeColumn: return tr("Type");
    case DTypeColumn: return tr("DType");
    case ShapeColumn: return tr("Shape");
    case ElementsColumn: return tr("Elements");
    case BytesColumn: return tr("Bytes");
    case ValueColumn: return tr("Value");
    default: return {};
    }
}

QString ObjectTreeModel::dump(int maxDepth) const
{
    QString out;
    std::function<void(const QModelIndex&, int)> rec = [&](const QModelIndex& parent, int depth) {
        for (int r = 0; r < rowCount(parent); ++r) {
            QStringList cells;
            for (int c = 0; c < ColumnCount; ++c)
                cells << index(r, c, parent).data().toString();
            while (!cells.isEmpty() && cells.back().isEmpty())
                cells.pop_back();
            out += QString(depth * 2, QLatin1Char(' ')) + cells.join(QStringLiteral(" | ")) + QLatin1Char('\n');
            if (depth < maxDepth)
                rec(index(r, 0, parent), depth + 1);
        }
    };
    rec({}, 0);
    return out;
}

} // namespace ckpt
