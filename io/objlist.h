#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>
#include <stdexcept>
#include <vector>

namespace ckpt {

using ObjId = std::uint32_t;

// The items of a pickle container node. A 60,000-tensor state dict makes four tuples per tensor, most of one or two
// items (sizes, strides), and half a million nodes in all: std::vector (24 bytes, a heap block for every tuple) made
// the node arena the largest memory the open touched. This holds up to two items inline, in 16 bytes, and grows on
// the heap beyond. (Qt's QVarLengthArray and std::vector are both larger; Debian's boost small_vector would be a new
// dependency of io/ for one type.)
class ObjList {
public:
    using value_type = ObjId;
    using iterator = ObjId*;
    using const_iterator = const ObjId*;

    ObjList() = default;
    ObjList(std::initializer_list<ObjId> items) { append(items.begin(), items.size()); }
    ObjList(std::span<const ObjId> items) { append(items.data(), items.size()); }
    ObjList(const std::vector<ObjId>& items) { append(items.data(), items.size()); }
    ObjList(const ObjList& o) { append(o.data(), o.size()); }
    ObjList(ObjList&& o) noexcept { steal(o); }
    ObjList& operator=(const ObjList& o)
    {
        if (this != &o) {
            ObjList copy(o);
            *this = std::move(copy);
        }
        return *this;
    }
    ObjList& operator=(ObjList&& o) noexcept
    {
        if (this != &o) {
            release();
            steal(o);
        }
        return *this;
    }
    ~ObjList() { release(); }

    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    ObjId* data() { return onHeap() ? m_heap : m_inline; }
    const ObjId* data() const { return onHeap() ? m_heap : m_inline; }
    iterator begin() { return data(); }
    iterator end() { return data() + m_size; }
    const_iterator begin() const { return data(); }
    const_iterator end() const { return data() + m_size; }
    ObjId& operator[](std::size_t i) { return data()[i]; }
    ObjId operator[](std::size_t i) const { return data()[i]; }
    ObjId front() const { return data()[0]; }
    ObjId back() const { return data()[m_size - 1]; }
    operator std::span<const ObjId>() const { return { data(), m_size }; }
    std::vector<ObjId> toVector() const { return { begin(), end() }; }

    void push_back(ObjId id)
    {
        reserve(std::size_t(m_size) + 1);
        data()[m_size++] = id;
    }
    void append(const ObjId* items, std::size_t n)
    {
        if (n == 0)
            return;
        // `items` may be our own (x.append(x)): growing moves them, so find them again by offset.
        const ObjId* own = data();
        const bool aliased = items >= own && items < own + m_size;
        const std::size_t at = aliased ? std::size_t(items - own) : 0;
        reserve(std::size_t(m_size) + n);
        std::memmove(data() + m_size, aliased ? data() + at : items, n * sizeof(ObjId));
        m_size += std::uint32_t(n);
    }
    void append(std::span<const ObjId> items) { append(items.data(), items.size()); }
    void clear() { m_size = 0; }
    void reserve(std::size_t n)
    {
        if (n <= m_cap)
            return;
        if (n > kMaxSize)
            throw std::length_error("ObjList: more than 2^32-1 items");
        std::size_t cap = std::max<std::size_t>(n, std::size_t(m_cap) * 2);
        if (cap > kMaxSize)
            cap = kMaxSize;
        auto* p = static_cast<ObjId*>(std::malloc(cap * sizeof(ObjId)));
        if (!p)
            throw std::bad_alloc();
        std::memcpy(p, data(), std::size_t(m_size) * sizeof(ObjId));
        if (onHeap())
            std::free(m_heap);
        m_heap = p;
        m_cap = std::uint32_t(cap);
    }

    bool operator==(const ObjList& o) const
    {
        return m_size == o.m_size && std::memcmp(data(), o.data(), std::size_t(m_size) * sizeof(ObjId)) == 0;
    }

private:
    static constexpr std::uint32_t kInline = 2;
    static constexpr std::size_t kMaxSize = 0xffffffffu;
    bool onHeap() const { return m_cap > kInline; }
    void release()
    {
        if (onHeap())
            std::free(m_heap);
        m_cap = kInline;
        m_size = 0;
    }
    void steal(ObjList& o) noexcept
    {
        std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), sizeof(ObjList));
        o.m_cap = kInline;
        o.m_size = 0;
    }

    union {
        ObjId* m_heap;
        ObjId m_inline[kInline] = { 0, 0 };
    };
    std::uint32_t m_size = 0;
    std::uint32_t m_cap = kInline;
};

static_assert(sizeof(ObjList) == 16);

} // namespace ckpt
