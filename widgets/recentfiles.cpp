#include "widgets/recentfiles.h"

#include <QFileInfo>
#include <QSettings>

namespace ckpt::recent {
namespace {

constexpr QLatin1StringView kKey("recentFiles");

} // namespace

QStringList files()
{
    return QSettings().value(kKey).toStringList();
}

QStringList existingFiles()
{
    const QStringList stored = files();
    QStringList kept;
    for (const QString& path : stored)
        if (QFileInfo::exists(path))
            kept << path;
    if (kept.size() != stored.size())
        QSettings().setValue(kKey, kept);
    return kept;
}

void add(const QString& path)
{
    QSettings settings;
    QStringList list = settings.value(kKey).toStringList();
    list.removeAll(path);
    list.prepend(path);
    while (list.size() > kMax)
        list.removeLast();
    settings.setValue(kKey, list);
}

void clear()
{
    QSettings().remove(kKey);
}

} // namespace ckpt::recent
