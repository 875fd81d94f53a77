#pragma once

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <limits>
#include <vector>

namespace ckpt {

using ObjId = std::uint32_t;
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

struct PyObject {
    ObjKind kind = ObjKind::None;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0;
    QString text;    // Str value; BigInt digits; Global/Object module; Device; type names
    QString name;    // Global/Object attribute name within module
    QByteArray bytes;
    std::vector<ObjId> items;
    ObjId args = kNoObject;  // Object: the argument tuple it was called with; Tensor: its rebuild arguments
    ObjId state = kNoObject; // BUILD state (Object attributes, OrderedDict _metadata)

    QString qualifiedName() const { return name.isEmpty() ? text : text + QLatin1Char('.') + name; }
};

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
