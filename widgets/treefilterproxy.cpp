#include "widgets/treefilterproxy.h"

#include "model/objecttreemodel.h"

#include <QRegularExpression>

namespace ckpt {

TreeFilterProxy::TreeFilterProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(ObjectTreeModel::SortRole);
    setFilterKeyColumn(ObjectTreeModel::KeyColumn);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    // A match deep in the tree keeps its ancestors; a matching container keeps what is inside it.
    setRecursiveFilteringEnabled(true);
    setAutoAcceptChildRows(true);
}

void TreeFilterProxy::setKeyFilter(const QString& text)
{
    const QString trimmed = text.trimmed();
    if (trimmed == m_filter)
        return;
    m_filter = trimmed;
    if (trimmed.contains(QLatin1Char('*')) || trimmed.contains(QLatin1Char('?'))) {
        setFilterRegularExpression(QRegularExpression(
            QRegularExpression::wildcardToRegularExpression(trimmed, QRegularExpression::UnanchoredWildcardConversion),
            QRegularExpression::CaseInsensitiveOption));
    } else {
        setFilterFixedString(trimmed);
    }
}

bool TreeFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    // The top row is keyed by the file name: matching it would let every row through, so it is kept only for
    // what matches below it.
    if (!sourceParent.isValid() && !m_filter.isEmpty())
        return false;
    return QSortFilterProxyModel::filterAcceptsRow(sourceRow, sourceParent);
}

bool TreeFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant l = left.data(sortRole());
    const QVariant r = right.data(sortRole());
    const auto isNumber = [](const QVariant& v) {
        const int t = v.typeId();
        return t == QMetaType::LongLong || t == QMetaType::Int || t == QMetaType::Double || t == QMetaType::UInt;
    };
    const bool ln = isNumber(l);
    const bool rn = isNumber(r);
    if (ln && rn) {
        if (l.typeId() == QMetaType::Double || r.typeId() == QMetaType::Double)
            return l.toDouble() < r.toDouble();
        return l.toLongLong() < r.toLongLong();
    }
    // Rows without a value (a container's dtype) go after the ones with one, numbers before text.
    if (ln != rn)
        return ln;
    const QString ls = l.toString();
    const QString rs = r.toString();
    if (ls.isEmpty() != rs.isEmpty())
        return !ls.isEmpty();
    return naturalCompare(ls, rs) < 0;
}

int naturalCompare(QStringView a, QStringView b)
{
    const auto isDigit = [](QChar c) { return c >= u'0' && c <= u'9'; };
    const auto digitRun = [&](QStringView s, qsizetype& i) {
        const qsizetype start = i;
        while (i < s.size() && isDigit(s[i]))
            ++i;
        QStringView run = s.sliced(start, i - start);
        while (run.size() > 1 && run.front() == u'0')
            run = run.sliced(1);
        return run;
    };
    qsizetype i = 0;
    qsizetype j = 0;
    while (i < a.size() && j < b.size()) {
        if (isDigit(a[i]) && isDigit(b[j])) {
            const QStringView da = digitRun(a, i);
            const QStringView db = digitRun(b, j);
            if (da.size() != db.size())
                return da.size() < db.size() ? -1 : 1;
            if (const int c = da.compare(db))
                return c < 0 ? -1 : 1;
            continue;
        }
        const char16_t ca = a[i].toCaseFolded().unicode();
        const char16_t cb = b[j].toCaseFolded().unicode();
        if (ca != cb)
            return ca < cb ? -1 : 1;
        ++i;
        ++j;
    }
    if (i < a.size() || j < b.size())
        return i < a.size() ? 1 : -1;
    // Equal but for case or leading zeros: still a strict order, so sorting is deterministic.
    const int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

namespace {

// Counts and sizes line up on their last digit.
bool rightAligned(int column)
{
    return column == ObjectTreeModel::ElementsColumn || column == ObjectTreeModel::BytesColumn;
}

} // namespace

QVariant TreeFilterProxy::data(const QModelIndex& index, int role) const
{
    if (role == Qt::TextAlignmentRole && rightAligned(index.column()))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return QSortFilterProxyModel::data(index, role);
}

QVariant TreeFilterProxy::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role == Qt::TextAlignmentRole && orientation == Qt::Horizontal && rightAligned(section))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return QSortFilterProxyModel::headerData(section, orientation, role);
}

} // namespace ckpt
