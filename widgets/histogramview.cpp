#include "widgets/histogramview.h"

#include "model/latesttask.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QSpinBox>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>

namespace ckpt {
namespace {

const QColor kColorA(70, 130, 180);
const QColor kColorB(221, 132, 82);

// 1-2-5 steps, at most about `count` of them over [lo, hi].
std::vector<double> niceTicks(double lo, double hi, int count, double* stepOut = nullptr)
{
    std::vector<double> ticks;
    if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi))
        return ticks;
    const double raw = (hi - lo) / std::max(1, count);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / mag;
    // The nearest of 1, 2, 5, 10; one notch finer while that leaves fewer than three ticks.
    static constexpr double kSteps[] = { 0.5, 1, 2, 5, 10 };
    int notch = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 3 : 4;
    for (;; --notch) {
        const double step = kSteps[notch] * mag;
        ticks.clear();
        for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.size() < 64; k += 1)
            ticks.push_back(std::fabs(k * step) < step * 1e-9 ? 0.0 : k * step);
        if (ticks.size() >= 3 || notch == 0) {
            if (stepOut)
                *stepOut = step;
            return ticks;
        }
    }
}

QString tickLabel(double v, double step)
{
    if (v == 0)
        return QStringLiteral("0");
    const double a = std::fabs(v);
    if (a >= 1e-4 && a < 1e6) {
        const int decimals = std::clamp(int(-std::floor(std::log10(step) + 1e-9)), 0, 8);
        return QString::number(v, 'f', decimals);
    }
    const int significant = std::clamp(int(std::floor(std::log10(a)) - std::floor(std::log10(step))) + 1, 1, 8);
    return QString::number(v, 'g', significant);
}

QString compactCount(double v)
{
    if (v >= 1e9)
        return QString::number(v / 1e9, 'g', 3) + QLatin1Char('G');
    if (v >= 1e6)
        return QString::number(v / 1e6, 'g', 3) + QLatin1Char('M');
    if (v >= 1e4)
        return QString::number(v / 1e3, 'g', 3) + QLatin1Char('k');
    return QString::number(v, 'g', 6);
}

QString count(std::int64_t n)
{
    return QLocale().toString(qlonglong(n));
}

// A value on the x axis as a person reads it: log-axis positions are powers of ten of |value|.
QString valueText(double x, bool logX)
{
    if (!logX)
        return QString::number(x, 'g', 6);
    return QStringLiteral("%1").arg(std::pow(10.0, x), 0, 'g', 4);
}

// The finite range a histogram's values span: its edges, less numpy's widening of a constant tensor (its one value
// then sits alone in the middle bin of a range exactly 1 wide).
std::pair<double, double> valueSpan(const Histogram& h)
{
    const double lo = h.edges.front(), hi = h.edges.back();
    int nonEmpty = 0;
    for (auto c : h.counts)
        nonEmpty += c > 0 ? 1 : 0;
    if (hi - lo == 1.0 && nonEmpty == 1 && h.counts.size() > 1 && h.counts[h.counts.size() / 2] > 0 && !h.underflow
        && !h.overflow)
        return { (lo + hi) / 2, (lo + hi) / 2 };
    return { lo, hi };
}

} // namespace

// The plot: bars, axes with tick labels, hover and drag. Painted from the view's histograms alone.
class HistogramCanvas : public QWidget {
public:
    explicit HistogramCanvas(HistogramView* view)
        : QWidget(view)
        , m_view(view)
    {
        setMouseTracking(true);
        setMinimumSize(240, 150);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
        setAttribute(Qt::WA_OpaquePaintEvent, false);
    }

    bool logY = false;
    bool logX = false;

    // The histogram whose edges set the x axis.
    const Histogram* axis() const
    {
        const auto& a = m_view->histogram();
        const auto& b = m_view->histogramB();
        if (a && a->edges.size() >= 2)
            return &*a;
        if (b && b->edges.size() >= 2)
            return &*b;
        return nullptr;
    }

    QRect plotRect() const
    {
        const QFontMetrics fm = fontMetrics();
        const int left = fm.horizontalAdvance(QStringLiteral("000.0M")) + 12;
        const int top = m_view->isOverlay() ? fm.height() + 10 : 8;
        return rect().adjusted(left, top, -14, -(2 * fm.height() + 10));
    }

    double xToValue(double px) const
    {
        const Histogram* h = axis();
        const QRect r = plotRect();
        const double lo = h->edges.front(), hi = h->edges.back();
        return lo + (px - r.left()) / std::max(1, r.width()) * (hi - lo);
    }

    double valueToX(double v) const
    {
        const Histogram* h = axis();
        const QRect r = plotRect();
        const double lo = h->edges.front(), hi = h->edges.back();
        return r.left() + (v - lo) / (hi - lo) * r.width();
    }

    int binAt(const QPoint& pos) const
    {
        const Histogram* h = axis();
        if (!h)
            return -1;
        const QRect r = plotRect();
        if (pos.x() < r.left() || pos.x() > r.right() || pos.y() < r.top() || pos.y() > r.bottom())
            return -1;
        const int bins = int(h->counts.size());
        const int i = int((pos.x() - r.left()) / double(std::max(1, r.width())) * bins);
        return std::clamp(i, 0, bins - 1);
    }

    QString toolTipAt(const QPoint& pos) const
    {
        const int i = binAt(pos);
        if (i < 0)
            return {};
        const Histogram* h = axis();
        const double lo = h->edges[size_t(i)], hi = h->edges[size_t(i) + 1];
        const bool last = size_t(i) + 2 == h->edges.size();
        QString range
            = QStringLiteral("[%1, %2%3")
                  .arg(valueText(lo, logX), valueText(hi, logX), last ? QStringLiteral("]") : QStringLiteral(")"));
        if (logX)
            range = HistogramView::tr("|value| in %1").arg(range);
        QString text = HistogramView::tr("Bin %1 of %2: %3").arg(i + 1).arg(h->counts.size()).arg(range);
        const auto& a = m_view->histogram();
        const auto& b = m_view->histogramB();
        if (m_view->isOverlay()) {
            if (a && size_t(i) < a->counts.size())
                text += HistogramView::tr("\nA: %1").arg(count(a->counts[size_t(i)]));
            if (b && size_t(i) < b->counts.size())
                text += HistogramView::tr("\nB: %1").arg(count(b->counts[size_t(i)]));
        } else if (a) {
            text += HistogramView::tr("\nCount: %1").arg(count(a->counts[size_t(i)]));
        }
        return text;
    }

protected:
    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        p.fillRect(rect(), palette().color(QPalette::Base));
        const Histogram* h = axis();
        if (!h) {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, m_view->message());
            return;
        }
        const QRect r = plotRect();
        const QFontMetrics fm = fontMetrics();
        const auto& a = m_view->histogram();
        const auto& b = m_view->histogramB();

        // y scale: counts, or log10 of counts with a count of one still visible.
        std::int64_t maxCount = 0;
        for (const auto* side : { &a, &b })
            if (*side)
                for (auto c : (*side)->counts)
                    maxCount = std::max(maxCount, c);
        const double yLo = logY ? std::log10(0.5) : 0.0;
        const double yHi = logY
            ? std::max(1.0, std::ceil(std::log10(double(std::max<std::int64_t>(maxCount, 1))) + 1e-9))
            : double(std::max<std::int64_t>(maxCount, 1)) * 1.05;
        const auto yOf = [&](double c) {
            const double t = logY ? (c > 0 ? std::log10(c) : yLo) : c;
            return r.bottom() - (t - yLo) / (yHi - yLo) * r.height();
        };

        // Grid and y ticks.
        QPen grid(palette().color(QPalette::Midlight));
        grid.setStyle(Qt::DotLine);
        const QColor text = palette().color(QPalette::WindowText);
        std::vector<std::pair<double, QString>> yTicks;
        if (logY) {
            const int decades = int(yHi);
            const int every = std::max(1, (decades + 5) / 6);
            for (int k = 0; k <= decades; k += every)
                yTicks.emplace_back(std::pow(10.0, k), compactCount(std::pow(10.0, k)));
        } else {
            for (double t : niceTicks(0, yHi, 5))
                yTicks.emplace_back(t, compactCount(t));
        }
        for (const auto& [v, label] : yTicks) {
            const double y = yOf(v);
            if (y < r.top() - 1)
                continue;
            p.setPen(grid);
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y));
            p.setPen(text);
            p.drawText(
                QRectF(0, y - fm.height() / 2.0, r.left() - 6, fm.height()), Qt::AlignRight | Qt::AlignVCenter, label);
        }

        // Bars: one filled rectangle per bin; two histograms overlap translucently, each with its outline.
        const double lo = h->edges.front(), hi = h->edges.back();
        const auto drawSeries = [&](const Histogram& s, QColor color, bool overlay) {
            if (s.counts.empty() || s.edges.size() != s.counts.size() + 1)
                return;
            const double bw = double(r.width()) / double(s.counts.size());
            QColor fill = color;
            fill.setAlpha(overlay ? 105 : 210);
            p.setPen(Qt::NoPen);
            p.setBrush(fill);
            QPainterPath outline;
            outline.moveTo(r.left(), r.bottom());
            for (size_t i = 0; i < s.counts.size(); ++i) {
                const double x0 = r.left() + (s.edges[i] - lo) / (hi - lo) * r.width();
                const double x1 = x0 + bw;
                const double y = s.counts[i] > 0 ? yOf(double(s.counts[i])) : r.bottom();
                if (s.counts[i] > 0)
                    p.drawRect(QRectF(x0, y, std::max(x1 - x0 - (bw >= 5 ? 1.0 : 0.0), 0.6), r.bottom() - y));
                outline.lineTo(x0, y);
                outline.lineTo(x1, y);
            }
            outline.lineTo(r.right(), r.bottom());
            if (overlay) {
                p.setBrush(Qt::NoBrush);
                p.setPen(QPen(color.darker(115), 1.2));
                p.drawPath(outline);
            }
        };
        p.setRenderHint(QPainter::Antialiasing, m_view->isOverlay());
        if (a)
            drawSeries(*a, kColorA, m_view->isOverlay());
        if (b && m_view->isOverlay())
            drawSeries(*b, kColorB, true);
        p.setRenderHint(QPainter::Antialiasing, false);

        // Hovered bin.
        if (m_hover >= 0 && size_t(m_hover) < h->counts.size()) {
            const double bw = double(r.width()) / double(h->counts.size());
            QColor hl = palette().color(QPalette::Highlight);
            hl.setAlpha(45);
            p.fillRect(QRectF(r.left() + m_hover * bw, r.top(), std::max(bw, 1.0), r.height()), hl);
        }

        // Axes and x ticks.
        p.setPen(palette().color(QPalette::Mid));
        p.drawLine(r.bottomLeft(), r.bottomRight());
        p.drawLine(r.bottomLeft(), r.topLeft());
        double step = 1;
        std::vector<double> xTicks;
        const bool decades = logX && hi - lo >= 2.5;
        if (decades) {
            const int every = std::max(1, int(std::ceil((hi - lo) / 6)));
            for (double k = std::ceil(lo); k <= hi; k += every)
                xTicks.push_back(k);
        } else {
            xTicks = niceTicks(lo, hi, std::max(3, r.width() / 80), &step);
        }
        int lastRight = -1000;
        for (double t : xTicks) {
            const double x = r.left() + (t - lo) / (hi - lo) * r.width();
            p.setPen(palette().color(QPalette::Mid));
            p.drawLine(QPointF(x, r.bottom()), QPointF(x, r.bottom() + 4));
            QString label;
            if (decades)
                label = std::abs(t) <= 3 ? QString::number(std::pow(10.0, t), 'g', 1)
                                         : QStringLiteral("1e%1").arg(int(t));
            else if (logX)
                label = QString::number(std::pow(10.0, t), 'g', 3);
            else
                label = tickLabel(t, step);
            const int w = fm.horizontalAdvance(label);
            const int left = int(x) - w / 2;
            if (left <= lastRight + 6)
                continue;
            lastRight = left + w;
            p.setPen(text);
            p.drawText(QRect(left, r.bottom() + 5, w + 2, fm.height()), Qt::AlignCenter, label);
        }
        p.setPen(palette().color(QPalette::PlaceholderText));
        const QString xCaption = logX ? HistogramView::tr("|value| (log scale)") : HistogramView::tr("value");
        const QString yCaption = logY ? HistogramView::tr("count (log)") : HistogramView::tr("count");
        p.drawText(QRect(r.left(), r.bottom() + 5 + fm.height(), r.width(), fm.height()), Qt::AlignHCenter, xCaption);
        p.drawText(QRect(r.left() + 4, r.top(), r.width(), fm.height()), Qt::AlignLeft | Qt::AlignTop, yCaption);

        // Legend of an overlay.
        if (m_view->isOverlay()) {
            int x = r.right();
            for (const auto& [label, color] : { std::pair { m_labelB, kColorB }, std::pair { m_labelA, kColorA } }) {
                const int w = fm.horizontalAdvance(label);
                x -= w;
                p.setPen(text);
                p.drawText(QRect(x, 3, w + 2, fm.height()), Qt::AlignLeft, label);
                x -= 16;
                QColor fill = color;
                fill.setAlpha(160);
                p.fillRect(QRect(x, 3 + fm.height() / 2 - 5, 11, 11), fill);
                x -= 14;
            }
        }

        // Drag selection.
        if (m_dragging && std::abs(m_dragNow - m_dragStart) > 1) {
            QColor sel = palette().color(QPalette::Highlight);
            sel.setAlpha(60);
            const int x0 = std::min(m_dragStart, m_dragNow), x1 = std::max(m_dragStart, m_dragNow);
            p.fillRect(QRect(x0, r.top(), x1 - x0, r.height()), sel);
            p.setPen(palette().color(QPalette::Highlight));
            p.drawRect(QRect(x0, r.top(), x1 - x0, r.height()));
        }
    }

    void mousePressEvent(QMouseEvent* event) override
    {
        if (event->button() != Qt::LeftButton || !axis())
            return;
        const QRect r = plotRect();
        const int x = event->position().toPoint().x();
        if (x < r.left() || x > r.right())
            return;
        m_dragging = true;
        m_dragStart = m_dragNow = x;
    }

    void mouseMoveEvent(QMouseEvent* event) override
    {
        const QPoint pos = event->position().toPoint();
        if (m_dragging) {
            const QRect r = plotRect();
            m_dragNow = std::clamp(pos.x(), r.left(), r.right());
            update();
            return;
        }
        const int i = binAt(pos);
        if (i != m_hover) {
            m_hover = i;
            update();
        }
        if (i < 0)
            QToolTip::hideText();
        else
            QToolTip::showText(event->globalPosition().toPoint(), toolTipAt(pos), this);
    }

    void mouseReleaseEvent(QMouseEvent* event) override
    {
        if (!m_dragging || event->button() != Qt::LeftButton)
            return;
        m_dragging = false;
        update();
        if (std::abs(m_dragNow - m_dragStart) < 4 || !axis())
            return;
        const double v0 = xToValue(std::min(m_dragStart, m_dragNow));
        const double v1 = xToValue(std::max(m_dragStart, m_dragNow));
        m_view->zoomTo(v0, v1);
    }

    void mouseDoubleClickEvent(QMouseEvent* event) override
    {
        if (event->button() == Qt::LeftButton)
            m_view->resetRange();
    }

    void leaveEvent(QEvent*) override
    {
        m_hover = -1;
        update();
    }

public:
    QString m_labelA, m_labelB;

private:
    HistogramView* m_view;
    int m_hover = -1;
    bool m_dragging = false;
    int m_dragStart = 0, m_dragNow = 0;
};

HistogramView::HistogramView(QWidget* parent)
    : QWidget(parent)
    , m_task(new LatestTask(this))
{
    m_bins = new QSpinBox;
    m_bins->setObjectName(QStringLiteral("bins"));
    m_bins->setRange(1, 4096);
    m_bins->setValue(100);
    m_bins->setToolTip(tr("Number of bins"));
    m_binsTimer = new QTimer(this);
    m_binsTimer->setSingleShot(true);
    m_binsTimer->setInterval(250);
    connect(m_bins, &QSpinBox::valueChanged, m_binsTimer, qOverload<>(&QTimer::start));
    connect(m_binsTimer, &QTimer::timeout, this, &HistogramView::request);
    m_logY = new QCheckBox(tr("Log count"));
    m_logY->setObjectName(QStringLiteral("logY"));
    m_logY->setToolTip(tr("Logarithmic y axis: rare values in the tails stay visible"));
    connect(m_logY, &QCheckBox::toggled, this, [this](bool on) {
        m_canvas->logY = on;
        m_canvas->update();
    });
    m_logX = new QCheckBox(tr("Log |x|"));
    m_logX->setObjectName(QStringLiteral("logX"));
    m_logX->setToolTip(tr("Bin log10 of the magnitudes: spans many orders of magnitude (zeros are counted apart)"));
    connect(m_logX, &QCheckBox::toggled, this, [this](bool on) {
        m_canvas->logX = on;
        m_range.reset(); // the old range is in the other axis' units
        request();
    });
    m_reset = new QToolButton;
    m_reset->setObjectName(QStringLiteral("resetRange"));
    m_reset->setText(tr("Reset"));
    m_reset->setToolTip(tr("Back to the whole range (or double-click the plot)"));
    m_reset->setAutoRaise(true);
    m_reset->setEnabled(false);
    connect(m_reset, &QToolButton::clicked, this, &HistogramView::resetRange);
    auto* hint = new QLabel(tr("drag to zoom"));
    hint->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(new QLabel(tr("Bins:")));
    bar->addWidget(m_bins);
    bar->addSpacing(6);
    bar->addWidget(m_logY);
    bar->addWidget(m_logX);
    bar->addSpacing(6);
    bar->addWidget(m_reset);
    bar->addStretch(1);
    bar->addWidget(hint);

    m_canvas = new HistogramCanvas(this);
    m_canvas->setObjectName(QStringLiteral("histogramCanvas"));
    m_info = new QLabel;
    m_info->setObjectName(QStringLiteral("histogramInfo"));
    m_info->setWordWrap(true);
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont small = m_info->font();
    small.setPointSizeF(small.pointSizeF() * 0.88);
    m_info->setFont(small);
    m_info->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 2);
    layout->setSpacing(3);
    layout->addLayout(bar);
    layout->addWidget(m_canvas, 1);
    layout->addWidget(m_info);
    clear();
}

HistogramView::~HistogramView()
{
    // The task's result callback refers to this view: nothing may arrive once it is going.
    m_task->stop();
}

QWidget* HistogramView::canvas() const
{
    return m_canvas;
}

int HistogramView::bins() const
{
    return m_bins->value();
}

void HistogramView::setBins(int bins)
{
    m_bins->setValue(bins);
    m_binsTimer->stop();
    request();
}

bool HistogramView::logY() const
{
    return m_logY->isChecked();
}

void HistogramView::setLogY(bool on)
{
    m_logY->setChecked(on);
}

bool HistogramView::logX() const
{
    return m_logX->isChecked();
}

void HistogramView::setLogX(bool on)
{
    m_logX->setChecked(on);
}

void HistogramView::clear(const QString& message)
{
    m_task->stop();
    m_sideA = m_sideB = {};
    m_overlay = false;
    m_range.reset();
    m_a.reset();
    m_b.reset();
    m_computing = false;
    m_dirty = false;
    m_message = message.isEmpty() ? tr("Select a tensor to see the distribution of its values") : message;
    m_reset->setEnabled(false);
    updateInfo();
    m_canvas->update();
}

void HistogramView::setTensor(CheckpointPtr ck, int tensor, const QString& label)
{
    if (!m_overlay && m_sideA.ck == ck && m_sideA.tensor == tensor && (m_a || m_computing || m_dirty))
        return;
    clear();
    if (!ck || tensor < 0 || size_t(tensor) >= ck->tensors.size())
        return;
    m_sideA = { std::move(ck), tensor, label };
    request();
}

void HistogramView::setOverlay(CheckpointPtr a, int tensorA, CheckpointPtr b, int tensorB, const QString& labelA,
    const QString& labelB)
{
    clear();
    m_overlay = true;
    m_sideA = { std::move(a), tensorA, labelA };
    m_sideB = { std::move(b), tensorB, labelB };
    m_canvas->m_labelA = labelA;
    m_canvas->m_labelB = labelB;
    request();
}

void HistogramView::zoomTo(double lo, double hi)
{
    if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi))
        return;
    m_range = std::pair { lo, hi };
    request();
}

void HistogramView::resetRange()
{
    if (!m_range)
        return;
    m_range.reset();
    request();
}

void HistogramView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_dirty)
        compute();
}

void HistogramView::request()
{
    if (!m_sideA.ck && !m_sideB.ck)
        return;
    m_dirty = true;
    // A hidden view (another tab in front) computes once it is shown.
    if (isVisible())
        compute();
    else
        m_computing = false;
}

void HistogramView::compute()
{
    m_dirty = false;
    m_computing = true;
    m_reset->setEnabled(m_range.has_value());
    m_message = tr("Computing…");
    updateInfo();
    HistRequest req;
    req.bins = m_bins->value();
    req.range = m_range;
    req.scale = m_logX->isChecked() ? HistScale::Log10Abs : HistScale::Linear;
    // One core stays for the GUI thread (and the statistics job beside it): the window must not stutter.
    req.threads = std::max(1, QThread::idealThreadCount() - 1);
    struct Result {
        std::optional<Histogram> a, b;
        QString error;
    };
    const Side sa = m_sideA, sb = m_sideB;
    const bool overlay = m_overlay;
    m_task->start<Result>(
        [sa, sb, overlay, req](const std::atomic<bool>& cancel) {
            Result out;
            const auto one = [&](const Side& s, const HistRequest& r) -> std::optional<Histogram> {
                if (!s.ck || s.tensor < 0 || size_t(s.tensor) >= s.ck->tensors.size())
                    return std::nullopt;
                auto h = computeHistogram(*s.ck, s.tensor, r, &cancel);
                if (!h) {
                    if (!cancel.load())
                        out.error += (out.error.isEmpty() ? QString() : QStringLiteral("; "))
                            + (overlay ? s.label + QStringLiteral(": ") : QString()) + h.error().what;
                    return std::nullopt;
                }
                return std::move(*h);
            };
            out.a = one(sa, req);
            if (!overlay)
                return out;
            out.b = one(sb, req);
            // Both sides on the same bins: when each had its own range, bin both again over their union.
            if (!req.range && out.a && out.b && out.a->edges != out.b->edges && !cancel.load()) {
                HistRequest both = req;
                const auto spanA = valueSpan(*out.a), spanB = valueSpan(*out.b);
                both.range = std::pair { std::min(spanA.first, spanB.first), std::max(spanA.second, spanB.second) };
                if (both.range->first == both.range->second)
                    both.range.reset(); // both constant and equal: numpy's own widening, as either had it
                if (both.range
                    && (out.a->edges.front() != both.range->first || out.a->edges.back() != both.range->second))
                    out.a = one(sa, both);
                if (both.range && out.b
                    && (out.b->edges.front() != both.range->first || out.b->edges.back() != both.range->second))
                    out.b = one(sb, both);
            }
            return out;
        },
        [this](Result r) {
            m_computing = false;
            m_a = std::move(r.a);
            m_b = std::move(r.b);
            m_message = r.error.isEmpty() ? (m_a || m_b ? QString() : tr("No values to show"))
                                          : tr("No histogram: %1").arg(r.error);
            updateInfo();
            m_canvas->update();
            emit ready();
        });
}

QString HistogramView::infoText() const
{
    return m_info->text();
}

QString HistogramView::toolTipAt(const QPoint& pos) const
{
    return m_canvas->toolTipAt(pos);
}

void HistogramView::updateInfo()
{
    if (m_computing || (!m_a && !m_b)) {
        m_info->setText(m_computing ? tr("Computing…") : (m_sideA.ck ? m_message : QString()));
        return;
    }
    const bool logX = m_logX->isChecked();
    const auto side = [&](const Histogram& h) {
        QStringList parts;
        std::int64_t total = 0;
        for (auto c : h.counts)
            total += c;
        parts << tr("%1 values in range").arg(count(total));
        if (h.underflow || h.overflow)
            parts << tr("%1 below, %2 above").arg(count(h.underflow), count(h.overflow));
        if (h.nan)
            parts << tr("%1 NaN").arg(count(h.nan));
        if (h.inf)
            parts << tr("%1 Inf").arg(count(h.inf));
        if (logX && h.zeros)
            parts << tr("%1 zeros (off a log axis)").arg(count(h.zeros));
        parts << (h.milliseconds < 0.01
                ? tr("%1, < 0.01 ms").arg(h.backend)
                : tr("%1, %2 ms").arg(h.backend).arg(h.milliseconds, 0, 'f', h.milliseconds < 10 ? 2 : 0));
        return parts.join(QStringLiteral(" · "));
    };
    const Histogram& axis = m_a ? *m_a : *m_b;
    QString head = tr("%1 bins over [%2, %3]%4")
                       .arg(axis.counts.size())
                       .arg(valueText(axis.edges.front(), logX), valueText(axis.edges.back(), logX),
                           m_range ? tr(" (zoomed)") : QString());
    QStringList lines { head };
    if (m_overlay) {
        if (m_a)
            lines << tr("A: %1").arg(side(*m_a));
        if (m_b)
            lines << tr("B: %1").arg(side(*m_b));
    } else {
        head += QStringLiteral(" · ") + side(axis);
        lines = { head };
    }
    if (!m_message.isEmpty())
        lines << m_message;
    m_info->setText(lines.join(QLatin1Char('\n')));
}

} // namespace ckpt
