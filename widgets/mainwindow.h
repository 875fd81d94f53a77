#pragma once

#include "io/checkpoint.h"

#include <QMainWindow>

class QLabel;
class QMenu;
class QTreeView;
class QPlainTextEdit;
class QSortFilterProxyModel;

namespace ckpt {

class ObjectTreeModel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a file; a failure shows in the window (never a crash) and returns false.
    bool openFile(const QString& path);
    ObjectTreeModel* treeModel() const { return m_model; }
    QTreeView* treeView() const { return m_view; }
    QString errorText() const;

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void openDialog();
    void rebuildRecentMenu();
    void addRecent(const QString& path);
    void showDetails();

    ObjectTreeModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTreeView* m_view = nullptr;
    QPlainTextEdit* m_details = nullptr;
    QLabel* m_message = nullptr;
    QMenu* m_recentMenu = nullptr;
};

} // namespace ckpt
