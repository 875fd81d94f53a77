#pragma once

#include "model/modulefilter.h"

#include <QSortFilterProxyModel>

namespace ckpt {

class ModuleTreeModel;

// Between ModuleTreeModel and its view: the search (precomputed per node by matchModules, so changing it costs
// one pass over the nodes and rows are only re-checked where the view has mapped them), natural and numeric
// sorting, greyed buffers and red NaN/Inf counts.
class ModuleFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit ModuleFilterProxy(QObject* parent = nullptr);

    void setSourceModel(QAbstractItemModel* source) override;
    // Empty `visible`: everything shows.
    void setMatch(ModuleMatch match);
    const ModuleMatch& match() const { return m_match; }

    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    ModuleTreeModel* m_modules = nullptr;
    ModuleMatch m_match;
};

} // namespace ckpt
