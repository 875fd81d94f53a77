#pragma once

#include "model/modulefilter.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QTimer;
class QTreeView;

namespace ckpt {

class ModuleFilterProxy;
class ModuleTreeModel;

// The module tree with its search box: substring, glob or regular expression over dotted names, matches shown with
// the modules above them, revealed by expanding their ancestors.
class ModulePane : public QWidget {
    Q_OBJECT
public:
    explicit ModulePane(ModuleTreeModel* model, QWidget* parent = nullptr);

    QTreeView* view() const { return m_view; }
    ModuleFilterProxy* proxy() const { return m_proxy; }
    QLineEdit* searchEdit() const { return m_search; }
    QComboBox* searchMode() const { return m_mode; }
    QString searchNote() const;

    void setSearch(const QString& text, MatchMode mode);
    // After a new tree: the search re-applied, the top expanded, columns fitted, the top row current.
    void resetView();
    void selectNode(int node);
    int currentNode() const;
    void focusSearch();

signals:
    void currentNodeChanged(int node); // -1: nothing selected

private:
    void applySearch();
    void expandDefault();
    void expandMatches();
    void fitColumns();
    void growNameColumn();

    ModuleTreeModel* m_model = nullptr;
    ModuleFilterProxy* m_proxy = nullptr;
    QTreeView* m_view = nullptr;
    QLineEdit* m_search = nullptr;
    QComboBox* m_mode = nullptr;
    QLabel* m_note = nullptr;
    QTimer* m_timer = nullptr;
    QString m_applied;
    MatchMode m_appliedMode = MatchMode::Text;
    bool m_fresh = true; // a new tree: the search or the default expansion is applied whatever it was
    bool m_nameWidthByUser = false;
    bool m_autoSizing = false;
    bool m_growPending = false;
};

} // namespace ckpt
