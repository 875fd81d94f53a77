#include "widgets/aboutdialog.h"

#include "ckptlens-config.h"
#include "model/histogram.h"
#include "model/latesttask.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QVBoxLayout>

#include <spdlog/version.h>

#ifndef CKPTLENS_QUAZIP_VERSION
#error "widgets/CMakeLists.txt defines CKPTLENS_QUAZIP_VERSION from find_package(QuaZip-Qt6)"
#endif

namespace ckpt {
namespace {

QString versionRows(const QString& cuda, bool html)
{
    const QList<std::pair<QString, QString>> rows {
        { QStringLiteral("Checkpoint Lens"), QStringLiteral(CKPTLENS_VERSION) },
        { QStringLiteral("Qt"),
            QStringLiteral("%1 (built with %2)").arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR)) },
        // QuaZip's headers carry no version macro; CMake takes it from the package it found.
        { QStringLiteral("QuaZip"), QStringLiteral(CKPTLENS_QUAZIP_VERSION) },
        { QStringLiteral("spdlog"),
            QStringLiteral("%1.%2.%3").arg(SPDLOG_VER_MAJOR).arg(SPDLOG_VER_MINOR).arg(SPDLOG_VER_PATCH) },
        { QStringLiteral("CUDA"), cuda },
    };
    QString out;
    for (const auto& [name, value] : rows)
        out += html ? QStringLiteral("<tr><td><b>%1</b>&nbsp;&nbsp;</td><td>%2</td></tr>")
                          .arg(name.toHtmlEscaped(), value.toHtmlEscaped())
                    : QStringLiteral("%1: %2\n").arg(name, value);
    return out;
}

} // namespace

AboutDialog::AboutDialog(QWidget* parent)
    : QDialog(parent)
    , m_task(new LatestTask(this))
    , m_cuda(tr("checking…"))
{
    setWindowTitle(tr("About Checkpoint Lens"));
    m_label = new QLabel;
    m_label->setObjectName(QStringLiteral("aboutText"));
    m_label->setTextFormat(Qt::RichText);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_label->setOpenExternalLinks(false);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->setSizeConstraint(QLayout::SetFixedSize);
    layout->addWidget(m_label);
    layout->addWidget(buttons);
    fill();
    m_task->start<QString>([](const std::atomic<bool>&) { return cudaDescription(); },
        [this](QString description) {
            m_cuda = description;
            m_cudaKnown = true;
            fill();
            emit cudaDescribed();
        });
}

AboutDialog::~AboutDialog()
{
    // The task's callback refers to this dialog: its thread ends first.
    m_task->stop();
}

QString AboutDialog::versionsText(const QString& cuda)
{
    return versionRows(cuda, false);
}

QString AboutDialog::text() const
{
    return versionsText(m_cuda);
}

void AboutDialog::fill()
{
    m_label->setText(tr("<h3>Checkpoint Lens</h3>"
                        "<p>Look inside PyTorch checkpoints and safetensors files without loading them.</p>"
                        "<table>%1</table>")
                         .arg(versionRows(m_cuda, true)));
}

} // namespace ckpt
