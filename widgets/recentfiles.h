#pragma once

#include <QStringList>

namespace ckpt {

// File > Open Recent, kept in QSettings so every window and the next start see one list: most recent first,
// absolute paths, no duplicates, at most kMax. Entries whose file or folder no longer exists are pruned when the
// list is read for the menu (a file on a network share that is not mounted goes too; opening it again brings it back).
namespace recent {

inline constexpr int kMax = 10;

QStringList files();             // as stored
QStringList existingFiles();     // pruned of what no longer exists; the pruned list is saved
void add(const QString& path);   // to the front
void clear();

} // namespace recent
} // namespace ckpt
