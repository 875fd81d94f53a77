#include "io/unpickler.h"

#include <QLocale>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <sys/mman.h>

namespace ckpt {
namespace {

// Thrown inside the interpreter only; unpickle() turns it into an Error value.
struct PickleFailure {
    ErrorKind kind;
    QString what;
};

[[noreturn]] void fail(QString what, ErrorKind kind = ErrorKind::BadPickle)
{
    throw PickleFailure { kind, std::move(what) };
}

enum : std::int64_t { kCallOther = 0, kCallRebuildTensor = 1, kCallOrderedDict = 2 };

bool isBuiltinsModule(const QString& m)
{
    return m == QLatin1String("builtins") || m == QLatin1String("__builtin__");
}

class Interpreter {
public:
    Interpreter(std::span<const std::uint8_t> data, UnpickleTarget& target, const PersistentLoad& persistentLoad,
        const QString& record, const UnpickleLimits& limits)
        : m_begin(data.data())
        , m_p(data.data())
        , m_end(data.data() + data.size())
        , m_t(target)
        , m_g(target.graph)
        , m_persistentLoad(persistentLoad)
        , m_record(record)
        , m_limits(limits)
        , m_copyBudgetTotal(4 * data.size() + kMinCopyBudget)
        , m_copyBudget(m_copyBudgetTotal)
    {
    }

    UnpickleResult run();
    qint64 offset() const { return qint64(m_opStart - m_begin); }

private:
    // ---- input
    void need(size_t n) const
    {
        if (size_t(m_end - m_p) < n)
            fail(QStringLiteral("pickle ends inside an opcode (needs %1 more bytes)").arg(n), ErrorKind::Truncated);
    }
    std::uint8_t u8()
    {
        need(1);
        return *m_p++;
    }
    std::uint64_t uLE(int n)
    {
        need(size_t(n));
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= std::uint64_t(m_p[i]) << (8 * i);
        m_p += n;
        return v;
    }
    QByteArray take(std::uint64_t n)
    {
        if (n > std::uint64_t(m_end - m_p))
            fail(QStringLiteral("declared length %1 exceeds the %2 bytes left in the pickle").arg(n).arg(m_end - m_p),
                ErrorKind::Truncated);
        QByteArray b(reinterpret_cast<const char*>(m_p), qsizetype(n));
        m_p += n;
        return b;
    }
    // Text of `n` bytes decoded in place, without an intermediate QByteArray.
    QString takeUtf8(std::uint64_t n)
    {
        if (n > std::uint64_t(m_end - m_p))
            fail(QStringLiteral("declared length %1 exceeds the %2 bytes left in the pickle").arg(n).arg(m_end - m_p),
                ErrorKind::Truncated);
        QString s = QString::fromUtf8(reinterpret_cast<const char*>(m_p), qsizetype(n));
        m_p += n;
        return s;
    }
    QByteArray line()
    {
        const auto* nl = static_cast<const std::uint8_t*>(std::memchr(m_p, '\n', size_t(m_end - m_p)));
        if (!nl)
            fail(QStringLiteral("text opcode without a terminating newline"), ErrorKind::Truncated);
        QByteArray b(reinterpret_cast<const char*>(m_p), qsizetype(nl - m_p));
        m_p = nl + 1;
        if (b.endsWith('\r'))
            b.chop(1);
        return b;
    }

    // ---- arena and stack
    // Constructors that copy an argument (torch.Size, OrderedDict, set, BUILD merges, ...) can be called again and
    // again on one memoized object: bound the total they copy by the size of the pickle, not by its call count.
    static constexpr size_t kMinCopyBudget = 16u * 1024 * 1024;
    void charge(size_t n)
    {
        if (n > m_copyBudget)
            fail(QStringLiteral("constructors copy more than %1 items from memoized arguments: a pickle bomb")
                     .arg(m_copyBudgetTotal),
                ErrorKind::LimitExceeded);
        m_copyBudget -= n;
    }
    ObjId add(PyObject o)
    {
        if (m_g.size() >= m_limits.maxObjects)
            fail(QStringLiteral("more than %1 objects").arg(m_limits.maxObjects), ErrorKind::LimitExceeded);
        return m_g.add(std::move(o));
    }
    void push(ObjId id)
    {
        if (m_stack.size() >= m_limits.maxStack)
            fail(QStringLiteral("stack deeper than %1 entries").arg(m_limits.maxStack), ErrorKind::LimitExceeded);
        m_stack.push_back(id);
    }
    ObjId pop()
    {
        if (m_stack.size() <= markBase())
            fail(QStringLiteral("stack underflow"));
        ObjId id = m_stack.back();
        m_stack.pop_back();
        return id;
    }
    ObjId& top()
    {
        if (m_stack.size() <= markBase())
            fail(QStringLiteral("stack underflow"));
        return m_stack.back();
    }
    size_t markBase() const { return m_marks.empty() ? 0 : m_marks.back(); }
    ObjList popMark()
    {
        if (m_marks.empty())
            fail(QStringLiteral("no MARK on the stack"));
        size_t base = m_marks.back();
        m_marks.pop_back();
        ObjList items(std::span<const ObjId>(m_stack.data() + base, m_stack.size() - base));
        m_stack.resize(base);
        return items;
    }

    ObjId makeInt(std::int64_t v)
    {
        if (v >= -1 && v < 256) {
            auto& slot = m_smallInts[size_t(v + 1)];
            if (slot == kNoObject)
                slot = add(PyObject { .kind = ObjKind::Int, .integer = v });
            return slot;
        }
        return add(PyObject { .kind = ObjKind::Int, .integer = v });
    }
    ObjId makeBool(bool b)
    {
        ObjId& slot = b ? m_true : m_false;
        if (slot == kNoObject)
            slot = add(PyObject { .kind = ObjKind::Bool, .boolean = b, .integer = b ? 1 : 0 });
        return slot;
    }
    ObjId makeNone()
    {
        if (m_none == kNoObject)
            m_none = add(PyObject { .kind = ObjKind::None });
        return m_none;
    }
    ObjId emptyTuple()
    {
        // Immutable, and one per tensor in every torch.save file (the backward-hooks OrderedDict's args).
        if (m_emptyTuple == kNoObject)
            m_emptyTuple = add(PyObject { .kind = ObjKind::Tuple });
        return m_emptyTuple;
    }
    ObjId makeFloat(double v)
    {
        PyObject o { .kind = ObjKind::Float };
        o.setReal(v);
        return add(std::move(o));
    }
    ObjId makeStr(QString s) { return add(PyObject { .kind = ObjKind::Str, .text = std::move(s) }); }
    ObjId makeBytes(QByteArray b)
    {
        PyObject o { .kind = ObjKind::Bytes };
        o.setBytes(std::move(b));
        return add(std::move(o));
    }
    ObjId makeSeq(ObjKind kind, ObjList items) { return add(PyObject { .kind = kind, .items = std::move(items) }); }
    ObjId makeLong(const QByteArray& le);
    ObjId makeGlobal(const QString& module, const QString& name, const char* opcode);

    // Picklers number memo slots densely from 0, so a vector serves; a hostile sparse index falls back to a map
    // instead of allocating up to it.
    void memoPut(std::uint64_t idx)
    {
        if (idx > std::numeric_limits<std::uint32_t>::max())
            fail(QStringLiteral("memo index %1 out of range").arg(idx));
        const ObjId value = top();
        if (idx == m_memoDense.size())
            m_memoDense.push_back(kNoObject);
        else if (idx > m_memoDense.size() && idx < m_memoDense.size() + 4096 && idx < size_t(m_p - m_begin))
            m_memoDense.resize(size_t(idx) + 1, kNoObject); // a PUT takes 2+ bytes: real indexes stay below the offset
        if (idx < m_memoDense.size()) {
            m_memoCount += m_memoDense[idx] == kNoObject;
            m_memoDense[idx] = value;
        } else {
            m_memoCount += m_memoSparse.insert_or_assign(std::uint32_t(idx), value).second;
        }
    }
    ObjId memoGet(std::uint64_t idx)
    {
        if (idx < m_memoDense.size() && m_memoDense[idx] != kNoObject)
            return m_memoDense[idx];
        auto it = idx <= std::numeric_limits<std::uint32_t>::max() ? m_memoSparse.find(std::uint32_t(idx)) : m_memoSparse.end();
        if (it == m_memoSparse.end())
            fail(QStringLiteral("memo key %1 was never stored").arg(idx));
        return it->second;
    }

    // ---- interpretation of known constructors
    ObjId call(ObjId callable, ObjId args, bool viaNewObj);
    ObjId opaqueCall(ObjId callable, ObjId args);
    ObjId rebuildTensor(const QString& fn, std::span<const ObjId> args);
    ObjId numpyScalar(const std::vector<ObjId>& args);
    void build(ObjId obj, ObjId state);
    void setItems(ObjId target, std::span<const ObjId> kv);
    void appendItems(ObjId target, std::span<const ObjId> values);
    // A container grows by SETITEMS/APPENDS any number of times; its item count is bounded like the arena.
    void appendChecked(ObjList& items, std::span<const ObjId> more)
    {
        if (items.size() + more.size() > m_limits.maxObjects)
            fail(QStringLiteral("a container with more than %1 items").arg(m_limits.maxObjects), ErrorKind::LimitExceeded);
        items.append(more);
    }

    bool intValue(ObjId id, std::int64_t& out) const
    {
        const auto& o = m_g.at(id);
        if (o.kind == ObjKind::Int || o.kind == ObjKind::Bool) {
            out = o.integer;
            return true;
        }
        return false;
    }
    bool intTuple(ObjId id, std::vector<std::int64_t>& out) const
    {
        const auto& o = m_g.at(id);
        if (o.kind != ObjKind::Tuple && o.kind != ObjKind::List)
            return false;
        out.clear();
        out.reserve(o.items.size());
        for (ObjId it : o.items) {
            std::int64_t v;
            if (!intValue(it, v))
                return false;
            out.push_back(v);
        }
        return true;
    }
    const ObjList& tupleItems(ObjId id) const
    {
        static const ObjList empty {};
        if (!m_g.valid(id)) // e.g. the args of an object made by copyreg._reconstructor
            return empty;
        const auto& o = m_g.at(id);
        return (o.kind == ObjKind::Tuple || o.kind == ObjKind::List) ? o.items : empty;
    }

    const std::uint8_t* m_begin;
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
    const std::uint8_t* m_opStart = nullptr;
    UnpickleTarget& m_t;
    ObjectGraph& m_g;
    const PersistentLoad& m_persistentLoad;
    QString m_record;
    UnpickleLimits m_limits;
    size_t m_copyBudgetTotal;
    size_t m_copyBudget;
    int m_callDepth = 0;
    std::vector<ObjId> m_stack;
    std::vector<size_t> m_marks;
    std::vector<ObjId> m_memoDense;
    std::unordered_map<std::uint32_t, ObjId> m_memoSparse;
    std::uint64_t m_memoCount = 0; // distinct slots stored: MEMOIZE uses len(memo) as its index
    std::vector<ObjId> m_smallInts = std::vector<ObjId>(257, kNoObject);
    ObjId m_none = kNoObject, m_true = kNoObject, m_false = kNoObject, m_emptyTuple = kNoObject;
};

QString decodeText(const QByteArray& b)
{
    // Pickled py2 str and py3 str are UTF-8 in practice; fall back to Latin-1 as Python's 'latin1' loads would.
    QString s = QString::fromUtf8(b);
    if (s.contains(QChar::ReplacementCharacter) && !b.contains("\xef\xbf\xbd"))
        return QString::fromLatin1(b);
    return s;
}

// Python string literal (protocol 0 STRING): quotes plus backslash escapes.
QByteArray unescapeStringLiteral(QByteArray s)
{
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
        s = s.mid(1, s.size() - 2);
    else
        fail(QStringLiteral("STRING argument is not quoted"));
    QByteArray out;
    out.reserve(s.size());
    for (qsizetype i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c != '\\' || i + 1 >= s.size()) {
            out += c;
            continue;
        }
        char e = s[++i];
        switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case 'x':
            if (i + 2 < s.size()) {
                bool ok = false;
                out += char(s.mid(i + 1, 2).toInt(&ok, 16));
                if (!ok)
                    fail(QStringLiteral("bad \\x escape in STRING"));
                i += 2;
            } else {
                fail(QStringLiteral("bad \\x escape in STRING"));
            }
            break;
        default: out += e; break;
        }
    }
    return out;
}

// protocol 0 UNICODE: raw-unicode-escape (\uXXXX and \UXXXXXXXX, everything else Latin-1).
QString decodeRawUnicodeEscape(const QByteArray& s)
{
    QString out;
    for (qsizetype i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
            int len = s[i + 1] == 'u' ? 4 : 8;
            if (i + 1 + len < s.size()) {
                bool ok = false;
                uint cp = s.mid(i + 2, len).toUInt(&ok, 16);
                if (ok && s.mid(i + 2, len).size() == len) {
                    char32_t c = cp;
                    out += QString::fromUcs4(&c, 1);
                    i += 1 + len;
                    continue;
                }
            }
        }
        out += QChar(ushort(uchar(s[i])));
    }
    return out;
}

ObjId Interpreter::makeLong(const QByteArray& le)
{
    // Two's complement little-endian, as LONG1/LONG4 encode it.
    if (le.isEmpty())
        return makeInt(0);
    if (le.size() <= 8) {
        std::uint64_t v = 0;
        for (qsizetype i = 0; i < le.size(); ++i)
            v |= std::uint64_t(uchar(le[i])) << (8 * i);
        if (le.size() < 8 && (uchar(le.back()) & 0x80))
            v |= ~std::uint64_t(0) << (8 * le.size());
        return makeInt(std::int64_t(v));
    }
    // Beyond int64: keep the digits as hex of the magnitude; such values never describe tensors.
    bool negative = uchar(le.back()) & 0x80;
    QByteArray mag = le;
    if (negative) {
        int carry = 1;
        for (auto& ch : mag) {
            int v = (~uchar(ch) & 0xff) + carry;
            ch = char(v & 0xff);
            carry = v >> 8;
        }
    }
    QByteArray hex;
    for (qsizetype i = mag.size(); i-- > 0;)
        hex += QByteArray::number(uchar(mag[i]) | 0x100, 16).mid(1);
    while (hex.size() > 1 && hex.front() == '0')
        hex.remove(0, 1);
    return add(PyObject { .kind = ObjKind::BigInt,
        .text = (negative ? QStringLiteral("-0x") : QStringLiteral("0x")) + QString::fromLatin1(hex) });
}

ObjId Interpreter::makeGlobal(const QString& module, const QString& name, const char* opcode)
{
    m_t.imports.push_back(ImportedGlobal { module, name, QString::fromLatin1(opcode), m_record, offset() });
    // The two calls every torch.save file makes once per tensor are recognised here, once per GLOBAL opcode,
    // instead of by string comparisons at every REDUCE.
    std::int64_t hot = kCallOther;
    if (module == QLatin1String("torch._utils")
        && (name == QLatin1String("_rebuild_tensor_v2") || name == QLatin1String("_rebuild_tensor_v3")
            || name == QLatin1String("_rebuild_tensor")))
        hot = kCallRebuildTensor;
    else if (module == QLatin1String("collections") && name == QLatin1String("OrderedDict"))
        hot = kCallOrderedDict;
    PyObject g { .kind = ObjKind::Global, .integer = hot, .text = module };
    g.setName(name);
    return add(std::move(g));
}

ObjId Interpreter::opaqueCall(ObjId callable, ObjId args)
{
    const auto& c = m_g.at(callable);
    PyObject o { .kind = ObjKind::Object, .args = args };
    if (c.kind == ObjKind::Global) {
        o.text = c.text;
        o.setName(c.name());
    } else {
        o.text = QStringLiteral("<call of a computed object>");
    }
    return add(std::move(o));
}

// `fn` lives in a Global node's out-of-line fields, which stay where they are when the arena grows.
ObjId Interpreter::rebuildTensor(const QString& fn, std::span<const ObjId> a)
{
    // Literals: a copy per tensor costs no reference count (60,000 atomic updates on one string otherwise).
    static const QString kV1 = QStringLiteral("_rebuild_tensor"), kV2 = QStringLiteral("_rebuild_tensor_v2"),
                         kV3 = QStringLiteral("_rebuild_tensor_v3");
    const bool v3 = fn == kV3;
    const bool v1 = fn == kV1;
    TensorInfo t;
    t.rebuild = fn == kV2 ? kV2 : v3 ? kV3 : v1 ? kV1 : fn;
    const size_t needed = v1 ? 4 : (v3 ? 7 : 5);
    auto broken = [&](QString why) {
        t.error = why;
        m_t.tensors.push_back(std::move(t));
        return add(PyObject { .kind = ObjKind::Tensor, .integer = std::int64_t(m_t.tensors.size() - 1) });
    };
    if (a.size() < needed)
        return broken(QStringLiteral("%1 called with %2 arguments, expected at least %3").arg(fn).arg(a.size()).arg(needed));
    const auto& st = m_g.at(a[0]);
    if (st.kind != ObjKind::Storage)
        return broken(QStringLiteral("first argument of %1 is not a storage").arg(fn));
    t.storage = int(st.integer);
    t.dtype = m_t.storages[size_t(t.storage)].dtype;
    if (!intValue(a[1], t.storageOffset))
        return broken(QStringLiteral("storage offset is not an integer"));
    if (const size_t dims = std::max(tupleItems(a[2]).size(), tupleItems(a[3]).size()); dims > m_limits.maxTensorDims)
        return broken(QStringLiteral("%1 dimensions").arg(dims));
    if (!intTuple(a[2], t.shape) || !intTuple(a[3], t.stride))
        return broken(QStringLiteral("size or stride is not a tuple of integers"));
    if (t.shape.size() != t.stride.size())
        return broken(QStringLiteral("size has %1 dimensions but stride has %2").arg(t.shape.size()).arg(t.stride.size()));
    if (t.shape.size() > m_limits.maxTensorDims)
        return broken(QStringLiteral("%1 dimensions").arg(t.shape.size()));
    if (!v1) {
        std::int64_t rg = 0;
        intValue(a[4], rg);
        t.requiresGrad = rg != 0;
    }
    if (v3) {
        const auto& d = m_g.at(a[6]);
        auto dt = d.kind == ObjKind::Global ? dtypeFromTorchName(d.name()) : std::nullopt;
        if (!dt)
            return broken(QStringLiteral("_rebuild_tensor_v3 dtype argument is not a torch dtype"));
        t.dtype = *dt;
    }
    m_t.tensors.push_back(std::move(t));
    return add(PyObject { .kind = ObjKind::Tensor, .integer = std::int64_t(m_t.tensors.size() - 1) });
}

ObjId Interpreter::numpyScalar(const std::vector<ObjId>& a)
{
    // numpy.core.multiarray.scalar(dtype, bytes): dtype is numpy.dtype('f8', ...) with byte order in its BUILD state.
    if (a.size() < 2)
        return kNoObject;
    const auto& dt = m_g.at(a[0]);
    const auto& raw = m_g.at(a[1]);
    if (dt.kind != ObjKind::Object || dt.name() != QLatin1String("dtype") || raw.kind != ObjKind::Bytes)
        return kNoObject;
    const auto& dargs = tupleItems(dt.args);
    if (dargs.empty() || m_g.at(dargs[0]).kind != ObjKind::Str)
        return kNoObject;
    const QString code = m_g.at(dargs[0]).text; // "f8", "i8", "u1", "b1", "f4" ...
    bool bigEndian = false;
    if (dt.state() != kNoObject) {
        const auto& st = tupleItems(dt.state());
        if (st.size() > 1 && m_g.at(st[1]).kind == ObjKind::Str)
            bigEndian = m_g.at(st[1]).text == QLatin1String(">");
    }
    if (code.size() < 2)
        return kNoObject;
    const QChar kind = code[0];
    const int size = code.mid(1).toInt();
    if (raw.bytes().size() != size || (size != 1 && size != 2 && size != 4 && size != 8))
        return kNoObject;
    std::uint64_t bits = 0;
    for (int i = 0; i < size; ++i) {
        int src = bigEndian ? size - 1 - i : i;
        bits |= std::uint64_t(uchar(raw.bytes()[src])) << (8 * i);
    }
    PyObject o { .kind = ObjKind::NumpyScalar };
    double real = 0;
    auto typeName = [&](const char* base) { return QStringLiteral("numpy.%1%2").arg(QLatin1String(base)).arg(size * 8); };
    if (kind == QLatin1Char('f')) {
        o.text = typeName("float");
        if (size == 8) {
            std::memcpy(&real, &bits, 8);
        } else if (size == 4) {
            float f;
            auto b32 = std::uint32_t(bits);
            std::memcpy(&f, &b32, 4);
            real = f;
        } else if (size == 2) {
            // IEEE half to double
            const int sign = (bits >> 15) & 1, exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
            double v = exp == 0 ? std::ldexp(mant, -24)
                : exp == 31     ? (mant ? std::nan("") : INFINITY)
                                : std::ldexp(mant + 1024, exp - 25);
            real = sign ? -v : v;
        } else {
            return kNoObject;
        }
        // Converting NaN, inf or |x| >= 2^63 to an integer is undefined: keep 0 there (the value lives in `real`).
        o.integer = std::isfinite(real) && std::fabs(real) < 9.2e18 ? std::int64_t(real) : 0;
    } else if (kind == QLatin1Char('i')) {
        o.text = typeName("int");
        if (size < 8 && (bits >> (8 * size - 1)) & 1)
            bits |= ~std::uint64_t(0) << (8 * size);
        o.integer = std::int64_t(bits);
        real = double(o.integer);
    } else if (kind == QLatin1Char('u')) {
        o.text = typeName("uint");
        o.integer = std::int64_t(bits);
        real = double(bits);
    } else if (kind == QLatin1Char('b') && size == 1) {
        o.text = QStringLiteral("numpy.bool_");
        o.boolean = bits != 0;
        o.integer = o.boolean;
        real = double(o.integer);
    } else {
        return kNoObject;
    }
    o.setReal(real);
    return add(std::move(o));
}

ObjId Interpreter::call(ObjId callable, ObjId args, bool viaNewObj)
{
    const auto& c = m_g.at(callable);
    if (c.kind != ObjKind::Global)
        return opaqueCall(callable, args);
    if (c.integer == kCallRebuildTensor) {
        const auto& items = tupleItems(args);
        std::array<ObjId, 8> local {}; // rebuildTensor adds to the arena, which would invalidate `items`
        const size_t n = std::min(items.size(), local.size());
        std::copy_n(items.begin(), n, local.begin());
        const ObjId tensor = rebuildTensor(c.name(), std::span<const ObjId>(local.data(), n));
        // Kept so the safety report can find calls hidden in the arguments (e.g. backward hooks); the tree does
        // not show them.
        m_g.at(tensor).args = args;
        return tensor;
    }
    if (c.integer == kCallOrderedDict && tupleItems(args).empty())
        return add(PyObject { .kind = ObjKind::Dict, .text = QStringLiteral("collections.OrderedDict") });
    const QString module = c.text, name = c.name();
    // Known constructors look at their first few arguments only; copying a huge argument tuple on every call
    // through the memo would cost time quadratic in the pickle size.
    const auto& all = tupleItems(args);
    const std::vector<ObjId> a(all.begin(), all.begin() + qsizetype(std::min<size_t>(all.size(), 8)));

    if (module == QLatin1String("torch._utils")) {
        if (name == QLatin1String("_rebuild_tensor_v2") || name == QLatin1String("_rebuild_tensor_v3")
            || name == QLatin1String("_rebuild_tensor"))
            return rebuildTensor(name, std::span<const ObjId>(a));
        if ((name == QLatin1String("_rebuild_parameter") || name == QLatin1String("_rebuild_parameter_with_state"))
            && a.size() >= 2 && m_g.at(a[0]).kind == ObjKind::Tensor) {
            auto& t = m_t.tensors[size_t(m_g.at(a[0]).integer)];
            t.parameter = true;
            std::int64_t rg = 0;
            intValue(a[1], rg);
            t.requiresGrad = rg != 0;
            return a[0];
        }
    }
    if (module == QLatin1String("torch._tensor") && name == QLatin1String("_rebuild_from_type_v2") && a.size() >= 3
        && m_callDepth < 8) { // torch nests it once; a hostile pickle nests it a million deep
        ++m_callDepth;
        ObjId inner = call(a[0], a[2], false);
        --m_callDepth;
        const auto& type = m_g.at(a[1]);
        if (m_g.at(inner).kind == ObjKind::Tensor && type.kind == ObjKind::Global
            && type.name() == QLatin1String("Parameter"))
            m_t.tensors[size_t(m_g.at(inner).integer)].parameter = true;
        return inner;
    }
    if (module == QLatin1String("torch.nn.parameter") && name == QLatin1String("Parameter") && !a.empty()
        && m_g.at(a[0]).kind == ObjKind::Tensor) {
        auto& t = m_t.tensors[size_t(m_g.at(a[0]).integer)];
        t.parameter = true;
        std::int64_t rg = 1;
        if (a.size() > 1)
            intValue(a[1], rg);
        t.requiresGrad = rg != 0;
        return a[0];
    }
    if (module == QLatin1String("collections") && name == QLatin1String("OrderedDict")) {
        PyObject d { .kind = ObjKind::Dict, .text = QStringLiteral("collections.OrderedDict") };
        if (!a.empty()) {
            charge(2 * tupleItems(a[0]).size());
            for (ObjId pair : tupleItems(a[0])) {
                const auto& kv = tupleItems(pair);
                if (kv.size() == 2) {
                    d.items.push_back(kv[0]);
                    d.items.push_back(kv[1]);
                }
            }
        }
        return add(std::move(d));
    }
    if (module == QLatin1String("torch") && name == QLatin1String("Size") && !a.empty()
        && m_g.at(a[0]).kind == ObjKind::Tuple) {
        charge(m_g.at(a[0]).items.size());
        PyObject s { .kind = ObjKind::Tuple, .text = QStringLiteral("torch.Size"), .items = m_g.at(a[0]).items };
        return add(std::move(s));
    }
    if (module == QLatin1String("torch") && name == QLatin1String("device") && !a.empty()
        && m_g.at(a[0]).kind == ObjKind::Str) {
        QString dev = m_g.at(a[0]).text;
        charge(size_t(dev.size()));
        std::int64_t index = 0;
        if (a.size() > 1 && intValue(a[1], index))
            dev += QLatin1Char(':') + QString::number(index);
        return add(PyObject { .kind = ObjKind::Device, .text = dev });
    }
    if (isBuiltinsModule(module)) {
        if ((name == QLatin1String("set") || name == QLatin1String("frozenset"))) {
            PyObject s { .kind = ObjKind::Set };
            if (name == QLatin1String("frozenset"))
                s.text = QStringLiteral("frozenset");
            if (!a.empty()) {
                charge(tupleItems(a[0]).size());
                s.items = tupleItems(a[0]);
            }
            return add(std::move(s));
        }
        if (name == QLatin1String("bytearray") && !a.empty() && m_g.at(a[0]).kind == ObjKind::Bytes)
            return makeBytes(m_g.at(a[0]).bytes());
        if (name == QLatin1String("complex") && a.size() == 2) {
            const auto& re = m_g.at(a[0]);
            const auto& im = m_g.at(a[1]);
            auto num = [](const PyObject& o) { return o.kind == ObjKind::Float ? o.real() : double(o.integer); };
            PyObject z { .kind = ObjKind::Complex,
                .text = QStringLiteral("(%1%2%3j)").arg(num(re)).arg(num(im) < 0 ? QString() : QStringLiteral("+")).arg(num(im)) };
            z.setReal(num(re));
            return add(std::move(z));
        }
    }
    if (module == QLatin1String("_codecs") && name == QLatin1String("encode") && !a.empty()
        && m_g.at(a[0]).kind == ObjKind::Str) {
        // The only encoding pickle itself uses here is latin1 (bytes pickled at protocol < 3).
        charge(size_t(m_g.at(a[0]).text.size()));
        return makeBytes(m_g.at(a[0]).text.toLatin1());
    }
    if ((module == QLatin1String("numpy.core.multiarray") || module == QLatin1String("numpy._core.multiarray"))
        && name == QLatin1String("scalar")) {
        ObjId s = numpyScalar(a);
        if (s != kNoObject)
            return s;
    }
    if ((module == QLatin1String("copy_reg") || module == QLatin1String("copyreg"))
        && name == QLatin1String("_reconstructor") && !a.empty() && m_g.at(a[0]).kind == ObjKind::Global) {
        const auto& cls = m_g.at(a[0]);
        PyObject o { .kind = ObjKind::Object, .text = cls.text };
        o.setName(cls.name());
        return add(std::move(o));
    }
    Q_UNUSED(viaNewObj);
    return opaqueCall(callable, args);
}

void Interpreter::build(ObjId objId, ObjId state)
{
    auto& o = m_g.at(objId);
    switch (o.kind) {
    case ObjKind::Tensor:
    case ObjKind::Storage:
        return; // tensor state (hooks, python attributes) carries no data we show
    case ObjKind::Object:
        if (o.state() == state)
            return; // __dict__.update(__dict__) changes nothing
        if (o.state() != kNoObject && m_g.at(o.state()).kind == ObjKind::Dict && m_g.at(state).kind == ObjKind::Dict) {
            charge(m_g.at(state).items.size());
            const ObjList extra = m_g.at(state).items;
            appendChecked(m_g.at(o.state()).items, extra);
        } else {
            o.setState(state);
        }
        return;
    default:
        o.setState(state);
        return;
    }
}

void Interpreter::setItems(ObjId target, std::span<const ObjId> kv)
{
    if (kv.size() % 2)
        fail(QStringLiteral("SETITEMS with an odd number of stack items"));
    auto& o = m_g.at(target);
    if (o.kind != ObjKind::Dict && o.kind != ObjKind::Object)
        fail(QStringLiteral("SETITEM on an object that is not a dict"));
    appendChecked(o.items, kv);
}

void Interpreter::appendItems(ObjId target, std::span<const ObjId> values)
{
    auto& o = m_g.at(target);
    if (o.kind != ObjKind::List && o.kind != ObjKind::Object && o.kind != ObjKind::Set)
        fail(QStringLiteral("APPEND on an object that is not a list"));
    appendChecked(o.items, values);
}

UnpickleResult Interpreter::run()
{
    for (;;) {
        m_opStart = m_p;
        if (m_p == m_end)
            fail(QStringLiteral("the pickle ends without a STOP opcode"), ErrorKind::Truncated);
        const std::uint8_t op = u8();
        switch (op) {
        case 0x80: { // PROTO
            int proto = u8();
            if (proto > 5)
                fail(QStringLiteral("unsupported pickle protocol %1").arg(proto), ErrorKind::Unsupported);
            break;
        }
        case 0x95: { // FRAME: a length prefix only; the frame must lie inside the data
            std::uint64_t n = uLE(8);
            if (n > std::uint64_t(m_end - m_p))
                fail(QStringLiteral("frame of %1 bytes runs past the end of the pickle").arg(n), ErrorKind::Truncated);
            break;
        }
        case '.': { // STOP
            ObjId root = pop();
            return UnpickleResult { root, size_t(m_p - m_begin) };
        }
        case '(': // MARK
            if (m_marks.size() >= m_limits.maxMarks)
                fail(QStringLiteral("more than %1 nested MARKs").arg(m_limits.maxMarks), ErrorKind::LimitExceeded);
            m_marks.push_back(m_stack.size());
            break;
        case '0': pop(); break;                       // POP
        case '1': popMark(); break;                   // POP_MARK
        case '2': push(top()); break;                 // DUP
        case 'N': push(makeNone()); break;            // NONE
        case 0x88: push(makeBool(true)); break;       // NEWTRUE
        case 0x89: push(makeBool(false)); break;      // NEWFALSE
        case 'J': push(makeInt(std::int32_t(uLE(4)))); break; // BININT
        case 'K': push(makeInt(std::int64_t(uLE(1)))); break; // BININT1
        case 'M': push(makeInt(std::int64_t(uLE(2)))); break; // BININT2
        case 'I': { // INT (text); I00/I01 are False/True
            QByteArray l = line();
            if (l == "00" || l == "01") {
                push(makeBool(l == "01"));
                break;
            }
            bool ok = false;
            qlonglong v = l.toLongLong(&ok);
            if (!ok)
                fail(QStringLiteral("INT argument '%1' is not a number").arg(QString::fromLatin1(l.left(40))));
            push(makeInt(v));
            break;
        }
        case 'L': { // LONG (text)
            QByteArray l = line();
            if (l.endsWith('L'))
                l.chop(1);
            bool ok = false;
            qlonglong v = l.toLongLong(&ok);
            if (ok)
                push(makeInt(v));
            else if (!l.isEmpty() && l.size() < 10000 && (l[0] == '-' || (l[0] >= '0' && l[0] <= '9')))
                push(add(PyObject { .kind = ObjKind::BigInt, .text = QString::fromLatin1(l) }));
            else
                fail(QStringLiteral("LONG argument is not a number"));
            break;
        }
        case 0x8a: push(makeLong(take(uLE(1)))); break; // LONG1
        case 0x8b: { // LONG4
            std::int64_t n = std::int32_t(uLE(4));
            if (n < 0)
                fail(QStringLiteral("LONG4 with negative length"));
            push(makeLong(take(std::uint64_t(n))));
            break;
        }
        case 'F': { // FLOAT (text)
            bool ok = false;
            double v = line().toDouble(&ok);
            if (!ok)
                fail(QStringLiteral("FLOAT argument is not a number"));
            push(makeFloat(v));
            break;
        }
        case 'G': { // BINFLOAT, big-endian
            need(8);
            std::uint64_t bits = 0;
            for (int i = 0; i < 8; ++i)
                bits = (bits << 8) | m_p[i];
            m_p += 8;
            double v;
            std::memcpy(&v, &bits, 8);
            push(makeFloat(v));
            break;
        }
        case 'S': push(makeStr(decodeText(unescapeStringLiteral(line())))); break; // STRING
        case 'T': { // BINSTRING
            std::int64_t n = std::int32_t(uLE(4));
            if (n < 0)
                fail(QStringLiteral("BINSTRING with negative length"));
            push(makeStr(decodeText(take(std::uint64_t(n)))));
            break;
        }
        case 'U': push(makeStr(decodeText(take(uLE(1))))); break;            // SHORT_BINSTRING
        case 'V': push(makeStr(decodeRawUnicodeEscape(line()))); break;     // UNICODE
        case 'X': push(makeStr(takeUtf8(uLE(4)))); break;     // BINUNICODE
        case 0x8c: push(makeStr(takeUtf8(uLE(1)))); break;  // SHORT_BINUNICODE
        case 0x8d: push(makeStr(takeUtf8(uLE(8)))); break;  // BINUNICODE8
        case 'B': push(makeBytes(take(uLE(4)))); break;                      // BINBYTES
        case 'C': push(makeBytes(take(uLE(1)))); break;                      // SHORT_BINBYTES
        case 0x8e: push(makeBytes(take(uLE(8)))); break;                   // BINBYTES8
        case 0x96: push(makeBytes(take(uLE(8)))); break;                   // BYTEARRAY8
        case 0x97: fail(QStringLiteral("NEXT_BUFFER: out-of-band buffers are not part of a checkpoint"), ErrorKind::Unsupported);
        case 0x98: break;                                                    // READONLY_BUFFER
        case ')': push(emptyTuple()); break;                                 // EMPTY_TUPLE
        case 't': push(makeSeq(ObjKind::Tuple, popMark())); break;           // TUPLE
        case 0x85: { // TUPLE1
            ObjId a = pop();
            push(makeSeq(ObjKind::Tuple, { a }));
            break;
        }
        case 0x86: { // TUPLE2
            ObjId b = pop(), a = pop();
            push(makeSeq(ObjKind::Tuple, { a, b }));
            break;
        }
        case 0x87: { // TUPLE3
            ObjId c = pop(), b = pop(), a = pop();
            push(makeSeq(ObjKind::Tuple, { a, b, c }));
            break;
        }
        case ']': push(makeSeq(ObjKind::List, {})); break;      // EMPTY_LIST
        case 'l': push(makeSeq(ObjKind::List, popMark())); break; // LIST
        case '}': push(makeSeq(ObjKind::Dict, {})); break;      // EMPTY_DICT
        case 'd': {                                             // DICT
            auto kv = popMark();
            if (kv.size() % 2)
                fail(QStringLiteral("DICT with an odd number of items"));
            push(makeSeq(ObjKind::Dict, std::move(kv)));
            break;
        }
        case 0x8f: push(makeSeq(ObjKind::Set, {})); break; // EMPTY_SET
        case 0x91: {                                       // FROZENSET
            ObjId s = makeSeq(ObjKind::Set, popMark());
            m_g.at(s).text = QStringLiteral("frozenset");
            push(s);
            break;
        }
        case 0x90: { // ADDITEMS
            auto items = popMark();
            appendItems(top(), items);
            break;
        }
        case 'a': { // APPEND
            const ObjId v[1] = { pop() };
            appendItems(top(), v);
            break;
        }
        case 'e': { // APPENDS
            auto items = popMark();
            appendItems(top(), items);
            break;
        }
        case 's': { // SETITEM
            const ObjId v = pop(), k = pop();
            const ObjId kv[2] = { k, v };
            setItems(top(), kv);
            break;
        }
        case 'u': { // SETITEMS
            auto kv = popMark();
            setItems(top(), kv);
            break;
        }
        case 'p': { // PUT
            bool ok = false;
            auto idx = line().toULongLong(&ok);
            if (!ok)
                fail(QStringLiteral("PUT argument is not a number"));
            memoPut(idx);
            break;
        }
        case 'q': memoPut(uLE(1)); break;                // BINPUT
        case 'r': memoPut(uLE(4)); break;                // LONG_BINPUT
        case 0x94: memoPut(m_memoCount); break;       // MEMOIZE
        case 'g': {                                      // GET
            bool ok = false;
            auto idx = line().toULongLong(&ok);
            if (!ok)
                fail(QStringLiteral("GET argument is not a number"));
            push(memoGet(idx));
            break;
        }
        case 'h': push(memoGet(uLE(1))); break; // BINGET
        case 'j': push(memoGet(uLE(4))); break; // LONG_BINGET
        case 'c': {                             // GLOBAL
            QString module = QString::fromUtf8(line());
            QString name = QString::fromUtf8(line());
            push(makeGlobal(module, name, "GLOBAL"));
            break;
        }
        case 0x93: { // STACK_GLOBAL
            ObjId n = pop(), m = pop();
            if (m_g.at(n).kind != ObjKind::Str || m_g.at(m).kind != ObjKind::Str)
                fail(QStringLiteral("STACK_GLOBAL operands are not strings"));
            push(makeGlobal(m_g.at(m).text, m_g.at(n).text, "STACK_GLOBAL"));
            break;
        }
        case 0x82: case 0x83: case 0x84: { // EXT1, EXT2, EXT4: the copyreg extension registry is empty in torch
            std::uint64_t code = uLE(op == 0x82 ? 1 : op == 0x83 ? 2 : 4);
            push(makeGlobal(QStringLiteral("copyreg"), QStringLiteral("extension_%1").arg(code), "EXT"));
            break;
        }
        case 'i': { // INST module\nname\n, args from the mark
            QString module = QString::fromUtf8(line());
            QString name = QString::fromUtf8(line());
            ObjId cls = makeGlobal(module, name, "INST");
            ObjId args = makeSeq(ObjKind::Tuple, popMark());
            push(call(cls, args, false));
            break;
        }
        case 'o': { // OBJ: class and args from the mark
            auto items = popMark();
            if (items.empty())
                fail(QStringLiteral("OBJ without a class"));
            ObjId cls = items.front();
            ObjId args = makeSeq(ObjKind::Tuple, std::span<const ObjId>(items).subspan(1));
            push(call(cls, args, false));
            break;
        }
        case 'R': { // REDUCE
            ObjId args = pop(), callable = pop();
            if (m_g.at(args).kind != ObjKind::Tuple)
                fail(QStringLiteral("REDUCE arguments are not a tuple"));
            push(call(callable, args, false));
            break;
        }
        case 0x81: { // NEWOBJ
            ObjId args = pop(), cls = pop();
            push(call(cls, args, true));
            break;
        }
        case 0x92: { // NEWOBJ_EX
            pop(); // kwargs: shown through the object's args only
            ObjId args = pop(), cls = pop();
            push(call(cls, args, true));
            break;
        }
        case 'b': { // BUILD
            ObjId state = pop();
            build(top(), state);
            break;
        }
        case 'P': { // PERSID
            ObjId pid = makeStr(QString::fromUtf8(line()));
            if (!m_persistentLoad)
                fail(QStringLiteral("persistent id in a pickle that must not have one"));
            auto r = m_persistentLoad(m_t, pid);
            if (!r)
                fail(r.error().what, r.error().kind);
            push(*r);
            break;
        }
        case 'Q': { // BINPERSID
            ObjId pid = pop();
            if (!m_persistentLoad)
                fail(QStringLiteral("persistent id in a pickle that must not have one"));
            auto r = m_persistentLoad(m_t, pid);
            if (!r)
                fail(r.error().what, r.error().kind);
            push(*r);
            break;
        }
        default:
            fail(QStringLiteral("unknown opcode 0x%1").arg(op, 2, 16, QLatin1Char('0')));
        }
    }
}

// The arena is filled front to back, once: on huge pages a 60,000-tensor state dict's 70 MB of objects cost a few
// dozen page faults instead of 17,000 (faulting was about a quarter of opening such a file). Only whole 2 MiB
// pages inside the range are advised; the kernel ignores the advice where transparent huge pages are off.
void adviseHugePages(void* data, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
    const std::uintptr_t begin = (std::uintptr_t(data) + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t end = (std::uintptr_t(data) + bytes) & ~(kHuge - 1);
    if (end > begin)
        madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)data;
    (void)bytes;
#endif
}

} // namespace

Expected<UnpickleResult> unpickle(std::span<const std::uint8_t> data, UnpickleTarget& target,
    const PersistentLoad& persistentLoad, const QString& file, const QString& record, const UnpickleLimits& limits)
{
    // Growing the arena by doubling touches every page twice; a pickle makes at most a few objects per byte.
    // Reserved pages that stay unused cost address space only. Capped: legacy files pass the raw storages too.
    target.graph.reserve(target.graph.size() + std::min<size_t>(data.size() / 2, 4u << 20) + 64);
    adviseHugePages(target.graph.arenaData(), target.graph.arenaBytes());
    Interpreter in(data, target, persistentLoad, record, limits);
    try {
        return in.run();
    } catch (const PickleFailure& f) {
        return Error { f.kind, file, QStringLiteral("%1 at byte %2").arg(record).arg(in.offset()), f.what };
    } catch (const std::bad_alloc&) {
        return Error { ErrorKind::LimitExceeded, file, QStringLiteral("%1 at byte %2").arg(record).arg(in.offset()),
            QStringLiteral("out of memory while reading the pickle") };
    }
}

} // namespace ckpt
