#include "model/elementview.h"

#include "model/elementdecode.h"

#include <algorithm>
#include <cstring>

namespace ckpt {

Expected<ElementView> elementView(const Checkpoint& ck, int tensor)
{
    if (tensor < 0 || size_t(tensor) >= ck.tensors.size())
        return Error { ErrorKind::MissingRecord, ck.path, {}, QStringLiteral("tensor %1 does not exist").arg(tensor) };
    const TensorInfo& t = ck.tensors[size_t(tensor)];
    if (!t.error.isEmpty())
        return Error { ErrorKind::OutOfBounds, ck.path, QStringLiteral("tensor %1").arg(tensor), t.error };
    if (!dtypeDecodable(t.dtype))
        return Error { ErrorKind::Unsupported, ck.path, QStringLiteral("tensor %1").arg(tensor),
            QStringLiteral("values of %1 tensors cannot be decoded").arg(dtypeName(t.dtype)) };
    auto bytes = ck.storageBytes(t.storage);
    if (!bytes)
        return bytes.error();
    ElementView v;
    v.dtype = t.dtype;
    v.itemSize = dtypeItemSize(t.dtype);
    v.base = bytes->data() + t.storageOffset * v.itemSize;
    v.numel = t.numel();
    v.swap = ck.bigEndian && v.itemSize > 1;
    // Merge dimension i into i+1 when stepping over all of i+1 lands where one step of i does.
    for (size_t d = 0; d < t.shape.size(); ++d) {
        if (t.shape[d] == 1)
            continue;
        if (!v.shape.empty() && v.stride.back() == t.stride[d] * t.shape[d]) {
            v.shape.back() *= t.shape[d];
            v.stride.back() = t.stride[d];
        } else {
            v.shape.push_back(t.shape[d]);
            v.stride.push_back(t.stride[d]);
        }
    }
    if (v.shape.empty()) {
        v.shape.push_back(v.numel); // 0-dim or all ones: one element (or none)
        v.stride.push_back(1);
    }
    return v;
}

Expected<ElementView> elementViewForScan(const Checkpoint& ck, int tensor)
{
    auto v = elementView(ck, tensor);
    if (!v)
        return v;
    const TensorInfo& t = ck.tensors[size_t(tensor)];
    const std::int64_t storageBytes = ck.storages[size_t(t.storage)].nbytes();
    constexpr std::int64_t kMaxRepeatedBytes = std::int64_t(1) << 30;
    std::int64_t bytes = 0;
    if (__builtin_mul_overflow(v->numel, std::int64_t(v->itemSize), &bytes) || bytes > storageBytes + kMaxRepeatedBytes)
        return Error { ErrorKind::LimitExceeded, ck.path, QStringLiteral("tensor %1").arg(tensor),
            QStringLiteral("an expanded view of %1 elements over a storage of %2 bytes: visiting every repeat is refused")
                .arg(v->numel)
                .arg(storageBytes) };
    return v;
}

void decodeRange(const ElementView& v, std::int64_t begin, std::int64_t count, double* out)
{
    if (count <= 0) // also keeps an empty tensor's zero extent out of the index arithmetic below
        return;
    const size_t dims = v.shape.size();
    std::vector<std::int64_t> idx(dims);
    std::int64_t rest = begin, offset = 0;
    for (size_t d = dims; d-- > 0;) {
        idx[d] = rest % v.shape[d];
        rest /= v.shape[d];
        offset += idx[d] * v.stride[d];
    }
    const std::int64_t inner = v.shape.back(), innerStride = v.stride.back();
    while (count > 0) {
        const std::int64_t run = std::min(count, inner - idx.back());
        decodeElements(v.dtype, v.base + offset * v.itemSize, run, innerStride * v.itemSize, v.swap, out);
        out += run;
        count -= run;
        offset += run * innerStride;
        idx.back() += run;
        // Carry into the outer dimensions.
        for (size_t d = dims - 1; d > 0 && idx[d] == v.shape[d]; --d) {
            offset -= idx[d] * v.stride[d];
            idx[d] = 0;
            ++idx[d - 1];
            offset += v.stride[d - 1];
        }
    }
}

void gatherRange(const ElementView& v, std::int64_t begin, std::int64_t count, std::uint8_t* out)
{
    if (count <= 0)
        return;
    const int item = v.itemSize;
    if (isDense(v)) {
        std::memcpy(out, v.base + begin * item, size_t(count * item));
        return;
    }
    const size_t dims = v.shape.size();
    std::vector<std::int64_t> idx(dims);
    std::int64_t rest = begin, offset = 0;
    for (size_t d = dims; d-- > 0;) {
        idx[d] = rest % v.shape[d];
        rest /= v.shape[d];
        offset += idx[d] * v.stride[d];
    }
    for (std::int64_t k = 0; k < count; ++k) {
        std::memcpy(out + k * item, v.base + offset * item, size_t(item));
        for (size_t d = dims; d-- > 0;) {
            if (++idx[d] < v.shape[d]) {
                offset += v.stride[d];
                break;
            }
            offset -= v.stride[d] * (v.shape[d] - 1);
            idx[d] = 0;
        }
    }
}

namespace {

    bool releasable(const Checkpoint& ck, int tensor, const ElementView& v)
    {
        if (tensor < 0 || size_t(tensor) >= ck.tensors.size() || !isDense(v) || v.numel <= 0)
            return false;
        const int storage = ck.tensors[size_t(tensor)].storage;
        return storage >= 0 && size_t(storage) < ck.storages.size()
            && ck.recordIsMapped(ck.storages[size_t(storage)].record);
    }

} // namespace

void releaseScannedPages(const Checkpoint& ck, int tensor, const ElementView& v)
{
    if (releasable(ck, tensor, v))
        MappedFile::releasePages(v.base, size_t(v.numel * v.itemSize));
}

std::function<void(std::int64_t, std::int64_t)> scannedPagesReleaser(
    const Checkpoint& ck, int tensor, const ElementView& v)
{
    if (!releasable(ck, tensor, v))
        return {};
    return [base = v.base, item = v.itemSize](std::int64_t begin, std::int64_t count) {
        MappedFile::releasePages(base + begin * item, size_t(count * item));
    };
}

std::int64_t scanWindowElements(const ElementView& v)
{
    return std::max<std::int64_t>((std::int64_t(32) << 20) / std::max(v.itemSize, 1), 1);
}

} // namespace ckpt
