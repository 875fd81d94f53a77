#pragma once

#include "model/safety.h"

#include <QDialog>
#include <QFrame>

#include <optional>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace ckpt {

class SafetyDialog;

// The strip under the menu bar when a file's pickles import something that is not plainly data: red when a global
// can run code (os.system, eval, subprocess...), amber when it is merely unknown (a user's class, numpy scalars).
// Nothing was executed either way; "Details" lists each global with its class, reason, count and where in the
// object tree it is called. Hidden for safe files.
class SafetyBanner : public QFrame {
    Q_OBJECT
public:
    explicit SafetyBanner(QWidget* parent = nullptr);

    // The scan of the file just opened (or why it could not be scanned).
    void setScan(const Expected<SafetyReport>& scan);
    void clear();

    const std::optional<SafetyReport>& report() const { return m_report; }
    QString text() const; // plain; empty while hidden
    QPushButton* detailsButton() const { return m_details; }
    SafetyDialog* dialog() const { return m_dialog; }
    void showDetails();

private:
    void applyThemeColors(); // the theme changed: colours for the new palette
    QLabel* m_label = nullptr;
    QPushButton* m_details = nullptr;
    SafetyDialog* m_dialog = nullptr;
    std::optional<SafetyReport> m_report;
    QString m_plain;
};

// Every global a file's pickles import: module.name, safe/unknown/dangerous, why, how often, in which pickle and
// where in the object tree it is called or placed.
class SafetyDialog : public QDialog {
    Q_OBJECT
public:
    explicit SafetyDialog(QWidget* parent = nullptr);

    void setReport(const SafetyReport& report);
    QTreeWidget* table() const { return m_table; }
    QString text() const; // one global a line: "posix.system  dangerous  1  reason  locations"

private:
    QLabel* m_head = nullptr;
    QTreeWidget* m_table = nullptr;
    QLabel* m_problems = nullptr;
};

} // namespace ckpt
