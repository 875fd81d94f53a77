#include "io/dtype.h"

#include <array>

namespace ckpt {
namespace {

struct DTypeRow {
    DType type;
    const char* torchName;
    int itemSize;
    const char* storageClass; // typed storage class, nullptr for dtypes that only exist as UntypedStorage + dtype
    const char* safetensors;
    bool floating;
};

constexpr std::array kRows {
    DTypeRow { DType::Float64, "float64", 8, "DoubleStorage", "F64", true },
    DTypeRow { DType::Float32, "float32", 4, "FloatStorage", "F32", true },
    DTypeRow { DType::Float16, "float16", 2, "HalfStorage", "F16", true },
    DTypeRow { DType::BFloat16, "bfloat16", 2, "BFloat16Storage", "BF16", true },
    DTypeRow { DType::Float8_e4m3fn, "float8_e4m3fn", 1, nullptr, "F8_E4M3", true },
    DTypeRow { DType::Float8_e5m2, "float8_e5m2", 1, nullptr, "F8_E5M2", true },
    DTypeRow { DType::Float8_e4m3fnuz, "float8_e4m3fnuz", 1, nullptr, nullptr, true },
    DTypeRow { DType::Float8_e5m2fnuz, "float8_e5m2fnuz", 1, nullptr, nullptr, true },
    DTypeRow { DType::Int8, "int8", 1, "CharStorage", "I8", false },
    DTypeRow { DType::Int16, "int16", 2, "ShortStorage", "I16", false },
    DTypeRow { DType::Int32, "int32", 4, "IntStorage", "I32", false },
    DTypeRow { DType::Int64, "int64", 8, "LongStorage", "I64", false },
    DTypeRow { DType::UInt8, "uint8", 1, "ByteStorage", "U8", false },
    DTypeRow { DType::UInt16, "uint16", 2, nullptr, "U16", false },
    DTypeRow { DType::UInt32, "uint32", 4, nullptr, "U32", false },
    DTypeRow { DType::UInt64, "uint64", 8, nullptr, "U64", false },
    DTypeRow { DType::Bool, "bool", 1, "BoolStorage", "BOOL", false },
    DTypeRow { DType::Complex32, "complex32", 4, nullptr, nullptr, true },
    DTypeRow { DType::Complex64, "complex64", 8, "ComplexFloatStorage", "C64", true },
    DTypeRow { DType::Complex128, "complex128", 16, "ComplexDoubleStorage", nullptr, true },
    DTypeRow { DType::QInt8, "qint8", 1, "QInt8Storage", nullptr, false },
    DTypeRow { DType::QUInt8, "quint8", 1, "QUInt8Storage", nullptr, false },
    DTypeRow { DType::QInt32, "qint32", 4, "QInt32Storage", nullptr, false },
    DTypeRow { DType::QUInt4x2, "quint4x2", 1, "QUInt4x2Storage", nullptr, false },
    DTypeRow { DType::QUInt2x4, "quint2x4", 1, "QUInt2x4Storage", nullptr, false },
};

const DTypeRow* row(DType t)
{
    for (const auto& r : kRows)
        if (r.type == t)
            return &r;
    return nullptr;
}

} // namespace

QString dtypeName(DType t)
{
    const auto* r = row(t);
    return r ? QString::fromLatin1(r->torchName) : QStringLiteral("unknown");
}

int dtypeItemSize(DType t)
{
    const auto* r = row(t);
    return r ? r->itemSize : 1;
}

bool dtypeIsFloatingPoint(DType t)
{
    const auto* r = row(t);
    return r && r->floating;
}

std::optional<DType> dtypeFromTorchName(const QString& name)
{
    for (const auto& r : kRows)
        if (name == QLatin1String(r.torchName))
            return r.type;
    // Aliases torch also exposes as module attributes.
    static const std::array<std::pair<const char*, DType>, 11> aliases { {
        { "double", DType::Float64 },
        { "float", DType::Float32 },
        { "half", DType::Float16 },
        { "short", DType::Int16 },
        { "int", DType::Int32 },
        { "long", DType::Int64 },
        { "cfloat", DType::Complex64 },
        { "cdouble", DType::Complex128 },
        { "chalf", DType::Complex32 },
        { "complex", DType::Complex64 },
        { "bits8", DType::UInt8 },
    } };
    for (const auto& [alias, type] : aliases)
        if (name == QLatin1String(alias))
            return type;
    return std::nullopt;
}

std::optional<DType> dtypeFromStorageClass(const QString& name)
{
    if (name == QLatin1String("UntypedStorage") || name == QLatin1String("_UntypedStorage"))
        return DType::UInt8;
    for (const auto& r : kRows)
        if (r.storageClass && name == QLatin1String(r.storageClass))
            return r.type;
    return std::nullopt;
}

std::optional<DType> dtypeFromSafetensorsName(const QString& name)
{
    for (const auto& r : kRows)
        if (r.safetensors && name == QLatin1String(r.safetensors))
            return r.type;
    return std::nullopt;
}

QString dtypeSafetensorsName(DType t)
{
    const auto* r = row(t);
    return (r && r->safetensors) ? QString::fromLatin1(r->safetensors) : QString();
}

} // namespace ckpt
