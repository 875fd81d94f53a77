#pragma once

#include "io/checkpoint.h"
#include "model/histogram.h"

#include <QWidget>

#include <optional>

class QCheckBox;
class QLabel;
class QSpinBox;
class QTimer;
class QToolButton;

namespace ckpt {

class HistogramCanvas;
class LatestTask;

// The distribution of one tensor's values, or of two drawn over each other in translucent colours (A and B of a
// comparison, on the same bins). The counts come from computeHistogram off the GUI thread; the view only asks
// and draws. Dragging across the plot re-bins at full resolution over the dragged range (a new histogram of the
// tensor, not a magnification of the old bins); a double-click or Reset goes back to the whole range.
class HistogramView : public QWidget {
    Q_OBJECT
public:
    explicit HistogramView(QWidget* parent = nullptr);
    ~HistogramView() override;

    void setTensor(CheckpointPtr ck, int tensor, const QString& label = {});
    void setOverlay(CheckpointPtr a, int tensorA, CheckpointPtr b, int tensorB, const QString& labelA = QStringLiteral("A"),
        const QString& labelB = QStringLiteral("B"));
    void clear(const QString& message = {});

    int bins() const;
    void setBins(int bins);
    bool logY() const;
    void setLogY(bool on);
    // The x axis as log10|value| (zeros, whose log is -inf, are counted apart).
    bool logX() const;
    void setLogX(bool on);

    // The range being binned, in x-axis units (log10|value| when logX); empty: each tensor's whole finite range.
    const std::optional<std::pair<double, double>>& range() const { return m_range; }
    void zoomTo(double lo, double hi);
    void resetRange();

    const std::optional<Histogram>& histogram() const { return m_a; }
    const std::optional<Histogram>& histogramB() const { return m_b; }
    bool isOverlay() const { return m_overlay; }
    bool isComputing() const { return m_computing; }
    QString infoText() const;
    QString message() const { return m_message; }
    QWidget* canvas() const;
    // What hovering at `pos` (canvas coordinates) shows; empty outside the bars.
    QString toolTipAt(const QPoint& pos) const;

signals:
    void ready(); // new histograms (or why there are none) are shown

protected:
    void showEvent(QShowEvent* event) override;

private:
    void request();
    void compute();
    void updateInfo();

    struct Side {
        CheckpointPtr ck;
        int tensor = -1;
        QString label;
    };
    Side m_sideA, m_sideB;
    bool m_overlay = false;
    std::optional<std::pair<double, double>> m_range;
    std::optional<Histogram> m_a, m_b;
    QString m_message;
    bool m_computing = false;
    bool m_dirty = false;

    LatestTask* m_task = nullptr;
    QTimer* m_binsTimer = nullptr;
    HistogramCanvas* m_canvas = nullptr;
    QSpinBox* m_bins = nullptr;
    QCheckBox* m_logY = nullptr;
    QCheckBox* m_logX = nullptr;
    QToolButton* m_reset = nullptr;
    QLabel* m_info = nullptr;
};

} // namespace ckpt
