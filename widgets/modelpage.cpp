#include "widgets/modelpage.h"

#include "model/moduletreemodel.h"
#include "model/optimizerstate.h"
#include "model/statsjob.h"
#include "widgets/detailsview.h"
#include "widgets/modulepane.h"
#include "widgets/valuespage.h"

#include <QScrollBar>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

namespace ckpt {
namespace {

// A module's tensors offered in the value view and asked for first; a bigger subtree waits for the background run.
constexpr size_t kModuleTensors = 500;

} // namespace

ModelPage::ModelPage(ModuleTreeModel* model, StatsJob* stats, QWidget* parent)
    : QWidget(parent)
    , m_model(model)
    , m_stats(stats)
{
    m_pane = new ModulePane(m_model);
    m_details = new DetailsView;
    m_details->setObjectName(QStringLiteral("moduleDetails"));
    m_values = new ValuesPage;
    m_values->setObjectName(QStringLiteral("values"));
    m_panel = new QTabWidget;
    m_panel->setObjectName(QStringLiteral("selectionPanel"));
    m_panel->setDocumentMode(true);
    m_panel->addTab(m_details, tr("Details"));
    m_panel->addTab(m_values, tr("Values"));

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setObjectName(QStringLiteral("modelSplitter"));
    splitter->addWidget(m_pane);
    splitter->addWidget(m_panel);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);
    splitter->setSizes({ 930, 470 });
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    connect(m_pane, &ModulePane::currentNodeChanged, this, &ModelPage::showNode);
}

ModelPage::~ModelPage() = default;

void ModelPage::setFile(CheckpointPtr ck, std::shared_ptr<const Semantic> sem, const CheckpointSummary& summary,
    ModelOverview overview)
{
    m_ck = std::move(ck);
    m_sem = std::move(sem);
    m_summary = std::make_unique<CheckpointSummary>(summary);
    m_overview = std::move(overview);
    m_node = -1;
    m_pane->resetView();
    showNode(m_pane->currentNode());
}

void ModelPage::clear()
{
    m_ck.reset();
    m_sem.reset();
    m_node = -1;
    m_interest.clear();
    m_details->showNothing();
    m_values->setTensors(nullptr, {});
}

QString ModelPage::detailsText() const
{
    return m_details->toPlainText();
}

void ModelPage::showValues()
{
    m_panel->setCurrentWidget(m_values);
}

void ModelPage::showDetails()
{
    m_panel->setCurrentWidget(m_details);
}

void ModelPage::showNode(int node)
{
    m_node = node;
    m_interest.clear();
    m_moduleComplete = node > 0 && m_model->indexOfNode(node, ModuleTreeModel::NonFiniteColumn).data().isValid();
    const ModuleTree* tree = m_model->tree();
    if (!m_ck || !m_sem || !tree || node < 0) {
        m_details->showNothing();
        m_values->setTensors(nullptr, {});
        return;
    }
    std::vector<std::pair<QString, int>> choices;
    std::vector<int> wanted;
    const ModuleNode& n = tree->nodes[size_t(node)];
    if (node == 0) {
        m_values->setTensors(m_ck, {}, tr("Select a tensor or a module to see its values"));
    } else if (n.isLeaf()) {
        choices.emplace_back(n.fullName, n.tensor);
        wanted.push_back(n.tensor);
        for (const ParameterState& state : optimizerStateFor(*m_ck, *m_sem, n.fullName))
            for (const auto& [field, tensor] : stateTensors(*m_ck, *state.param)) {
                choices.emplace_back(tr("%1 (optimizer %2)").arg(field, n.name), tensor);
                wanted.push_back(tensor);
            }
        m_values->setTensors(m_ck, choices);
    } else {
        // Depth-first, in tree order, so the list reads like the module.
        std::vector<int> stack { node };
        while (!stack.empty() && choices.size() < kModuleTensors) {
            const ModuleNode& m = tree->nodes[size_t(stack.back())];
            stack.pop_back();
            stack.insert(stack.end(), m.children.rbegin(), m.children.rend());
            if (m.isLeaf()) {
                choices.emplace_back(m.fullName.mid(n.fullName.size() + 1), m.tensor);
                wanted.push_back(m.tensor);
            }
        }
        m_values->setTensors(m_ck, choices);
    }
    m_interest.insert(wanted.begin(), wanted.end());
    if (!wanted.empty())
        m_stats->request(wanted);
    renderDetails();
}

void ModelPage::renderDetails()
{
    if (!m_ck || !m_sem || m_node < 0)
        return;
    // A refresh while reading keeps the reader's place.
    const int scroll = m_details->verticalScrollBar()->value();
    if (m_node == 0)
        m_details->showOverview(*m_ck, *m_summary, m_overview, *m_sem);
    else
        m_details->showModuleNode(*m_ck, *m_sem, m_model->indexOfNode(m_node),
            [this](int tensor) { return m_stats->result(tensor); });
    m_details->verticalScrollBar()->setValue(scroll);
}

void ModelPage::statsArrived(const StatsBatch& batch)
{
    const ModuleTree* tree = m_model->tree();
    if (m_node <= 0 || !tree)
        return;
    if (!tree->nodes[size_t(m_node)].isLeaf()) {
        // A module shows figures over all of its tensors: they appear once the last one is known.
        const bool complete = m_model->indexOfNode(m_node, ModuleTreeModel::NonFiniteColumn).data().isValid();
        if (complete != m_moduleComplete) {
            m_moduleComplete = complete;
            renderDetails();
        }
        return;
    }
    for (const StatsResult& r : batch)
        if (m_interest.count(r.tensor)) {
            renderDetails();
            return;
        }
}

} // namespace ckpt
