#pragma once

#include <QDialog>

class QLabel;
class QPlainTextEdit;

namespace ckpt {

// Help > Show Log: the end of the log file, read only, with a button to open it in the desktop's editor. A plain
// viewer rather than only QDesktopServices, because a desktop without a handler for .log files would show nothing.
class LogDialog : public QDialog {
    Q_OBJECT
public:
    explicit LogDialog(const QString& path, QWidget* parent = nullptr);

    void reload();
    QString text() const;
    static constexpr qint64 kTailBytes = 512 * 1024; // the end of a full log file; the rest is in the file

private:
    QString m_path;
    QLabel* m_where = nullptr;
    QPlainTextEdit* m_text = nullptr;
};

} // namespace ckpt
