#pragma once

#include "io/checkpoint.h"
#include "model/valueslice.h"

#include <QWidget>

class QLabel;
class QTableView;
class QToolButton;

namespace ckpt {

class ValueTableModel;

// A slice's numbers, one page at a time (kPageRows x kPageCols), with buttons to page through rows and columns.
// A page is decoded when it is shown, straight from the memory map.
class ValueTableView : public QWidget {
    Q_OBJECT
public:
    explicit ValueTableView(QWidget* parent = nullptr);

    void setSource(CheckpointPtr ck, int tensor, const SliceSpec& spec);
    void clear(const QString& message = {});
    // Moves to the page holding (row, col) of the slice.
    bool showPage(std::int64_t rowBegin, std::int64_t colBegin);
    void nextRows() { showPage(m_rowBegin + kPageRows, m_colBegin); }
    void previousRows() { showPage(std::max<std::int64_t>(0, m_rowBegin - kPageRows), m_colBegin); }
    void nextColumns() { showPage(m_rowBegin, m_colBegin + kPageCols); }
    void previousColumns() { showPage(m_rowBegin, std::max<std::int64_t>(0, m_colBegin - kPageCols)); }

    QTableView* table() const { return m_table; }
    ValueTableModel* model() const { return m_model; }
    QString pageText() const;

    static constexpr std::int64_t kPageRows = 256;
    static constexpr std::int64_t kPageCols = 64;

private:
    void updateBar();

    ValueTableModel* m_model = nullptr;
    QTableView* m_table = nullptr;
    QLabel* m_rowsLabel = nullptr;
    QLabel* m_colsLabel = nullptr;
    QLabel* m_message = nullptr;
    QToolButton* m_prevRows = nullptr;
    QToolButton* m_nextRows = nullptr;
    QToolButton* m_prevCols = nullptr;
    QToolButton* m_nextCols = nullptr;
    CheckpointPtr m_ck;
    int m_tensor = -1;
    SliceSpec m_spec;
    std::int64_t m_rowBegin = 0, m_colBegin = 0;
};

} // namespace ckpt
