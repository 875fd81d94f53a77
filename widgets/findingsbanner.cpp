#include "widgets/findingsbanner.h"

#include "widgets/theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

#include <algorithm>

namespace ckpt {
namespace {

QString title(FindingKind k)
{
    switch (k) {
    case FindingKind::DataParallelPrefix: return FindingsBanner::tr("DataParallel prefix");
    case FindingKind::CompilePrefix: return FindingsBanner::tr("torch.compile prefix");
    case FindingKind::TiedWeights: return FindingsBanner::tr("Tied weights");
    case FindingKind::SavedOnGpu: return FindingsBanner::tr("Saved on GPU");
    case FindingKind::MixedDtypes: return FindingsBanner::tr("Mixed dtypes");
    case FindingKind::NonFinite: return FindingsBanner::tr("NaN/Inf");
    case FindingKind::InconsistentSet: return FindingsBanner::tr("Incomplete set");
    }
    return {};
}

} // namespace

FindingsBanner::FindingsBanner(QWidget* parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("findingsBar"));
    setStyleSheet(noticeStyleSheet(objectName(), Notice::Warning));
    connect(ThemeSignals::instance(), &ThemeSignals::changed, this, &FindingsBanner::applyThemeColors);
    m_label = new QLabel;
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::RichText);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton;
    close->setAutoRaise(true);
    close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close->setToolTip(tr("Dismiss"));
    connect(close, &QToolButton::clicked, this, [this] {
        m_dismissed = true;
        setVisible(false);
    });
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 5, 6, 5);
    layout->addWidget(m_label, 1);
    layout->addWidget(close, 0, Qt::AlignTop);
    setVisible(false);
}

void FindingsBanner::setFindings(const std::vector<Finding>& findings)
{
    // Dismissed stays dismissed until something new is found (statistics finding NaN later, another file).
    bool news = false;
    for (const Finding& f : findings)
        news = news || std::none_of(m_shown.begin(), m_shown.end(), [&](const Finding& old) { return old.message == f.message; });
    m_shown = findings;
    QStringList html, plain;
    for (const Finding& f : findings) {
        const bool severe = f.kind == FindingKind::NonFinite;
        html << QStringLiteral("<b%1>%2:</b> %3")
                    .arg(severe ? QStringLiteral(" style=\"color:%1\"").arg(problemColor()) : QString(), title(f.kind).toHtmlEscaped(),
                        f.message.toHtmlEscaped());
        plain << title(f.kind) + QStringLiteral(": ") + f.message;
    }
    m_label->setText(html.join(QStringLiteral("<br>")));
    m_plain = plain.join(QLatin1Char('\n'));
    if (news)
        m_dismissed = false;
    setVisible(!findings.empty() && !m_dismissed);
}

void FindingsBanner::applyThemeColors()
{
    const QString sheet = noticeStyleSheet(objectName(), Notice::Warning);
    if (styleSheet() != sheet) {
        setStyleSheet(sheet);
        setFindings(std::vector<Finding>(m_shown)); // the severe titles' red, for the new palette
    }
}

QString FindingsBanner::text() const
{
    return isHidden() ? QString() : m_plain;
}

} // namespace ckpt
