#pragma once

#include "io/dtype.h"
#include "model/valueslice.h"

#include <QAbstractTableModel>

namespace ckpt {

// One page of a slice as a table; headers carry the slice's own row and column numbers.
class ValueTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Roles { ValueRole = Qt::UserRole }; // the number as a double

    explicit ValueTableModel(QObject* parent = nullptr);

    void setPage(ValuePage page, DType dtype);
    void clear();
    const ValuePage& page() const { return m_page; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Integers and booleans exactly, floating point to the digits its dtype carries.
    static QString format(double v, DType dtype);

private:
    ValuePage m_page;
    DType m_dtype = DType::Float32;
};

} // namespace ckpt
