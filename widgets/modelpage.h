#pragma once

#include "model/modeloverview.h"
#include "model/statsresult.h"

#include <QWidget>

#include <memory>
#include <unordered_set>

class QTabWidget;

namespace ckpt {

class DetailsView;
class ModulePane;
class ModuleTreeModel;
class StatsJob;
class ValuesPage;

// The "Model" tab: the module tree beside a panel with the selection's details (descriptor, statistics,
// optimizer state) and its values (table or heat map). The top row stands for the file and shows its overview.
// Statistics of what is selected are asked for first; the panel follows as they arrive.
class ModelPage : public QWidget {
    Q_OBJECT
public:
    ModelPage(ModuleTreeModel* model, StatsJob* stats, QWidget* parent = nullptr);
    ~ModelPage() override;

    void setFile(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, const CheckpointSummary& summary,
        ModelOverview overview);
    void clear();
    void statsArrived(const StatsBatch& batch);

    ModulePane* pane() const { return m_pane; }
    QTabWidget* panel() const { return m_panel; }
    DetailsView* details() const { return m_details; }
    ValuesPage* values() const { return m_values; }
    QString detailsText() const;
    void showValues();
    void showDetails();

private:
    void showNode(int node);
    void renderDetails();

    ModuleTreeModel* m_model = nullptr;
    StatsJob* m_stats = nullptr;
    ModulePane* m_pane = nullptr;
    QTabWidget* m_panel = nullptr;
    DetailsView* m_details = nullptr;
    ValuesPage* m_values = nullptr;
    CheckpointPtr m_ck;
    std::shared_ptr<const Semantic> m_sem;
    std::unique_ptr<CheckpointSummary> m_summary;
    ModelOverview m_overview;
    int m_node = -1;
    std::unordered_set<int> m_interest; // tensors whose statistics the details show
    bool m_moduleComplete = false;
};

} // namespace ckpt
