#include "widgets/logdialog.h"

#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QUrl>
#include <QVBoxLayout>

namespace ckpt {

LogDialog::LogDialog(const QString& path, QWidget* parent)
    : QDialog(parent)
    , m_path(path)
{
    setWindowTitle(tr("Log - Checkpoint Lens"));
    resize(900, 520);
    m_where = new QLabel;
    m_where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_where->setWordWrap(true);
    m_text = new QPlainTextEdit;
    m_text->setObjectName(QStringLiteral("logText"));
    m_text->setReadOnly(true);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    auto* refresh = buttons->addButton(tr("&Reload"), QDialogButtonBox::ActionRole);
    connect(refresh, &QPushButton::clicked, this, &LogDialog::reload);
    auto* external = buttons->addButton(tr("&Open in Editor"), QDialogButtonBox::ActionRole);
    external->setEnabled(!m_path.isEmpty());
    connect(external, &QPushButton::clicked, this, [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_path)); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_where);
    layout->addWidget(m_text, 1);
    layout->addWidget(buttons);
    reload();
}

void LogDialog::reload()
{
    if (m_path.isEmpty()) {
        m_where->setText(tr("This session logs to the terminal (stderr) only."));
        m_text->clear();
        return;
    }
    QFile file(m_path);
    if (!file.open(QIODevice::ReadOnly)) {
        m_where->setText(tr("Cannot read %1: %2").arg(m_path, file.errorString()));
        m_text->clear();
        return;
    }
    const qint64 size = file.size();
    const bool cut = size > kTailBytes;
    if (cut)
        file.seek(size - kTailBytes);
    QByteArray bytes = file.readAll();
    if (cut) // start at a whole line
        bytes.remove(0, bytes.indexOf('\n') + 1);
    m_where->setText(cut ? tr("%1 (its last %2 KiB)").arg(m_path).arg(kTailBytes / 1024) : m_path);
    m_text->setPlainText(QString::fromUtf8(bytes));
    m_text->verticalScrollBar()->setValue(m_text->verticalScrollBar()->maximum());
}

QString LogDialog::text() const
{
    return m_text->toPlainText();
}

} // namespace ckpt
