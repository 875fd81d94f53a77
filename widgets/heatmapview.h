#pragma once

#include "io/checkpoint.h"
#include "model/heatmap.h"
#include "widgets/colormap.h"

#include <QWidget>

#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QScrollArea;
class QToolButton;

namespace ckpt {

class ColorBar;
class HeatMapCanvas;
class LatestTask;

// A slice as an image: downsampled off the GUI thread to at most kMaxCells a side (each cell keeping its block's
// min, max and mean), coloured on a diverging or sequential scale with a colour bar, zoomable (buttons,
// Ctrl+wheel), with the cell under the mouse described in a tooltip.
class HeatMapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatMapView(QWidget* parent = nullptr);
    ~HeatMapView() override;

    void setSource(CheckpointPtr ck, int tensor, const SliceSpec& spec);
    void clear(const QString& message = {});

    bool isComputing() const { return m_computing; }
    const HeatMap* heatMap() const { return m_map ? &*m_map : nullptr; }
    QImage image() const;
    const ColorScale& scale() const { return m_scale; }
    QString infoText() const;
    double zoom() const;
    void setZoom(double factor); // display pixels per cell; leaves fit-to-window
    void zoomToFit();
    void setCellValue(CellValue mode);
    void setLogScale(bool on);

    static constexpr int kMaxCells = 1024;

signals:
    void ready(); // a heat map finished (or failed) for the current source

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void render();

    LatestTask* m_task = nullptr;
    HeatMapCanvas* m_canvas = nullptr;
    QScrollArea* m_scroll = nullptr;
    ColorBar* m_bar = nullptr;
    QLabel* m_info = nullptr;
    QComboBox* m_mode = nullptr;
    QCheckBox* m_log = nullptr;
    QLabel* m_zoomLabel = nullptr;
    std::optional<HeatMap> m_map;
    ColorScale m_scale;
    DType m_dtype = DType::Float32;
    bool m_computing = false;
};

} // namespace ckpt
