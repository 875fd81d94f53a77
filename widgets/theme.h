#pragma once

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

} // namespace ckpt
