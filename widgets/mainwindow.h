#pragma once

#include "io/checkpoint.h"

#include <QMainWindow>

#include <memory>

class QFrame;
class QLabel;
class QLineEdit;
class QMenu;
class QStackedWidget;
class QTimer;
class QTreeView;

namespace ckpt {

class DetailsView;
class ObjectTreeModel;
class TreeFilterProxy;
struct CheckpointSummary;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a file; a failure shows as a banner in the window (never a dialog) and returns false. The file shown
    // before, if any, stays.
    bool openFile(const QString& path);

    ObjectTreeModel* treeModel() const { return m_model; }
    TreeFilterProxy* filterModel() const { return m_proxy; }
    QTreeView* treeView() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QMenu* recentMenu() const { return m_recentMenu; }
    // Plain text of what the window shows, for tests and accessibility.
    QString errorText() const;
    QString detailsText() const;
    QString statusText() const;

    static QStringList recentFiles();
    static constexpr int kMaxRecentFiles = 10;

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createMenus();
    void openDialog();
    void showError(const QString& title, const QString& message);
    void hideError();
    void rebuildRecentMenu();
    void addRecent(const QString& path);
    void clearRecent();
    void applyFilter();
    void expandDefault();
    void expandMatches();
    void fitColumns();
    void growKeyColumn();
    void showDetails();
    void showContextMenu(const QPoint& pos);

    ObjectTreeModel* m_model = nullptr;
    TreeFilterProxy* m_proxy = nullptr;
    QStackedWidget* m_stack = nullptr;
    QTreeView* m_view = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_filterNote = nullptr;
    QTimer* m_filterTimer = nullptr;
    DetailsView* m_details = nullptr;
    QFrame* m_errorBar = nullptr;
    QLabel* m_errorLabel = nullptr;
    QString m_errorPlain;
    QLabel* m_statusLabel = nullptr;
    QMenu* m_recentMenu = nullptr;
    std::unique_ptr<CheckpointSummary> m_summary;
    bool m_keyWidthByUser = false;
    bool m_autoSizing = false;
    bool m_growPending = false;
};

} // namespace ckpt
