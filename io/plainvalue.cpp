#include "io/plainvalue.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ckpt {

bool PlainValue::operator==(const PlainValue& o) const
{
    if (kind != o.kind)
        return false;
    switch (kind) {
    case Kind::None: return true;
    case Kind::Bool: return boolean == o.boolean;
    case Kind::Int: return integer == o.integer;
    case Kind::Float: return std::memcmp(&real, &o.real, sizeof real) == 0; // NaN equals itself, -0 is not 0
    case Kind::Str: return text == o.text;
    case Kind::Bytes: return bytes == o.bytes;
    case Kind::Dict: return ordered == o.ordered && items == o.items;
    default: return items == o.items;
    }
}

namespace {

// Python's repr of a float, which json.dumps writes: the shortest digits that read back to the same double, fixed
// from 1e-4 up to 1e16 and with ".0" when whole (so 3.0 reads back as a float, not the int 3), else "1.5e-07".
QString floatText(double d)
{
    if (std::isnan(d))
        return QStringLiteral("\"nan\"");
    if (std::isinf(d))
        return d > 0 ? QStringLiteral("\"inf\"") : QStringLiteral("\"-inf\"");
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    if (ec != std::errc())
        return QStringLiteral("0.0"); // cannot happen: 64 bytes hold any double
    const QString sci = QString::fromLatin1(buf, qsizetype(end - buf)); // "-1.2345e-05"
    const bool negative = sci.startsWith(QLatin1Char('-'));
    const qsizetype e = sci.indexOf(QLatin1Char('e'));
    const QString digits = sci.mid(negative ? 1 : 0, e - (negative ? 1 : 0)).remove(QLatin1Char('.'));
    const int exp = sci.mid(e + 1).toInt();
    QString out = negative ? QStringLiteral("-") : QString();
    if (exp >= -4 && exp < 16) {
        if (exp < 0)
            out += QStringLiteral("0.") + QString(-exp - 1, QLatin1Char('0')) + digits;
        else if (digits.size() <= exp + 1)
            out += digits + QString(exp + 1 - digits.size(), QLatin1Char('0')) + QStringLiteral(".0");
        else
            out += digits.left(exp + 1) + QLatin1Char('.') + digits.mid(exp + 1);
    } else {
        out += digits.left(1);
        if (digits.size() > 1)
            out += QLatin1Char('.') + digits.mid(1);
        out += QStringLiteral("e%1%2").arg(exp < 0 ? QLatin1Char('-') : QLatin1Char('+')).arg(std::abs(exp), 2, 10, QLatin1Char('0'));
    }
    return out;
}

QString quoted(const QString& s, bool asciiOnly)
{
    // QJsonDocument's escaping (quotes, backslashes, control characters), taken from a one-element array.
    const QByteArray a = QJsonDocument(QJsonArray { s }).toJson(QJsonDocument::Compact);
    QString q = QString::fromUtf8(a.mid(1, a.size() - 2));
    if (!asciiOnly)
        return q;
    QString out; // json.dumps's ensure_ascii: every other UTF-16 unit as \u and four lowercase hex digits
    for (QChar c : q)
        out += c.unicode() < 0x80 ? QString(c) : QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
    return out;
}

// Python sorts str by code point; UTF-16 order differs only where a surrogate pair (U+10000 and up) meets a unit
// from U+E000 to U+FFFF, so those two ranges swap places in the comparison.
bool codePointLess(const QString& a, const QString& b)
{
    const auto rank = [](char16_t u) { return u >= 0xE000 ? char32_t(u) - 0x800 : u >= 0xD800 ? char32_t(u) + 0x2000 : char32_t(u); };
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
        [&](QChar x, QChar y) { return rank(x.unicode()) < rank(y.unicode()); });
}

void writeJson(const PlainValue& v, const JsonStyle& style, int depth, QString& out)
{
    using K = PlainValue::Kind;
    const auto open = [&](QChar bracket, size_t count, auto&& each, QChar close) {
        out += bracket;
        for (size_t i = 0; i < count; ++i) {
            if (i)
                out += QLatin1Char(',');
            if (style.indent >= 0)
                out += QLatin1Char('\n') + QString(qsizetype(style.indent) * (depth + 1), QLatin1Char(' '));
            each(i);
        }
        if (style.indent >= 0 && count)
            out += QLatin1Char('\n') + QString(qsizetype(style.indent) * depth, QLatin1Char(' '));
        out += close;
    };
    switch (v.kind) {
    case K::None: out += QLatin1String("null"); return;
    case K::Bool: out += v.boolean ? QLatin1String("true") : QLatin1String("false"); return;
    case K::Int: out += QString::number(qint64(v.integer)); return;
    case K::Float: out += floatText(v.real); return;
    case K::Str: out += quoted(v.text, style.asciiOnly); return;
    case K::Bytes:
        open(QLatin1Char('['), size_t(v.bytes.size()), [&](size_t i) { out += QString::number(std::uint8_t(v.bytes[qsizetype(i)])); },
            QLatin1Char(']'));
        return;
    case K::List:
    case K::Tuple:
        open(QLatin1Char('['), v.items.size(), [&](size_t i) { writeJson(v.items[i], style, depth + 1, out); }, QLatin1Char(']'));
        return;
    case K::Dict:
    case K::StateDict: {
        std::vector<std::pair<QString, const PlainValue*>> entries;
        for (size_t i = 0; i + 1 < v.items.size(); i += 2) {
            const PlainValue& k = v.items[i];
            entries.emplace_back(k.keyText(), &v.items[i + 1]);
        }
        if (style.sortKeys)
            std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return codePointLess(a.first, b.first); });
        const QString colon = style.indent >= 0 ? QStringLiteral(": ") : QStringLiteral(":");
        open(QLatin1Char('{'), entries.size(), [&](size_t i) {
            out += quoted(entries[i].first, style.asciiOnly) + colon;
            writeJson(*entries[i].second, style, depth + 1, out);
        }, QLatin1Char('}'));
        return;
    }
    }
}

} // namespace

QString PlainValue::keyText() const
{
    switch (kind) {
    case Kind::Str: return text;
    case Kind::Float:
        if (std::isnan(real))
            return QStringLiteral("NaN");
        if (std::isinf(real))
            return real > 0 ? QStringLiteral("Infinity") : QStringLiteral("-Infinity");
        return floatText(real);
    default: return toJsonText();
    }
}

QString PlainValue::toJsonText(const JsonStyle& style) const
{
    QString out;
    writeJson(*this, style, 0, out);
    return out;
}

} // namespace ckpt
