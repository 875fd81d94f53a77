#pragma once

// Byte-level builders for damaged checkpoints: little-endian integers, hand-written pickles, torch tensor calls and
// plain zips with chosen sizes and methods. Shared by tst_brokenfiles (in-process) and tst_corruptcorpus (through
// ckptlens-cli); neither needs Python to make its files.

#include <QByteArray>
#include <QList>

#include <array>
#include <cstdint>
#include <initializer_list>

namespace ckpt::test::corrupt {

inline QByteArray le16(std::uint16_t v)
{
    QByteArray b(2, '\0');
    b[0] = char(v & 0xff);
    b[1] = char(v >> 8);
    return b;
}

inline QByteArray le32(std::uint32_t v)
{
    QByteArray b(4, '\0');
    for (int i = 0; i < 4; ++i)
        b[i] = char((v >> (8 * i)) & 0xff);
    return b;
}

inline QByteArray le64(std::uint64_t v)
{
    QByteArray b(8, '\0');
    for (int i = 0; i < 8; ++i)
        b[i] = char((v >> (8 * i)) & 0xff);
    return b;
}

inline QByteArray floats(std::initializer_list<float> values)
{
    QByteArray b;
    for (float f : values)
        b.append(reinterpret_cast<const char*>(&f), sizeof f);
    return b;
}

// ---- pickles

inline QByteArray S(const QByteArray& s) // BINUNICODE
{
    return QByteArray("X") + le32(std::uint32_t(s.size())) + s;
}
inline QByteArray I(std::int64_t v) // LONG1 with 8 bytes: any int64
{
    return QByteArray("\x8a\x08", 2) + le64(std::uint64_t(v));
}
inline QByteArray G(const QByteArray& module, const QByteArray& name)
{
    return QByteArray("c") + module + '\n' + name + '\n';
}
inline QByteArray tup(const QList<QByteArray>& items)
{
    QByteArray b("(");
    for (const auto& i : items)
        b += i;
    return b + 't';
}
inline QByteArray ints(const QList<std::int64_t>& values)
{
    QList<QByteArray> items;
    for (auto v : values)
        items << I(v);
    return tup(items);
}

// One tensor of a hand-assembled torch pickle: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).
struct TensorSpec {
    QByteArray name;
    QByteArray key;
    std::int64_t numel = 0;
    std::int64_t offset = 0;
    QList<std::int64_t> size;
    QList<std::int64_t> stride;
    QByteArray storageClass = "FloatStorage";
    QByteArray viewMetadata = "N"; // legacy files: a 6th persistent-id field
};

inline QByteArray tensorCall(const TensorSpec& t, bool legacy)
{
    QList<QByteArray> pid { S("storage"), G("torch", t.storageClass), S(t.key), S("cpu"), I(t.numel) };
    if (legacy)
        pid << t.viewMetadata;
    return G("torch._utils", "_rebuild_tensor_v2") + tup({ tup(pid) + 'Q', I(t.offset), ints(t.size), ints(t.stride),
                                                        QByteArray("\x89", 1), G("collections", "OrderedDict") + ")R" })
        + 'R';
}

// {name: tensor, ...} at protocol 2.
inline QByteArray tensorDictPickle(const QList<TensorSpec>& tensors, bool legacy = false)
{
    QByteArray b("\x80\x02}(", 4);
    for (const auto& t : tensors)
        b += S(t.name) + tensorCall(t, legacy);
    return b + "u.";
}

// ---- zip

inline quint32 crc32(const QByteArray& data)
{
    static const auto table = [] {
        std::array<quint32, 256> t {};
        for (quint32 i = 0; i < 256; ++i) {
            quint32 c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    quint32 c = 0xffffffffu;
    for (char ch : data)
        c = table[(c ^ uchar(ch)) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

// Raw deflate (what zip stores) from zlib's stream: qCompress adds a 4-byte size, a 2-byte header and an Adler-32.
inline QByteArray rawDeflate(const QByteArray& data)
{
    const QByteArray z = qCompress(data, 9);
    return z.mid(6, z.size() - 10);
}

struct ZipEntry {
    QByteArray name;
    QByteArray data;
    bool deflate = false;
    qint64 declaredSize = -1; // overrides the uncompressed size in both headers
    int method = -1;          // overrides the compression method
    QByteArray payload;       // overrides the stored (compressed) bytes
};

// A plain zip (no zip64), stored or deflated entries, sizes in the local headers like CPython's zipfile.
inline QByteArray zipOf(const QList<ZipEntry>& entries)
{
    QByteArray out, cd;
    for (const auto& e : entries) {
        const QByteArray payload = !e.payload.isNull() ? e.payload : e.deflate ? rawDeflate(e.data) : e.data;
        const quint16 method = quint16(e.method >= 0 ? e.method : (e.deflate ? 8 : 0));
        const quint32 usize = quint32(e.declaredSize >= 0 ? e.declaredSize : e.data.size());
        const quint32 crc = crc32(e.data);
        const quint32 offset = quint32(out.size());
        out += le32(0x04034b50) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc) + le32(quint32(payload.size()))
            + le32(usize) + le16(quint16(e.name.size())) + le16(0) + e.name + payload;
        cd += le32(0x02014b50) + le16(20) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc)
            + le32(quint32(payload.size())) + le32(usize) + le16(quint16(e.name.size())) + le16(0) + le16(0) + le16(0)
            + le16(0) + le32(0) + le32(offset) + e.name;
    }
    const quint32 cdOffset = quint32(out.size());
    out += cd;
    out += le32(0x06054b50) + le16(0) + le16(0) + le16(quint16(entries.size())) + le16(quint16(entries.size()))
        + le32(quint32(cd.size())) + le32(cdOffset) + le16(0);
    return out;
}

} // namespace ckpt::test::corrupt
