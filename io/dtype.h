#pragma once

#include <QString>

#include <cstdint>
#include <optional>

namespace ckpt {

enum class DType : std::uint8_t {
    Unknown,
    Float64,
    Float32,
    Float16,
    BFloat16,
    Float8_e4m3fn,
    Float8_e5m2,
    Float8_e4m3fnuz,
    Float8_e5m2fnuz,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Bool,
    Complex32,
    Complex64,
    Complex128,
    QInt8,
    QUInt8,
    QInt32,
    QUInt4x2,
    QUInt2x4,
};

// torch's name without "torch." ("float32", "bfloat16", ...).
QString dtypeName(DType t);
// Bytes per element; 1 for the packed quantized types (they pack several values per byte).
int dtypeItemSize(DType t);
bool dtypeIsFloatingPoint(DType t);

// "float32", "float", "half", ... as written in pickles (`GLOBAL torch float32`).
std::optional<DType> dtypeFromTorchName(const QString& name);
// "FloatStorage", "BFloat16Storage", ... (typed storage classes). UntypedStorage maps to UInt8.
std::optional<DType> dtypeFromStorageClass(const QString& name);
// "F32", "BF16", "F8_E4M3", ... as in safetensors headers.
std::optional<DType> dtypeFromSafetensorsName(const QString& name);
QString dtypeSafetensorsName(DType t);

} // namespace ckpt
