#pragma once

#include "model/semantic.h"

#include <QFrame>

class QLabel;

namespace ckpt {

// The notes under the menu bar about how a checkpoint was saved (DataParallel or torch.compile prefixes, tied
// weights, GPU storages, mixed dtypes) and, once statistics find them, NaN/Inf values. Dismissable per file.
class FindingsBanner : public QFrame {
    Q_OBJECT
public:
    explicit FindingsBanner(QWidget* parent = nullptr);

    void setFindings(const std::vector<Finding>& findings);
    QString text() const; // plain, one finding a line; empty while hidden

private:
    void applyThemeColors(); // the theme changed: colours for the new palette
    QLabel* m_label = nullptr;
    QString m_plain;
    bool m_dismissed = false;
    std::vector<Finding> m_shown;
};

} // namespace ckpt
