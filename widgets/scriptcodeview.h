#pragma once

#include "io/checkpoint.h"

#include <QWidget>

class QListWidget;
class QPlainTextEdit;

namespace ckpt {

// The Python code a TorchScript archive carries (code/__torch__/...py), one record at a time, read-only. Shown
// only for TorchScript files; the text is read when a record is picked, not when the file opens.
class ScriptCodeView : public QWidget {
    Q_OBJECT
public:
    explicit ScriptCodeView(QWidget* parent = nullptr);
    // Lists the code records; returns false (and shows nothing) when the file carries no code.
    bool setCheckpoint(CheckpointPtr ck);
    int recordCount() const;
    void showRecord(int row);
    QString currentText() const;

private:
    CheckpointPtr m_ck;
    std::vector<int> m_records;
    QListWidget* m_list = nullptr;
    QPlainTextEdit* m_text = nullptr;
};

} // namespace ckpt
