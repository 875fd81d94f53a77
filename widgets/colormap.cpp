#include "widgets/colormap.h"

#include <QColor>

#include <algorithm>
#include <array>
#include <cmath>

namespace ckpt {
namespace {

struct Stop {
    double at;
    int r, g, b;
};

QRgb interpolate(const Stop* stops, size_t count, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    for (size_t i = 1; i < count; ++i)
        if (t <= stops[i].at) {
            const Stop& a = stops[i - 1];
            const Stop& b = stops[i];
            const double f = (t - a.at) / (b.at - a.at);
            return qRgb(int(a.r + f * (b.r - a.r) + 0.5), int(a.g + f * (b.g - a.g) + 0.5), int(a.b + f * (b.b - a.b) + 0.5));
        }
    return qRgb(stops[count - 1].r, stops[count - 1].g, stops[count - 1].b);
}

// ColorBrewer RdBu reversed: negative blue, zero white, positive red.
constexpr std::array<Stop, 7> kDiverging { { { 0.0, 33, 102, 172 }, { 0.17, 67, 147, 195 }, { 0.33, 146, 197, 222 },
    { 0.5, 247, 247, 247 }, { 0.67, 244, 165, 130 }, { 0.83, 214, 96, 77 }, { 1.0, 178, 24, 43 } } };
// Viridis, sampled.
constexpr std::array<Stop, 6> kSequential { { { 0.0, 68, 1, 84 }, { 0.2, 65, 68, 135 }, { 0.4, 42, 120, 142 },
    { 0.6, 34, 168, 132 }, { 0.8, 122, 209, 81 }, { 1.0, 253, 231, 37 } } };

} // namespace

ColorScale ColorScale::fitting(const HeatMap& map, bool log)
{
    ColorScale s;
    if (!map.lo || !map.hi)
        return s;
    s.lo = *map.lo;
    s.hi = *map.hi;
    s.diverging = s.lo < 0 && s.hi > 0;
    if (s.diverging) {
        const double m = std::max(-s.lo, s.hi);
        s.lo = -m;
        s.hi = m;
    }
    s.log = log && s.hi > 0;
    if (s.log) {
        if (s.diverging) {
            s.floor = s.hi * 1e-3;
        } else {
            // The smallest positive value a cell kept, bounded to six decades below the largest.
            double smallest = s.hi;
            for (size_t i = 0; i < map.min.size(); ++i) {
                if (map.min[i] > 0)
                    smallest = std::min(smallest, map.min[i]);
                else if (map.max[i] > 0)
                    smallest = std::min(smallest, map.max[i]);
            }
            s.floor = std::max(smallest, s.hi * 1e-6);
            s.lo = std::max(s.lo, 0.0);
        }
    }
    return s;
}

double ColorScale::position(double v) const
{
    if (log && diverging) {
        const double span = std::log1p(hi / floor);
        return 0.5 + 0.5 * std::copysign(std::log1p(std::fabs(v) / floor), v) / span;
    }
    if (log) {
        if (v < floor)
            return 0;
        const double span = std::log10(hi / floor);
        return span > 0 ? std::log10(v / floor) / span : 1;
    }
    const double span = hi - lo;
    return span > 0 ? (v - lo) / span : 0.5;
}

double ColorScale::valueAt(double t) const
{
    if (log && diverging) {
        const double u = (t - 0.5) * 2 * std::log1p(hi / floor);
        return std::copysign(std::expm1(std::fabs(u)) * floor, u);
    }
    if (log)
        return t <= 0 ? lo : floor * std::pow(hi / floor, t);
    return lo + t * (hi - lo);
}

QRgb ColorScale::colorAt(double t) const
{
    return diverging ? interpolate(kDiverging.data(), kDiverging.size(), t)
                     : interpolate(kSequential.data(), kSequential.size(), t);
}

QRgb ColorScale::color(double v) const
{
    if (!std::isfinite(v))
        return qRgb(160, 160, 160);
    return colorAt(position(v));
}

QImage renderHeatMap(const HeatMap& map, const ColorScale& scale, CellValue mode)
{
    if (map.cellRows == 0 || map.cellCols == 0)
        return {};
    QImage image(map.cellCols, map.cellRows, QImage::Format_RGB32);
    for (int r = 0; r < map.cellRows; ++r) {
        auto* line = reinterpret_cast<QRgb*>(image.scanLine(r));
        for (int c = 0; c < map.cellCols; ++c) {
            const size_t i = map.cell(r, c);
            double v = 0;
            switch (mode) {
            case CellValue::Extreme:
                // Compared where they land on the scale, so a log scale picks the visually further one.
                v = std::fabs(scale.position(map.max[i]) - 0.5) >= std::fabs(scale.position(map.min[i]) - 0.5) ? map.max[i]
                                                                                                              : map.min[i];
                break;
            case CellValue::Mean: v = map.mean[i]; break;
            case CellValue::Min: v = map.min[i]; break;
            case CellValue::Max: v = map.max[i]; break;
            }
            line[c] = scale.color(v);
        }
    }
    return image;
}

} // namespace ckpt
