#include "widgets/safetybanner.h"

#include "widgets/theme.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QStyle>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace ckpt {
namespace {

QColor classColor(SafetyClass c)
{
    switch (c) {
    case SafetyClass::Dangerous: return QColor(179, 38, 30);
    case SafetyClass::Unknown: return QColor(138, 90, 0);
    case SafetyClass::Safe: return QColor(110, 110, 110);
    }
    return {};
}

QColor classBackground(SafetyClass c)
{
    switch (c) {
    case SafetyClass::Dangerous: return QColor(253, 236, 234);
    case SafetyClass::Unknown: return QColor(255, 244, 214);
    case SafetyClass::Safe: return {};
    }
    return {};
}

QString qualified(const SafetyGlobal& g)
{
    return g.module + QLatin1Char('.') + g.name;
}

enum Column { GlobalColumn, ClassColumn, CountColumn, ReasonColumn, WhereColumn, ColumnCount };

} // namespace

SafetyBanner::SafetyBanner(QWidget* parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("safetyBar"));
    connect(ThemeSignals::instance(), &ThemeSignals::changed, this, &SafetyBanner::applyThemeColors);
    m_label = new QLabel;
    m_label->setObjectName(QStringLiteral("safetyText"));
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::RichText);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details = new QPushButton(tr("Details…"));
    m_details->setObjectName(QStringLiteral("safetyDetails"));
    m_details->setToolTip(tr("Every global the file imports, why it matters and where it is called"));
    connect(m_details, &QPushButton::clicked, this, &SafetyBanner::showDetails);
    auto* close = new QToolButton;
    close->setAutoRaise(true);
    close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close->setToolTip(tr("Dismiss (the file stays flagged in File > Safety Report)"));
    connect(close, &QToolButton::clicked, this, [this] { setVisible(false); });
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 5, 6, 5);
    layout->addWidget(m_label, 1);
    layout->addWidget(m_details, 0, Qt::AlignVCenter);
    layout->addWidget(close, 0, Qt::AlignTop);
    setVisible(false);
}

void SafetyBanner::applyThemeColors()
{
    if (!m_report)
        return;
    const QString sheet = noticeStyleSheet(
        objectName(), m_report->verdict == SafetyClass::Dangerous ? Notice::Error : Notice::Warning);
    if (styleSheet() != sheet)
        setStyleSheet(sheet);
}

void SafetyBanner::clear()
{
    m_report.reset();
    m_plain.clear();
    setVisible(false);
}

void SafetyBanner::setScan(const Expected<SafetyReport>& scan)
{
    clear();
    if (!scan) {
        // A file that opened but whose pickles could not be read through is not known to be safe.
        SafetyReport r;
        r.verdict = SafetyClass::Unknown;
        r.problems << scan.error().message();
        m_report = r;
    } else {
        m_report = *scan;
    }
    const SafetyReport& r = *m_report;
    if (r.verdict == SafetyClass::Safe && r.problems.isEmpty())
        return;
    QStringList names;
    int shown = 0;
    for (const SafetyGlobal& g : r.globals)
        if (g.cls == r.verdict && shown++ < 4)
            names << qualified(g);
    const int more = int(std::count_if(r.globals.begin(), r.globals.end(), [&](const SafetyGlobal& g) {
        return g.cls == r.verdict;
    })) - int(names.size());
    QString list = names.join(QStringLiteral(", "));
    if (more > 0)
        list += tr(" and %1 more").arg(more);
    QString title, body;
    if (r.verdict == SafetyClass::Dangerous) {
        title = tr("Dangerous");
        body = tr("its pickles import %1, which can run code when torch.load opens it without weights_only=True. "
                  "Checkpoint Lens never executes them.")
                   .arg(list);
    } else if (!names.isEmpty()) {
        title = tr("Unknown globals");
        body = tr(
            "its pickles import %1, which torch.load(weights_only=True) refuses. They are shown as inert objects here.")
                   .arg(list);
    } else {
        title = tr("Not fully scanned");
        body = r.problems.join(QStringLiteral("; "));
    }
    const bool danger = r.verdict == SafetyClass::Dangerous;
    setStyleSheet(noticeStyleSheet(objectName(), danger ? Notice::Error : Notice::Warning));
    const QString file = QFileInfo(r.path).fileName();
    const QString head = file.isEmpty() ? title : QStringLiteral("%1: %2").arg(title, file);
    m_label->setText(QStringLiteral("<b>%1</b> — %2").arg(head.toHtmlEscaped(), body.toHtmlEscaped()));
    m_plain = QStringLiteral("%1 — %2").arg(head, body);
    m_details->setEnabled(true);
    setVisible(true);
    if (m_dialog && m_dialog->isVisible())
        m_dialog->setReport(r);
}

QString SafetyBanner::text() const
{
    return isHidden() ? QString() : m_plain;
}

void SafetyBanner::showDetails()
{
    if (!m_report)
        return;
    if (!m_dialog)
        m_dialog = new SafetyDialog(window());
    m_dialog->setReport(*m_report);
    m_dialog->show();
    m_dialog->raise();
    m_dialog->activateWindow();
}

SafetyDialog::SafetyDialog(QWidget* parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("safetyDialog"));
    setWindowTitle(tr("Safety Report"));
    resize(960, 460);
    m_head = new QLabel;
    m_head->setWordWrap(true);
    m_head->setTextFormat(Qt::RichText);
    m_head->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_table = new QTreeWidget;
    m_table->setObjectName(QStringLiteral("safetyTable"));
    m_table->setColumnCount(ColumnCount);
    m_table->setHeaderLabels(
        { tr("Global"), tr("Class"), tr("Imported"), tr("Reason"), tr("Where in the object tree") });
    m_table->setAlternatingRowColors(false);
    m_table->setUniformRowHeights(true);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->header()->setStretchLastSection(true);
    m_table->setTextElideMode(Qt::ElideMiddle);
    auto* safe = new QCheckBox(tr("Show safe globals (torch's weights_only allowlist)"));
    safe->setObjectName(QStringLiteral("showSafe"));
    safe->setChecked(true);
    connect(safe, &QCheckBox::toggled, this, [this](bool on) {
        for (int i = 0; i < m_table->topLevelItemCount(); ++i) {
            QTreeWidgetItem* item = m_table->topLevelItem(i);
            item->setHidden(!on && item->data(ClassColumn, Qt::UserRole).toInt() == int(SafetyClass::Safe));
        }
    });
    m_problems = new QLabel;
    m_problems->setWordWrap(true);
    m_problems->setStyleSheet(QStringLiteral("QLabel { color: %1; }").arg(problemColor()));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_head);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_problems);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(safe);
    bottom->addStretch(1);
    bottom->addWidget(buttons);
    layout->addLayout(bottom);
}

void SafetyDialog::setReport(const SafetyReport& r)
{
    const QString file = r.path.isEmpty() ? tr("this file") : QFileInfo(r.path).fileName();
    QString verdict;
    switch (r.verdict) {
    case SafetyClass::Dangerous:
        verdict
            = tr("<span style=\"color:#b3261e\"><b>dangerous</b></span>: some globals can run code, touch files or the "
                 "network when torch.load unpickles %1 without weights_only=True.")
                  .arg(file.toHtmlEscaped());
        break;
    case SafetyClass::Unknown:
        verdict = tr("<span style=\"color:#8a5a00\"><b>unknown</b></span>: torch.load(weights_only=True) would refuse "
                     "some globals of %1; nothing known to be harmful.")
                      .arg(file.toHtmlEscaped());
        break;
    case SafetyClass::Safe:
        verdict
            = tr("<b>safe</b>: %1 imports only what torch.load(weights_only=True) allows.").arg(file.toHtmlEscaped());
        break;
    }
    m_head->setText(tr("<p>%1<br>Checkpoint Lens interprets pickles without executing them; the objects these globals "
                       "would build are shown as inert nodes in the Objects tab.</p>")
                        .arg(verdict));
    m_table->clear();
    for (const SafetyGlobal& g : r.globals) {
        auto* item = new QTreeWidgetItem(m_table);
        item->setText(GlobalColumn, qualified(g));
        item->setText(ClassColumn, safetyClassName(g.cls));
        item->setData(ClassColumn, Qt::UserRole, int(g.cls));
        item->setText(CountColumn, QString::number(g.count));
        item->setTextAlignment(CountColumn, Qt::AlignRight | Qt::AlignVCenter);
        item->setText(ReasonColumn, g.reason);
        item->setToolTip(ReasonColumn, g.reason);
        item->setText(WhereColumn, g.locations.isEmpty() ? QString() : g.locations.join(QStringLiteral("; ")));
        item->setToolTip(WhereColumn, tr("Pickles: %1").arg(g.records.join(QStringLiteral(", "))));
        item->setToolTip(GlobalColumn, tr("Imported by %1").arg(g.records.join(QStringLiteral(", "))));
        const QColor fg = classColor(g.cls), bg = classBackground(g.cls);
        for (int c = 0; c < ColumnCount; ++c) {
            item->setForeground(c, fg);
            if (bg.isValid())
                item->setBackground(c, bg);
        }
        QFont f = item->font(GlobalColumn);
        f.setBold(g.cls == SafetyClass::Dangerous);
        item->setFont(GlobalColumn, f);
        item->setFont(ClassColumn, f);
        // Every location a child row, so long paths can be read whole.
        if (g.locations.size() > 1)
            for (const QString& where : g.locations) {
                auto* child = new QTreeWidgetItem(item);
                child->setText(WhereColumn, where);
                child->setToolTip(WhereColumn, where);
                child->setForeground(WhereColumn, fg);
            }
        item->setExpanded(g.cls != SafetyClass::Safe);
    }
    m_table->setRootIsDecorated(
        std::any_of(r.globals.begin(), r.globals.end(), [](const SafetyGlobal& g) { return g.locations.size() > 1; }));
    for (int c : { GlobalColumn, ClassColumn, CountColumn })
        m_table->resizeColumnToContents(c);
    m_table->setColumnWidth(GlobalColumn, std::min(m_table->columnWidth(GlobalColumn) + 16, 320));
    m_table->setColumnWidth(ReasonColumn, 300);
    m_problems->setText(
        r.problems.isEmpty() ? QString() : tr("Scanning stopped early: %1").arg(r.problems.join(QStringLiteral("; "))));
    m_problems->setVisible(!r.problems.isEmpty());
}

QString SafetyDialog::text() const
{
    QStringList lines;
    for (int i = 0; i < m_table->topLevelItemCount(); ++i) {
        const QTreeWidgetItem* item = m_table->topLevelItem(i);
        QStringList cells;
        for (int c = 0; c < ColumnCount; ++c)
            cells << item->text(c);
        lines << cells.join(QLatin1Char('\t'));
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace ckpt
