#include "model/objectchildren.h"
#include "model/moduletreemodel.h"

#include "model/modulekind.h"
#include "model/summary.h"

#include <QLocale>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace ckpt {
namespace {

QStringList dtypeNames(std::uint64_t mask)
{
    QStringList names;
    for (int bit = 0; bit < 64; ++bit)
        if (mask & (std::uint64_t(1) << bit))
            names << dtypeName(DType(bit));
    return names;
}

} // namespace

ModuleTreeModel::ModuleTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
}

const ModuleTree* ModuleTreeModel::tree() const
{
    return m_sem && m_sem->primary >= 0 && !m_sem->modules.nodes.empty() ? &m_sem->modules : nullptr;
}

void ModuleTreeModel::setTree(CheckpointPtr ck, std::shared_ptr<const Semantic> sem)
{
    beginResetModel();
    m_ck = std::move(ck);
    m_sem = m_ck ? std::move(sem) : nullptr;
    m_row.clear();
    m_kind.clear();
    m_leaves.clear();
    m_stats.clear();
    m_agg.clear();
    m_known = 0;
    if (const ModuleTree* t = tree()) {
        const size_t n = t->nodes.size();
        m_row.assign(n, 0);
        m_kind.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const ModuleNode& node = t->nodes[i];
            for (size_t r = 0; r < node.children.size(); ++r)
                m_row[size_t(node.children[r])] = int(r);
            m_kind[i] = moduleKind(*m_ck, *t, int(i));
            if (node.isLeaf())
                m_leaves.emplace_back(node.tensor, int(i));
        }
        std::sort(m_leaves.begin(), m_leaves.end());
        m_stats.resize(m_ck->tensors.size());
        m_agg.assign(n, Aggregate {});
    }
    endResetModel();
}

int ModuleTreeModel::tensorCount() const
{
    return int(m_leaves.size());
}

int ModuleTreeModel::statsKnown() const
{
    return m_known;
}

const StatsResult* ModuleTreeModel::stats(int tensor) const
{
    if (tensor < 0 || size_t(tensor) >= m_stats.size() || !m_stats[size_t(tensor)])
        return nullptr;
    return &*m_stats[size_t(tensor)];
}

void ModuleTreeModel::clearStats()
{
    if (!tree())
        return;
    for (auto& s : m_stats)
        s.reset();
    m_known = 0;
    recomputeAggregates();
    if (rowCount() > 0) {
        // Every row's statistics cells went blank; a reset would lose the view's expansion.
        std::function<void(const QModelIndex&)> rec = [&](const QModelIndex& parent) {
            const int rows = rowCount(parent);
            if (rows == 0)
                return;
            emit dataChanged(index(0, FirstStatsColumn, parent), index(rows - 1, ColumnCount - 1, parent));
            for (int r = 0; r < rows; ++r)
                rec(index(r, 0, parent));
        };
        rec({});
    }
}

void ModuleTreeModel::setStats(const StatsBatch& batch)
{
    const ModuleTree* t = tree();
    if (!t)
        return;
    std::vector<char> touched(t->nodes.size(), 0);
    bool any = false;
    for (const StatsResult& r : batch) {
        if (r.tensor < 0 || size_t(r.tensor) >= m_stats.size())
            continue;
        auto range = std::equal_range(m_leaves.begin(), m_leaves.end(), std::pair { r.tensor, 0 },
            [](const auto& a, const auto& b) { return a.first < b.first; });
        if (range.first == range.second)
            continue;
        if (!m_stats[size_t(r.tensor)])
            m_known += int(range.second - range.first);
        m_stats[size_t(r.tensor)] = r;
        any = true;
        for (auto it = range.first; it != range.second; ++it)
            for (int n = it->second; n >= 0 && !touched[size_t(n)]; n = t->nodes[size_t(n)].parent)
                touched[size_t(n)] = 1;
    }
    if (!any)
        return;
    recomputeAggregates();
    // One signal per parent whose children changed, over the rows between the first and last changed child only:
    // a view re-measures every row a signal names, and a parent of 60,000 leaves would otherwise be re-measured
    // in full for each batch.
    if (touched[0])
        emit dataChanged(index(0, FirstStatsColumn), index(0, ColumnCount - 1));
    std::unordered_map<int, std::pair<int, int>> rowsOf; // parent -> first, last changed row
    for (size_t i = 1; i < touched.size(); ++i) {
        if (!touched[i])
            continue;
        const int row = indexOfNode(int(i)).row();
        auto [it, fresh] = rowsOf.try_emplace(t->nodes[i].parent, row, row);
        if (!fresh) {
            it->second.first = std::min(it->second.first, row);
            it->second.second = std::max(it->second.second, row);
        }
    }
    for (const auto& [p, rows] : rowsOf) {
        const QModelIndex parentIndex = indexOfNode(p);
        emit dataChanged(index(rows.first, FirstStatsColumn, parentIndex), index(rows.second, ColumnCount - 1, parentIndex));
    }
}

void ModuleTreeModel::recomputeAggregates()
{
    const ModuleTree* t = tree();
    if (!t)
        return;
    const size_t n = t->nodes.size();
    m_agg.assign(n, Aggregate {});
    for (size_t i = 0; i < n; ++i)
        m_agg[i].complete = true;
    // Children come after their parent in the vector, so a reverse walk sees every child before its parent.
    for (size_t i = n; i-- > 0;) {
        const ModuleNode& node = t->nodes[i];
        Aggregate& a = m_agg[i];
        if (node.isLeaf()) {
            const StatsResult* r = stats(node.tensor);
            a.complete = r != nullptr;
            if (r) {
                a.known = 1;
                if (r->stats) {
                    const TensorStats& s = *r->stats;
                    a.nonFinite = s.nan + s.inf;
                    if (node.role == TensorRole::Parameter && s.finite > 0) {
                        a.finite = s.finite;
                        a.mean = s.mean.value_or(0);
                        a.m2 = s.std ? *s.std * *s.std * double(s.finite - 1) : 0;
                        a.sumSquares = s.l2 * s.l2;
                        a.min = s.min.value_or(0);
                        a.max = s.max.value_or(0);
                    }
                }
            }
        }
        if (node.parent < 0)
            continue;
        Aggregate& p = m_agg[size_t(node.parent)];
        p.complete = p.complete && a.complete;
        p.known += a.known;
        p.nonFinite += a.nonFinite;
        p.sumSquares += a.sumSquares;
        if (a.finite == 0)
            continue;
        if (p.finite == 0) {
            p.min = a.min;
            p.max = a.max;
        } else {
            p.min = std::min(p.min, a.min);
            p.max = std::max(p.max, a.max);
        }
        const std::int64_t total = p.finite + a.finite;
        const double delta = a.mean - p.mean;
        p.mean += delta * double(a.finite) / double(total);
        p.m2 += a.m2 + delta * delta * double(p.finite) * double(a.finite) / double(total);
        p.finite = total;
    }
}

int ModuleTreeModel::nodeOf(const QModelIndex& index) const
{
    const ModuleTree* t = tree();
    if (!index.isValid() || !t)
        return -1;
    const quintptr id = index.internalId();
    if (id == 0)
        return 0;
    return t->nodes[size_t(id - 1)].children[size_t(index.row())];
}

QModelIndex ModuleTreeModel::indexOfNode(int node, int column) const
{
    const ModuleTree* t = tree();
    if (!t || node < 0 || size_t(node) >= t->nodes.size())
        return {};
    return createIndex(m_row[size_t(node)], column, quintptr(t->nodes[size_t(node)].parent + 1));
}

QModelIndex ModuleTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount || row >= rowCount(parent))
        return {};
    return createIndex(row, column, quintptr(nodeOf(parent) + 1));
}

QModelIndex ModuleTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == 0)
        return {};
    return indexOfNode(int(child.internalId() - 1));
}

int ModuleTreeModel::rowCount(const QModelIndex& parent) const
{
    const ModuleTree* t = tree();
    if (!t)
        return 0;
    if (!parent.isValid())
        return 1;
    if (parent.column() != 0)
        return 0;
    return int(t->nodes[size_t(nodeOf(parent))].children.size());
}

int ModuleTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QString ModuleTreeModel::number(double v)
{
    if (v == 0)
        return QStringLiteral("0");
    return QString::number(v, 'g', 4);
}

QVariant ModuleTreeModel::statsCell(int node, int column, bool numeric) const
{
    const ModuleNode& n = tree()->nodes[size_t(node)];
    const Aggregate& a = m_agg[size_t(node)];
    if (!a.complete)
        return {};
    const auto value = [&](std::optional<double> v) -> QVariant {
        if (!v)
            return {};
        return numeric ? QVariant(*v) : QVariant(number(*v));
    };
    if (n.isLeaf()) {
        const StatsResult* r = stats(n.tensor);
        if (!r->stats)
            return numeric || column != MeanColumn ? QVariant() : QVariant(tr("n/a"));
        const TensorStats& s = *r->stats;
        switch (column) {
        case MeanColumn: return value(s.mean);
        case StdColumn: return value(s.std);
        case MinColumn: return value(s.min);
        case MaxColumn: return value(s.max);
        case L2Column: return value(s.l2);
        case NonFiniteColumn: return numeric ? QVariant(qlonglong(s.nan + s.inf)) : QVariant(QLocale().toString(qlonglong(s.nan + s.inf)));
        default: return {};
        }
    }
    const bool any = a.finite > 0;
    switch (column) {
    case MeanColumn: return any ? value(a.mean) : QVariant();
    case StdColumn: return a.finite > 1 ? value(std::sqrt(a.m2 / double(a.finite - 1))) : QVariant();
    case MinColumn: return any ? value(a.min) : QVariant();
    case MaxColumn: return any ? value(a.max) : QVariant();
    case L2Column: return n.parameters > 0 ? value(std::sqrt(a.sumSquares)) : QVariant();
    case NonFiniteColumn: return numeric ? QVariant(qlonglong(a.nonFinite)) : QVariant(QLocale().toString(qlonglong(a.nonFinite)));
    default: return {};
    }
}

QVariant ModuleTreeModel::data(const QModelIndex& index, int role) const
{
    const ModuleTree* t = tree();
    if (!index.isValid() || !t)
        return {};
    const int nodeIndex = nodeOf(index);
    const ModuleNode& n = t->nodes[size_t(nodeIndex)];
    const TensorInfo* ten = n.isLeaf() ? &m_ck->tensors[size_t(n.tensor)] : nullptr;
    const bool broken = ten && !ten->error.isEmpty();
    const int column = index.column();

    switch (role) {
    case TensorIndexRole: return n.isLeaf() ? n.tensor : -1;
    case NodeRole: return nodeIndex;
    case FullNameRole: return n.fullName;
    case TensorRoleRole: return n.isLeaf() ? int(n.role) : -1;
    case NonFiniteRole: {
        const Aggregate& a = m_agg[size_t(nodeIndex)];
        return a.complete ? QVariant(qlonglong(a.nonFinite)) : QVariant();
    }
    case Qt::TextAlignmentRole:
        if (column >= ParametersColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ToolTipRole:
        if (broken)
            return ten->error;
        switch (column) {
        case NameColumn: return nodeIndex == 0 ? QVariant() : QVariant(n.fullName);
        case KindColumn:
            return n.isLeaf() ? QVariant() : QVariant(tr("Guessed from the names and shapes of the module's tensors"));
        case DTypeColumn: return dtypeNames(n.dtypeMask).join(QStringLiteral(", "));
        case ParametersColumn:
            if (n.bufferElements)
                return tr("%1 parameters, %2 buffer elements")
                    .arg(QLocale().toString(qlonglong(n.parameters)), QLocale().toString(qlonglong(n.bufferElements)));
            return {};
        case MeanColumn:
            if (n.isLeaf()) {
                const StatsResult* r = stats(n.tensor);
                if (r && !r->stats)
                    return r->error;
            }
            return {};
        default: return {};
        }
    case Qt::DisplayRole:
    case SortRole: break;
    default: return {};
    }

    const bool numeric = role == SortRole;
    switch (column) {
    case NameColumn:
        if (nodeIndex == 0) {
            const StateDictRef& sd = m_sem->stateDicts[size_t(m_sem->primary)];
            return sd.path.isEmpty() ? tr("state dict") : sd.path.join(QLatin1Char('/'));
        }
        return n.name;
    case KindColumn: return m_kind[size_t(nodeIndex)];
    case DTypeColumn: {
        if (ten)
            return dtypeName(ten->dtype);
        // Integer buffers (num_batches_tracked) beside float32 weights do not make a module "mixed".
        std::uint64_t floating = 0;
        for (int bit = 0; bit < 64; ++bit)
            if ((n.dtypeMask >> bit & 1) && dtypeIsFloatingPoint(DType(bit)))
                floating |= std::uint64_t(1) << bit;
        const std::uint64_t shown = floating ? floating : n.dtypeMask;
        if (std::popcount(shown) == 1)
            return dtypeName(DType(std::countr_zero(shown)));
        return shown ? tr("mixed") : QString();
    }
    case ShapeColumn:
        if (!ten)
            return {};
        return numeric ? QVariant(qlonglong(broken ? 0 : ten->numel())) : QVariant(shapeText(ten->shape));
    case ParametersColumn:
        if (ten && n.role == TensorRole::Buffer)
            return numeric ? QVariant(qlonglong(0)) : QVariant();
        return numeric ? QVariant(qlonglong(n.parameters)) : QVariant(QLocale().toString(qlonglong(n.parameters)));
    case BytesColumn: return numeric ? QVariant(qlonglong(n.bytes)) : QVariant(formatBytes(n.bytes));
    default:
        if (column >= FirstStatsColumn && column < ColumnCount)
            return statsCell(nodeIndex, column, numeric);
        return {};
    }
}

QVariant ModuleTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::TextAlignmentRole)
        return section >= ParametersColumn ? QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case ParametersColumn: return tr("Elements of parameters (buffers such as running statistics excluded)");
        case MeanColumn:
        case StdColumn:
        case MinColumn:
        case MaxColumn: return tr("Over finite values; for a module, over all of its parameters");
        case L2Column: return tr("L2 norm; for a module, of all of its parameters together");
        case NonFiniteColumn: return tr("NaN and Inf values; for a module, in all of its tensors");
        default: return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn: return tr("Name");
    case KindColumn: return tr("Kind");
    case DTypeColumn: return tr("DType");
    case ShapeColumn: return tr("Shape");
    case ParametersColumn: return tr("Parameters");
    case BytesColumn: return tr("Bytes");
    case MeanColumn: return tr("Mean");
    case StdColumn: return tr("Std");
    case MinColumn: return tr("Min");
    case MaxColumn: return tr("Max");
    case L2Column: return tr("L2 norm");
    case NonFiniteColumn: return tr("NaN/Inf");
    default: return {};
    }
}

QString ModuleTreeModel::dump(int maxDepth) const
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
