#include "widgets/scriptcodeview.h"

#include "io/torchscriptcode.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSplitter>

namespace ckpt {

ScriptCodeView::ScriptCodeView(QWidget* parent)
    : QWidget(parent)
    , m_list(new QListWidget)
    , m_text(new QPlainTextEdit)
{
    m_text->setReadOnly(true);
    m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(m_list);
    split->addWidget(m_text);
    split->setStretchFactor(1, 3);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
    connect(m_list, &QListWidget::currentRowChanged, this, &ScriptCodeView::showRecord);
}

bool ScriptCodeView::setCheckpoint(CheckpointPtr ck)
{
    m_ck = std::move(ck);
    m_list->clear();
    m_text->clear();
    m_records = m_ck ? scriptCodeRecords(*m_ck) : std::vector<int> {};
    const QString folder = (m_ck && !m_ck->archivePrefix.isEmpty() ? m_ck->archivePrefix + QLatin1Char('/') : QString())
        + QStringLiteral("code/");
    for (int r : m_records) {
        QString name = m_ck->records[size_t(r)].name;
        if (name.startsWith(folder))
            name = name.mid(folder.size());
        m_list->addItem(name);
    }
    if (!m_records.empty())
        m_list->setCurrentRow(0);
    return !m_records.empty();
}

int ScriptCodeView::recordCount() const
{
    return int(m_records.size());
}

void ScriptCodeView::showRecord(int row)
{
    if (!m_ck || row < 0 || size_t(row) >= m_records.size()) {
        m_text->clear();
        return;
    }
    auto text = scriptCodeText(*m_ck, m_records[size_t(row)]);
    m_text->setPlainText(text ? *text : tr("Cannot read this record: %1").arg(text.error().message()));
}

QString ScriptCodeView::currentText() const
{
    return m_text->toPlainText();
}

} // namespace ckpt
