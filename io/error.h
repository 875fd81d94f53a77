#pragma once

#include <QString>

#include <utility>
#include <variant>

namespace ckpt {

// One kind per failure a user can act on; the message says which file, which record, what is wrong.
enum class ErrorKind {
    Io,             // cannot open, stat or map the file
    Empty,          // zero-length file
    NotACheckpoint, // no known magic: not a torch zip, legacy pickle or safetensors file
    Truncated,      // the file ends before a structure it declares
    BadZip,         // zip directory or local headers inconsistent
    BadPickle,      // malformed pickle stream (unknown opcode, stack underflow, bad memo reference, ...)
    BadLegacy,      // legacy (torch < 1.6) container inconsistent
    BadSafetensors, // safetensors header invalid (JSON, offsets, dtype, shape)
    LimitExceeded,  // a declared size beyond what we are willing to allocate or what the file can hold
    MissingRecord,  // a storage record the pickle refers to is absent
    OutOfBounds,    // a tensor or storage reaches past the bytes that back it
    Unsupported,    // a valid but unsupported variant (e.g. the pre-0.1.10 tar format)
};

const char* errorKindName(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::Io;
    QString file;   // path of the file concerned
    QString where;  // record, byte offset or key; empty when the whole file is concerned
    QString what;   // what is wrong, in words

    QString message() const;
    bool operator==(const Error&) const = default;
};

// A small std::expected stand-in (C++23 is not available with Debian 12's toolchain in C++20 mode).
template <typename T>
class Expected {
public:
    Expected(T value)
        : m_v(std::in_place_index<0>, std::move(value))
    {
    }
    Expected(Error error)
        : m_v(std::in_place_index<1>, std::move(error))
    {
    }

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

} // namespace ckpt
