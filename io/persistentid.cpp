#include "io/persistentid.h"

namespace ckpt {

bool textOf(const PyObject& o, QString& out)
{
    if (o.kind == ObjKind::Str) {
        out = o.text;
        return true;
    }
    if (o.kind == ObjKind::Bytes) {
        out = QString::fromLatin1(o.bytes());
        return true;
    }
    return false;
}

Expected<PidParse> parsePersistentId(const ObjectGraph& g, ObjId pid)
{
    auto bad = [](QString what) { return Error { ErrorKind::BadPickle, {}, {}, std::move(what) }; };
    const auto& t = g.at(pid);
    if (t.kind != ObjKind::Tuple || t.items.empty())
        return bad(QStringLiteral("persistent id is not a tuple"));
    QString type;
    if (!textOf(g.at(t.items[0]), type))
        return bad(QStringLiteral("persistent id does not start with a type name"));
    PidParse r;
    if (type == QLatin1String("module")) {
        r.isModule = true;
        r.moduleClass = t.items.size() > 1 ? t.items[1] : kNoObject;
        return r;
    }
    if (type != QLatin1String("storage"))
        return bad(QStringLiteral("persistent id of unknown type '%1'").arg(type.left(64)));
    if (t.items.size() < 5)
        return bad(QStringLiteral("storage persistent id has %1 fields, expected 5").arg(t.items.size()));
    const auto& cls = g.at(t.items[1]);
    if (cls.kind != ObjKind::Global)
        return bad(QStringLiteral("storage persistent id without a storage class"));
    r.storage.storageClass = cls.name();
    if (!textOf(g.at(t.items[2]), r.storage.key))
        return bad(QStringLiteral("storage key is not a string"));
    if (!textOf(g.at(t.items[3]), r.storage.location))
        return bad(QStringLiteral("storage location is not a string"));
    const auto& n = g.at(t.items[4]);
    if (n.kind != ObjKind::Int)
        return bad(QStringLiteral("storage size is not an integer"));
    r.storage.numel = n.integer;
    if (t.items.size() > 5 && g.at(t.items[5]).kind != ObjKind::None)
        r.storage.viewMetadata = t.items[5];
    return r;
}

} // namespace ckpt
