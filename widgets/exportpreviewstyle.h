#pragma once

#include <QIdentityProxyModel>

namespace ckpt {

// The export preview as the dialog shows it: ExportPreviewTreeModel's row states as colours (left out: grey;
// colliding output key: red on a light red ground; renamed key or cast dtype: blue). Kept apart so that the model
// stays QtCore-only.
class ExportPreviewStyle : public QIdentityProxyModel {
    Q_OBJECT
public:
    using QIdentityProxyModel::QIdentityProxyModel;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

} // namespace ckpt
