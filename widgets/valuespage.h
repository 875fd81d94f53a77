#pragma once

#include "io/checkpoint.h"
#include "model/valueslice.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QStackedWidget;
class QToolButton;

namespace ckpt {

class HeatMapView;
class SlicePicker;
class ValueTableView;

// The values of the selected tensor (or of its optimizer state, or of a tensor inside the selected module) as a
// table or a heat map of one 2-D slice. Nothing is read until the page is on screen.
class ValuesPage : public QWidget {
    Q_OBJECT
public:
    enum class Mode { Table, HeatMap };

    explicit ValuesPage(QWidget* parent = nullptr);

    // (label, tensor index) choices, the first shown; empty: nothing to show, with `message`.
    void setTensors(CheckpointPtr ck, const std::vector<std::pair<QString, int>>& choices, const QString& message = {});
    void setMode(Mode mode);
    Mode mode() const { return m_mode; }
    void setCurrentChoice(int i);
    int currentTensor() const;

    QComboBox* tensorChooser() const { return m_choice; }
    SlicePicker* slicePicker() const { return m_picker; }
    ValueTableView* tableView() const { return m_table; }
    HeatMapView* heatMapView() const { return m_heat; }

protected:
    void showEvent(QShowEvent* event) override;

private:
    void refresh();
    void choiceChanged();

    CheckpointPtr m_ck;
    QComboBox* m_choice = nullptr;
    QLabel* m_choiceLabel = nullptr;
    QToolButton* m_tableButton = nullptr;
    QToolButton* m_heatButton = nullptr;
    SlicePicker* m_picker = nullptr;
    QStackedWidget* m_stack = nullptr;
    ValueTableView* m_table = nullptr;
    HeatMapView* m_heat = nullptr;
    QLabel* m_empty = nullptr;
    Mode m_mode = Mode::Table;
    // The table and the heat map no longer show the current choice and slice.
    bool m_tableStale = true;
    bool m_heatStale = true;
};

} // namespace ckpt
