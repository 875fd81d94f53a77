#pragma once

#include "io/checkpoint.h"
#include "model/elementview.h"

#include <QDebug>

#include <vector>

namespace ckpt {

// Which 2-D matrix of a tensor to look at: two of its dimensions with every other one held at an index
// (x[i, :, j, :]), or dimension 0 against all the others flattened in row-major order (x.reshape(n, -1)).
struct SliceSpec {
    int rowDim = 0;                    // -1: one row (0-d tensors)
    int colDim = 1;                    // -1: one column (1-d and 0-d tensors)
    std::vector<std::int64_t> index;   // one entry per dimension; read for the dimensions held fixed
    bool flatten = false;

    bool operator==(const SliceSpec&) const = default;
};

QDebug operator<<(QDebug d, const SliceSpec& s);

// Rows against columns for matrices, a column for vectors, one cell for scalars; dimension 0 against the rest
// for three dimensions and more, where conv and attention weights read best.
SliceSpec defaultSlice(const TensorInfo& t);

// Reads rectangles of one slice: the tensor's own strides with the base moved to the block, so any view
// (transposed, strided, permuted, expanded) reads in place from the memory map.
class SliceReader {
public:
    static Expected<SliceReader> open(const Checkpoint& ck, int tensor, const SliceSpec& spec);

    std::int64_t rows() const { return m_rows; }
    std::int64_t cols() const { return m_cols; }
    // rows x cols values of [row, row + rows) x [col, col + cols), row-major, into `out`; the block must lie inside.
    void read(std::int64_t row, std::int64_t rowCount, std::int64_t col, std::int64_t colCount, double* out) const;

private:
    ElementView m_view;       // the whole tensor (flatten) or its element (0, ..., 0)
    std::int64_t m_offset = 0; // elements from m_view.base to the slice's (0, 0)
    std::int64_t m_rowStride = 0, m_colStride = 0;
    std::int64_t m_rows = 1, m_cols = 1;
    bool m_flatten = false;
};

// One page of a slice as numbers: the block [rowBegin, rowBegin + rows) x [colBegin, colBegin + cols), cut to
// what the slice holds.
struct ValuePage {
    std::int64_t totalRows = 0, totalCols = 0;
    std::int64_t rowBegin = 0, colBegin = 0;
    std::int64_t rows = 0, cols = 0;
    std::vector<double> values; // rows * cols, row-major

    double at(std::int64_t r, std::int64_t c) const { return values[size_t(r * cols + c)]; }
    bool operator==(const ValuePage&) const = default;
};

Expected<ValuePage> readSlice(const Checkpoint& ck, int tensor, const SliceSpec& spec, std::int64_t rowBegin,
    std::int64_t rows, std::int64_t colBegin, std::int64_t cols);

} // namespace ckpt
