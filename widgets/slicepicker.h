#pragma once

#include "io/tensorinfo.h"
#include "model/valueslice.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QHBoxLayout;
class QSpinBox;

namespace ckpt {

// Chooses the 2-D slice of an N-D tensor to look at: which dimension runs down the rows, which across the
// columns, the index along every other one, or dimension 0 against all others flattened. Hidden for tensors
// with fewer than two dimensions, where there is nothing to choose.
class SlicePicker : public QWidget {
    Q_OBJECT
public:
    explicit SlicePicker(QWidget* parent = nullptr);

    void setTensor(const TensorInfo& t);
    const SliceSpec& spec() const { return m_spec; }
    void setSpec(const SliceSpec& spec); // must suit the tensor last set

signals:
    void sliceChanged(const ckpt::SliceSpec& spec);

private:
    void rebuildIndexes();
    void readControls();

    std::vector<std::int64_t> m_shape;
    SliceSpec m_spec;
    QComboBox* m_rows = nullptr;
    QComboBox* m_cols = nullptr;
    QCheckBox* m_flatten = nullptr;
    QHBoxLayout* m_indexLayout = nullptr;
    std::vector<std::pair<int, QSpinBox*>> m_indexes; // (dimension, its spin box)
    bool m_updating = false;
};

} // namespace ckpt
