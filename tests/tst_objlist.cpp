// ObjList, the unpickler's item list: two items inline, more on the heap. Checked against std::vector doing the same.
#include "io/objlist.h"

#include <QtTest>

#include <numeric>
#include <vector>

using namespace ckpt;

namespace {

ObjList listOf(int n)
{
    ObjList l;
    for (int i = 0; i < n; ++i)
        l.push_back(ObjId(100 + i));
    return l;
}

std::vector<ObjId> vectorOf(int n)
{
    std::vector<ObjId> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), ObjId(100));
    return v;
}

} // namespace

class TestObjList : public QObject {
    Q_OBJECT
private slots:
    void appendsItself_data();
    void appendsItself();
    void copiesAndMoves_data();
    void copiesAndMoves();
    void growsPastInline();
};

void TestObjList::appendsItself_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("times");
    // Inline lists that must move to the heap, heap lists that must grow, and repeats that grow them further.
    QTest::newRow("one inline item") << 1 << 1;
    QTest::newRow("two inline items, onto the heap") << 2 << 1;
    QTest::newRow("three on the heap, growing") << 3 << 1;
    QTest::newRow("five, four times over") << 5 << 4;
    QTest::newRow("empty") << 0 << 3;
}

void TestObjList::appendsItself()
{
    QFETCH(int, size);
    QFETCH(int, times);
    ObjList l = listOf(size);
    std::vector<ObjId> v = vectorOf(size);
    for (int i = 0; i < times; ++i) {
        l.append(l);
        const std::vector<ObjId> copy = v;
        v.insert(v.end(), copy.begin(), copy.end());
    }
    QCOMPARE(l.toVector(), v);
    // A part of itself, from the middle.
    if (l.size() >= 3) {
        l.append(std::span<const ObjId>(l).subspan(1, 2));
        v.push_back(v[1]);
        v.push_back(v[2]);
        QCOMPARE(l.toVector(), v);
    }
}

void TestObjList::copiesAndMoves_data()
{
    QTest::addColumn<int>("size");
    QTest::newRow("empty") << 0;
    QTest::newRow("inline") << 2;
    QTest::newRow("heap") << 7;
}

void TestObjList::copiesAndMoves()
{
    QFETCH(int, size);
    const ObjList original = listOf(size);
    ObjList copy = original;
    QCOMPARE(copy.toVector(), vectorOf(size));
    QVERIFY(copy == original);
    copy.push_back(1);
    QVERIFY(!(copy == original)); // deep: the original kept its items
    QCOMPARE(original.toVector(), vectorOf(size));

    ObjList moved = std::move(copy);
    QCOMPARE(moved.size(), size_t(size + 1));
    QVERIFY(copy.empty()); // NOLINT(bugprone-use-after-move): a moved-from list is empty and usable
    copy.push_back(5);
    QCOMPARE(copy.toVector(), std::vector<ObjId>({ 5 }));

    ObjList assigned = listOf(3);
    assigned = original;
    QVERIFY(assigned == original);
    assigned = std::move(moved);
    QCOMPARE(assigned.size(), size_t(size + 1));
    auto& self = assigned;
    assigned = self;
    QCOMPARE(assigned.size(), size_t(size + 1));
}

void TestObjList::growsPastInline()
{
    ObjList l { 1, 2 };
    QCOMPARE(l.size(), size_t(2));
    std::vector<ObjId> v { 1, 2 };
    for (ObjId i = 3; i < 5000; ++i) {
        l.push_back(i);
        v.push_back(i);
    }
    QCOMPARE(l.toVector(), v);
    QCOMPARE(l.front(), ObjId(1));
    QCOMPARE(l.back(), ObjId(4999));
    l.clear();
    QVERIFY(l.empty());
    l.push_back(9);
    QCOMPARE(l[0], ObjId(9));
}

QTEST_GUILESS_MAIN(TestObjList)
#include "tst_objlist.moc"
