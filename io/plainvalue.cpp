#include "io/plainvalue.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
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

QJsonValue PlainValue::toJson() const
{
    switch (kind) {
    case Kind::None: return QJsonValue(QJsonValue::Null);
    case Kind::Bool: return boolean;
    case Kind::Int: return qint64(integer);
    case Kind::Float:
        if (std::isnan(real))
            return QStringLiteral("nan");
        if (std::isinf(real))
            return real > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
        return real;
    case Kind::Str: return text;
    case Kind::Bytes: {
        QJsonArray a;
        for (char c : bytes)
            a.append(int(std::uint8_t(c)));
        return a;
    }
    case Kind::List:
    case Kind::Tuple: {
        QJsonArray a;
        for (const auto& v : items)
            a.append(v.toJson());
        return a;
    }
    case Kind::Dict:
    case Kind::StateDict: {
        QJsonObject o;
        for (size_t i = 0; i + 1 < items.size(); i += 2) {
            const PlainValue& k = items[i];
            const QString key = k.kind == Kind::Str ? k.text : k.toJsonText();
            o.insert(key, items[i + 1].toJson());
        }
        return o;
    }
    }
    return {};
}

QString PlainValue::toJsonText() const
{
    const QJsonValue v = toJson();
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    if (v.isArray())
        return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    // A scalar: the one element of an array, brackets taken off.
    const QByteArray a = QJsonDocument(QJsonArray { v }).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(a.mid(1, a.size() - 2));
}

} // namespace ckpt
