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

    static PlainValue str(const QString& s)
    {
        PlainValue v;
        v.kind = Kind::Str;
        v.text = s;
        return v;
    }
    // JSON as Python's json.dumps writes this value (safetensors __metadata__ values, a shard index): a dict's keys
    // in its order (or sorted, as transformers writes an index), every key kept, floats as repr writes them; bytes
    // as a list of ints, tuples as lists, and non-finite floats as the strings "nan", "inf", "-inf" (JSON has no
    // such numbers, and json.dumps's NaN is not JSON). Compact (",", ":") unless indented.
    QString toJsonText(const JsonStyle& style = {}) const;
};

} // namespace ckpt
