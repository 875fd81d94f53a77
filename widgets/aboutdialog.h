#pragma once

#include <QDialog>

class QLabel;

namespace ckpt {

class LatestTask;

// Help > About: the program's version and those of what it runs on (Qt at run and at build time, QuaZip, spdlog)
// and the CUDA backend's device, or why there is none. Asking the CUDA driver can take a moment the first time, so
// it is asked off the GUI thread and filled in when it answers.
class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget* parent = nullptr);
    ~AboutDialog() override;

    // Plain text of the versions, one "name: version" per line; `cuda` the CUDA line's value.
    static QString versionsText(const QString& cuda);
    QString text() const; // the versions the dialog shows now, as versionsText
    bool cudaKnown() const { return m_cudaKnown; }

signals:
    void cudaDescribed();

private:
    void fill();

    QLabel* m_label = nullptr;
    LatestTask* m_task = nullptr;
    QString m_cuda;
    bool m_cudaKnown = false;
};

} // namespace ckpt
