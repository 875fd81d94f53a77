#pragma once

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <vector>

namespace ckpt {

struct JsonStyle {
    bool sortKeys = false;
    int indent = -1; // spaces per level; -1: all on one line
    bool asciiOnly = false; // json.dumps's default ensure_ascii: non-ASCII as \uXXXX
};

// A value torch.load(weights_only=True) rebuilds without any class of its own: what an export keeps of a
// checkpoint's non-tensor entries (epoch, config, hyper-parameters). StateDict stands for the exported tensors
// in an output's layout: the writer puts the OrderedDict of tensors there, followed by the node's own items.
struct PlainValue {
    enum class Kind { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, StateDict };
    Kind kind = Kind::None;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0;
    QString text;
    QByteArray bytes;
    std::vector<PlainValue> items; // List/Tuple: elements; Dict/StateDict: key, value, key, value, ...
    bool ordered = false;          // Dict: a collections.OrderedDict

    bool operator==(const PlainValue&) const;

    static PlainValue none() { return {}; }
    static PlainValue flag(bool b)
    {
        PlainValue v;
        v.kind = Kind::Bool;
        v.boolean = b;
        return v;
    }
    static PlainValue int64(std::int64_t i)
    {
        PlainValue v;
        v.kind = Kind::Int;
        v.integer = i;
        return v;
    }
    static PlainValue float64(double d)
    {
        PlainValue v;
        v.kind = Kind::Float;
        v.real = d;
        return v;
    }
    static PlainValue str(const QString& s)
    {
        PlainValue v;
        v.kind = Kind::Str;
        v.text = s;
        return v;
    }
    static PlainValue blob(const QByteArray& b)
    {
        PlainValue v;
        v.kind = Kind::Bytes;
        v.bytes = b;
        return v;
    }
    static PlainValue sequence(Kind kind, std::vector<PlainValue> items) // List or Tuple
    {
        PlainValue v;
        v.kind = kind;
        v.items = std::move(items);
        return v;
    }
    static PlainValue dict(std::vector<PlainValue> keysAndValues) // key, value, key, value, ...
    {
        return sequence(Kind::Dict, std::move(keysAndValues));
    }

    // This value as a key of a JSON object, the text json.dumps makes of a dict key: a string as it is; None, bools
    // and ints as their JSON text; floats as repr writes them, NaN/Infinity/-Infinity when not finite. Keys
    // json.dumps refuses (tuples, bytes) become their JSON text.
    QString keyText() const;
    // JSON as Python's json.dumps writes this value (safetensors __metadata__ values, a shard index): a dict's keys
    // in its order (or sorted, as transformers writes an index), every key kept, floats as repr writes them; bytes
    // as a list of ints, tuples as lists, and non-finite floats as the strings "nan", "inf", "-inf" (JSON has no
    // such numbers, and json.dumps's NaN is not JSON). Compact (",", ":") unless indented.
    QString toJsonText(const JsonStyle& style = {}) const;
};

} // namespace ckpt
