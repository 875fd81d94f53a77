#include "widgets/valuespage.h"

#include "widgets/heatmapview.h"
#include "widgets/slicepicker.h"
#include "widgets/valuetableview.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace ckpt {

ValuesPage::ValuesPage(QWidget* parent)
    : QWidget(parent)
{
    m_choice = new QComboBox;
    m_choice->setObjectName(QStringLiteral("valueTensor"));
    m_choice->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_choiceLabel = new QLabel(tr("Tensor:"));
    connect(m_choice, &QComboBox::currentIndexChanged, this, &ValuesPage::choiceChanged);

    const auto toggle = [](const QString& text) {
        auto* b = new QToolButton;
        b->setText(text);
        b->setCheckable(true);
        b->setAutoRaise(true);
        return b;
    };
    m_tableButton = toggle(tr("Table"));
    m_tableButton->setObjectName(QStringLiteral("showTable"));
    m_heatButton = toggle(tr("Heat map"));
    m_heatButton->setObjectName(QStringLiteral("showHeatMap"));
    auto* group = new QButtonGroup(this);
    group->addButton(m_tableButton);
    group->addButton(m_heatButton);
    m_tableButton->setChecked(true);
    connect(m_tableButton, &QToolButton::clicked, this, [this] { setMode(Mode::Table); });
    connect(m_heatButton, &QToolButton::clicked, this, [this] { setMode(Mode::HeatMap); });

    m_picker = new SlicePicker;
    connect(m_picker, &SlicePicker::sliceChanged, this, [this] {
        m_tableStale = m_heatStale = true;
        refresh();
    });

    m_table = new ValueTableView;
    m_heat = new HeatMapView;
    m_empty = new QLabel;
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setStyleSheet(QStringLiteral("QLabel { color: gray; }"));
    m_stack = new QStackedWidget;
    m_stack->addWidget(m_table);
    m_stack->addWidget(m_heat);
    m_stack->addWidget(m_empty);

    auto* top = new QHBoxLayout;
    top->setContentsMargins(0, 0, 0, 0);
    top->addWidget(m_choiceLabel);
    top->addWidget(m_choice, 1);
    top->addSpacing(12);
    top->addWidget(m_tableButton);
    top->addWidget(m_heatButton);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(top);
    layout->addWidget(m_picker);
    layout->addWidget(m_stack, 1);
}

void ValuesPage::setTensors(CheckpointPtr ck, const std::vector<std::pair<QString, int>>& choices, const QString& message)
{
    m_ck = std::move(ck);
    {
        const QSignalBlocker block(m_choice);
        m_choice->clear();
        for (const auto& [label, tensor] : choices)
            m_choice->addItem(label, tensor);
    }
    const bool any = !choices.empty() && m_ck;
    m_choice->setEnabled(choices.size() > 1);
    m_tableButton->setEnabled(any);
    m_heatButton->setEnabled(any);
    if (!any) {
        m_picker->setVisible(false);
        m_table->clear();
        m_heat->clear();
        m_empty->setText(message.isEmpty() ? tr("Select a tensor to see its values") : message);
        m_stack->setCurrentWidget(m_empty);
        return;
    }
    choiceChanged();
}

void ValuesPage::setCurrentChoice(int i)
{
    m_choice->setCurrentIndex(i);
}

int ValuesPage::currentTensor() const
{
    return m_choice->currentIndex() >= 0 ? m_choice->currentData().toInt() : -1;
}

void ValuesPage::choiceChanged()
{
    const int t = currentTensor();
    if (!m_ck || t < 0)
        return;
    m_picker->setTensor(m_ck->tensors[size_t(t)]);
    m_tableStale = m_heatStale = true;
    refresh();
}

void ValuesPage::setMode(Mode mode)
{
    m_mode = mode;
    m_tableButton->setChecked(mode == Mode::Table);
    m_heatButton->setChecked(mode == Mode::HeatMap);
    refresh();
}

void ValuesPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    refresh();
}

void ValuesPage::refresh()
{
    const int t = currentTensor();
    if (!m_ck || t < 0)
        return;
    m_stack->setCurrentWidget(m_mode == Mode::Table ? static_cast<QWidget*>(m_table) : m_heat);
    // Reading a page or a heat map costs: done once the user can see it, and once per change.
    if (!isVisible())
        return;
    if (m_mode == Mode::Table && m_tableStale) {
        m_tableStale = false;
        m_table->setSource(m_ck, t, m_picker->spec());
    } else if (m_mode == Mode::HeatMap && m_heatStale) {
        m_heatStale = false;
        m_heat->setSource(m_ck, t, m_picker->spec());
    }
}

} // namespace ckpt
