#include "model/valueslice.h"

namespace ckpt {
namespace {

Error sliceError(const Checkpoint& ck, int tensor, const QString& what)
{
    return Error { ErrorKind::OutOfBounds, ck.path, QStringLiteral("tensor %1").arg(tensor), what };
}

} // namespace

QDebug operator<<(QDebug d, const SliceSpec& s)
{
    QDebugStateSaver saver(d);
    d.nospace() << "SliceSpec(rows=" << s.rowDim << ", cols=" << s.colDim << ", index=" << QList<qint64>(s.index.begin(), s.index.end())
                << (s.flatten ? ", flatten" : "") << ')';
    return d;
}

SliceSpec defaultSlice(const TensorInfo& t)
{
    SliceSpec s;
    const int dims = int(t.shape.size());
    s.index.assign(t.shape.size(), 0);
    if (dims == 0) {
        s.rowDim = s.colDim = -1;
    } else if (dims == 1) {
        s.colDim = -1;
    } else if (dims >= 3) {
        s.flatten = true;
    }
    return s;
}

Expected<SliceReader> SliceReader::open(const Checkpoint& ck, int tensor, const SliceSpec& spec)
{
    auto view = elementView(ck, tensor);
    if (!view)
        return view.error();
    const TensorInfo& t = ck.tensors[size_t(tensor)];
    const int dims = int(t.shape.size());
    SliceReader r;
    r.m_view = *view;
    if (spec.flatten) {
        if (dims == 0)
            return sliceError(ck, tensor, QStringLiteral("a 0-d tensor cannot be flattened into rows"));
        r.m_flatten = true;
        r.m_rows = t.shape[0];
        r.m_cols = 1;
        for (int d = 1; d < dims; ++d)
            r.m_cols *= t.shape[size_t(d)];
        return r;
    }
    const auto validDim = [&](int d) { return d >= -1 && d < dims; };
    if (!validDim(spec.rowDim) || !validDim(spec.colDim) || (spec.rowDim >= 0 && spec.rowDim == spec.colDim))
        return sliceError(ck, tensor,
            QStringLiteral("no slice of dimensions %1 and %2 in a %3-d tensor").arg(spec.rowDim).arg(spec.colDim).arg(dims));
    if (spec.index.size() != size_t(dims))
        return sliceError(ck, tensor, QStringLiteral("%1 indices for a %2-d tensor").arg(spec.index.size()).arg(dims));
    if (t.numel() == 0) {
        r.m_rows = r.m_cols = 0; // nothing to show, and no index is in range along an empty dimension
        return r;
    }
    for (int d = 0; d < dims; ++d) {
        if (d == spec.rowDim || d == spec.colDim)
            continue;
        const std::int64_t i = spec.index[size_t(d)];
        if (i < 0 || i >= t.shape[size_t(d)])
            return sliceError(ck, tensor,
                QStringLiteral("index %1 is out of range for dimension %2 of size %3").arg(i).arg(d).arg(t.shape[size_t(d)]));
        r.m_offset += i * t.stride[size_t(d)];
    }
    // The view's base is element (0, ..., 0) whatever its merged dimensions are.
    if (spec.rowDim >= 0) {
        r.m_rows = t.shape[size_t(spec.rowDim)];
        r.m_rowStride = t.stride[size_t(spec.rowDim)];
    }
    if (spec.colDim >= 0) {
        r.m_cols = t.shape[size_t(spec.colDim)];
        r.m_colStride = t.stride[size_t(spec.colDim)];
    }
    return r;
}

void SliceReader::read(std::int64_t row, std::int64_t rowCount, std::int64_t col, std::int64_t colCount, double* out) const
{
    if (rowCount <= 0 || colCount <= 0)
        return;
    if (m_flatten) {
        for (std::int64_t r = 0; r < rowCount; ++r)
            decodeRange(m_view, (row + r) * m_cols + col, colCount, out + r * colCount);
        return;
    }
    ElementView block;
    block.dtype = m_view.dtype;
    block.itemSize = m_view.itemSize;
    block.swap = m_view.swap;
    block.base = m_view.base + (m_offset + row * m_rowStride + col * m_colStride) * m_view.itemSize;
    block.shape = { rowCount, colCount };
    block.stride = { m_rowStride, m_colStride };
    block.numel = rowCount * colCount;
    decodeRange(block, 0, block.numel, out);
}

Expected<ValuePage> readSlice(const Checkpoint& ck, int tensor, const SliceSpec& spec, std::int64_t rowBegin,
    std::int64_t rows, std::int64_t colBegin, std::int64_t cols)
{
    auto reader = SliceReader::open(ck, tensor, spec);
    if (!reader)
        return reader.error();
    ValuePage page;
    page.totalRows = reader->rows();
    page.totalCols = reader->cols();
    const bool emptyOk = (page.totalRows == 0 && rowBegin == 0) || (page.totalCols == 0 && colBegin == 0);
    if (!emptyOk
        && (rowBegin < 0 || colBegin < 0 || rowBegin >= page.totalRows || colBegin >= page.totalCols || rows < 0
            || cols < 0))
        return sliceError(ck, tensor,
            QStringLiteral("page at row %1, column %2 is outside the %3 x %4 slice")
                .arg(rowBegin)
                .arg(colBegin)
                .arg(page.totalRows)
                .arg(page.totalCols));
    page.rowBegin = rowBegin;
    page.colBegin = colBegin;
    page.rows = std::max<std::int64_t>(0, std::min(rows, page.totalRows - rowBegin));
    page.cols = std::max<std::int64_t>(0, std::min(cols, page.totalCols - colBegin));
    page.values.resize(size_t(page.rows * page.cols));
    reader->read(rowBegin, page.rows, colBegin, page.cols, page.values.data());
    return page;
}

} // namespace ckpt
