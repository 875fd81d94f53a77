#include "io/error.h"

namespace ckpt {

const char* errorKindName(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::Io: return "io";
    case ErrorKind::Empty: return "empty";
    case ErrorKind::NotACheckpoint: return "not-a-checkpoint";
    case ErrorKind::Truncated: return "truncated";
    case ErrorKind::BadZip: return "bad-zip";
    case ErrorKind::BadPickle: return "bad-pickle";
    case ErrorKind::BadLegacy: return "bad-legacy";
    case ErrorKind::BadSafetensors: return "bad-safetensors";
    case ErrorKind::LimitExceeded: return "limit-exceeded";
    case ErrorKind::MissingRecord: return "missing-record";
    case ErrorKind::OutOfBounds: return "out-of-bounds";
    case ErrorKind::Unsupported: return "unsupported";
    }
    return "unknown";
}

QString Error::message() const
{
    QString s = file.isEmpty() ? QStringLiteral("<input>") : file;
    if (!where.isEmpty())
        s += QStringLiteral(": ") + where;
    s += QStringLiteral(": ") + what;
    return s;
}

} // namespace ckpt
