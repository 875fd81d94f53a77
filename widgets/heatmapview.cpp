#include "widgets/heatmapview.h"

#include "model/latesttask.h"
#include "model/moduletreemodel.h"
#include "widgets/colorbar.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

#include <cmath>
#include <functional>

namespace ckpt {

// The image itself, scaled without smoothing so every cell stays a crisp block.
class HeatMapCanvas : public QWidget {
public:
    explicit HeatMapCanvas(QWidget* parent = nullptr)
        : QWidget(parent)
    {
        setMouseTracking(true);
    }

    void setImage(QImage image, const HeatMap* map)
    {
        m_image = std::move(image);
        m_map = map;
        updateSize();
    }
    const QImage& image() const { return m_image; }
    double scale() const { return m_scale; }
    void setScale(double s)
    {
        m_scale = std::clamp(s, 1.0 / 64, 256.0);
        updateSize();
    }
    std::function<void(int steps)> onWheelZoom;

protected:
    void paintEvent(QPaintEvent*) override
    {
        if (m_image.isNull())
            return;
        QPainter p(this);
        p.setRenderHint(QPainter::SmoothPixmapTransform, m_scale < 1);
        p.drawImage(QRectF(QPointF(0, 0), QSizeF(m_image.width() * m_scale, m_image.height() * m_scale)), m_image);
    }

    void mouseMoveEvent(QMouseEvent* event) override
    {
        if (!m_map || m_image.isNull())
            return;
        const int c = int(event->position().x() / m_scale);
        const int r = int(event->position().y() / m_scale);
        if (r < 0 || c < 0 || r >= m_map->cellRows || c >= m_map->cellCols) {
            QToolTip::hideText();
            return;
        }
        const std::int64_t r0 = r * m_map->rowsPerCell, c0 = c * m_map->colsPerCell;
        const std::int64_t r1 = std::min(m_map->rows, r0 + m_map->rowsPerCell) - 1;
        const std::int64_t c1 = std::min(m_map->cols, c0 + m_map->colsPerCell) - 1;
        const size_t i = m_map->cell(r, c);
        const auto range = [](std::int64_t a, std::int64_t b) {
            return a == b ? QString::number(a) : QStringLiteral("%1–%2").arg(a).arg(b);
        };
        QString text = QStringLiteral("rows %1, columns %2").arg(range(r0, r1), range(c0, c1));
        if (r0 == r1 && c0 == c1)
            text += QStringLiteral("<br>value %1").arg(ModuleTreeModel::number(m_map->max[i]));
        else if (std::isnan(m_map->max[i]))
            text += QStringLiteral("<br>no finite value");
        else
            text += QStringLiteral("<br>min %1, max %2<br>mean %3")
                        .arg(ModuleTreeModel::number(m_map->min[i]), ModuleTreeModel::number(m_map->max[i]),
                            ModuleTreeModel::number(m_map->mean[i]));
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
    }

    void wheelEvent(QWheelEvent* event) override
    {
        if (event->modifiers() & Qt::ControlModifier && onWheelZoom) {
            onWheelZoom(event->angleDelta().y() > 0 ? 1 : -1);
            event->accept();
            return;
        }
        QWidget::wheelEvent(event);
    }

private:
    void updateSize()
    {
        const QSize s = m_image.isNull() ? QSize(0, 0)
                                         : QSize(int(std::ceil(m_image.width() * m_scale)), int(std::ceil(m_image.height() * m_scale)));
        setFixedSize(s);
        update();
    }

    QImage m_image;
    const HeatMap* m_map = nullptr;
    double m_scale = 1;
};

HeatMapView::HeatMapView(QWidget* parent)
    : QWidget(parent)
    , m_task(new LatestTask(this))
{
    m_info = new QLabel;
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_info->setWordWrap(true);
    m_mode = new QComboBox;
    m_mode->setObjectName(QStringLiteral("cellValue"));
    m_mode->addItem(tr("Extremes"), int(CellValue::Extreme));
    m_mode->addItem(tr("Mean"), int(CellValue::Mean));
    m_mode->addItem(tr("Min"), int(CellValue::Min));
    m_mode->addItem(tr("Max"), int(CellValue::Max));
    m_mode->setToolTip(tr("What a cell covering several elements shows. Extremes: its min or max, whichever is "
                          "further from the middle of the scale, so single outliers stay visible"));
    connect(m_mode, &QComboBox::currentIndexChanged, this, &HeatMapView::render);
    m_log = new QCheckBox(tr("Log scale"));
    m_log->setObjectName(QStringLiteral("logScale"));
    m_log->setToolTip(tr("Logarithmic colours, for heavy-tailed values such as Adam's exp_avg_sq"));
    connect(m_log, &QCheckBox::toggled, this, [this](bool on) {
        if (m_map)
            m_scale = ColorScale::fitting(*m_map, on);
        render();
    });

    const auto button = [this](const QString& text, const QString& tip) {
        auto* b = new QToolButton;
        b->setText(text);
        b->setToolTip(tip);
        b->setAutoRaise(true);
        return b;
    };
    auto* zoomOut = button(QStringLiteral("−"), tr("Zoom out (Ctrl+wheel)"));
    auto* fit = button(tr("Fit"), tr("Fit the window"));
    auto* zoomIn = button(QStringLiteral("+"), tr("Zoom in (Ctrl+wheel)"));
    m_zoomLabel = new QLabel;
    m_zoomLabel->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("0000%")));
    connect(zoomOut, &QToolButton::clicked, this, [this] { setZoom(zoom() / 2); });
    connect(zoomIn, &QToolButton::clicked, this, [this] { setZoom(zoom() * 2); });
    connect(fit, &QToolButton::clicked, this, &HeatMapView::zoomToFit);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(new QLabel(tr("Cells:")));
    bar->addWidget(m_mode);
    bar->addWidget(m_log);
    bar->addSpacing(8);
    bar->addWidget(zoomOut);
    bar->addWidget(fit);
    bar->addWidget(zoomIn);
    bar->addWidget(m_zoomLabel);
    bar->addStretch(1);

    m_canvas = new HeatMapCanvas;
    m_canvas->onWheelZoom = [this](int steps) { setZoom(steps > 0 ? zoom() * 1.25 : zoom() / 1.25); };
    m_scroll = new QScrollArea;
    m_scroll->setWidget(m_canvas);
    m_scroll->setWidgetResizable(false);
    m_scroll->setAlignment(Qt::AlignCenter);
    m_scroll->setBackgroundRole(QPalette::Base);
    m_scroll->viewport()->installEventFilter(this);
    m_bar = new ColorBar;

    auto* body = new QHBoxLayout;
    body->setContentsMargins(0, 0, 0, 0);
    body->addWidget(m_scroll, 1);
    body->addWidget(m_bar);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->addLayout(bar);
    layout->addLayout(body, 1);
    layout->addWidget(m_info);
    setProperty("fit", true);
}

HeatMapView::~HeatMapView()
{
    // The task's result callback refers to this view: nothing may arrive once it is going.
    m_task->stop();
}

void HeatMapView::clear(const QString& message)
{
    m_task->stop();
    m_computing = false;
    m_map.reset();
    m_canvas->setImage({}, nullptr);
    m_bar->clear();
    m_info->setText(message);
    m_zoomLabel->clear();
}

void HeatMapView::setSource(CheckpointPtr ck, int tensor, const SliceSpec& spec)
{
    clear(tr("Computing the heat map…"));
    if (!ck || tensor < 0 || size_t(tensor) >= ck->tensors.size())
        return;
    m_dtype = ck->tensors[size_t(tensor)].dtype;
    m_computing = true;
    m_task->start<Expected<HeatMap>>(
        [ck, tensor, spec](const std::atomic<bool>& cancel) {
            return ckpt::heatMap(*ck, tensor, spec, kMaxCells, kMaxCells, 0, &cancel);
        },
        [this](Expected<HeatMap> map) {
            m_computing = false;
            if (!map) {
                spdlog::info("no heat map: {}", map.error().message().toStdString());
                m_info->setText(map.error().what);
                emit ready();
                return;
            }
            m_map = std::move(*map);
            m_scale = ColorScale::fitting(*m_map, m_log->isChecked());
            setProperty("fit", true);
            render();
            emit ready();
        });
}

void HeatMapView::render()
{
    if (!m_map)
        return;
    const HeatMap& m = *m_map;
    if (m.cellRows == 0) {
        m_info->setText(tr("Empty tensor: nothing to draw"));
        return;
    }
    const auto mode = CellValue(m_mode->currentData().toInt());
    m_canvas->setImage(renderHeatMap(m, m_scale, mode), &m);
    if (m.lo)
        m_bar->setScale(m_scale);
    else
        m_bar->clear();
    m_info->setText(infoText());
    if (property("fit").toBool())
        zoomToFit();
    else
        setZoom(zoom());
}

QString HeatMapView::infoText() const
{
    if (!m_map)
        return m_info->text();
    const HeatMap& m = *m_map;
    const QLocale locale;
    QString text = tr("%1 × %2").arg(locale.toString(qlonglong(m.rows)), locale.toString(qlonglong(m.cols)));
    if (m.rowsPerCell > 1 || m.colsPerCell > 1)
        text += tr(" in %1 × %2 cells of %3 × %4")
                    .arg(m.cellRows)
                    .arg(m.cellCols)
                    .arg(m.rowsPerCell)
                    .arg(m.colsPerCell);
    if (m.lo)
        text += tr(";  min %1, max %2").arg(ModuleTreeModel::number(*m.lo), ModuleTreeModel::number(*m.hi));
    else
        text += tr(";  no finite value");
    if (m.nonFinite)
        text += tr(";  %1 NaN/Inf (grey)").arg(locale.toString(qlonglong(m.nonFinite)));
    return text;
}

QImage HeatMapView::image() const
{
    return m_canvas->image();
}

double HeatMapView::zoom() const
{
    return m_canvas->scale();
}

void HeatMapView::setZoom(double factor)
{
    setProperty("fit", false);
    m_canvas->setScale(factor);
    m_zoomLabel->setText(QStringLiteral("%1%").arg(qRound(m_canvas->scale() * 100)));
}

void HeatMapView::zoomToFit()
{
    const QImage& image = m_canvas->image();
    if (image.isNull())
        return;
    const QSize room = m_scroll->viewport()->size() - QSize(4, 4);
    const double s = std::min(double(room.width()) / image.width(), double(room.height()) / image.height());
    // Small matrices get whole pixels per cell so their grid stays regular.
    m_canvas->setScale(s >= 4 ? std::floor(s) : s);
    m_zoomLabel->setText(QStringLiteral("%1%").arg(qRound(m_canvas->scale() * 100)));
    setProperty("fit", true);
}

bool HeatMapView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_scroll->viewport() && event->type() == QEvent::Resize && property("fit").toBool())
        zoomToFit();
    return QWidget::eventFilter(watched, event);
}

void HeatMapView::setLogScale(bool on)
{
    m_log->setChecked(on);
}

void HeatMapView::setCellValue(CellValue mode)
{
    m_mode->setCurrentIndex(m_mode->findData(int(mode)));
}

} // namespace ckpt
