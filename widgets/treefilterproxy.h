#pragma once

#include <QSortFilterProxyModel>

namespace ckpt {

// The proxy between ObjectTreeModel and the tree view: key filter, natural sort, numeric alignment.
// Presentation only; every value it compares or shows comes from the source model.
class TreeFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit TreeFilterProxy(QObject* parent = nullptr);

    // Substring match on keys, case-insensitive; `*` and `?` make it a wildcard pattern.
    void setKeyFilter(const QString& text);
    QString keyFilter() const { return m_filter; }

    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    QString m_filter;
};

// Case-insensitive, digit runs compared as numbers: "layers.2" < "layers.10". QCollator's numeric mode would do,
// but Qt ignores it under the C locale that servers and CI run with.
int naturalCompare(QStringView a, QStringView b);

} // namespace ckpt
