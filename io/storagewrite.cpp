#include "io/crc32.h"
#include "io/statedictwriter.h"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

namespace ckpt {

bool writeStorage(OutputFile& f, const StorageOut& st, std::uint32_t& crc, std::int64_t& done, const Progress& progress,
    const std::atomic<bool>* cancel, QString& why)
{
    crc = 0;
    if (!st.rawFile) {
        return st.produce(
            [&](const std::uint8_t* p, size_t n) {
                crc = crc32(crc, p, n);
                done += std::int64_t(n);
                if (progress)
                    progress(done);
                return f.write(p, qint64(n));
            },
            cancel, why);
    }
    // Writing from the map with pwrite is what this avoids: the kernel copies a user mapping into large page-cache
    // folios with faults disabled and, on this path, was measured 5-15x slower than copy_file_range (BENCHMARKS.md).
    constexpr qint64 kPiece = qint64(8) << 20;
    const qint64 nbytes = st.numel * dtypeItemSize(st.dtype);
    if (!st.rawFile->contains(st.rawOffset, nbytes)) {
        why = QStringLiteral("source range %1+%2 lies outside %3").arg(st.rawOffset).arg(nbytes).arg(st.rawFile->path());
        return false;
    }
    const std::uint8_t* base = st.rawFile->bytes().data() + st.rawOffset;
    // The CRC reads the file's page cache with pread while the copy goes on in the kernel: on a second core the
    // CRC costs no wall time (a serial CRC was a third of a whole-file export, BENCHMARKS.md run 6). pread, not the
    // map: the pages of a source written shortly before (torch.save, then export) were slow to fault in through a
    // map, up to 3 s of system time for 1.42 GB (run 12), while pread read them at 7 GB/s; nothing of the source
    // enters the resident set either. A thread per storage
    // starts in tens of microseconds, so only large storages get one.
    int readErrno = 0;
    auto crcOf = [&](std::stop_token stop) {
        std::uint32_t c = 0;
        std::vector<std::uint8_t> buffer(size_t(std::min(kPiece, nbytes)));
        for (qint64 b = 0; b < nbytes && !stop.stop_requested() && !(cancel && cancel->load()); b += kPiece) {
            const qint64 n = std::min(kPiece, nbytes - b);
            errno = 0;
            if (!st.rawFile->readAt(st.rawOffset + b, buffer.data(), size_t(n))) {
                readErrno = errno != 0 ? errno : EIO;
                break;
            }
            c = crc32(c, buffer.data(), size_t(n));
        }
        return c;
    };
    constexpr qint64 kOwnThreadBytes = qint64(4) << 20;
    std::jthread helper;
    if (nbytes >= kOwnThreadBytes) {
        try {
            helper = std::jthread([&](std::stop_token stop) { crc = crcOf(stop); });
        } catch (const std::system_error&) {
            // No thread to be had (a thread limit, ulimit -v): the CRC is taken after the copy instead.
        }
    }
    for (qint64 b = 0; b < nbytes; b += kPiece) {
        if (cancel && cancel->load())
            return false;
        const qint64 n = std::min(kPiece, nbytes - b);
        if (!f.copyFrom(st.rawFile->handle(), st.rawOffset + b, n, base + b))
            return false;
        if (st.releaseRaw) // where the kernel could not copy, pwrite read the map: those pages go again
            MappedFile::releasePages(base + b, size_t(n));
        done += n;
        if (progress)
            progress(done);
    }
    if (helper.joinable())
        helper.join();
    else
        crc = crcOf({});
    if (cancel && cancel->load())
        return false;
    if (readErrno != 0) {
        why = QStringLiteral("cannot read %1 at %2: %3")
                  .arg(st.rawFile->path())
                  .arg(st.rawOffset)
                  .arg(QString::fromLocal8Bit(std::strerror(readErrno)));
        return false;
    }
    return true;
}

Expected<WriteReport> writeAndCommit(const QString& path,
    const std::function<Expected<WriteReport>(OutputFile&)>& write, const ReadBackCheck& check)
{
    OutputFile f(path);
    if (auto ok = f.open(); !ok)
        return ok.error();
    auto report = write(f);
    if (!report)
        return report;
    const OutputFile::Check sealCheck = check ? OutputFile::Check([&](const QString& readable) { return check(readable, *report); })
                                              : OutputFile::Check {};
    if (auto ok = f.seal(sealCheck); !ok)
        return ok.error();
    if (auto ok = f.commit(); !ok)
        return ok.error();
    return report;
}

} // namespace ckpt
