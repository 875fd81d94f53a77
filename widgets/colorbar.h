#pragma once

#include "widgets/colormap.h"

#include <QWidget>

namespace ckpt {

// The legend beside a heat map: the scale's colours from top (high) to bottom (low) with its end and centre values.
class ColorBar : public QWidget {
    Q_OBJECT
public:
    explicit ColorBar(QWidget* parent = nullptr);

    void setScale(const ColorScale& scale);
    void clear();
    bool hasScale() const { return m_valid; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    ColorScale m_scale;
    bool m_valid = false;
};

} // namespace ckpt
