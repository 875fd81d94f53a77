#include "io/tensorinfo.h"

namespace ckpt {

std::int64_t TensorInfo::numel() const
{
    std::int64_t n = 1;
    for (auto s : shape)
        n *= s;
    return n;
}

bool TensorInfo::isContiguous() const
{
    std::int64_t expected = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        if (shape[i] != 1 && stride[i] != expected)
            return false;
        expected *= shape[i];
    }
    return true;
}

QDebug operator<<(QDebug d, const TensorInfo& t)
{
    QDebugStateSaver saver(d);
    d.nospace() << "TensorInfo(" << dtypeName(t.dtype) << ", shape=" << QList<qint64>(t.shape.begin(), t.shape.end())
                << ", stride=" << QList<qint64>(t.stride.begin(), t.stride.end()) << ", offset=" << t.storageOffset
                << ", storage=" << t.storage << (t.error.isEmpty() ? QString() : QStringLiteral(", error=") + t.error)
                << ')';
    return d;
}

QDebug operator<<(QDebug d, const StorageInfo& s)
{
    QDebugStateSaver saver(d);
    d.nospace() << "StorageInfo(" << s.key << ", " << dtypeName(s.dtype) << " x " << s.numel << ", " << s.location
                << ", record=" << s.record << ')';
    return d;
}

} // namespace ckpt
