#pragma once

#include "model/heatmap.h"

#include <QImage>

namespace ckpt {

// How a heat map cell that covers many elements is coloured.
enum class CellValue {
    Extreme, // the cell's min or max, whichever lies further from the scale's centre: outliers stay visible
    Mean,
    Min,
    Max,
};

// Values to colours. Signed data gets a diverging scale centred on zero (blue, white, red) so the sign reads at a
// glance; data of one sign a sequential one from its minimum to its maximum.
struct ColorScale {
    double lo = 0, hi = 1;
    bool diverging = false;

    static ColorScale fitting(const HeatMap& map);
    QRgb color(double v) const; // NaN: grey
    double centre() const { return diverging ? 0 : (lo + hi) / 2; }
};

QImage renderHeatMap(const HeatMap& map, const ColorScale& scale, CellValue mode);

} // namespace ckpt
