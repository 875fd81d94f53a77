#pragma once

#include <QObject>
#include <QPalette>
#include <QString>

namespace ckpt {

// View > Theme. System follows the desktop; Light and Dark force Qt's Fusion style with a palette of that kind,
// since a platform style may not draw a palette it was not made for.
enum class ThemeChoice { System, Light, Dark };

QString themeName(ThemeChoice choice); // "system", "light", "dark": how the settings store it
ThemeChoice themeFromName(const QString& name); // System for anything else
ThemeChoice savedTheme();
void saveTheme(ThemeChoice choice);

// Whether a palette is a dark one: its window colour is darker than its text.
bool isDark(const QPalette& palette);
// Whether the desktop asks for dark: the palette the platform gave the application at start (Qt 6.4 has no
// QStyleHints::colorScheme), or GTK_THEME naming a dark variant ("Adwaita:dark") where the platform theme gives
// Qt no palette.
bool systemPrefersDark();

QPalette darkPalette();
QPalette lightPalette();

// Applies the choice to the whole application (every window follows) and remembers the platform's own style and
// palette the first time, so System can go back to them.
void applyTheme(ThemeChoice choice);
ThemeChoice currentTheme();
// Whether what is on screen now is dark (for widgets that pick their own colours).
bool darkInEffect();

// Says when applyTheme changed the application's look, for widgets that pick their own colours (a widget with a
// style sheet of its own gets no palette-change event when the application palette changes).
class ThemeSignals : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    static ThemeSignals* instance(); // owned by the application object

signals:
    void changed();
};

// The tinted notice strips (error banner, findings, safety): a style sheet for `#objectName` and its labels in
// colours that read on the palette in effect. Widgets that use it restyle on ThemeSignals::changed.
enum class Notice { Error, Warning };
QString noticeStyleSheet(const QString& objectName, Notice kind);
// Red for problems in running text ("No key matches", a severe finding's title).
QString problemColor();

} // namespace ckpt
