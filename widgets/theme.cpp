#include "widgets/theme.h"

#include <QApplication>
#include <QPointer>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>

#include <memory>
#include <optional>

namespace ckpt {
namespace {

constexpr QLatin1StringView kThemeKey("theme");

struct Platform {
    QString style;
    QPalette palette;
};

// What the platform gave the application before any theme was applied.
std::optional<Platform>& platform()
{
    static std::optional<Platform> p;
    return p;
}

ThemeChoice& current()
{
    static ThemeChoice c = ThemeChoice::System;
    return c;
}

void rememberPlatform()
{
    if (!platform())
        platform() = Platform { QApplication::style()->name(), QApplication::palette() };
}

} // namespace

QString themeName(ThemeChoice choice)
{
    switch (choice) {
    case ThemeChoice::Light:
        return QStringLiteral("light");
    case ThemeChoice::Dark:
        return QStringLiteral("dark");
    case ThemeChoice::System:
        break;
    }
    return QStringLiteral("system");
}

ThemeChoice themeFromName(const QString& name)
{
    if (name == QLatin1String("light"))
        return ThemeChoice::Light;
    if (name == QLatin1String("dark"))
        return ThemeChoice::Dark;
    return ThemeChoice::System;
}

ThemeChoice savedTheme()
{
    return themeFromName(QSettings().value(kThemeKey).toString());
}

void saveTheme(ThemeChoice choice)
{
    QSettings().setValue(kThemeKey, themeName(choice));
}

bool isDark(const QPalette& palette)
{
    return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

bool systemPrefersDark()
{
    rememberPlatform();
    if (isDark(platform()->palette))
        return true;
    const QString gtk = qEnvironmentVariable("GTK_THEME").toLower();
    return gtk.endsWith(QLatin1String(":dark")) || gtk.endsWith(QLatin1String("-dark"));
}

QPalette darkPalette()
{
    // Fusion's dark scheme as Qt 6.5 ships it, with a link colour readable on the dark base.
    const QColor window(0x32, 0x32, 0x32), base(0x24, 0x24, 0x24), text(0xe6, 0xe6, 0xe6),
        disabled(0x80, 0x80, 0x80), highlight(0x2f, 0x6f, 0xbf);
    QPalette p;
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x2c, 0x2c, 0x2c));
    p.setColor(QPalette::ToolTipBase, QColor(0x40, 0x40, 0x40));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x3a, 0x3a, 0x3a));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xff, 0x6b, 0x6b));
    p.setColor(QPalette::Light, QColor(0x50, 0x50, 0x50));
    p.setColor(QPalette::Midlight, QColor(0x44, 0x44, 0x44));
    p.setColor(QPalette::Mid, QColor(0x2a, 0x2a, 0x2a));
    p.setColor(QPalette::Dark, QColor(0x1e, 0x1e, 0x1e));
    p.setColor(QPalette::Shadow, QColor(0x10, 0x10, 0x10));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x7a, 0xb7, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xc3, 0x9b, 0xff));
    for (auto role : { QPalette::WindowText, QPalette::Text, QPalette::ButtonText, QPalette::HighlightedText })
        p.setColor(QPalette::Disabled, role, disabled);
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0x50, 0x50, 0x50));
    return p;
}

QPalette lightPalette()
{
    std::unique_ptr<QStyle> fusion(QStyleFactory::create(QStringLiteral("Fusion")));
    return fusion ? fusion->standardPalette() : QPalette();
}

void applyTheme(ThemeChoice choice)
{
    rememberPlatform();
    current() = choice;
    const bool systemDark = systemPrefersDark();
    const bool wantDark = choice == ThemeChoice::Dark || (choice == ThemeChoice::System && systemDark);
    // The platform's own look whenever it already is what is asked for.
    if (wantDark == isDark(platform()->palette)) {
        QApplication::setStyle(platform()->style);
        QApplication::setPalette(platform()->palette);
    } else {
        QApplication::setStyle(QStringLiteral("Fusion"));
        QApplication::setPalette(wantDark ? darkPalette() : lightPalette());
    }
    emit ThemeSignals::instance()->changed();
}

ThemeSignals* ThemeSignals::instance()
{
    static QPointer<ThemeSignals> signals_;
    if (!signals_)
        signals_ = new ThemeSignals(qApp);
    return signals_;
}

ThemeChoice currentTheme()
{
    return current();
}

bool darkInEffect()
{
    return isDark(QApplication::palette());
}

QString noticeStyleSheet(const QString& objectName, Notice kind)
{
    struct Colors {
        const char *background, *border, *text;
    };
    // Light: the tints the banners always had. Dark: the same hues, dark, with light text.
    static constexpr Colors light[] = { { "#fdecea", "#f1aeb5", "#611a15" }, { "#fff4d6", "#e8c872", "#4d3800" } };
    static constexpr Colors dark[] = { { "#4a1f1f", "#8c3a3a", "#ffdad6" }, { "#3b3117", "#7a6421", "#ffe8a8" } };
    const Colors& c = (darkInEffect() ? dark : light)[kind == Notice::Error ? 0 : 1];
    return QStringLiteral("#%1 { background: %2; border-bottom: 1px solid %3; } #%1 QLabel { color: %4; }")
        .arg(objectName, QLatin1String(c.background), QLatin1String(c.border), QLatin1String(c.text));
}

QString problemColor()
{
    return darkInEffect() ? QStringLiteral("#ff8a80") : QStringLiteral("#b3261e");
}

} // namespace ckpt
