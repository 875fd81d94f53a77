#include "io/statedictwriter.h"

#include "io/crc32.h"

#include <QRandomGenerator>

#include <cstring>

namespace ckpt {
namespace {

// ---- data.pkl, protocol 2, the opcodes torch.save's pickler emits for a state dict

class PickleOut {
public:
    QByteArray bytes;
    // Persistent storage keys in the order the pickle first names the storages, as torch.save numbers them: its
    // loader may take each storage's record to follow the previous one's (see ZipOut::begin), so data/<k> is
    // written in key order. storageOfKey[k] is the StateDictOut storage index behind key k.
    std::vector<int> keyOfStorage, storageOfKey;
    int key(int storage)
    {
        if (size_t(storage) >= keyOfStorage.size())
            keyOfStorage.resize(size_t(storage) + 1, -1);
        int& k = keyOfStorage[size_t(storage)];
        if (k < 0) {
            k = int(storageOfKey.size());
            storageOfKey.push_back(storage);
        }
        return k;
    }
    void op(char c) { bytes += c; }
    void global(const char* module, const char* name)
    {
        bytes += 'c';
        bytes += module;
        bytes += '\n';
        bytes += name;
        bytes += '\n';
    }
    void str(const QString& s)
    {
        const QByteArray u = s.toUtf8();
        bytes += 'X';
        u32(quint32(u.size()));
        bytes += u;
    }
    void integer(std::int64_t v)
    {
        if (v >= 0 && v < 256) {
            bytes += 'K';
            bytes += char(v);
        } else if (v >= 0 && v < 65536) {
            bytes += 'M';
            bytes += char(v & 0xff);
            bytes += char(v >> 8);
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            bytes += 'J';
            u32(quint32(std::int32_t(v)));
        } else { // LONG1: little-endian two's complement, minimal length
            QByteArray le;
            std::uint64_t u = std::uint64_t(v);
            for (int i = 0; i < 8; ++i)
                le += char((u >> (8 * i)) & 0xff);
            while (le.size() > 1 && ((le.back() == 0 && !(le[le.size() - 2] & 0x80)) || (le.back() == char(0xff) && (le[le.size() - 2] & 0x80))))
                le.chop(1);
            bytes += char(0x8a);
            bytes += char(le.size());
            bytes += le;
        }
    }
    void tuple(const std::vector<std::int64_t>& v)
    {
        if (v.empty()) {
            op(')');
            return;
        }
        op('(');
        for (auto x : v)
            integer(x);
        op('t');
    }
    void u32(quint32 v)
    {
        for (int i = 0; i < 4; ++i)
            bytes += char((v >> (8 * i)) & 0xff);
    }
};

const char* storageClass(DType t)
{
    switch (t) {
    case DType::Float64: return "DoubleStorage";
    case DType::Float32: return "FloatStorage";
    case DType::Float16: return "HalfStorage";
    case DType::BFloat16: return "BFloat16Storage";
    case DType::Int8: return "CharStorage";
    case DType::Int16: return "ShortStorage";
    case DType::Int32: return "IntStorage";
    case DType::Int64: return "LongStorage";
    case DType::UInt8: return "ByteStorage";
    case DType::Bool: return "BoolStorage";
    case DType::Complex64: return "ComplexFloatStorage";
    case DType::Complex128: return "ComplexDoubleStorage";
    default: return nullptr; // float8 and friends: UntypedStorage + _rebuild_tensor_v3
    }
}

// ---- zip records: stored, local headers padded so data starts on 64 bytes, zip64 when past 4 GiB

void put16(QByteArray& b, quint16 v)
{
    b += char(v & 0xff);
    b += char(v >> 8);
}
void put32(QByteArray& b, quint32 v)
{
    for (int i = 0; i < 4; ++i)
        b += char((v >> (8 * i)) & 0xff);
}
void put64(QByteArray& b, quint64 v)
{
    for (int i = 0; i < 8; ++i)
        b += char((v >> (8 * i)) & 0xff);
}

constexpr quint32 kMax32 = 0xFFFFFFFF;
constexpr quint16 kDescriptor = 0x0008, kUtf8 = 0x0800; // general purpose flags: data descriptor, UTF-8 names

struct Entry {
    QByteArray name;
    qint64 headerOffset = 0;
    qint64 size = 0;
    quint32 crc = 0;

    bool bigSize() const { return size >= qint64(kMax32); }
    bool bigOffset() const { return headerOffset >= qint64(kMax32); }
    // miniz sets bit 3 (a data descriptor follows) only for records with data.
    quint16 flags() const { return size > 0 ? kUtf8 | kDescriptor : kUtf8; }
    // The zip64 extra field, the same in the local header and the central directory (miniz writes the header's
    // offset into both): 64-bit sizes where the size passes 4 GiB, the offset where it does; empty below both.
    QByteArray zip64Extra() const
    {
        QByteArray extra;
        if (!bigSize() && !bigOffset())
            return extra;
        put16(extra, 1);
        put16(extra, quint16((bigSize() ? 16 : 0) + (bigOffset() ? 8 : 0)));
        if (bigSize()) {
            put64(extra, quint64(size));
            put64(extra, quint64(size));
        }
        if (bigOffset())
            put64(extra, quint64(headerOffset));
        return extra;
    }
};

class ZipOut {
public:
    explicit ZipOut(OutputFile& f)
        : m_f(f)
    {
    }

    // Local header for a record of `size` bytes, laid out byte for byte as torch's miniz writer lays it out
    // (mz_zip_writer_add_mem_ex_v2 through PyTorchStreamWriter::writeRecord): the CRC and sizes follow the data in
    // a data descriptor (flag bit 3; none for an empty record), a zip64 extra field when the size or the header's
    // own offset passes 4 GiB, then the 'FB' padding field up to the next 64-byte boundary. The layout matters
    // beyond the bytes being readable: torch >= 2.6 loading a file whose .format_version is 1 may compute every
    // storage's offset from the previous one instead of reading its header (torch.load(map_location="meta"),
    // torch.utils.serialization.config.load.calculate_storage_offsets, serialization.py _get_offset), and reads
    // the wrong bytes, silently, from any other layout. Returns false on a write failure.
    bool begin(const QByteArray& name, qint64 size)
    {
        Entry e { name, m_f.pos(), size, 0 };
        QByteArray h;
        put32(h, 0x04034b50);
        put16(h, 0); // version needed: 0, as miniz writes it
        put16(h, e.flags());
        put16(h, 0); // stored
        put16(h, 0); // time and date 0, as torch writes them
        put16(h, 0);
        put32(h, 0); // CRC and sizes: in the data descriptor
        put32(h, 0);
        put32(h, 0);
        put16(h, quint16(name.size()));
        QByteArray extra = e.zip64Extra();
        const qint64 base = e.headerOffset + 30 + name.size() + extra.size() + 4;
        const qint64 pad = (64 - base % 64) % 64;
        put16(extra, 0x4246); // "FB"
        put16(extra, quint16(pad));
        extra += QByteArray(pad, 'Z');
        put16(h, quint16(extra.size()));
        h += name;
        h += extra;
        m_entries.push_back(e);
        return m_f.write(h.constData(), h.size());
    }

    // The data descriptor after the record's data: 24 bytes (64-bit sizes) where the local header has a zip64
    // field, 16 otherwise, none for an empty record (miniz sets bit 3 only for records with data).
    bool end(quint32 crcOfData)
    {
        Entry& e = m_entries.back();
        e.crc = crcOfData;
        if (e.size == 0)
            return true;
        QByteArray d;
        put32(d, 0x08074b50);
        put32(d, e.crc);
        if (e.bigSize() || e.bigOffset()) {
            put64(d, quint64(e.size));
            put64(d, quint64(e.size));
        } else {
            put32(d, quint32(e.size));
            put32(d, quint32(e.size));
        }
        return m_f.write(d.constData(), d.size());
    }
    bool record(const QByteArray& name, const QByteArray& bytes)
    {
        return begin(name, bytes.size()) && m_f.write(bytes.constData(), bytes.size())
            && end(crc32(0, bytes.constData(), size_t(bytes.size())));
    }
    bool finish()
    {
        const qint64 cdStart = m_f.pos();
        QByteArray cd;
        for (const Entry& e : m_entries) {
            const bool bigSize = e.bigSize(), bigOffset = e.bigOffset();
            const QByteArray extra = e.zip64Extra();
            put32(cd, 0x02014b50);
            put16(cd, 0); // version made by and needed: 0, as miniz writes them for stored entries, zip64 or not
            put16(cd, 0);
            put16(cd, e.flags());
            put16(cd, 0);
            put16(cd, 0);
            put16(cd, 0);
            put32(cd, e.crc);
            put32(cd, bigSize ? kMax32 : quint32(e.size));
            put32(cd, bigSize ? kMax32 : quint32(e.size));
            put16(cd, quint16(e.name.size()));
            put16(cd, quint16(extra.size()));
            put16(cd, 0);
            put16(cd, 0);
            put16(cd, 0);
            put32(cd, 0);
            put32(cd, bigOffset ? kMax32 : quint32(e.headerOffset));
            cd += e.name;
            cd += extra;
        }
        const qint64 z64 = cdStart + cd.size();
        // zip64 end record and locator always, as torch writes them; the classic record points at them.
        put32(cd, 0x06064b50);
        put64(cd, 44);
        put16(cd, 0x031E); // made by Unix 3.0 and needed 4.5 (zip64), miniz's constants
        put16(cd, 45);
        put32(cd, 0);
        put32(cd, 0);
        put64(cd, m_entries.size());
        put64(cd, m_entries.size());
        put64(cd, quint64(z64 - cdStart));
        put64(cd, quint64(cdStart));
        put32(cd, 0x07064b50);
        put32(cd, 0);
        put64(cd, quint64(z64));
        put32(cd, 1);
        const bool many = m_entries.size() >= 0xFFFF;
        put32(cd, 0x06054b50);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, many ? 0xFFFF : quint16(m_entries.size()));
        put16(cd, many ? 0xFFFF : quint16(m_entries.size()));
        put32(cd, z64 - cdStart >= qint64(kMax32) ? kMax32 : quint32(z64 - cdStart));
        put32(cd, cdStart >= qint64(kMax32) ? kMax32 : quint32(cdStart));
        put16(cd, 0);
        return m_f.write(cd.constData(), cd.size());
    }

private:
    OutputFile& m_f;
    std::vector<Entry> m_entries;
};

} // namespace

namespace {

void tensorItems(PickleOut& p, const StateDictOut& sd)
{
    size_t i = 0;
    while (i < sd.tensors.size()) {
        p.op('(');
        // SETITEMS in batches of 1000, as pickle does
        for (size_t batch = 0; batch < 1000 && i < sd.tensors.size(); ++batch, ++i) {
            const TensorOut& t = sd.tensors[i];
            const StorageOut& s = sd.storages[size_t(t.storage)];
            const char* cls = storageClass(s.dtype);
            p.str(t.name);
            p.global("torch._utils", cls ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
            p.op('(');
            p.op('(');
            p.str(QStringLiteral("storage"));
            p.global("torch", cls ? cls : "UntypedStorage");
            p.str(QString::number(p.key(t.storage)));
            p.str(QStringLiteral("cpu"));
            p.integer(cls ? s.numel : s.numel * dtypeItemSize(s.dtype));
            p.op('t');
            p.op('Q'); // BINPERSID
            p.integer(t.storageOffset);
            p.tuple(t.shape);
            p.tuple(t.stride);
            p.op(t.requiresGrad ? char(0x88) : char(0x89));
            p.global("collections", "OrderedDict");
            p.op(')');
            p.op('R');
            if (!cls)
                p.global("torch", dtypeName(t.dtype).toLatin1().constData());
            p.op('t');
            p.op('R');
        }
        p.op('u');
    }
}

// Key/value pairs of a dict node, in SETITEMS batches of 1000 as pickle writes them.
void dictItems(PickleOut& p, const StateDictOut& sd, const PlainValue& v, int depth);

void plain(PickleOut& p, const StateDictOut& sd, const PlainValue& v, int depth)
{
    using K = PlainValue::Kind;
    switch (v.kind) {
    case K::None: p.op('N'); return;
    case K::Bool: p.op(v.boolean ? char(0x88) : char(0x89)); return;
    case K::Int: p.integer(v.integer); return;
    case K::Float: {
        p.op('G'); // BINFLOAT: big-endian IEEE double
        std::uint64_t u;
        std::memcpy(&u, &v.real, 8);
        for (int i = 7; i >= 0; --i)
            p.bytes += char((u >> (8 * i)) & 0xff);
        return;
    }
    case K::Str: p.str(v.text); return;
    case K::Bytes:
        // Protocol 2 has no bytes opcode; _codecs.encode(latin-1 text, 'latin1') is how pickle writes them and
        // the one global weights_only allows for it.
        p.global("_codecs", "encode");
        p.str(QString::fromLatin1(v.bytes));
        p.str(QStringLiteral("latin1"));
        p.op(char(0x86)); // TUPLE2
        p.op('R');
        return;
    case K::List:
        p.op(']');
        if (!v.items.empty()) {
            p.op('(');
            for (const auto& x : v.items)
                plain(p, sd, x, depth + 1);
            p.op('e');
        }
        return;
    case K::Tuple:
        p.op('(');
        for (const auto& x : v.items)
            plain(p, sd, x, depth + 1);
        p.op('t');
        return;
    case K::Dict:
        if (v.ordered) {
            p.global("collections", "OrderedDict");
            p.op(')');
            p.op('R');
        } else {
            p.op('}');
        }
        dictItems(p, sd, v, depth);
        return;
    case K::StateDict:
        p.global("collections", "OrderedDict");
        p.op(')');
        p.op('R');
        tensorItems(p, sd);
        dictItems(p, sd, v, depth);
        return;
    }
}

void dictItems(PickleOut& p, const StateDictOut& sd, const PlainValue& v, int depth)
{
    for (size_t i = 0; i + 1 < v.items.size();) {
        p.op('(');
        for (size_t batch = 0; batch < 1000 && i + 1 < v.items.size(); ++batch, i += 2) {
            plain(p, sd, v.items[i], depth + 1);
            plain(p, sd, v.items[i + 1], depth + 1);
        }
        p.op('u');
    }
}

} // namespace

QStringList stateDictPath(const PlainValue& layout)
{
    if (layout.kind == PlainValue::Kind::StateDict)
        return {};
    if (layout.kind != PlainValue::Kind::Dict)
        return {};
    for (size_t i = 0; i + 1 < layout.items.size(); i += 2) {
        const PlainValue& v = layout.items[i + 1];
        if (v.kind == PlainValue::Kind::StateDict)
            return { layout.items[i].text };
        if (v.kind == PlainValue::Kind::Dict) {
            QStringList below = stateDictPath(v);
            if (!below.isEmpty()) {
                below.prepend(layout.items[i].text);
                return below;
            }
        }
    }
    return {};
}

namespace {

void pickleStateDict(PickleOut& p, const StateDictOut& sd)
{
    p.op(char(0x80));
    p.op(2);
    if (sd.layout) {
        plain(p, sd, *sd.layout, 0);
    } else {
        p.global("collections", "OrderedDict");
        p.op(')');
        p.op('R');
        tensorItems(p, sd);
    }
    p.op('.');
}

} // namespace

QByteArray torchStateDictPickle(const StateDictOut& sd)
{
    PickleOut p;
    pickleStateDict(p, sd);
    return p.bytes;
}

Expected<WriteReport> writeTorchZip(const QString& path, const StateDictOut& sd, const Progress& progress,
    const std::atomic<bool>* cancel, const ReadBackCheck& check)
{
    return writeAndCommit(path, [&](OutputFile& f) { return writeTorchZip(f, sd, progress, cancel); }, check);
}

Expected<WriteReport> writeTorchZip(OutputFile& f, const StateDictOut& sd, const Progress& progress,
    const std::atomic<bool>* cancel)
{
    const QString& path = f.path();
    ZipOut zip(f);
    const QByteArray prefix = "archive/";
    std::int64_t done = 0;
    WriteReport report;
    PickleOut pickle;
    pickleStateDict(pickle, sd);
    // Storages no tensor names (none come from the exporter) go last, after every key the loader walks.
    for (size_t s = 0; s < sd.storages.size(); ++s)
        pickle.key(int(s));
    report.storageCrc.assign(sd.storages.size(), 0);
    bool ok = zip.record(prefix + "data.pkl", pickle.bytes) && zip.record(prefix + ".format_version", "1")
        && zip.record(prefix + ".storage_alignment", "64") && zip.record(prefix + "byteorder", "little");
    for (size_t k = 0; ok && k < pickle.storageOfKey.size(); ++k) {
        const size_t s = size_t(pickle.storageOfKey[k]);
        const StorageOut& st = sd.storages[s];
        const qint64 nbytes = st.numel * dtypeItemSize(st.dtype);
        ok = zip.begin(prefix + "data/" + QByteArray::number(qulonglong(k)), nbytes);
        const std::int64_t before = done;
        QString why;
        std::uint32_t crc = 0;
        ok = ok && writeStorage(f, st, crc, done, progress, cancel, why);
        const qint64 written = done - before;
        if (ok && written != nbytes)
            return Error { ErrorKind::Io, path, QStringLiteral("storage %1").arg(s),
                QStringLiteral("produced %1 bytes, expected %2").arg(written).arg(nbytes) };
        if (!ok && !why.isEmpty())
            return Error { ErrorKind::Io, path, QStringLiteral("storage %1").arg(s), why };
        ok = ok && zip.end(crc);
        if (ok)
            report.storageCrc[s] = crc;
    }
    const QByteArray serial = QByteArray::number(QRandomGenerator::global()->generate64());
    ok = ok && zip.record(prefix + "version", "3\n") && zip.record(prefix + ".data/serialization_id", serial) && zip.finish();
    if (cancel && cancel->load())
        return Error { ErrorKind::Io, path, {}, QStringLiteral("cancelled; nothing was written") };
    if (!ok)
        return f.error();
    report.bytes = done;
    return report;
}

} // namespace ckpt
