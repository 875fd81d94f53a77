// A corpus of damaged checkpoints made from the torch-written fixtures, each run through `ckptlens-cli info` and
// `ckptlens-cli stats` under `ulimit -v` of 1 GiB with a time bound: a file that cannot be read exits 2 with a line
// naming the file, the problem and its kind; a file that still opens exits 0, and `stats` (which reads every tensor's
// bytes) reports the tensors it cannot read. A signal, a hang, exit 1 or an empty message fails the row.
//
// tst_brokenfiles covers the same ground in-process with exact error kinds; this test proves the shipped program
// behaves on real torch output with a bounded address space. It cannot run under ASan, whose shadow memory alone
// takes terabytes of address space (test.sh leaves it out of the sanitizer run).

#include "corruptcorpus.h"
#include "testutil.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <limits>

using namespace ckpt::test::corrupt;
namespace test = ckpt::test;

namespace {

// What a row must do. Refused: exit 2 for both commands. Opens: `info` exits 0 (`stats` 0, or 2 if it cannot
// read). Either: a damaged byte that may or may not matter (bit flips), both outcomes are fine if well-formed.
enum class Expect { Refused, Opens, Either };

struct Case {
    QByteArray name;
    QByteArray bytes;
    Expect expect = Expect::Either;
    QString problem; // Refused: part of the error message; Opens: part of a tensor's error in `stats`
    QString suffix = QStringLiteral("pth");
};

// ---- zip structure of the torch-written fixtures (stored records, as torch writes them)

struct ZipLayout {
    struct Entry {
        QByteArray name;
        qsizetype central = 0, local = 0, data = 0, size = 0;
    };
    std::vector<Entry> entries;
    qsizetype eocd = -1, zip64 = -1; // the record whose entry count, size and offset the readers use
};

quint64 rd(const QByteArray& b, qsizetype at, int n)
{
    quint64 v = 0;
    for (int i = 0; i < n; ++i)
        v |= quint64(uchar(b[at + i])) << (8 * i);
    return v;
}

ZipLayout zipLayout(const QByteArray& zip)
{
    ZipLayout z;
    z.eocd = zip.lastIndexOf(QByteArray("PK\x05\x06", 4));
    if (z.eocd < 0)
        qFatal("fixture is not a zip");
    quint64 count = rd(zip, z.eocd + 10, 2), cd = rd(zip, z.eocd + 16, 4);
    if (z.eocd >= 20 && rd(zip, z.eocd - 20, 4) == 0x07064b50) {
        z.zip64 = qsizetype(rd(zip, z.eocd - 20 + 8, 8));
        count = rd(zip, z.zip64 + 32, 8);
        cd = rd(zip, z.zip64 + 48, 8);
    }
    qsizetype p = qsizetype(cd);
    for (quint64 i = 0; i < count; ++i) {
        ZipLayout::Entry e;
        e.central = p;
        e.size = qsizetype(rd(zip, p + 20, 4));
        e.local = qsizetype(rd(zip, p + 42, 4));
        const auto nameLen = qsizetype(rd(zip, p + 28, 2));
        e.name = zip.mid(p + 46, nameLen);
        e.data = e.local + 30 + qsizetype(rd(zip, e.local + 26, 2) + rd(zip, e.local + 28, 2));
        p += 46 + nameLen + qsizetype(rd(zip, p + 30, 2) + rd(zip, p + 32, 2));
        z.entries.push_back(e);
    }
    return z;
}

// The records of a stored torch zip, to be zipped again with a changed pickle or deflated.
QList<ZipEntry> zipEntries(const QByteArray& zip)
{
    QList<ZipEntry> out;
    for (const auto& e : zipLayout(zip).entries)
        out << ZipEntry { e.name, zip.mid(e.data, e.size) };
    return out;
}

ZipEntry& entryEndingWith(QList<ZipEntry>& entries, const QByteArray& suffix)
{
    for (auto& e : entries)
        if (e.name.endsWith(suffix))
            return e;
    qFatal("no zip entry ends with %s", suffix.constData());
}

QByteArray replaced(QByteArray b, qsizetype at, const QByteArray& with)
{
    return b.replace(at, with.size(), with);
}

QByteArray flipped(QByteArray b, qsizetype at, char mask)
{
    b[at] = char(b[at] ^ mask);
    return b;
}

// ---- torch pickles at protocol 2: the first storage persistent id and the tensor arguments after it

qsizetype intOpLength(const QByteArray& p, qsizetype at)
{
    switch (p[at]) {
    case 'K':
        return 2;
    case 'M':
        return 3;
    case 'J':
        return 5;
    case '\x8a':
        return 2 + uchar(p[at + 1]);
    default:
        return 0;
    }
}

// Where the first BINPERSID is: it follows the persistent id tuple's TUPLE and its memo put.
qsizetype firstPersid(const QByteArray& p)
{
    for (qsizetype i = p.indexOf('Q'); i >= 0; i = p.indexOf('Q', i + 1))
        if ((i >= 3 && p[i - 3] == 't' && p[i - 2] == 'q') || (i >= 6 && p[i - 6] == 't' && p[i - 5] == 'r'))
            return i;
    qFatal("no storage persistent id in the fixture's pickle");
}

// The first storage's element count: the integer just before the tuple closes (legacy ids end with a None).
QByteArray withFirstStorageNumel(const QByteArray& p, std::int64_t numel)
{
    qsizetype end = firstPersid(p) - (p[firstPersid(p) - 2] == 'q' ? 3 : 6);
    if (p[end - 1] == 'N')
        --end;
    for (qsizetype len : { 2, 3, 5 })
        if (intOpLength(p, end - len) == len)
            return QByteArray(p).replace(end - len, len, I(numel));
    qFatal("no element count before the first persistent id");
}

// The first tensor's storage offset (right after BINPERSID) or the first element of its size (after that).
QByteArray withFirstTensorInt(const QByteArray& p, int which, std::int64_t value)
{
    qsizetype at = firstPersid(p) + 1;
    for (int i = 0; i < which; ++i)
        at += intOpLength(p, at) + (p[at + intOpLength(p, at)] == '(' ? 1 : 0);
    const qsizetype len = intOpLength(p, at);
    if (len == 0)
        qFatal("no integer where the tensor arguments should be");
    return QByteArray(p).replace(at, len, I(value));
}

// ---- legacy files: five pickles, then each storage as an 8-byte element count and its bytes

qsizetype legacyStorages(const QByteArray& file)
{
    // The key list is the last pickle: PROTO 2, EMPTY_LIST, memo, MARK, (BINUNICODE, memo)*, APPENDS, STOP.
    qsizetype p = file.indexOf(QByteArray(".\x80\x02]", 4), 137) + 4;
    auto skipMemo = [&] { p += file[p] == 'q' ? 2 : file[p] == 'r' ? 5 : 0; };
    skipMemo();
    if (file[p] == '(')
        ++p;
    while (file[p] == 'X') {
        p += 5 + qsizetype(rd(file, p + 1, 4));
        skipMemo();
    }
    if ((file[p] != 'e' && file[p] != 'a') || file[p + 1] != '.')
        qFatal("unexpected legacy key list");
    return p + 2;
}

// ---- safetensors

QByteArray safetensorsWith(const QJsonObject& header, const QByteArray& data)
{
    QByteArray h = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (h.size() % 8)
        h += ' ';
    return le64(quint64(h.size())) + h + data;
}

// A pseudo-random block: deflate cannot shrink it, so its compressed size makes a huge declared size plausible.
QByteArray noise(qsizetype n, quint32 seed)
{
    QByteArray b(n, Qt::Uninitialized);
    QRandomGenerator rng(seed);
    rng.fillRange(reinterpret_cast<quint32*>(b.data()), n / 4);
    return b;
}

QList<Case> truncations(const char* base, const QByteArray& bytes, const QString& suffix)
{
    // Cuts inside the first headers, at the structure boundaries near the end (a zip's end records) and spread
    // evenly between. Every proper prefix of these files is detectably incomplete.
    QList<qsizetype> cuts { 1, 4, 8, 9, 16, 29, 30, 31, 64, 137 };
    for (int k = 1; k < 10; ++k)
        cuts << bytes.size() * k / 10;
    cuts << bytes.size() - 98 << bytes.size() - 42 << bytes.size() - 23 << bytes.size() - 22 << bytes.size() - 1;
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    QList<Case> out;
    for (qsizetype n : cuts)
        if (n > 0 && n < bytes.size())
            out << Case { QByteArray(base) + " cut to " + QByteArray::number(n) + " bytes", bytes.left(n),
                Expect::Refused, {}, suffix };
    return out;
}

QList<Case> flips(const char* base, const QByteArray& bytes, const QList<qsizetype>& at, const QString& suffix)
{
    QList<Case> out;
    int k = 0;
    for (qsizetype i : at) {
        const char mask = "\xff\x01\x80\x10"[k++ % 4];
        out << Case { QByteArray(base) + " byte " + QByteArray::number(i) + " ^ 0x"
                + QByteArray::number(uchar(mask), 16),
            flipped(bytes, i, mask), Expect::Either, {}, suffix };
    }
    return out;
}

QList<qsizetype> spread(qsizetype begin, qsizetype end, int n)
{
    QList<qsizetype> out;
    for (int k = 0; k < n; ++k)
        out << begin + (end - begin) * k / n;
    return out;
}

QList<Case> corpus()
{
    using test::fixture;
    using test::readAll;
    QList<Case> cases;
    const QString pth = QStringLiteral("pth"), st = QStringLiteral("safetensors");
    constexpr std::int64_t k62 = std::int64_t(1) << 62;

    // ---- torch zips
    const QByteArray views = readAll(fixture(QStringLiteral("views.pth")));
    const QByteArray training = readAll(fixture(QStringLiteral("training.pth")));
    QList<ZipEntry> viewsEntries = zipEntries(views);
    QList<ZipEntry> deflatedEntries = viewsEntries;
    for (auto& e : deflatedEntries)
        e.deflate = true;
    const QByteArray deflated = zipOf(deflatedEntries);
    const ZipLayout vz = zipLayout(views), dz = zipLayout(deflated);

    cases << Case { "empty file", {}, Expect::Refused, QStringLiteral("empty") };
    cases << truncations("views.pth", views, pth) << truncations("training.pth", training, pth)
          << truncations("views.pth deflated", deflated, pth);

    // Headers (signature, method, CRC, sizes, name length, offset) of the first two records and the end records,
    // then the pickle: stored in views.pth, a deflate stream in the re-zipped copy.
    for (const auto* z : { &vz, &dz }) {
        QList<qsizetype> at;
        for (size_t i = 0; i < 2; ++i) {
            for (int off : { 0, 8, 14, 18, 22, 26 })
                at << z->entries[i].local + off;
            for (int off : { 0, 10, 16, 20, 24, 28, 42 })
                at << z->entries[i].central + off;
        }
        for (int off : { 8, 10, 12, 16, 20 })
            at << z->eocd + off;
        if (z->zip64 >= 0)
            for (int off : { 0, 32, 40, 48 })
                at << z->zip64 + off;
        const auto& pkl = z->entries[0];
        at << spread(pkl.data, pkl.data + pkl.size, 24);
        cases << flips(z == &vz ? "views.pth" : "views.pth deflated", z == &vz ? views : deflated, at, pth);
    }
    const ZipLayout tz = zipLayout(training);
    cases << flips(
        "training.pth pickle", training, spread(tz.entries[0].data, tz.entries[0].data + tz.entries[0].size, 16), pth);

    // Zip records pointing nowhere or declaring the impossible.
    const qsizetype cdCount = vz.zip64 >= 0 ? vz.zip64 + 32 : vz.eocd + 10,
                    cdOffset = vz.zip64 >= 0 ? vz.zip64 + 48 : vz.eocd + 16;
    const int wide = vz.zip64 >= 0 ? 8 : 4;
    const ZipLayout::Entry& first = vz.entries[0];
    cases << Case { "central directory offset beyond the file", replaced(views, cdOffset, le64(0x7fffffff).left(wide)),
        Expect::Refused, QStringLiteral("beyond the file's") };
    cases << Case { "central directory declaring 2^32-1 entries", replaced(views, cdCount, le64(0xffffffff).left(wide)),
        Expect::Refused, QStringLiteral("entries in") };
    cases << Case { "central directory signature broken", replaced(views, first.central, QByteArray("PK\x01\x03", 4)),
        Expect::Refused, QStringLiteral("bad signature") };
    cases << Case { "local header offset out of range", replaced(views, first.central + 42, le32(0x10000000)),
        Expect::Refused, QStringLiteral("local header missing") };
    cases << Case { "entry sizes beyond the file",
        replaced(views, first.central + 20, le32(0x7ffffff0) + le32(0x7ffffff0)), Expect::Refused,
        QStringLiteral("runs past the end of the file") };
    cases << Case { "entry compressed with bzip2", replaced(views, first.central + 10, le16(12)), Expect::Refused,
        QStringLiteral("compression method 12") };
    // CRCs are not checked on stored records (that would read every byte at open); what matters is no crash.
    QByteArray badCrc = views, badDeflatedCrc = deflated;
    for (const auto& e : vz.entries)
        for (qsizetype at : { e.local + 14, e.central + 16 })
            badCrc = flipped(badCrc, at, '\x5a');
    for (const auto& e : dz.entries)
        for (qsizetype at : { e.local + 14, e.central + 16 })
            badDeflatedCrc = flipped(badDeflatedCrc, at, '\x5a');
    cases << Case { "every CRC wrong", badCrc, Expect::Either }
          << Case { "every CRC wrong, deflated", badDeflatedCrc, Expect::Either };

    // Zip bombs: deflated records declaring far more than their streams hold.
    auto bomb = [&](const QByteArray& record, qint64 declared, const QByteArray& payload = {}) {
        QList<ZipEntry> e = deflatedEntries;
        ZipEntry& r = entryEndingWith(e, record);
        r.declaredSize = declared;
        if (!payload.isNull())
            r.payload = payload;
        return zipOf(e);
    };
    cases << Case { "deflated data/0 declaring 4 GiB for a few bytes", bomb("/data/0", 0xffffffffLL), Expect::Opens,
        QStringLiteral("impossible for deflate") };
    cases << Case { "deflated data.pkl declaring 4 GiB for a few bytes", bomb("/data.pkl", 0xffffffffLL),
        Expect::Refused, QStringLiteral("impossible for") };
    // 1 MiB of incompressible stream declaring 1000 times as much: plausible for deflate, but more than the whole
    // 1 GiB address space. Both must be refused with a message, not die on the allocation.
    const QByteArray mib = rawDeflate(noise(1 << 20, 1));
    // Plausible enough for the ratio check: the allocation fails under the 1 GiB limit and must be an error.
    cases << Case { "deflated data/0 declaring 1 GB for a 1 MiB stream", bomb("/data/0", mib.size() * 1000LL, mib),
        Expect::Opens, {}, QStringLiteral("pth") };
    cases << Case { "deflated data.pkl declaring 1 GB for a 1 MiB stream", bomb("/data.pkl", mib.size() * 1000LL, mib),
        Expect::Refused, {}, QStringLiteral("pth") };

    // The torch pickle edited where it declares the first storage and the first tensor over it.
    const QByteArray viewsPickle = entryEndingWith(viewsEntries, "/data.pkl").data;
    auto withPickle = [&](const QByteArray& pickle) {
        QList<ZipEntry> e = viewsEntries;
        entryEndingWith(e, "/data.pkl").data = pickle;
        return zipOf(e);
    };
    cases << Case { "first storage declares 2^31-1 elements",
        withPickle(withFirstStorageNumel(viewsPickle, 0x7fffffff)), Expect::Opens,
        QStringLiteral("storage needs 8589934588 bytes at offset 0 but record views/data/0 holds 192") };
    cases << Case { "first storage declares 2^62 elements", withPickle(withFirstStorageNumel(viewsPickle, k62)),
        Expect::Opens, QStringLiteral("declared size 4611686018427387904 elements is invalid") };
    cases << Case { "first tensor at storage offset 1000", withPickle(withFirstTensorInt(viewsPickle, 0, 1000)),
        Expect::Opens, QStringLiteral("but storage 0 holds 192 bytes") };
    cases << Case { "first tensor at storage offset 2^62", withPickle(withFirstTensorInt(viewsPickle, 0, k62)),
        Expect::Opens, QStringLiteral("tensor reaches element 4611686018427387951 but storage 0 holds 192 bytes") };
    cases << Case { "first tensor 2^40 rows long",
        withPickle(withFirstTensorInt(viewsPickle, 1, std::int64_t(1) << 40)), Expect::Opens,
        QStringLiteral("tensor reaches element 8796093022207 but storage 0 holds 192 bytes") };
    cases << Case { "first tensor -1 rows long", withPickle(withFirstTensorInt(viewsPickle, 1, -1)), Expect::Opens,
        QStringLiteral("negative or overflowing") };

    // Hand-written tensors over views.pth's own records (data/0: 48 floats, data/1: 4 floats).
    const TensorSpec good { "ok", "1", 4, 0, { 4 }, { 1 } };
    auto tensors = [&](const TensorSpec& bad) { return withPickle(tensorDictPickle({ bad, good })); };
    auto spec = [](std::int64_t numel, std::int64_t offset, QList<std::int64_t> size, QList<std::int64_t> stride) {
        return TensorSpec { "bad", "0", numel, offset, std::move(size), std::move(stride) };
    };
    const std::int64_t k32 = std::int64_t(1) << 32;
    cases << Case { "storage key naming no record", tensors(TensorSpec { "bad", "99", 4, 0, { 4 }, { 1 } }),
        Expect::Opens, QStringLiteral("record views/data/99 is missing") };
    cases << Case { "storage one element longer than its record", tensors(spec(49, 0, { 49 }, { 1 })), Expect::Opens,
        QStringLiteral("storage needs 196 bytes at offset 0 but record views/data/0 holds 192") };
    cases << Case { "tensor starting at the storage's end", tensors(spec(48, 48, { 1 }, { 1 })), Expect::Opens,
        QStringLiteral("tensor reaches element 48 but storage 0 holds 192 bytes") };
    cases << Case { "shape whose element count overflows", tensors(spec(48, 0, { k32, k32 }, { k32, 1 })),
        Expect::Opens, QStringLiteral("negative or overflowing") };
    cases << Case { "2^62 x 4 with zero strides", tensors(spec(48, 0, { k62, 4 }, { 0, 0 })), Expect::Opens,
        QStringLiteral("negative or overflowing") };
    cases << Case { "stride of 2^62", tensors(spec(48, 0, { 3 }, { k62 })), Expect::Opens,
        QStringLiteral("negative or overflowing") };
    cases << Case { "storage offset of 2^63-1",
        tensors(spec(48, std::numeric_limits<std::int64_t>::max(), { 2 }, { 1 })), Expect::Opens,
        QStringLiteral("negative or overflowing") };
    cases << Case { "negative stride", tensors(spec(48, 4, { 2 }, { -1 })), Expect::Opens,
        QStringLiteral("negative or overflowing") };
    cases << Case { "storage of -6 elements", tensors(spec(-6, 0, { 2 }, { 1 })), Expect::Opens,
        QStringLiteral("declared size -6 elements is invalid") };
    cases << Case { "one element expanded to 2^40", tensors(spec(48, 0, { std::int64_t(1) << 40 }, { 0 })),
        Expect::Opens, QStringLiteral("expanded view") };
    QList<std::int64_t> ones(65, 1);
    cases << Case { "65 dimensions", tensors(spec(48, 0, ones, ones)), Expect::Either };

    // Object graphs: cycles through the memo, references to memo slots never filled, 200,000-deep nesting.
    const QByteArray t = tensorCall(spec(48, 0, { 6, 8 }, { 8, 1 }), false);
    cases << Case { "a list holding itself and a tensor",
        withPickle(QByteArray("\x80\x02]q\x00h\x00", 7) + "a" + t + "a."), Expect::Opens };
    cases << Case { "a dict and an object holding each other",
        withPickle(QByteArray("\x80\x02}q\x00", 5) + S("self") + G("mymod", "C")
            + QByteArray(")\x81q\x01h\x00"
                         "b",
                7)
            + 's' + S("t") + t + "s."),
        Expect::Opens };
    cases << Case { "a reference to a memo slot never filled",
        withPickle(QByteArray("\x80\x02]q\x00h\x07"
                              "a.",
            9)),
        Expect::Refused, QStringLiteral("memo") };
    cases << Case { "a reference to memo slot 2^32-1",
        withPickle(QByteArray("\x80\x02]q\x00j\xff\xff\xff\xff"
                              "a.",
            12)),
        Expect::Refused, QStringLiteral("memo") };
    constexpr int kDeep = 200'000;
    cases << Case { "200,000 nested lists around a tensor",
        withPickle("\x80\x02" + QByteArray(kDeep, ']') + t + QByteArray(kDeep, 'a') + '.'), Expect::Opens };
    cases << Case { "200,000 nested dicts",
        withPickle("\x80\x02}(" + S("t") + t + S("d") + '}' + QByteArray("K\x01}", 3).repeated(kDeep)
            + QByteArray(kDeep, 's') + "u."),
        Expect::Opens };
    cases << Case { "200,000 nested tuples",
        withPickle("\x80\x02" + QByteArray(kDeep, '(') + t + QByteArray(kDeep, 't') + '.'), Expect::Opens };
    cases << Case { "200,000 MARKs and nothing else", withPickle(QByteArray(kDeep, '(') + '.'), Expect::Refused,
        QStringLiteral("stack underflow") };
    // x0 = [tensor]; x(k+1) = [x(k), x(k)]: 2^30 paths to one tensor through 31 objects
    QByteArray shared = "\x80\x02]" + t + 'a';
    for (int i = 0; i < 30; ++i)
        shared += QByteArray("q\x00"
                             "0(h\x00h\x00l",
            9);
    cases << Case { "30 levels of [x, x]", withPickle(shared + '.'), Expect::Opens };

    // ---- legacy
    const QByteArray legacy = readAll(fixture(QStringLiteral("training_legacy.pt")));
    const qsizetype storages = legacyStorages(legacy);
    cases << truncations("training_legacy.pt", legacy, pth);
    cases << flips("training_legacy.pt", legacy,
        spread(0, 137, 8) + spread(137, storages, 16) + QList<qsizetype> { storages, storages + 3, storages + 7 }, pth);
    cases << Case { "legacy storage declaring 2^40 elements", replaced(legacy, storages, le64(quint64(1) << 40)),
        Expect::Refused, QStringLiteral("declares 1099511627776 elements") };
    cases << Case { "legacy storage declaring -1 elements", replaced(legacy, storages, le64(~0ULL)), Expect::Refused,
        QStringLiteral("declares -1 elements") };
    const QByteArray legacyHead = legacy.left(storages);
    cases << Case { "legacy pickle declaring one element more than its storage",
        withFirstStorageNumel(legacyHead, qint64(rd(legacy, storages, 8)) + 1) + legacy.mid(storages), Expect::Either };

    // ---- safetensors
    const QByteArray model = readAll(fixture(QStringLiteral("model.safetensors")));
    const auto headerLen = qsizetype(rd(model, 0, 8));
    const QJsonObject header = QJsonDocument::fromJson(model.mid(8, headerLen)).object();
    const QByteArray data = model.mid(8 + headerLen);
    cases << truncations("model.safetensors", model, st);
    cases << flips("model.safetensors", model, spread(0, 8, 8) + spread(8, 8 + headerLen, 24), st);
    for (quint64 n : { 0ULL, 7ULL, quint64(model.size()), 100'000'001ULL, 1ULL << 63, ~0ULL })
        cases << Case { "safetensors header length " + QByteArray::number(n), replaced(model, 0, le64(n)),
            Expect::Refused, QStringLiteral("header"), st };
    cases << Case { "safetensors header length 8 short", replaced(model, 0, le64(quint64(headerLen - 8))),
        Expect::Refused, QStringLiteral("invalid JSON"), st };
    cases << Case { "safetensors trailing bytes", model + "junk", Expect::Refused,
        QStringLiteral("but the buffer holds"), st };
    // The tensor whose data comes first and the one whose data comes last, edited one field at a time.
    QString firstKey, lastKey;
    qint64 firstBegin = std::numeric_limits<qint64>::max(), lastEnd = -1;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == QLatin1String("__metadata__"))
            continue;
        const QJsonArray o = it.value().toObject()[QLatin1String("data_offsets")].toArray();
        if (o[0].toInteger() < firstBegin)
            firstBegin = o[0].toInteger(), firstKey = it.key();
        if (o[1].toInteger() > lastEnd)
            lastEnd = o[1].toInteger(), lastKey = it.key();
    }
    auto edited = [&](const QString& key, const char* field, const QJsonValue& value) {
        QJsonObject h = header, entry = h[key].toObject();
        entry[QLatin1String(field)] = value;
        h[key] = entry;
        return safetensorsWith(h, data);
    };
    const QJsonArray lastOffsets = header[lastKey].toObject()[QLatin1String("data_offsets")].toArray();
    cases << Case { "safetensors last tensor past the data",
        edited(lastKey, "data_offsets", QJsonArray { lastOffsets[0], lastEnd + 1024 }), Expect::Refused,
        QStringLiteral("but shape and dtype need"), st };
    cases << Case { "safetensors offsets 2^53",
        edited(lastKey, "data_offsets", QJsonArray { lastOffsets[0], qint64(1) << 53 }), Expect::Refused,
        QStringLiteral("but shape and dtype need"), st };
    cases << Case { "safetensors end before begin", edited(firstKey, "data_offsets", QJsonArray { 8, 4 }),
        Expect::Refused, QStringLiteral("before begin"), st };
    cases << Case { "safetensors offsets out of order", edited(firstKey, "data_offsets", QJsonArray { 4, 12 }),
        Expect::Refused, QStringLiteral("expected"), st };
    cases << Case { "safetensors shape overflowing",
        edited(firstKey, "shape", QJsonArray { qint64(1) << 32, qint64(1) << 32 }), Expect::Refused,
        QStringLiteral("overflows"), st };
    cases << Case { "safetensors negative dimension", edited(firstKey, "shape", QJsonArray { -2 }), Expect::Refused,
        QStringLiteral("not a non-negative integer"), st };
    cases << Case { "safetensors unknown dtype", edited(firstKey, "dtype", QStringLiteral("F128")), Expect::Refused,
        QStringLiteral("unknown dtype"), st };
    QByteArray deepJson = "{\"__metadata__\":{\"k\":" + QByteArray(kDeep, '[') + QByteArray(kDeep, ']') + "}}";
    cases << Case { "safetensors header nested 200,000 deep", le64(quint64(deepJson.size())) + deepJson,
        Expect::Refused, QStringLiteral("invalid JSON"), st };
    return cases;
}

} // namespace

Q_DECLARE_METATYPE(Expect)

class TestCorruptCorpus : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void corruptFile_data();
    void corruptFile();
    void cleanupTestCase();

private:
    struct Run {
        bool finished = false, crashed = false;
        int code = -1;
        QByteArray out, err;
        qint64 ms = 0;
    };
    QTemporaryDir m_dir;
    int m_files = 0;
    int m_opened = 0, m_refused = 0;
    qint64 m_slowest = 0;
};

void TestCorruptCorpus::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

void TestCorruptCorpus::corruptFile_data()
{
    if (!test::haveTorchFixtures())
        QSKIP("no torch-written fixtures: gen_fixtures (ctest) needs /usr/bin/python3 with torch");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Expect>("expect");
    QTest::addColumn<QString>("problem");
    QTest::addColumn<QString>("suffix");
    for (const Case& c : corpus())
        QTest::newRow(c.name.constData()) << c.bytes << c.expect << c.problem << c.suffix;
}

void TestCorruptCorpus::corruptFile()
{
    QFETCH(QByteArray, bytes);
    QFETCH(Expect, expect);
    QFETCH(QString, problem);
    QFETCH(QString, suffix);
    const QString path = m_dir.filePath(QStringLiteral("case-%1.%2").arg(m_files++).arg(suffix));
    QVERIFY(test::writeFile(path, bytes));

    // Both commands at once, each in a shell that caps its address space first. 20 s is a hang detector, not a
    // performance bound: every file here takes milliseconds, but the machine may be shared with other builds.
    constexpr int kTimeoutMs = 20'000;
    const QString wrapper = QStringLiteral("ulimit -v 1048576; exec \"$0\" \"$@\"");
    QProcess info, stats;
    QElapsedTimer timer;
    timer.start();
    for (auto [p, command] : { std::pair { &info, "info" }, std::pair { &stats, "stats" } })
        p->start(QStringLiteral("sh"),
            { QStringLiteral("-c"), wrapper, QStringLiteral(CKPTLENS_CLI), QLatin1String(command), path });
    auto collect = [&](QProcess& p) {
        Run r;
        r.finished = p.waitForFinished(int(std::max<qint64>(1, kTimeoutMs - timer.elapsed())));
        if (!r.finished) {
            p.kill();
            p.waitForFinished();
        }
        r.ms = timer.elapsed();
        r.crashed = p.exitStatus() == QProcess::CrashExit;
        r.code = r.crashed ? -1 : p.exitCode();
        r.out = p.readAllStandardOutput();
        r.err = p.readAllStandardError();
        return r;
    };
    const Run ri = collect(info), rs = collect(stats);
    m_slowest = std::max(m_slowest, std::max(ri.ms, rs.ms));

    // What every run must be: finished, not killed by a signal, 0 or 2; a refusal is one stderr line naming the
    // file, the problem and its kind, with nothing on stdout. Every way the row falls short is collected, so a
    // known problem is one expected failure.
    QStringList wrong;
    const QRegularExpression refusal(
        QStringLiteral("^ckptlens-cli: %1: (.+) \\[([a-z-]+)\\]$").arg(QRegularExpression::escape(path)),
        QRegularExpression::MultilineOption);
    for (const auto* r : { &ri, &rs }) {
        const QString run = QStringLiteral("%1 (exit %2, stderr '%3')")
                                .arg(QLatin1String(r == &ri ? "info" : "stats"))
                                .arg(r->code)
                                .arg(QString::fromUtf8(r->err.left(1000)).trimmed());
        if (!r->finished)
            wrong << run + QStringLiteral(" still running after %1 ms").arg(kTimeoutMs);
        else if (r->crashed)
            wrong << run + QStringLiteral(" killed by a signal");
        else if (r->code != 0 && r->code != 2)
            wrong << run + QStringLiteral(" exited neither 0 nor 2");
        else if (r->code == 2) {
            const auto m = refusal.match(QString::fromUtf8(r->err));
            if (!m.hasMatch() || m.captured(1).trimmed().isEmpty())
                wrong << run + QStringLiteral(" refused without a line naming the file, the problem and its kind");
            if (!r->out.isEmpty())
                wrong << run + QStringLiteral(" refused but printed to stdout");
        } else if (r->out.isEmpty()) {
            wrong << run + QStringLiteral(" printed nothing");
        }
    }
    // Both commands open the file the same way: `stats` refuses what `info` refuses.
    if (ri.code == 2 && rs.code != 2)
        wrong << QStringLiteral("info refused the file, stats exited %1").arg(rs.code);

    switch (expect) {
    case Expect::Refused:
        if (ri.code != 2 || !QString::fromUtf8(ri.err).contains(problem))
            wrong << QStringLiteral("info should refuse the file naming '%1'; exit %2, stderr '%3'")
                         .arg(problem)
                         .arg(ri.code)
                         .arg(QString::fromUtf8(ri.err).trimmed());
        break;
    case Expect::Opens:
        if (ri.code != 0)
            wrong << QStringLiteral("info should open the file; exit %1").arg(ri.code);
        // The damaged tensor's row in `stats` says what is wrong with it; the intact ones still get numbers.
        else if (!problem.isEmpty() && rs.code == 0
            && !QRegularExpression(QStringLiteral("error: .*") + QRegularExpression::escape(problem))
                    .match(QString::fromUtf8(rs.out))
                    .hasMatch())
            wrong << QStringLiteral("stats should report '%1' for a tensor:\n%2")
                         .arg(problem, QString::fromUtf8(rs.out.left(2000)));
        break;
    case Expect::Either:
        break;
    }
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong.join(QLatin1Char('\n'))));
    ++(ri.code == 0 ? m_opened : m_refused);
}

void TestCorruptCorpus::cleanupTestCase()
{
    qInfo("%d files: %d opened, %d refused; slowest run %lld ms", m_files, m_opened, m_refused, qlonglong(m_slowest));
}

QTEST_GUILESS_MAIN(TestCorruptCorpus)
#include "tst_corruptcorpus.moc"
