#include "widgets/slicepicker.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

#include <limits>

namespace ckpt {

SlicePicker::SlicePicker(QWidget* parent)
    : QWidget(parent)
{
    m_rows = new QComboBox;
    m_rows->setObjectName(QStringLiteral("sliceRows"));
    m_cols = new QComboBox;
    m_cols->setObjectName(QStringLiteral("sliceCols"));
    m_flatten = new QCheckBox(tr("Flatten to dim 0 × rest"));
    m_flatten->setObjectName(QStringLiteral("sliceFlatten"));
    m_flatten->setToolTip(tr("x.reshape(x.shape[0], -1): every element, one row per index of dimension 0"));
    m_indexLayout = new QHBoxLayout;
    m_indexLayout->setContentsMargins(0, 0, 0, 0);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("Rows:")));
    layout->addWidget(m_rows);
    layout->addWidget(new QLabel(tr("Columns:")));
    layout->addWidget(m_cols);
    layout->addLayout(m_indexLayout);
    layout->addWidget(m_flatten);
    layout->addStretch(1);

    connect(m_rows, &QComboBox::currentIndexChanged, this, &SlicePicker::readControls);
    connect(m_cols, &QComboBox::currentIndexChanged, this, &SlicePicker::readControls);
    connect(m_flatten, &QCheckBox::toggled, this, &SlicePicker::readControls);
    setVisible(false);
}

void SlicePicker::setTensor(const TensorInfo& t)
{
    m_updating = true;
    m_shape = t.shape;
    m_spec = defaultSlice(t);
    const int dims = int(m_shape.size());
    m_rows->clear();
    m_cols->clear();
    for (int d = 0; d < dims; ++d) {
        const QString label = tr("dim %1 (%2)").arg(d).arg(m_shape[size_t(d)]);
        m_rows->addItem(label, d);
        m_cols->addItem(label, d);
    }
    m_flatten->setVisible(dims >= 3);
    m_updating = false;
    setSpec(m_spec);
    setVisible(dims >= 2);
}

void SlicePicker::setSpec(const SliceSpec& spec)
{
    m_updating = true;
    m_spec = spec;
    if (m_shape.size() >= 2) {
        m_rows->setCurrentIndex(std::max(0, spec.rowDim));
        m_cols->setCurrentIndex(std::max(0, spec.colDim));
        m_flatten->setChecked(spec.flatten);
        m_rows->setEnabled(!spec.flatten);
        m_cols->setEnabled(!spec.flatten);
    }
    rebuildIndexes();
    m_updating = false;
}

void SlicePicker::rebuildIndexes()
{
    for (auto& [d, spin] : m_indexes) {
        m_indexLayout->removeWidget(spin->parentWidget());
        delete spin->parentWidget();
    }
    m_indexes.clear();
    if (m_spec.flatten || m_shape.size() < 3)
        return;
    for (int d = 0; d < int(m_shape.size()); ++d) {
        if (d == m_spec.rowDim || d == m_spec.colDim)
            continue;
        auto* box = new QWidget;
        auto* row = new QHBoxLayout(box);
        row->setContentsMargins(6, 0, 0, 0);
        row->addWidget(new QLabel(tr("dim %1 at").arg(d)));
        auto* spin = new QSpinBox;
        spin->setObjectName(QStringLiteral("sliceIndex%1").arg(d));
        spin->setRange(0, int(std::min<std::int64_t>(m_shape[size_t(d)] - 1, std::numeric_limits<int>::max())));
        spin->setValue(int(m_spec.index[size_t(d)]));
        spin->setToolTip(tr("Index along dimension %1 (size %2)").arg(d).arg(m_shape[size_t(d)]));
        row->addWidget(spin);
        m_indexLayout->addWidget(box);
        m_indexes.emplace_back(d, spin);
        connect(spin, &QSpinBox::valueChanged, this, &SlicePicker::readControls);
    }
}

void SlicePicker::readControls()
{
    if (m_updating || m_shape.size() < 2)
        return;
    SliceSpec s = m_spec;
    s.flatten = !m_flatten->isHidden() && m_flatten->isChecked();
    int rows = m_rows->currentData().toInt();
    int cols = m_cols->currentData().toInt();
    if (rows == cols) {
        // Picking the other axis's dimension swaps the two, rather than leaving an impossible slice.
        if (sender() == m_rows)
            cols = m_spec.rowDim;
        else
            rows = m_spec.colDim;
    }
    s.rowDim = rows;
    s.colDim = cols;
    for (const auto& [d, spin] : m_indexes)
        s.index[size_t(d)] = spin->value();
    const bool layoutChanged = s.rowDim != m_spec.rowDim || s.colDim != m_spec.colDim || s.flatten != m_spec.flatten;
    if (layoutChanged)
        setSpec(s);
    else
        m_spec = s;
    emit sliceChanged(m_spec);
}

} // namespace ckpt
