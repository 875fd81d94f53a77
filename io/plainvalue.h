#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QString>

#include <cstdint>
#include <vector>

namespace ckpt {

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
    // JSON for metadata (safetensors __metadata__, a shard index): bytes as a list of ints, tuples as lists,
    // non-finite floats as the strings "nan", "inf", "-inf" (JSON has no such numbers).
    QJsonValue toJson() const;
    QString toJsonText() const; // compact
};

} // namespace ckpt
