#include "io/ziparchive.h"

#include <QBuffer>

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

Expected<std::vector<Record>> listZipEntries(const MappedFile& file)
{
    QByteArray raw = rawView(file);
    QBuffer buffer(&raw);
    buffer.open(QIODevice::ReadOnly);
    QuaZip zip(&buffer);
    if (!zip.open(QuaZip::mdUnzip))
        return Error { ErrorKind::BadZip, file.path(), {},
            QStringLiteral("the zip directory cannot be read (error %1): the file is truncated or not a zip")
                .arg(zip.getZipError()) };
    unzFile uf = zip.getUnzFile();
    std::vector<Record> records;
    const auto count = zip.getEntriesCount();
    if (count > 0 && qint64(count) <= file.size() / 46) // a central directory entry is at least 46 bytes
        records.reserve(size_t(count));
    QByteArray name(65536, Qt::Uninitialized);
    for (int rc = unzGoToFirstFile(uf); rc != UNZ_END_OF_LIST_OF_FILE; rc = unzGoToNextFile(uf)) {
        if (rc != UNZ_OK)
            return Error { ErrorKind::BadZip, file.path(), QStringLiteral("central directory entry %1").arg(records.size()),
                QStringLiteral("cannot read the entry (error %1)").arg(rc) };
        unz_file_info64 fi {};
        if (unzGetCurrentFileInfo64(uf, &fi, name.data(), uLong(name.size()), nullptr, 0, nullptr, 0) != UNZ_OK)
            return Error { ErrorKind::BadZip, file.path(), QStringLiteral("central directory entry %1").arg(records.size()),
                QStringLiteral("cannot read the entry header") };
        Record r;
        r.name = QString::fromUtf8(name.constData(), qsizetype(qMin<uLong>(fi.size_filename, uLong(name.size()))));
        r.size = qint64(fi.uncompressed_size);
        r.compressedSize = qint64(fi.compressed_size);
        if (fi.compression_method != 0 && fi.compression_method != Z_DEFLATED)
            return Error { ErrorKind::Unsupported, file.path(), r.name,
                QStringLiteral("compression method %1 (only stored and deflated entries are supported)")
                    .arg(fi.compression_method) };
        r.deflated = fi.compression_method == Z_DEFLATED;
        int method = 0, level = 0;
        if (unzOpenCurrentFile2(uf, &method, &level, 1) != UNZ_OK)
            return Error { ErrorKind::BadZip, file.path(), r.name,
                QStringLiteral("the local header is missing or disagrees with the central directory") };
        r.offset = qint64(unzGetCurrentFileZStreamPos64(uf));
        unzCloseCurrentFile(uf);
        if (r.size < 0 || r.compressedSize < 0 || !file.contains(r.offset, r.compressedSize))
            return Error { ErrorKind::Truncated, file.path(), r.name,
                QStringLiteral("entry data (%1 bytes at offset %2) runs past the end of the file (%3 bytes)")
                    .arg(r.compressedSize)
                    .arg(r.offset)
                    .arg(file.size()) };
        if (!r.deflated && r.size != r.compressedSize)
            return Error { ErrorKind::BadZip, file.path(), r.name,
                QStringLiteral("stored entry with different compressed and uncompressed sizes") };
        records.push_back(std::move(r));
    }
    return records;
}

Expected<QByteArray> inflateZipEntry(const MappedFile& file, const Record& record)
{
    // Deflate cannot expand more than 1032:1; a declared size beyond that is a lie we will not allocate for.
    if (record.size > record.compressedSize * 1032 + 1024)
        return Error { ErrorKind::LimitExceeded, file.path(), record.name,
            QStringLiteral("declared size %1 is impossible for %2 deflated bytes").arg(record.size).arg(record.compressedSize) };
    QByteArray raw = rawView(file);
    QBuffer buffer(&raw);
    buffer.open(QIODevice::ReadOnly);
    QuaZip zip(&buffer);
    if (!zip.open(QuaZip::mdUnzip) || !zip.setCurrentFile(record.name, QuaZip::csSensitive))
        return Error { ErrorKind::BadZip, file.path(), record.name, QStringLiteral("entry not found on re-open") };
    QuaZipFile entry(&zip);
    if (!entry.open(QIODevice::ReadOnly))
        return Error { ErrorKind::BadZip, file.path(), record.name, QStringLiteral("cannot open the deflated entry") };
    QByteArray out(qsizetype(record.size), Qt::Uninitialized);
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
