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
// glance; data of one sign a sequential one from its minimum to its maximum. Logarithmic on request, for
// heavy-tailed data such as Adam's exp_avg_sq where one outlier would leave everything else one colour:
// log10 for positive data, a symmetric log (linear within a thousandth of the largest magnitude) for signed data.
struct ColorScale {
    double lo = 0, hi = 1;
    bool diverging = false;
    bool log = false;
    double floor = 0; // log: the smallest magnitude told apart from zero

    static ColorScale fitting(const HeatMap& map, bool log = false);
    double position(double v) const;  // 0 at lo, 1 at hi
    double valueAt(double t) const;   // the inverse
    QRgb colorAt(double t) const;
    QRgb color(double v) const;       // NaN and Inf: grey
    double centre() const { return valueAt(0.5); }
};

QImage renderHeatMap(const HeatMap& map, const ColorScale& scale, CellValue mode);

} // namespace ckpt
