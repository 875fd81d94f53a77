#include "model/objectchildren.h"

#include <QLocale>

#include <cmath>
#include <span>

namespace ckpt {
namespace {

bool isContainer(ObjKind k)
{
    return k == ObjKind::List || k == ObjKind::Tuple || k == ObjKind::Dict || k == ObjKind::Set || k == ObjKind::Object;
}

void appendDictItems(const ObjectGraph& g, std::span<const ObjId> items, std::vector<ObjectChild>& out)
{
    for (size_t i = 0; i + 1 < items.size(); i += 2)
        out.push_back({ keyText(g, items[i]), items[i + 1], false });
}

void appendSeq(std::span<const ObjId> items, std::vector<ObjectChild>& out, bool viaArgs = false)
{
    for (size_t i = 0; i < items.size(); ++i)
        out.push_back({ QString::number(i), items[i], viaArgs });
}

QString floatText(double v)
{
    // Python's repr: the shortest digits that read back as the same double, positional for exponents in
    // [-4, 16), scientific with a two-digit exponent otherwise.
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    if (std::isnan(v))
        return QStringLiteral("nan");
    const QString sci = QString::number(v, 'e', QLocale::FloatingPointShortest); // "-1.5e+16", "3e-04"
    const qsizetype e = sci.indexOf(QLatin1Char('e'));
    const bool negative = sci.startsWith(QLatin1Char('-'));
    QString digits = sci.mid(negative ? 1 : 0, e - (negative ? 1 : 0)).remove(QLatin1Char('.'));
    const int exponent = sci.mid(e + 1).toInt();
    QString out;
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out = QStringLiteral("0.") + QString(-exponent - 1, QLatin1Char('0')) + digits;
        } else {
            if (digits.size() <= exponent + 1)
                digits += QString(exponent + 1 - digits.size(), QLatin1Char('0'));
            out = digits.left(exponent + 1) + QLatin1Char('.')
                + (digits.size() > exponent + 1 ? digits.mid(exponent + 1) : QStringLiteral("0"));
        }
    } else {
        out = digits.left(1) + (digits.size() > 1 ? QLatin1Char('.') + digits.mid(1) : QString()) + QLatin1Char('e')
            + (exponent < 0 ? QLatin1Char('-') : QLatin1Char('+')) + QStringLiteral("%1").arg(std::abs(exponent), 2, 10, QLatin1Char('0'));
    }
    return negative ? QLatin1Char('-') + out : out;
}

QString bytesText(const QByteArray& b)
{
    QString s = QStringLiteral("b'");
    for (char c : b) {
        const auto u = uchar(c);
        if (u == '\\' || u == '\'')
            s += QStringLiteral("\\") + QLatin1Char(c);
        else if (u >= 0x20 && u < 0x7f)
            s += QLatin1Char(c);
        else
            s += QStringLiteral("\\x%1").arg(u, 2, 16, QLatin1Char('0'));
    }
    return s + QLatin1Char('\'');
}

QString countText(size_t n, const char* one, const char* many)
{
    return QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? one : many));
}

} // namespace

std::vector<ObjectChild> objectChildren(const ObjectGraph& g, ObjId id)
{
    std::vector<ObjectChild> out;
    if (!g.valid(id))
        return out;
    const PyObject& o = g.at(id);
    switch (o.kind) {
    case ObjKind::Dict:
        appendDictItems(g, o.items, out);
        break;
    case ObjKind::List:
    case ObjKind::Tuple:
    case ObjKind::Set:
        appendSeq(o.items, out);
        break;
    case ObjKind::Object: {
        // A dict subclass gets SETITEMs (even count of key/value), a list subclass APPENDs; we cannot tell them
        // apart without the class, so pairs are shown as entries only when the object looks dict-like.
        if (!o.items.empty())
            appendSeq(o.items, out);
        if (g.valid(o.state())) {
            const PyObject& st = g.at(o.state());
            if (st.kind == ObjKind::Dict) {
                appendDictItems(g, st.items, out);
            } else if (st.kind == ObjKind::Tuple && st.items.size() == 2) { // (state, slotstate)
                for (ObjId part : st.items)
                    if (g.valid(part) && g.at(part).kind == ObjKind::Dict)
                        appendDictItems(g, g.at(part).items, out);
            } else if (st.kind != ObjKind::None) {
                out.push_back({ QStringLiteral("(state)"), o.state(), false });
            }
        }
        if (g.valid(o.args) && !g.at(o.args).items.empty())
            appendSeq(g.at(o.args).items, out, true);
        break;
    }
    default:
        break;
    }
    return out;
}

size_t childCountBound(const ObjectGraph& g, ObjId id)
{
    if (!g.valid(id))
        return 0;
    const PyObject& o = g.at(id);
    switch (o.kind) {
    case ObjKind::Dict: return o.items.size() / 2;
    case ObjKind::List:
    case ObjKind::Tuple:
    case ObjKind::Set: return o.items.size();
    case ObjKind::Object: {
        size_t n = o.items.size() + (g.valid(o.args) ? g.at(o.args).items.size() : 0);
        if (g.valid(o.state())) {
            const PyObject& st = g.at(o.state());
            n += st.kind == ObjKind::Dict ? st.items.size() / 2 : 1;
            if (st.kind == ObjKind::Tuple)
                for (ObjId part : st.items)
                    n += g.valid(part) ? g.at(part).items.size() / 2 : 0;
        }
        return n;
    }
    default: return 0;
    }
}

bool hasChildren(const ObjectGraph& g, ObjId id)
{
    if (!g.valid(id))
        return false;
    const PyObject& o = g.at(id);
    if (!isContainer(o.kind))
        return false;
    if (o.kind != ObjKind::Object)
        return !o.items.empty();
    return !objectChildren(g, id).empty();
}

QString keyText(const ObjectGraph& g, ObjId key)
{
    if (!g.valid(key))
        return QStringLiteral("?");
    const PyObject& k = g.at(key);
    switch (k.kind) {
    case ObjKind::Str: return k.text;
    case ObjKind::Int: return QString::number(k.integer);
    default: return valueText(g, key, 80);
    }
}

QString typeText(const ObjectGraph& g, ObjId id)
{
    if (!g.valid(id))
        return QStringLiteral("?");
    const PyObject& o = g.at(id);
    switch (o.kind) {
    case ObjKind::None: return QStringLiteral("None");
    case ObjKind::Bool: return QStringLiteral("bool");
    case ObjKind::Int:
    case ObjKind::BigInt: return QStringLiteral("int");
    case ObjKind::Float: return QStringLiteral("float");
    case ObjKind::Complex: return QStringLiteral("complex");
    case ObjKind::Str: return QStringLiteral("str");
    case ObjKind::Bytes: return QStringLiteral("bytes");
    case ObjKind::List: return QStringLiteral("list");
    case ObjKind::Tuple: return o.text.isEmpty() ? QStringLiteral("tuple") : o.text;
    case ObjKind::Dict: return o.text.isEmpty() ? QStringLiteral("dict") : o.text;
    case ObjKind::Set: return o.text.isEmpty() ? QStringLiteral("set") : o.text;
    case ObjKind::Global: return QStringLiteral("global");
    case ObjKind::Object: return o.qualifiedName();
    case ObjKind::Tensor: return QStringLiteral("tensor");
    case ObjKind::Storage: return QStringLiteral("storage");
    case ObjKind::Device: return QStringLiteral("torch.device");
    case ObjKind::NumpyScalar: return o.text;
    case ObjKind::Mark: return QStringLiteral("mark");
    }
    return QStringLiteral("?");
}

QString valueText(const ObjectGraph& g, ObjId id, int maxChars)
{
    if (!g.valid(id))
        return QStringLiteral("?");
    const PyObject& o = g.at(id);
    QString s;
    switch (o.kind) {
    case ObjKind::None: s = QStringLiteral("None"); break;
    case ObjKind::Bool: s = o.boolean ? QStringLiteral("True") : QStringLiteral("False"); break;
    case ObjKind::Int: s = QString::number(o.integer); break;
    case ObjKind::BigInt:
    case ObjKind::Complex: s = o.text; break;
    case ObjKind::Float: s = floatText(o.real()); break;
    case ObjKind::Str: s = QLatin1Char('\'') + o.text + QLatin1Char('\''); break;
    case ObjKind::Bytes: s = bytesText(o.bytes().left(maxChars)); break;
    case ObjKind::Global: s = o.qualifiedName(); break;
    case ObjKind::Device: s = o.text; break;
    case ObjKind::NumpyScalar:
        s = o.text.startsWith(QLatin1String("numpy.float")) ? floatText(o.real())
            : o.text == QLatin1String("numpy.bool_")        ? (o.boolean ? QStringLiteral("True") : QStringLiteral("False"))
                                                            : QString::number(o.integer);
        break;
    case ObjKind::Tuple:
        if (o.text == QLatin1String("torch.Size") || o.items.size() <= 8) {
            QStringList parts;
            bool scalars = true;
            for (ObjId c : o.items) {
                const auto k = g.valid(c) ? g.at(c).kind : ObjKind::Mark;
                scalars = scalars && (k == ObjKind::Int || k == ObjKind::Float || k == ObjKind::Str || k == ObjKind::Bool || k == ObjKind::None);
                if (!scalars)
                    break;
                parts << valueText(g, c, 40);
            }
            if (scalars) {
                s = QLatin1Char('(') + parts.join(QStringLiteral(", ")) + (parts.size() == 1 ? QStringLiteral(",)") : QStringLiteral(")"));
                break;
            }
        }
        s = countText(o.items.size(), "item", "items");
        break;
    case ObjKind::List:
    case ObjKind::Set: s = countText(o.items.size(), "item", "items"); break;
    case ObjKind::Dict: s = countText(o.items.size() / 2, "entry", "entries"); break;
    case ObjKind::Object: {
        // The type column names the class; here the call it was made with, when that says something.
        const std::span<const ObjId> args = g.valid(o.args) ? std::span<const ObjId>(g.at(o.args).items) : std::span<const ObjId> {};
        if (args.size() == 1 && g.at(args[0]).kind == ObjKind::Str) {
            s = valueText(g, args[0], maxChars); // a str subclass (torch's TorchVersion): its value is what matters
        } else if (!args.empty() && args.size() <= 4) {
            QStringList parts;
            for (ObjId a : args)
                parts << valueText(g, a, 40);
            s = QStringLiteral("%1(%2)").arg(o.name(), parts.join(QStringLiteral(", ")));
        }
        break;
    }
    case ObjKind::Tensor: s = QStringLiteral("tensor #%1").arg(o.integer); break;
    case ObjKind::Storage: s = QStringLiteral("storage #%1").arg(o.integer); break;
    case ObjKind::Mark: s = QStringLiteral("<mark>"); break;
    }
    if (s.size() > maxChars)
        s = s.left(maxChars - 1) + QChar(0x2026);
    return s;
}

QString shapeText(const std::vector<std::int64_t>& v)
{
    QStringList parts;
    for (auto x : v)
        parts << QString::number(x);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

} // namespace ckpt
