#include "io/ziparchive.h"

#include <QBuffer>

#include <algorithm>
#include <new>

#include <quazip.h>
#include <quazipfile.h>
#include <unzip.h>

namespace ckpt {
namespace {

QByteArray rawView(const MappedFile& file)
{
    // No copy: QuaZip reads the central directory through a QBuffer over the mapped bytes.
    return QByteArray::fromRawData(reinterpret_cast<const char*>(file.bytes().data()), qsizetype(file.size()));
}

} // namespace

bool looksLikeZip(std::span<const std::uint8_t> head)
{
    return head.size() >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
}

namespace {

std::uint64_t le(const std::uint8_t* p, int n)
{
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v |= std::uint64_t(p[i]) << (8 * i);
    return v;
}

constexpr std::uint32_t kEocdSig = 0x06054b50, kZip64LocatorSig = 0x07064b50, kZip64EocdSig = 0x06064b50,
                        kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;

} // namespace

// The central directory is parsed straight from the map rather than through QuaZip: minizip reads every header
// field byte by byte through QIODevice callbacks (4 us per entry, a quarter of a second for a 60,000-tensor
// checkpoint), and opening must stay in milliseconds. Deflated entries are still inflated by QuaZip.
Expected<std::vector<Record>> listZipEntries(const MappedFile& file, std::uint64_t maxEntries, std::uint64_t* declared)
{
    const auto bytes = file.bytes();
    const std::uint8_t* base = bytes.data();
    const qint64 size = file.size();
    auto bad = [&](QString where, QString what, ErrorKind kind = ErrorKind::BadZip) {
        return Error { kind, file.path(), std::move(where), std::move(what) };
    };

    // End of central directory: 22 bytes plus a comment of at most 65535 bytes, searched from the end.
    qint64 eocd = -1;
    for (qint64 p = size - 22; p >= 0 && p >= size - 22 - 65535; --p)
        if (le(base + p, 4) == kEocdSig && p + 22 + qint64(le(base + p + 20, 2)) <= size) {
            eocd = p;
            break;
        }
    if (eocd < 0)
        return bad({}, QStringLiteral("no end-of-central-directory record: the zip is truncated or not a zip"),
            ErrorKind::Truncated);
    std::uint64_t entries = le(base + eocd + 10, 2);
    std::uint64_t cdSize = le(base + eocd + 12, 4);
    std::uint64_t cdOffset = le(base + eocd + 16, 4);
    if (eocd >= 20 && le(base + eocd - 20, 4) == kZip64LocatorSig) {
        const std::uint64_t z64 = le(base + eocd - 20 + 8, 8);
        if (size < 56 || z64 > std::uint64_t(size) - 56 || le(base + z64, 4) != kZip64EocdSig)
            return bad(QStringLiteral("zip64 end of central directory"), QStringLiteral("missing or out of range"));
        entries = le(base + z64 + 32, 8);
        cdSize = le(base + z64 + 40, 8);
        cdOffset = le(base + z64 + 48, 8);
    }
    if (cdOffset > std::uint64_t(size) || cdSize > std::uint64_t(size) - cdOffset)
        return bad(QStringLiteral("central directory"),
            QStringLiteral("declares %1 bytes at offset %2, beyond the file's %3 bytes").arg(cdSize).arg(cdOffset).arg(size),
            ErrorKind::Truncated);
    if (entries > cdSize / 46) // a central directory entry is at least 46 bytes
        return bad(QStringLiteral("central directory"),
            QStringLiteral("declares %1 entries in %2 bytes").arg(entries).arg(cdSize), ErrorKind::LimitExceeded);

    if (declared)
        *declared = entries;
    entries = std::min(entries, maxEntries);
    std::vector<Record> records;
    records.reserve(size_t(entries));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> sizes; // compressed, uncompressed (64-bit, unchecked yet)
    sizes.reserve(size_t(entries));
    std::uint64_t p = cdOffset;
    const std::uint64_t cdEnd = cdOffset + cdSize;
    for (std::uint64_t i = 0; i < entries; ++i) {
        auto where = [i] { return QStringLiteral("central directory entry %1").arg(i); };
        if (cdEnd - p < 46 || le(base + p, 4) != kCentralSig)
            return bad(where(), QStringLiteral("bad signature or truncated entry"));
        const auto method = le(base + p + 10, 2);
        std::uint64_t compressed = le(base + p + 20, 4), uncompressed = le(base + p + 24, 4);
        const auto nameLen = le(base + p + 28, 2), extraLen = le(base + p + 30, 2), commentLen = le(base + p + 32, 2);
        std::uint64_t local = le(base + p + 42, 4);
        if (cdEnd - p - 46 < nameLen + extraLen + commentLen)
            return bad(where(), QStringLiteral("name or extra field runs past the central directory"));
        Record r;
        r.name = QString::fromUtf8(reinterpret_cast<const char*>(base + p + 46), qsizetype(nameLen));
        // zip64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
        for (std::uint64_t e = p + 46 + nameLen, end = e + extraLen; e + 4 <= end;) {
            const auto id = le(base + e, 2), len = le(base + e + 2, 2);
            if (e + 4 + len > end)
                break;
            if (id == 0x0001) {
                std::uint64_t f = e + 4;
                for (std::uint64_t* v : { &uncompressed, &compressed, &local })
                    if (*v == 0xFFFFFFFF) {
                        if (f + 8 > e + 4 + len)
                            return bad(r.name, QStringLiteral("zip64 extra field is too short"));
                        *v = le(base + f, 8);
                        f += 8;
                    }
            }
            e += 4 + len;
        }
        p += 46 + nameLen + extraLen + commentLen;
        if (method != 0 && method != 8)
            return bad(r.name, QStringLiteral("compression method %1 (only stored and deflated entries are supported)").arg(method),
                ErrorKind::Unsupported);
        r.deflated = method == 8;
        r.offset = qint64(local); // the local header's offset until the second pass below
        r.size = qint64(std::min<std::uint64_t>(uncompressed, std::uint64_t(INT64_MAX)));
        r.compressedSize = qint64(std::min<std::uint64_t>(compressed, std::uint64_t(INT64_MAX)));
        sizes.push_back({ compressed, uncompressed });
        records.push_back(std::move(r));
    }

    // Each entry's data offset is in its local header. Read through the map, a header brings in the whole
    // page-cache folio it lies in (recent kernels, 6.18 here, map a large folio at once, up to 2 MiB): one folio a
    // tensor, and `info` of a 1.4 GB file of 293 tensors peaked at 133 MiB of RSS, nearly all of it tensor bytes
    // never looked at. So the headers of sparse regions are read with pread; where headers are dense (a file of
    // many small tensors) the map stays, cheaper than a system call each, and what it maps is mostly headers.
    constexpr int kBlockShift = 21; // 2 MiB, the largest folio the page cache maps
    constexpr std::ptrdiff_t kDenseHeaders = 16;
    std::vector<std::uint64_t> blocks(records.size());
    for (size_t i = 0; i < records.size(); ++i)
        blocks[i] = std::uint64_t(records[i].offset) >> kBlockShift;
    if (!std::is_sorted(blocks.begin(), blocks.end())) // torch writes them in order; other tools may not
        std::sort(blocks.begin(), blocks.end());
    const auto dense = [&](std::uint64_t local) {
        const auto range = std::equal_range(blocks.begin(), blocks.end(), local >> kBlockShift);
        return range.second - range.first >= kDenseHeaders;
    };
    for (size_t i = 0; i < records.size(); ++i) {
        Record& r = records[i];
        const std::uint64_t local = std::uint64_t(r.offset), compressed = sizes[i].first,
                            uncompressed = sizes[i].second;
        std::uint8_t header[30];
        bool read = size >= 30 && local <= std::uint64_t(size) - 30;
        if (read && dense(local))
            std::copy_n(base + local, 30, header);
        else if (read)
            read = file.readAt(qint64(local), header, 30);
        if (!read || le(header, 4) != kLocalSig)
            return bad(r.name, QStringLiteral("local header missing at offset %1").arg(local));
        const std::uint64_t data = local + 30 + le(header + 26, 2) + le(header + 28, 2);
        if (compressed > std::uint64_t(INT64_MAX) || uncompressed > std::uint64_t(INT64_MAX)
            || !file.contains(qint64(std::min<std::uint64_t>(data, std::uint64_t(INT64_MAX))), qint64(compressed)))
            return bad(r.name,
                QStringLiteral("entry data (%1 bytes at offset %2) runs past the end of the file (%3 bytes)")
                    .arg(compressed)
                    .arg(data)
                    .arg(size),
                ErrorKind::Truncated);
        if (!r.deflated && compressed != uncompressed)
            return bad(r.name, QStringLiteral("stored entry with different compressed and uncompressed sizes"));
        r.offset = qint64(data);
        r.size = qint64(uncompressed);
        r.compressedSize = qint64(compressed);
    }
    return records;
}

bool deflatedSizePlausible(const Record& record)
{
    // Deflate cannot expand more than 1032:1; a declared size beyond that is a lie we will not allocate for.
    return record.size >= 0 && record.compressedSize >= 0 && record.compressedSize <= (INT64_MAX - 1024) / 1032
        && record.size <= record.compressedSize * 1032 + 1024;
}

Expected<QByteArray> inflateZipEntry(const MappedFile& file, const Record& record)
{
    if (!deflatedSizePlausible(record))
        return Error { ErrorKind::LimitExceeded, file.path(), record.name,
            QStringLiteral("declared size %1 is impossible for %2 deflated bytes").arg(record.size).arg(record.compressedSize) };
    QByteArray raw = rawView(file);
    QBuffer buffer(&raw);
    buffer.open(QIODevice::ReadOnly | QIODevice::Unbuffered); // buffering would copy 16 KiB at every seek
    QuaZip zip(&buffer);
    if (!zip.open(QuaZip::mdUnzip) || !zip.setCurrentFile(record.name, QuaZip::csSensitive))
        return Error { ErrorKind::BadZip, file.path(), record.name, QStringLiteral("entry not found on re-open") };
    QuaZipFile entry(&zip);
    if (!entry.open(QIODevice::ReadOnly))
        return Error { ErrorKind::BadZip, file.path(), record.name, QStringLiteral("cannot open the deflated entry") };
    // The ratio check lets through a plausible bomb (1 MiB declaring 1 GB): the allocation itself may fail.
    QByteArray out;
    try {
        out = QByteArray(qsizetype(record.size), Qt::Uninitialized);
    } catch (const std::bad_alloc&) {
        return Error { ErrorKind::LimitExceeded, file.path(), record.name,
            QStringLiteral("out of memory for its declared %1 inflated bytes").arg(record.size) };
    }
    qint64 got = 0;
    while (got < record.size) {
        qint64 n = entry.read(out.data() + got, record.size - got);
        if (n <= 0)
            break;
        got += n;
    }
    if (got != record.size)
        return Error { ErrorKind::BadZip, file.path(), record.name,
            QStringLiteral("inflated %1 bytes, the directory declares %2").arg(got).arg(record.size) };
    return out;
}

} // namespace ckpt
