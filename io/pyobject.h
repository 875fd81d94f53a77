#pragma once

#include <QByteArray>
#include <QString>

#include "io/objlist.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

namespace ckpt {

inline constexpr ObjId kNoObject = std::numeric_limits<ObjId>::max();

// What a pickle built, without running any of it. Known constructors are interpreted into plain kinds
// (Dict for OrderedDict, Tensor for the torch rebuild functions, ...); anything else stays an inert Object.
enum class ObjKind : std::uint8_t {
    None,
    Bool,
    Int,
    BigInt,   // integer beyond int64: text holds its decimal digits
    Float,
    Complex,  // text holds "(re+imj)"
    Str,
    Bytes,
    List,
    Tuple,    // text "torch.Size" for sizes
    Dict,     // items are key, value, key, value ...; text "collections.OrderedDict" for ordered dicts
    Set,      // text "frozenset" for frozensets
    Global,   // a class or function reference: module, name
    Object,   // an inert instance or call result: module.name of its callable, args, state, items
    Tensor,   // integer: index into Checkpoint::tensors
    Storage,  // integer: index into Checkpoint::storages
    Device,   // text: "cuda:0"
    NumpyScalar, // Int/Float value with text "numpy.float64" ...; real or integer holds the value
    Mark,     // internal to the unpickler
};

// Fields few nodes need (a Global's or Object's attribute name, a Bytes value, a float, a BUILD state), kept out of
// line so that the node itself stays at 64 bytes: a 60,000-tensor state dict builds over half a million nodes and
// every byte of them is memory the open must fault in and zero.
struct PyObjectExtra {
    QString name;
    QByteArray bytes;
    double real = 0;
    ObjId state = kNoObject;
};

// Owns a PyObjectExtra, copies it deep; empty until a setter needs one.
class PyObjectExtraBox {
public:
    PyObjectExtraBox() = default;
    PyObjectExtraBox(const PyObjectExtraBox& o)
        : m_p(o.m_p ? std::make_unique<PyObjectExtra>(*o.m_p) : nullptr)
    {
    }
    PyObjectExtraBox(PyObjectExtraBox&&) noexcept = default;
    PyObjectExtraBox& operator=(const PyObjectExtraBox& o)
    {
        if (this != &o)
            m_p = o.m_p ? std::make_unique<PyObjectExtra>(*o.m_p) : nullptr;
        return *this;
    }
    PyObjectExtraBox& operator=(PyObjectExtraBox&&) noexcept = default;
    const PyObjectExtra* get() const { return m_p.get(); }
    PyObjectExtra& edit()
    {
        if (!m_p)
            m_p = std::make_unique<PyObjectExtra>();
        return *m_p;
    }

private:
    std::unique_ptr<PyObjectExtra> m_p;
};

struct PyObject {
    ObjKind kind = ObjKind::None;
    bool boolean = false;
    ObjId args = kNoObject;  // Object: the argument tuple it was called with; Tensor: its rebuild arguments
    std::int64_t integer = 0;
    QString text;    // Str value; BigInt digits; Global/Object module; Device; type names
    ObjList items;
    PyObjectExtraBox extra;

    // Global/Object attribute name within module
    const QString& name() const { return extra.get() ? extra.get()->name : emptyText(); }
    const QByteArray& bytes() const { return extra.get() ? extra.get()->bytes : emptyBytes(); }
    double real() const { return extra.get() ? extra.get()->real : 0.0; }
    // BUILD state (Object attributes, OrderedDict _metadata)
    ObjId state() const { return extra.get() ? extra.get()->state : kNoObject; }
    void setName(QString n) { extra.edit().name = std::move(n); }
    void setBytes(QByteArray b) { extra.edit().bytes = std::move(b); }
    void setReal(double r) { extra.edit().real = r; }
    void setState(ObjId s)
    {
        if (s != kNoObject || extra.get())
            extra.edit().state = s;
    }

    QString qualifiedName() const { return name().isEmpty() ? text : text + QLatin1Char('.') + name(); }

private:
    static const QString& emptyText()
    {
        static const QString s;
        return s;
    }
    static const QByteArray& emptyBytes()
    {
        static const QByteArray b;
        return b;
    }
};

static_assert(sizeof(PyObject) == 64, "the node arena's size is what opening many small tensors costs");
// The arena (a vector) moves nodes when it grows: a noexcept move keeps each PyObjectExtra where it is, so a
// reference to a node's name() outlives an add() (the unpickler relies on it).
static_assert(std::is_nothrow_move_constructible_v<PyObject>);

// Every global a pickle imports, recorded for the safety report.
struct ImportedGlobal {
    QString module;
    QString name;
    QString opcode;   // GLOBAL, STACK_GLOBAL, INST, EXT
    QString record;   // which pickle (e.g. "archive/data.pkl")
    qint64 offset = 0; // byte offset of the opcode inside that pickle
    bool operator==(const ImportedGlobal&) const = default;
};

class ObjectGraph {
public:
    ObjId add(PyObject obj)
    {
        m_objects.push_back(std::move(obj));
        return ObjId(m_objects.size() - 1);
    }
    const PyObject& at(ObjId id) const { return m_objects[id]; }
    PyObject& at(ObjId id) { return m_objects[id]; }
    bool valid(ObjId id) const { return id < m_objects.size(); }
    size_t size() const { return m_objects.size(); }
    void reserve(size_t n) { m_objects.reserve(n); }
    // The reserved arena, for memory advice (huge pages).
    void* arenaData() { return m_objects.data(); }
    size_t arenaBytes() const { return m_objects.capacity() * sizeof(PyObject); }

private:
    std::vector<PyObject> m_objects;
};

} // namespace ckpt
