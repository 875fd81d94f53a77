#include "widgets/layerplot.h"

#include "model/moduletreemodel.h"
#include "model/summary.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <functional>

namespace ckpt {
namespace {

QString compact(double v)
{
    const double a = std::fabs(v);
    if (a >= 1e9)
        return QString::number(v / 1e9, 'g', 3) + QLatin1Char('G');
    if (a >= 1e6)
        return QString::number(v / 1e6, 'g', 3) + QLatin1Char('M');
    if (a >= 1e4)
        return QString::number(v / 1e3, 'g', 3) + QLatin1Char('k');
    return ModuleTreeModel::number(v);
}

} // namespace

// Two bar charts sharing the block axis; painted from the profile alone.
class LayerPlotCanvas : public QWidget {
public:
    explicit LayerPlotCanvas(QWidget* parent = nullptr)
        : QWidget(parent)
    {
        setMouseTracking(true);
        setMinimumHeight(260);
    }

    void setProfile(const LayerProfile* p)
    {
        m_profile = p;
        m_hover = -1;
        update();
    }
    std::function<void(int node)> onActivate;

protected:
    void paintEvent(QPaintEvent*) override
    {
        if (!m_profile || m_profile->layers.empty())
            return;
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing, false);
        const auto& layers = m_profile->layers;
        const QRect plot = plotRect();
        const int gap = 28;
        const int panelHeight = (plot.height() - gap) / 2;
        const QRect top(plot.left(), plot.top(), plot.width(), panelHeight);
        const QRect bottom(plot.left(), plot.top() + panelHeight + gap, plot.width(), panelHeight);

        double maxParams = 0, maxL2 = 0;
        for (const auto& l : layers) {
            maxParams = std::max(maxParams, double(l.parameters));
            if (l.l2)
                maxL2 = std::max(maxL2, *l.l2);
        }
        drawPanel(p, top, tr("Parameters per block"), maxParams, QColor(70, 130, 180),
            [](const LayerFigures& l) { return std::optional<double>(double(l.parameters)); });
        drawPanel(p, bottom, tr("L2 norm of each block's parameters"), maxL2, QColor(221, 132, 82),
            [](const LayerFigures& l) { return l.l2; });

        // Block names under the lower panel, thinned out to what fits.
        const QFontMetrics fm = fontMetrics();
        const double step = double(plot.width()) / double(layers.size());
        const int labelWidth = fm.horizontalAdvance(layers.back().name) + 8;
        const int every = std::max(1, int(std::ceil(labelWidth / step)));
        p.setPen(palette().color(QPalette::WindowText));
        for (size_t i = 0; i < layers.size(); i += size_t(every)) {
            const int x = plot.left() + int((double(i) + 0.5) * step);
            p.drawText(QRect(x - 40, bottom.bottom() + 4, 80, fm.height()), Qt::AlignHCenter | Qt::AlignTop, layers[i].name);
        }
        p.drawText(QRect(plot.left(), bottom.bottom() + 4 + fm.height(), plot.width(), fm.height()), Qt::AlignHCenter,
            tr("%1.N").arg(m_profile->block));
    }

    void mouseMoveEvent(QMouseEvent* event) override
    {
        const int i = blockAt(event->position().toPoint());
        if (i != m_hover) {
            m_hover = i;
            update();
        }
        if (i < 0) {
            QToolTip::hideText();
            return;
        }
        const LayerFigures& l = m_profile->layers[size_t(i)];
        const QLocale locale;
        QString text = QStringLiteral("<b>%1</b><br>%2 parameters, %3 in %4 tensors<br>L2 norm: %5")
                           .arg(l.fullName.toHtmlEscaped(), locale.toString(qlonglong(l.parameters)), formatBytes(l.bytes))
                           .arg(l.tensors)
                           .arg(l.l2 ? ModuleTreeModel::number(*l.l2) : tr("not computed yet"));
        if (l.nonFinite)
            text += tr("<br><span style=\"color:#b3261e\">%1 NaN/Inf</span>").arg(l.nonFinite);
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
    }

    void leaveEvent(QEvent*) override
    {
        m_hover = -1;
        update();
    }

    void mouseReleaseEvent(QMouseEvent* event) override
    {
        const int i = blockAt(event->position().toPoint());
        if (i >= 0 && event->button() == Qt::LeftButton && onActivate)
            onActivate(m_profile->layers[size_t(i)].node);
    }

private:
    QRect plotRect() const
    {
        const QFontMetrics fm = fontMetrics();
        const int left = fm.horizontalAdvance(QStringLiteral("000.0M")) + 14;
        return rect().adjusted(left, fm.height() + 10, -16, -(2 * fm.height() + 10));
    }

    int blockAt(const QPoint& pos) const
    {
        if (!m_profile || m_profile->layers.empty())
            return -1;
        const QRect plot = plotRect();
        if (pos.x() < plot.left() || pos.x() >= plot.right() || pos.y() < plot.top() - 20 || pos.y() > plot.bottom())
            return -1;
        const int i = int(double(pos.x() - plot.left()) / (double(plot.width()) / double(m_profile->layers.size())));
        return i >= 0 && size_t(i) < m_profile->layers.size() ? i : -1;
    }

    void drawPanel(QPainter& p, const QRect& r, const QString& title, double max, const QColor& color,
        const std::function<std::optional<double>(const LayerFigures&)>& value)
    {
        const QFontMetrics fm = fontMetrics();
        const auto& layers = m_profile->layers;
        p.setPen(palette().color(QPalette::WindowText));
        QFont bold = font();
        bold.setBold(true);
        p.setFont(bold);
        p.drawText(QRect(r.left(), r.top() - fm.height() - 6, r.width(), fm.height()), Qt::AlignLeft, title);
        p.setFont(font());
        // Axis: zero and the maximum.
        p.setPen(palette().color(QPalette::Mid));
        p.drawLine(r.left(), r.bottom(), r.right(), r.bottom());
        p.drawLine(r.left(), r.top(), r.left(), r.bottom());
        p.setPen(palette().color(QPalette::WindowText));
        const int labelRight = r.left() - 6;
        const int maxY = r.top() + fm.height() + 4; // bars leave room above the tallest for its figure
        p.drawText(QRect(0, maxY - fm.height() / 2, labelRight, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
            max > 0 ? compact(max) : QStringLiteral("–"));
        p.drawText(QRect(0, r.bottom() - fm.height() / 2, labelRight, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
            QStringLiteral("0"));
        QPen grid(palette().color(QPalette::Midlight));
        grid.setStyle(Qt::DotLine);
        p.setPen(grid);
        p.drawLine(r.left() + 1, maxY, r.right(), maxY);

        const double step = double(r.width()) / double(layers.size());
        const double barWidth = std::clamp(step * 0.72, 1.0, 56.0);
        // Figures on the bars while there is room for them.
        const bool labels = step >= fm.horizontalAdvance(QStringLiteral("000.0k")) + 6;
        for (size_t i = 0; i < layers.size(); ++i) {
            const double x = r.left() + (double(i) + 0.5) * step - barWidth / 2;
            const QColor fill = int(i) == m_hover ? color.darker(130) : color;
            const auto v = value(layers[i]);
            if (!v) {
                QPen hollow(palette().color(QPalette::Mid));
                hollow.setStyle(Qt::DashLine);
                p.setPen(hollow);
                p.setBrush(Qt::NoBrush);
                p.drawRect(QRectF(x, r.top() + r.height() * 0.6, barWidth, r.height() * 0.4 - 1));
                continue;
            }
            const double h = max > 0 ? *v / max * double(r.height() - fm.height() - 4) : 0;
            p.setPen(Qt::NoPen);
            p.setBrush(layers[i].nonFinite ? QColor(179, 38, 30) : fill);
            p.drawRect(QRectF(x, r.bottom() - h, barWidth, h));
            if (labels) {
                p.setPen(palette().color(QPalette::WindowText));
                p.drawText(QRectF(x - step, r.bottom() - h - fm.height() - 2, barWidth + 2 * step, fm.height()),
                    Qt::AlignHCenter | Qt::AlignBottom, compact(*v));
            }
        }
        p.setBrush(Qt::NoBrush);
    }

    const LayerProfile* m_profile = nullptr;
    int m_hover = -1;
};

LayerPlot::LayerPlot(QWidget* parent)
    : QWidget(parent)
{
    m_blocks = new QComboBox;
    m_blocks->setObjectName(QStringLiteral("repeatedBlock"));
    m_blocks->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_blocks, &QComboBox::currentIndexChanged, this, [this] { emit blockChosen(currentBlock()); });
    m_summary = new QLabel;
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_canvas = new LayerPlotCanvas;
    m_canvas->onActivate = [this](int node) { emit layerActivated(node); };
    m_empty = new QLabel(tr("No repeated block (such as layers.0 … layers.N) in this model"));
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Repeated block:")));
    top->addWidget(m_blocks);
    top->addSpacing(16);
    top->addWidget(m_summary, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_canvas, 1);
    layout->addWidget(m_empty, 1);
    setBlocks({});
}

void LayerPlot::setBlocks(const std::vector<std::pair<QString, int>>& blocks)
{
    {
        const QSignalBlocker block(m_blocks);
        m_blocks->clear();
        for (const auto& [name, node] : blocks)
            m_blocks->addItem(name, node);
    }
    const bool any = !blocks.empty();
    m_blocks->setEnabled(blocks.size() > 1);
    m_canvas->setVisible(any);
    m_empty->setVisible(!any);
    if (!any)
        setProfile({});
}

int LayerPlot::currentBlock() const
{
    return m_blocks->currentIndex() >= 0 ? m_blocks->currentData().toInt() : -1;
}

void LayerPlot::setProfile(const LayerProfile& profile)
{
    m_profile = profile;
    m_canvas->setProfile(&m_profile);
    m_summary->setText(summaryText());
}

QString LayerPlot::summaryText() const
{
    if (m_profile.layers.empty())
        return {};
    std::int64_t params = 0;
    for (const auto& l : m_profile.layers)
        params += l.parameters;
    QString text = tr("%1 blocks, %2 parameters").arg(m_profile.layers.size()).arg(QLocale().toString(qlonglong(params)));
    if (m_profile.l2Known < int(m_profile.layers.size()))
        text += tr("; L2 norms known for %1 of %2 blocks").arg(m_profile.l2Known).arg(m_profile.layers.size());
    return text;
}

} // namespace ckpt
