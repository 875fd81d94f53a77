#pragma once

#include "model/layerprofile.h"

#include <QWidget>

class QComboBox;
class QLabel;

namespace ckpt {

class LayerPlotCanvas;

// Per-block figures along depth for a repeated stack (layers.0 ... layers.N): parameters per block and the L2
// norm of each block's parameters, as two bar charts over the same axis, so the shape of the network shows at a
// glance. Blocks whose statistics are not known yet are drawn hollow. Clicking a bar activates that block.
class LayerPlot : public QWidget {
    Q_OBJECT
public:
    explicit LayerPlot(QWidget* parent = nullptr);

    // The stacks to choose from, (dotted name, node); the first is shown.
    void setBlocks(const std::vector<std::pair<QString, int>>& blocks);
    int currentBlock() const; // node, -1: none
    void setProfile(const LayerProfile& profile);
    const LayerProfile& profile() const { return m_profile; }
    QString summaryText() const;

signals:
    void blockChosen(int node);
    void layerActivated(int node);

private:
    QComboBox* m_blocks = nullptr;
    QLabel* m_summary = nullptr;
    LayerPlotCanvas* m_canvas = nullptr;
    QLabel* m_empty = nullptr;
    LayerProfile m_profile;
};

} // namespace ckpt
