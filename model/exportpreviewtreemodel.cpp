#include "model/exportpreviewtreemodel.h"

#include "model/objectchildren.h"
#include "model/summary.h"

#include <QHash>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace ckpt {

namespace {

    bool hasGlobCharacter(const QString& key)
    {
        return key.contains(QLatin1Char('*')) || key.contains(QLatin1Char('?')) || key.startsWith(QLatin1String("re:"));
    }

} // namespace

ExportPreviewTreeModel::ExportPreviewTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
    m_nodes.push_back(Node {});
}

QString ExportPreviewTreeModel::keyPattern(const QString& key)
{
    if (hasGlobCharacter(key))
        return QStringLiteral("re:^") + QRegularExpression::escape(key) + QLatin1Char('$');
    return key;
}

QString ExportPreviewTreeModel::modulePattern(const QString& prefix)
{
    if (hasGlobCharacter(prefix))
        return QStringLiteral("re:^") + QRegularExpression::escape(prefix) + QStringLiteral("\\.");
    return prefix + QStringLiteral(".*");
}

void ExportPreviewTreeModel::setPlan(CheckpointPtr ck, const ExportPlan& plan, std::vector<PlannedTensor> all,
    const std::optional<ResolvedPlan>& resolved)
{
    const bool sameKeys = ck == m_ck && all.size() == m_all.size()
        && std::equal(all.begin(), all.end(), m_all.begin(),
            [](const PlannedTensor& a, const PlannedTensor& b) { return a.sourceKey == b.sourceKey; });
    if (!sameKeys)
        beginResetModel();
    m_ck = std::move(ck);
    m_plan = plan;
    m_all = std::move(all);
    m_resolvable = resolved.has_value();
    m_kept.assign(m_all.size(), 0);
    m_uses.assign(m_all.size(), 0);
    m_keptCount = 0;
    if (resolved) {
        QHash<QString, int> entryOf;
        entryOf.reserve(qsizetype(m_all.size()));
        for (size_t i = 0; i < m_all.size(); ++i)
            entryOf.insert(m_all[i].sourceKey, int(i));
        QHash<QString, int> uses;
        for (const PlannedTensor& t : resolved->tensors) {
            ++uses[t.outputKey];
            if (auto it = entryOf.constFind(t.sourceKey); it != entryOf.constEnd()) {
                m_kept[size_t(*it)] = 1;
                m_all[size_t(*it)] = t;
                ++m_keptCount;
            }
        }
        for (size_t i = 0; i < m_all.size(); ++i)
            if (m_kept[i])
                m_uses[i] = uses.value(m_all[i].outputKey);
    }
    if (!sameKeys) {
        build();
        aggregate();
        endResetModel();
        return;
    }
    aggregate();
    for (size_t n = 0; n < m_nodes.size(); ++n)
        if (!m_nodes[n].children.empty()) {
            const QModelIndex parent
                = n == 0 ? QModelIndex() : createIndex(m_nodes[n].row, 0, &m_nodes[size_t(m_nodes[n].parent)]);
            emit dataChanged(index(0, 0, parent), index(int(m_nodes[n].children.size()) - 1, ColumnCount - 1, parent));
        }
}

void ExportPreviewTreeModel::build()
{
    m_nodes.clear();
    size_t components = 1;
    for (const auto& t : m_all)
        components += size_t(t.sourceKey.count(QLatin1Char('.'))) + 1;
    m_nodes.reserve(components); // nodes never move: indexes point at them
    m_nodes.push_back(Node {});
    QHash<QString, int> moduleOf; // prefix -> module node
    for (size_t e = 0; e < m_all.size(); ++e) {
        const QString& key = m_all[e].sourceKey;
        const QStringList parts = key.split(QLatin1Char('.'));
        int node = 0;
        QString prefix;
        for (qsizetype level = 0; level < parts.size(); ++level) {
            const bool leaf = level + 1 == parts.size();
            prefix = level == 0 ? parts[0] : prefix + QLatin1Char('.') + parts[level];
            if (!leaf) {
                if (auto it = moduleOf.constFind(prefix); it != moduleOf.constEnd()) {
                    node = *it;
                    continue;
                }
            }
            Node n;
            n.name = parts[level];
            n.key = prefix;
            n.parent = node;
            n.row = int(m_nodes[size_t(node)].children.size());
            n.entry = leaf ? int(e) : -1;
            const int at = int(m_nodes.size());
            m_nodes.push_back(std::move(n));
            m_nodes[size_t(node)].children.push_back(at);
            if (!leaf)
                moduleOf.insert(prefix, at);
            node = at;
        }
    }
}

void ExportPreviewTreeModel::aggregate()
{
    for (Node& n : m_nodes) {
        const bool leaf = n.entry >= 0;
        n.leaves = leaf ? 1 : 0;
        n.kept = leaf && m_kept[size_t(n.entry)] ? 1 : 0;
        n.allBytes = leaf ? m_all[size_t(n.entry)].bytes : 0;
        n.bytes = n.kept ? n.allBytes : 0;
    }
    // Children come after their parent.
    for (size_t i = m_nodes.size(); i-- > 1;) {
        Node& p = m_nodes[size_t(m_nodes[i].parent)];
        p.leaves += m_nodes[i].leaves;
        p.kept += m_nodes[i].kept;
        p.bytes += m_nodes[i].bytes;
        p.allBytes += m_nodes[i].allBytes;
    }
}

int ExportPreviewTreeModel::collisions() const
{
    return int(std::count_if(m_uses.begin(), m_uses.end(), [](int u) { return u > 1; }));
}

QModelIndex ExportPreviewTreeModel::indexOfKey(const QString& sourceKey, int column) const
{
    // Leaves first: a key that is also a module prefix names its tensor.
    int found = -1;
    for (size_t n = 1; n < m_nodes.size(); ++n)
        if (m_nodes[n].key == sourceKey && (found < 0 || m_nodes[n].entry >= 0))
            found = int(n);
    if (found < 0)
        return {};
    const Node& n = m_nodes[size_t(found)];
    return createIndex(n.row, column, const_cast<Node*>(&m_nodes[size_t(n.parent)]));
}

const ExportPreviewTreeModel::Node* ExportPreviewTreeModel::nodeOf(const QModelIndex& index) const
{
    const int n = nodeIndex(index);
    return n < 0 ? nullptr : &m_nodes[size_t(n)];
}

int ExportPreviewTreeModel::nodeIndex(const QModelIndex& index) const
{
    if (!index.isValid())
        return 0;
    const auto* parent = static_cast<const Node*>(index.internalPointer());
    if (!parent || index.row() < 0 || size_t(index.row()) >= parent->children.size())
        return -1;
    return parent->children[size_t(index.row())];
}

QModelIndex ExportPreviewTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    const int p = nodeIndex(parent);
    if (p < 0 || column < 0 || column >= ColumnCount || row < 0 || size_t(row) >= m_nodes[size_t(p)].children.size())
        return {};
    return createIndex(row, column, const_cast<Node*>(&m_nodes[size_t(p)]));
}

QModelIndex ExportPreviewTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    const auto* p = static_cast<const Node*>(child.internalPointer());
    if (!p || p == &m_nodes[0])
        return {};
    return createIndex(p->row, 0, const_cast<Node*>(&m_nodes[size_t(p->parent)]));
}

int ExportPreviewTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    const int p = nodeIndex(parent);
    return p < 0 ? 0 : int(m_nodes[size_t(p)].children.size());
}

int ExportPreviewTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QString ExportPreviewTreeModel::whyNotKept(int entry) const
{
    const QString& key = m_all[size_t(entry)].sourceKey;
    if (!m_resolvable)
        return tr("The plan does not resolve (see the problems below)");
    if (!m_plan.include.isEmpty() && std::none_of(m_plan.include.begin(), m_plan.include.end(), [&](const QString& p) {
            return keyPatternMatches(p, key);
        }))
        return tr("No include pattern matches %1").arg(key);
    for (const QString& p : m_plan.exclude)
        if (keyPatternMatches(p, key))
            return tr("Excluded by %1").arg(p);
    return {};
}

QVariant ExportPreviewTreeModel::data(const QModelIndex& index, int role) const
{
    const Node* n = nodeOf(index);
    if (!index.isValid() || !n)
        return {};
    const bool leaf = n->entry >= 0;
    const PlannedTensor* t = leaf ? &m_all[size_t(n->entry)] : nullptr;
    const TensorInfo* info = t && m_ck && t->tensor >= 0 && size_t(t->tensor) < m_ck->tensors.size()
        ? &m_ck->tensors[size_t(t->tensor)]
        : nullptr;
    const bool kept = n->kept > 0;
    const bool collides = leaf && m_uses[size_t(n->entry)] > 1;
    const bool renamed = t && t->outputKey != t->sourceKey;
    const bool cast = t && info && t->outputDtype != info->dtype;
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case KeyColumn:
            return n->name;
        case OutputColumn:
            if (leaf)
                return t->outputKey;
            if (n->kept == n->leaves)
                return n->leaves == 1 ? tr("1 tensor") : tr("%1 tensors").arg(n->leaves);
            return tr("%1 of %2 tensors").arg(n->kept).arg(n->leaves);
        case DtypeColumn:
            if (!info)
                return {};
            return cast ? QStringLiteral("%1 → %2").arg(dtypeName(info->dtype), dtypeName(t->outputDtype))
                        : dtypeName(info->dtype);
        case ShapeColumn:
            return info ? shapeText(info->shape) : QString();
        case BytesColumn:
            return formatBytes(leaf && !kept ? n->allBytes : n->bytes);
        }
        return {};
    case Qt::CheckStateRole:
        if (column != KeyColumn)
            return {};
        return n->kept == 0 ? Qt::Unchecked : n->kept == n->leaves ? Qt::Checked : Qt::PartiallyChecked;
    case RowStateRole: {
        int state = 0;
        if (!kept)
            state |= Excluded;
        if (collides)
            state |= Collides;
        if ((column == OutputColumn && renamed) || (column == DtypeColumn && cast))
            state |= Changed;
        return state;
    }
    case Qt::ToolTipRole:
        if (collides)
            return tr("Another tensor is also written as %1: nothing can be exported").arg(t->outputKey);
        if (leaf && !kept)
            return tr("%1 is not written: %2").arg(n->key, whyNotKept(n->entry));
        if (leaf)
            return renamed ? tr("%1 is written as %2").arg(n->key, t->outputKey) : n->key;
        return tr("%1: %2 of %3 tensors written").arg(n->key).arg(n->kept).arg(n->leaves);
    case Qt::TextAlignmentRole:
        if (column == BytesColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case SortRole:
        if (column == BytesColumn)
            return qlonglong(leaf && !kept ? n->allBytes : n->bytes);
        return data(index, Qt::DisplayRole);
    case SourceKeyRole:
        return n->key;
    case KeptRole:
        return kept;
    case TensorIndexRole:
        return t ? t->tensor : -1;
    }
    return {};
}

Qt::ItemFlags ExportPreviewTreeModel::flags(const QModelIndex& index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.column() == KeyColumn && m_resolvable)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool ExportPreviewTreeModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    const Node* n = nodeOf(index);
    if (role != Qt::CheckStateRole || !index.isValid() || !n || !m_resolvable)
        return false;
    const bool checked = value.toInt() == Qt::Checked;
    const ExportPlan next = planWithChecked(index, checked);
    if (next == m_plan)
        return false;
    const QString what = n->entry >= 0 ? (checked ? tr("Keep %1") : tr("Leave out %1")).arg(n->key)
                                       : (checked ? tr("Keep %1.*") : tr("Leave out %1.*")).arg(n->key);
    emit planEditRequested(next, what);
    return true;
}

QString ExportPreviewTreeModel::patternOf(int node) const
{
    const Node& n = m_nodes[size_t(node)];
    return n.entry >= 0 ? keyPattern(n.key) : modulePattern(n.key);
}

void ExportPreviewTreeModel::subtree(int node, std::vector<int>& out) const
{
    out.push_back(node);
    for (int c : m_nodes[size_t(node)].children)
        subtree(c, out);
}

ExportPlan ExportPreviewTreeModel::planWithChecked(const QModelIndex& index, bool checked) const
{
    const int node = nodeIndex(index);
    ExportPlan next = m_plan;
    if (node <= 0)
        return next;
    std::vector<int> nodes;
    subtree(node, nodes);
    QSet<QString> own; // the patterns naming this row or a row below it
    for (int n : nodes)
        own.insert(patternOf(n));
    const QString mine = patternOf(node);

    if (!checked) {
        next.exclude.removeIf([&](const QString& p) { return own.contains(p); });
        next.exclude << mine;
        return next;
    }

    std::vector<char> inRow(m_all.size(), 0);
    for (int n : nodes)
        if (m_nodes[size_t(n)].entry >= 0)
            inRow[size_t(m_nodes[size_t(n)].entry)] = 1;
    // Includes that miss a key of the row: the row is included (its own narrower includes go).
    if (!next.include.isEmpty()) {
        bool missed = false;
        for (size_t e = 0; e < m_all.size() && !missed; ++e)
            missed = inRow[e] && std::none_of(next.include.begin(), next.include.end(), [&](const QString& p) {
                return keyPatternMatches(p, m_all[e].sourceKey);
            });
        if (missed) {
            next.include.removeIf([&](const QString& p) { return own.contains(p); });
            next.include << mine;
        }
    }
    // Excludes that match a key of the row go; a broader one leaves the patterns of the other keys it matched.
    QStringList excludes;
    for (const QString& p : m_plan.exclude) {
        if (own.contains(p))
            continue;
        std::vector<char> matched(m_all.size(), 0);
        bool hitsRow = false;
        for (size_t e = 0; e < m_all.size(); ++e) {
            matched[e] = keyPatternMatches(p, m_all[e].sourceKey) ? 1 : 0;
            hitsRow = hitsRow || (matched[e] && inRow[e]);
        }
        if (!hitsRow) {
            excludes << p;
            continue;
        }
        // Cover matched-but-not-in-row with as few rows as the tree allows: a node whose leaves are all in the
        // set is named by its pattern, else its children are looked at.
        std::vector<int> in(m_nodes.size(), 0);
        for (size_t n = 1; n < m_nodes.size(); ++n) {
            const int e = m_nodes[n].entry;
            in[n] = e >= 0 && matched[size_t(e)] && !inRow[size_t(e)] ? 1 : 0;
        }
        for (size_t n = m_nodes.size(); n-- > 1;)
            in[size_t(m_nodes[n].parent)] += in[n];
        std::vector<int> stack(m_nodes[0].children.rbegin(), m_nodes[0].children.rend());
        while (!stack.empty()) {
            const int n = stack.back();
            stack.pop_back();
            if (in[size_t(n)] == 0)
                continue;
            if (in[size_t(n)] == m_nodes[size_t(n)].leaves) {
                excludes << patternOf(n);
                continue;
            }
            const auto& c = m_nodes[size_t(n)].children;
            stack.insert(stack.end(), c.rbegin(), c.rend());
        }
    }
    excludes.removeDuplicates();
    next.exclude = excludes;
    return next;
}

QVariant ExportPreviewTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case KeyColumn:
        return tr("Source key");
    case OutputColumn:
        return tr("Output key");
    case DtypeColumn:
        return tr("dtype");
    case ShapeColumn:
        return tr("Shape");
    case BytesColumn:
        return tr("Size");
    }
    return {};
}

void ExportPreviewTreeModel::dumpNode(int node, int depth, QString& out) const
{
    const Node& n = m_nodes[size_t(node)];
    if (node > 0) {
        const QModelIndex i = createIndex(n.row, 0, const_cast<Node*>(&m_nodes[size_t(n.parent)]));
        const int state = data(i, Qt::CheckStateRole).toInt();
        QStringList cells;
        for (int c = 0; c < ColumnCount; ++c)
            cells << data(i.siblingAtColumn(c), Qt::DisplayRole).toString();
        out += QString(2 * depth, QLatin1Char(' '))
            + (state == Qt::Checked          ? QStringLiteral("[x] ")
                    : state == Qt::Unchecked ? QStringLiteral("[ ] ")
                                             : QStringLiteral("[~] "))
            + cells.join(QStringLiteral(" | ")) + QLatin1Char('\n');
    }
    for (int c : n.children)
        dumpNode(c, node > 0 ? depth + 1 : 0, out);
}

QString ExportPreviewTreeModel::dump() const
{
    QString out;
    dumpNode(0, 0, out);
    return out;
}

} // namespace ckpt
