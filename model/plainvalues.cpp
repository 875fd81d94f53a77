#include "model/plainvalues.h"

#include "model/objectchildren.h"

namespace ckpt {
namespace {

// A hostile pickle can build a value of millions of nodes or nest it deeply; metadata worth keeping is small.
constexpr size_t kMaxPlainNodes = 1'000'000;

struct Converter {
    const ObjectGraph& g;
    size_t budget = kMaxPlainNodes;
    std::vector<ObjId> onPath;
    bool holdsTensor = false;
    QString why;

    std::optional<PlainValue> fail(QString reason)
    {
        if (why.isEmpty())
            why = std::move(reason);
        return std::nullopt;
    }

    std::optional<PlainValue> convert(ObjId id)
    {
        using K = PlainValue::Kind;
        if (!g.valid(id))
            return fail(QStringLiteral("a broken reference"));
        if (budget == 0)
            return fail(QStringLiteral("more than %1 values").arg(kMaxPlainNodes));
        --budget;
        const PyObject& o = g.at(id);
        PlainValue v;
        switch (o.kind) {
        case ObjKind::None: return PlainValue::none();
        case ObjKind::Bool: return PlainValue::flag(o.boolean);
        case ObjKind::Int: return PlainValue::int64(o.integer);
        case ObjKind::Float: return PlainValue::float64(o.real());
        case ObjKind::NumpyScalar:
            if (o.text.contains(QLatin1String("float")))
                return PlainValue::float64(o.real());
            if (o.text.contains(QLatin1String("bool")))
                return PlainValue::flag(o.integer != 0);
            return PlainValue::int64(o.integer);
        case ObjKind::Str: return PlainValue::str(o.text);
        case ObjKind::Bytes: return PlainValue::blob(o.bytes());
        case ObjKind::Tensor:
        case ObjKind::Storage:
            holdsTensor = true;
            return fail(QStringLiteral("holds tensors"));
        case ObjKind::BigInt: return fail(QStringLiteral("an integer beyond 64 bits"));
        case ObjKind::Complex: return fail(QStringLiteral("a complex number"));
        case ObjKind::Set: return fail(QStringLiteral("a set (torch.load(weights_only=True) refuses sets)"));
        case ObjKind::Device: return fail(QStringLiteral("a torch.device"));
        case ObjKind::List:
        case ObjKind::Tuple:
        case ObjKind::Dict: break;
        default: {
            // An object of some class: its state may still hold tensors, which makes it state rather than metadata.
            scanForTensors(id);
            return fail(QStringLiteral("an object of class %1 (torch.load(weights_only=True) refuses it)").arg(o.qualifiedName()));
        }
        }
        if (int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
            return fail(QStringLiteral("nested too deeply or through itself"));
        onPath.push_back(id);
        v.kind = o.kind == ObjKind::List ? K::List : o.kind == ObjKind::Tuple ? K::Tuple : K::Dict;
        v.ordered = o.kind == ObjKind::Dict && o.text == QLatin1String("collections.OrderedDict");
        bool ok = true;
        for (ObjId item : o.items) {
            auto x = convert(item);
            if (!x) {
                ok = false;
                if (holdsTensor)
                    break;
                continue; // go on: a tensor further in decides what the entry is
            }
            if (ok)
                v.items.push_back(std::move(*x));
        }
        onPath.pop_back();
        if (!ok)
            return std::nullopt;
        return v;
    }

    void scanForTensors(ObjId id)
    {
        if (int(onPath.size()) >= kMaxTreeDepth || budget == 0 || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
            return;
        onPath.push_back(id);
        for (const auto& c : objectChildren(g, id)) {
            if (budget == 0 || holdsTensor)
                break;
            --budget;
            const ObjKind k = g.at(c.id).kind;
            if (k == ObjKind::Tensor || k == ObjKind::Storage)
                holdsTensor = true;
            else
                scanForTensors(c.id);
        }
        onPath.pop_back();
    }
};

} // namespace

PlainConversion plainValueOf(const ObjectGraph& g, ObjId id)
{
    Converter c { g };
    auto v = c.convert(id);
    if (c.holdsTensor)
        return { std::nullopt, true, QStringLiteral("holds tensors") };
    return { std::move(v), false, v ? QString() : c.why };
}

bool isScalarPlain(const PlainValue& v)
{
    using K = PlainValue::Kind;
    return v.kind != K::List && v.kind != K::Tuple && v.kind != K::Dict && v.kind != K::StateDict;
}

} // namespace ckpt
