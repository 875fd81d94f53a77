#include "widgets/colorbar.h"

#include "model/moduletreemodel.h"

#include <QPainter>

namespace ckpt {
namespace {

constexpr int kStrip = 14;
constexpr int kMargin = 8;

} // namespace

ColorBar::ColorBar(QWidget* parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
}

void ColorBar::setScale(const ColorScale& scale)
{
    m_scale = scale;
    m_valid = true;
    update();
}

void ColorBar::clear()
{
    m_valid = false;
    update();
}

QSize ColorBar::sizeHint() const
{
    return { kStrip + 10 + fontMetrics().horizontalAdvance(QStringLiteral("-0.0000e-00")), 200 };
}

QSize ColorBar::minimumSizeHint() const
{
    return { sizeHint().width(), 80 };
}

void ColorBar::paintEvent(QPaintEvent*)
{
    if (!m_valid)
        return;
    QPainter p(this);
    const int top = kMargin + fontMetrics().height() / 2;
    const int bottom = height() - kMargin - fontMetrics().height() / 2;
    if (bottom <= top)
        return;
    for (int y = top; y <= bottom; ++y) {
        p.setPen(QColor::fromRgb(m_scale.colorAt(double(bottom - y) / double(bottom - top))));
        p.drawLine(0, y, kStrip - 1, y);
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(0, top, kStrip - 1, bottom - top);
    p.setPen(palette().color(QPalette::WindowText));
    const int textX = kStrip + 6;
    const auto label = [&](double v, int y) {
        p.drawLine(kStrip, y, kStrip + 3, y);
        p.drawText(QRect(textX, y - fontMetrics().height() / 2, width() - textX, fontMetrics().height()),
            Qt::AlignLeft | Qt::AlignVCenter, ModuleTreeModel::number(v));
    };
    // Quarter marks: on a log scale they show the decades the colours span.
    for (int q = 0; q <= 4; ++q)
        label(m_scale.valueAt(1.0 - q / 4.0), top + (bottom - top) * q / 4);
}

} // namespace ckpt
