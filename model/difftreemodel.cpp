#include "model/difftreemodel.h"

#include "model/objectchildren.h"

#include <QHash>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <map>

namespace ckpt {
namespace {

bool isDigits(const QString& s)
{
    return !s.isEmpty() && std::all_of(s.begin(), s.end(), [](QChar c) { return c.isDigit(); });
}

} // namespace

int diffSeverity(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return 0;
    case DiffStatus::Close: return 1;
    case DiffStatus::Different: return 2;
    case DiffStatus::Dtype: return 3;
    case DiffStatus::Shape: return 4;
    case DiffStatus::OnlyA: return 5;
    case DiffStatus::OnlyB: return 6;
    }
    return 0;
}

QString diffStatusLabel(DiffStatus s)
{
    switch (s) {
    case DiffStatus::Equal: return DiffTreeModel::tr("equal");
    case DiffStatus::Close: return DiffTreeModel::tr("close");
    case DiffStatus::Different: return DiffTreeModel::tr("different");
    case DiffStatus::Shape: return DiffTreeModel::tr("shape");
    case DiffStatus::Dtype: return DiffTreeModel::tr("dtype");
    case DiffStatus::OnlyA: return DiffTreeModel::tr("only in A");
    case DiffStatus::OnlyB: return DiffTreeModel::tr("only in B");
    }
    return {};
}

DiffTreeModel::DiffTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
    m_nodes.emplace_back();
}

void DiffTreeModel::clear()
{
    setResult({}, {}, {});
}

void DiffTreeModel::setResult(CheckpointPtr a, CheckpointPtr b, std::shared_ptr<const DiffResult> result)
{
    beginResetModel();
    m_a = std::move(a);
    m_b = std::move(b);
    m_result = std::move(result);
    m_nodes.clear();
    m_nodes.emplace_back();
    m_leafOf.clear();
    m_byKey.clear();
    if (m_result) {
        QHash<QString, int> modules; // prefix -> node
        m_leafOf.resize(m_result->tensors.size(), -1);
        const auto addChild = [this](int parent, Node n) {
            n.parent = parent;
            n.row = int(m_nodes[size_t(parent)].children.size());
            m_nodes.push_back(std::move(n));
            const int id = int(m_nodes.size()) - 1;
            m_nodes[size_t(parent)].children.push_back(id);
            return id;
        };
        for (size_t i = 0; i < m_result->tensors.size(); ++i) {
            const TensorDiff& d = m_result->tensors[i];
            const QStringList parts = d.key.split(QLatin1Char('.'));
            int parent = 0;
            QString prefix;
            for (qsizetype p = 0; p + 1 < parts.size(); ++p) {
                prefix = p == 0 ? parts[p] : prefix + QLatin1Char('.') + parts[p];
                auto it = modules.find(prefix);
                if (it == modules.end()) {
                    Node n;
                    n.name = parts[p];
                    n.key = prefix;
                    it = modules.insert(prefix, addChild(parent, std::move(n)));
                }
                parent = *it;
            }
            Node leaf;
            leaf.name = parts.last();
            leaf.key = d.key;
            leaf.diff = int(i);
            leaf.worst = d.status;
            leaf.counts[size_t(d.status)] = 1;
            if (d.metrics) {
                leaf.maxAbs = d.metrics->maxAbs;
                leaf.meanAbs = d.metrics->meanAbs;
                leaf.relL2 = d.metrics->relL2;
                leaf.cosine = d.metrics->cosine.value_or(2);
                leaf.differing = d.metrics->differing;
            }
            m_leafOf[i] = addChild(parent, std::move(leaf));
        }
        m_byKey = modules;
        for (size_t i = 0; i < m_leafOf.size(); ++i)
            if (!m_byKey.contains(m_nodes[size_t(m_leafOf[i])].key))
                m_byKey.insert(m_nodes[size_t(m_leafOf[i])].key, m_leafOf[i]);

        // Children always come after their parent in the vector: one backward pass folds every subtree.
        for (size_t i = m_nodes.size() - 1; i > 0; --i)
            summarise(int(i));
    }
    endResetModel();
}

void DiffTreeModel::summarise(int node)
{
    const Node& n = m_nodes[size_t(node)];
    Node& p = m_nodes[size_t(n.parent)];
    for (size_t s = 0; s < n.counts.size(); ++s)
        p.counts[s] += n.counts[s];
    if (diffSeverity(n.worst) > diffSeverity(p.worst)) // a module starts as "equal", the mildest
        p.worst = n.worst;
    p.maxAbs = std::max(p.maxAbs, n.maxAbs);
    p.meanAbs = std::max(p.meanAbs, n.meanAbs);
    p.relL2 = std::max(p.relL2, n.relL2);
    p.cosine = std::min(p.cosine, n.cosine);
    if (n.differing >= 0)
        p.differing = std::max<std::int64_t>(p.differing, 0) + n.differing;
}

int DiffTreeModel::nodeOf(const QModelIndex& index) const
{
    if (!index.isValid())
        return 0;
    return m_nodes[size_t(index.internalId())].children[size_t(index.row())];
}

QModelIndex DiffTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (column < 0 || column >= ColumnCount || row < 0)
        return {};
    const int p = nodeOf(parent);
    if (size_t(row) >= m_nodes[size_t(p)].children.size())
        return {};
    return createIndex(row, column, quintptr(p));
}

QModelIndex DiffTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    const int p = int(child.internalId());
    if (p == 0)
        return {};
    const Node& n = m_nodes[size_t(p)];
    return createIndex(n.row, 0, quintptr(n.parent));
}

int DiffTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    return int(m_nodes[size_t(nodeOf(parent))].children.size());
}

int DiffTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QModelIndex DiffTreeModel::indexOfDiff(int diff, int column) const
{
    if (diff < 0 || size_t(diff) >= m_leafOf.size())
        return {};
    const Node& n = m_nodes[size_t(m_leafOf[size_t(diff)])];
    return createIndex(n.row, column, quintptr(n.parent));
}

QModelIndex DiffTreeModel::indexOfKey(const QString& key, int column) const
{
    const auto it = m_byKey.find(key);
    if (it == m_byKey.end())
        return {};
    const Node& n = m_nodes[size_t(*it)];
    return createIndex(n.row, column, quintptr(n.parent));
}

QString DiffTreeModel::metricText(double v)
{
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    if (std::isnan(v))
        return QStringLiteral("nan");
    if (v == 0)
        return QStringLiteral("0");
    const double a = std::fabs(v);
    if (a < 1e-3 || a >= 1e5)
        return QString::number(v, 'e', 2);
    return QString::number(v, 'g', 4);
}

QString DiffTreeModel::statusText(const Node& n) const
{
    if (n.diff >= 0)
        return diffStatusLabel(n.worst);
    // Worst first: "2 different, 1 shape, 10 equal".
    std::vector<DiffStatus> present;
    for (DiffStatus s : kDiffStatuses)
        if (n.counts[size_t(s)])
            present.push_back(s);
    if (present.size() == 1)
        return tr("all %1").arg(diffStatusLabel(present.front()));
    std::sort(
        present.begin(), present.end(), [](DiffStatus x, DiffStatus y) { return diffSeverity(x) > diffSeverity(y); });
    QStringList parts;
    for (DiffStatus s : present)
        parts << QStringLiteral("%1 %2").arg(n.counts[size_t(s)]).arg(diffStatusLabel(s));
    return parts.join(QStringLiteral(", "));
}

QString DiffTreeModel::sideText(int tensor, const Checkpoint* ck) const
{
    if (!ck || tensor < 0 || size_t(tensor) >= ck->tensors.size())
        return {};
    const TensorInfo& t = ck->tensors[size_t(tensor)];
    return dtypeName(t.dtype) + QLatin1Char(' ') + shapeText(t.shape);
}

QVariant DiffTreeModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const Node& n = m_nodes[size_t(nodeOf(index))];
    const TensorDiff* d = n.diff >= 0 ? &m_result->tensors[size_t(n.diff)] : nullptr;
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case KeyColumn: return n.name;
        case StatusColumn: return statusText(n);
        case RelL2Column: return n.relL2 >= 0 ? metricText(n.relL2) : QVariant();
        case MaxAbsColumn: return n.maxAbs >= 0 ? metricText(n.maxAbs) : QVariant();
        case MeanAbsColumn: return n.meanAbs >= 0 ? metricText(n.meanAbs) : QVariant();
        case CosineColumn:
            if (n.cosine <= 1)
                return QString::number(n.cosine, 'f', 6);
            return d && d->metrics ? tr("n/a") : QVariant();
        case DifferingColumn: return n.differing >= 0 ? QLocale().toString(qlonglong(n.differing)) : QVariant();
        case AColumn: return d ? sideText(d->tensorA, m_a.get()) : QVariant();
        case BColumn: return d ? sideText(d->tensorB, m_b.get()) : QVariant();
        }
        return {};
    case Qt::ToolTipRole:
        if (column == KeyColumn) {
            if (!d)
                return n.key;
            QString tip = n.key;
            if (!d->pathA.isEmpty())
                tip += tr("\nA: %1").arg(d->pathA.join(QLatin1Char('/')));
            if (!d->pathB.isEmpty())
                tip += tr("\nB: %1").arg(d->pathB.join(QLatin1Char('/')));
            return tip;
        }
        if (column == CosineColumn && d && d->metrics && !d->metrics->cosine)
            return tr("Undefined: one side is all zeros");
        if (!d && column >= RelL2Column && column <= DifferingColumn)
            return column == DifferingColumn ? tr("Sum over the tensors below")
                : column == CosineColumn     ? tr("Lowest of the tensors below")
                                             : tr("Largest of the tensors below");
        return {};
    case Qt::TextAlignmentRole:
        if (column >= RelL2Column && column <= DifferingColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case SortRole:
        switch (column) {
        case KeyColumn: return n.name;
        case StatusColumn: return diffSeverity(n.worst);
        case RelL2Column: return n.relL2 >= 0 ? QVariant(n.relL2) : QVariant();
        case MaxAbsColumn: return n.maxAbs >= 0 ? QVariant(n.maxAbs) : QVariant();
        case MeanAbsColumn: return n.meanAbs >= 0 ? QVariant(n.meanAbs) : QVariant();
        case CosineColumn: return n.cosine <= 1 ? QVariant(n.cosine) : QVariant();
        case DifferingColumn: return n.differing >= 0 ? QVariant(qlonglong(n.differing)) : QVariant();
        case AColumn:
            return d && d->tensorA >= 0 && m_a ? QVariant(qlonglong(m_a->tensors[size_t(d->tensorA)].numel()))
                                               : QVariant();
        case BColumn:
            return d && d->tensorB >= 0 && m_b ? QVariant(qlonglong(m_b->tensors[size_t(d->tensorB)].numel()))
                                               : QVariant();
        }
        return {};
    case StatusRole: return int(n.worst);
    case DiffIndexRole: return n.diff;
    case KeyRole: return n.key;
    }
    return {};
}

QVariant DiffTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case KeyColumn: return tr("Key");
        case StatusColumn: return tr("Status");
        case RelL2Column: return tr("Rel. L2");
        case MaxAbsColumn: return tr("Max |a−b|");
        case MeanAbsColumn: return tr("Mean |a−b|");
        case CosineColumn: return tr("Cosine");
        case DifferingColumn: return tr("Differing");
        case AColumn: return tr("A");
        case BColumn: return tr("B");
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case RelL2Column: return tr("‖a−b‖ / ‖a‖ (modules: the largest below)");
        case MaxAbsColumn: return tr("Largest |a−b| over elements finite on both sides");
        case MeanAbsColumn: return tr("Mean |a−b| over elements finite on both sides");
        case CosineColumn: return tr("Cosine similarity of a and b (modules: the lowest below)");
        case DifferingColumn: return tr("Elements whose values differ (NaN equals NaN here)");
        case AColumn: return tr("dtype and shape in the first file");
        case BColumn: return tr("dtype and shape in the second file");
        }
    }
    return {};
}

QString DiffTreeModel::dump() const
{
    QString out;
    std::vector<std::pair<int, int>> stack; // node, depth
    const auto& top = m_nodes[0].children;
    for (auto it = top.rbegin(); it != top.rend(); ++it)
        stack.emplace_back(*it, 0);
    while (!stack.empty()) {
        const auto [node, depth] = stack.back();
        stack.pop_back();
        const Node& n = m_nodes[size_t(node)];
        out += QString(depth * 2, QLatin1Char(' ')) + n.name + QStringLiteral("  ") + statusText(n) + QLatin1Char('\n');
        for (auto it = n.children.rbegin(); it != n.children.rend(); ++it)
            stack.emplace_back(*it, depth + 1);
    }
    return out;
}

std::vector<DiffBlockProfile> diffLayerProfiles(const DiffResult& r)
{
    std::map<QString, std::map<int, DiffLayer>> blocks;
    std::map<QString, std::map<int, int>> finiteCount;
    for (const TensorDiff& d : r.tensors) {
        if (d.group == QLatin1String("optimizer"))
            continue;
        const QStringList parts = d.key.split(QLatin1Char('.'));
        // The first numeric component after a name: `encoder.layers.3.attn.weight` -> (encoder.layers, 3).
        for (qsizetype i = 1; i + 1 < parts.size(); ++i) {
            if (!isDigits(parts[i]) || parts[i].size() > 6)
                continue;
            const QString block = parts.mid(0, i).join(QLatin1Char('.'));
            const int n = parts[i].toInt();
            DiffLayer& l = blocks[block][n];
            l.index = n;
            l.prefix = block + QLatin1Char('.') + parts[i];
            ++l.tensors;
            if (d.status != DiffStatus::Equal && d.status != DiffStatus::Close)
                ++l.changed;
            if (d.metrics) {
                ++l.measured;
                if (std::isfinite(d.metrics->relL2)) {
                    l.meanRelL2 += d.metrics->relL2; // a sum until divided below
                    l.maxRelL2 = std::max(l.maxRelL2, d.metrics->relL2);
                    ++finiteCount[block][n];
                } else {
                    ++l.fromZero;
                }
            }
            break;
        }
    }
    std::vector<DiffBlockProfile> out;
    for (auto& [block, layers] : blocks) {
        if (layers.size() < 2)
            continue;
        DiffBlockProfile p;
        p.block = block;
        for (auto& [n, l] : layers) {
            const int finite = finiteCount[block][n];
            l.meanRelL2 = finite ? l.meanRelL2 / finite : 0;
            p.layers.push_back(l);
        }
        out.push_back(std::move(p));
    }
    std::stable_sort(out.begin(), out.end(),
        [](const DiffBlockProfile& x, const DiffBlockProfile& y) { return x.layers.size() > y.layers.size(); });
    return out;
}

} // namespace ckpt
