#include "widgets/detailsview.h"

#include "model/objectchildren.h"
#include "model/objecttreemodel.h"
#include "model/summary.h"

#include <QFileInfo>
#include <QLocale>

namespace ckpt {
namespace {

// Long enough for any config string a person would read here; the tree's Value column stays short.
constexpr int kValueChars = 20'000;

QString esc(const QString& s)
{
    return s.toHtmlEscaped();
}

QString errorSpan(const QString& text)
{
    return QStringLiteral("<span class=\"err\">%1</span>").arg(esc(text));
}

QString number(std::int64_t n)
{
    return QLocale().toString(qlonglong(n));
}

QString listText(const std::vector<std::int64_t>& v)
{
    QStringList parts;
    parts.reserve(qsizetype(v.size()));
    for (auto x : v)
        parts << QString::number(x);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

QString yesNo(bool b)
{
    return b ? DetailsView::tr("yes") : DetailsView::tr("no");
}

// Label / value rows; values arrive already escaped so a row can carry markup (an error in red).
class Table {
public:
    void row(const QString& label, const QString& htmlValue)
    {
        m_html += QStringLiteral("<tr><td class=\"k\">%1</td><td>%2</td></tr>").arg(esc(label), htmlValue);
    }
    void text(const QString& label, const QString& value) { row(label, esc(value)); }
    QString html() const { return QStringLiteral("<table cellspacing=\"0\" cellpadding=\"2\">%1</table>").arg(m_html); }

private:
    QString m_html;
};

// Title line, full-width rows (path, error), then two columns of label / value pairs so the pane stays short.
QString page(const QString& title, const QString& subtitle, const Table& wide, const Table& left, const Table& right)
{
    QString html = QStringLiteral("<html><head><style>"
                                  "td.k { color: gray; padding-right: 14px; white-space: nowrap; }"
                                  "td { vertical-align: top; }"
                                  ".err { color: #b3261e; font-weight: bold; }"
                                  "</style></head><body>");
    html += QStringLiteral("<p style=\"margin-bottom: 4px\"><b>%1</b>").arg(esc(title));
    if (!subtitle.isEmpty())
        html += QStringLiteral("&nbsp;&nbsp;<span style=\"color: gray\">%1</span>").arg(esc(subtitle));
    html += QStringLiteral("</p>") + wide.html();
    html += QStringLiteral(
        "<table cellspacing=\"0\" cellpadding=\"0\"><tr><td>%1</td><td width=\"40\"></td><td>%2</td></tr></table>")
                .arg(left.html(), right.html());
    return html + QStringLiteral("</body></html>");
}

QString count(std::int64_t n, const QString& one, const QString& many)
{
    return n == 1 ? one : many.arg(number(n));
}

QString pathText(const QStringList& path)
{
    // Keys such as "blocks.0.ln1.weight" contain dots themselves, so the path uses a separator they lack.
    return path.join(QStringLiteral(" / "));
}

} // namespace

DetailsView::DetailsView(QWidget* parent)
    : QTextBrowser(parent)
{
    setOpenLinks(false);
    setAcceptDrops(false); // a dropped file goes to the window, which opens it
    setPlaceholderText(tr("Select a row to see its details"));
}

void DetailsView::showNothing()
{
    clear();
}

void DetailsView::showSummary(const CheckpointSummary& s, bool treeTruncated)
{
    Table wide, left, right;
    wide.text(tr("File"), s.path);
    left.text(tr("Format"), formatName(s.format));
    left.text(tr("File size"), tr("%1 (%2 bytes)").arg(formatBytes(s.fileSize), number(s.fileSize)));
    left.text(tr("Root"), s.rootType);
    QString tensors = esc(number(s.tensorCount));
    if (s.brokenTensors)
        tensors += QLatin1Char(' ') + errorSpan(tr("(%1 broken)").arg(number(s.brokenTensors)));
    left.row(tr("Tensors"), tensors);
    left.text(tr("Elements"), number(s.totalElements));
    left.text(tr("Tensor bytes"), tr("%1 (%2 bytes)").arg(formatBytes(s.tensorBytes), number(s.tensorBytes)));
    if (s.storageBytes != s.tensorBytes)
        left.text(tr("Storage bytes"), tr("%1 (shared storage counted once)").arg(formatBytes(s.storageBytes)));
    if (!s.devices.isEmpty())
        right.text(tr("Saved from"), s.devices.join(QStringLiteral(", ")));
    QStringList dtypes;
    for (const auto& [name, d] : s.byDtype)
        dtypes << esc(tr("%1: %2, %3, %4")
                          .arg(name, count(d.tensors, tr("1 tensor"), tr("%1 tensors")),
                              count(d.elements, tr("1 element"), tr("%1 elements")), formatBytes(d.bytes)));
    if (!dtypes.isEmpty())
        right.row(tr("By dtype"), dtypes.join(QStringLiteral("<br>")));
    right.text(tr("Top-level keys"), number(s.topLevelKeys.size()));
    right.text(tr("Imported globals"), number(s.importedGlobals));
    if (treeTruncated)
        wide.row(tr("Tree"),
            errorSpan(tr("cut at %1 rows: the file shares objects too often to show them all")
                          .arg(number(ObjectTreeModel::kMaxNodes))));
    setHtml(page(QFileInfo(s.path).fileName(), tr("checkpoint"), wide, left, right));
}

void DetailsView::showIndex(const Checkpoint& ck, const QModelIndex& index)
{
    if (!index.isValid()) {
        showNothing();
        return;
    }
    const QModelIndex key = index.siblingAtColumn(ObjectTreeModel::KeyColumn);
    const QString title = key.data().toString();
    const QString type = index.siblingAtColumn(ObjectTreeModel::TypeColumn).data().toString();
    const int ti = key.data(ObjectTreeModel::TensorIndexRole).toInt();

    Table wide, left, right;
    wide.text(tr("Path"), pathText(key.data(ObjectTreeModel::PathRole).toStringList()));
    if (ti >= 0 && size_t(ti) < ck.tensors.size()) {
        const TensorInfo& ten = ck.tensors[size_t(ti)];
        if (!ten.error.isEmpty())
            wide.row(tr("Error"), errorSpan(ten.error));
        left.text(tr("DType"), dtypeName(ten.dtype));
        left.text(tr("Shape"), listText(ten.shape));
        left.text(tr("Stride"),
            listText(ten.stride) + (ten.error.isEmpty() && !ten.isContiguous() ? tr("  (not contiguous)") : QString()));
        left.text(tr("Storage offset"), number(ten.storageOffset));
        if (ten.error.isEmpty()) {
            left.text(tr("Elements"), number(ten.numel()));
            left.text(tr("Bytes"), tr("%1 (%2 bytes)").arg(formatBytes(ten.nbytes()), number(ten.nbytes())));
        }
        if (ten.storage >= 0 && size_t(ten.storage) < ck.storages.size()) {
            const StorageInfo& st = ck.storages[size_t(ten.storage)];
            right.text(tr("Storage key"), st.key);
            right.text(
                tr("Storage"), tr("%1 × %2 (%3)").arg(dtypeName(st.dtype), number(st.numel), formatBytes(st.nbytes())));
            right.text(tr("Saved on"), st.location);
            if (!st.error.isEmpty() && !ten.error.contains(st.error)) // usually the tensor error already says it
                wide.row(tr("Storage error"), errorSpan(st.error));
        } else {
            right.text(tr("Storage"), tr("none"));
        }
        right.text(tr("requires_grad"), yesNo(ten.requiresGrad));
        right.text(tr("Parameter"), yesNo(ten.parameter));
        if (!ten.rebuild.isEmpty())
            right.text(tr("Rebuilt by"), ten.rebuild);
        setHtml(page(title, type, wide, left, right));
        return;
    }

    const auto id = ObjId(key.data(ObjectTreeModel::ObjectIdRole).toUInt());
    if (!ck.graph.valid(id)) { // the top row stands for the file, not for an object
        showNothing();
        return;
    }
    left.text(tr("Type"), type);
    const PyObject& o = ck.graph.at(id);
    switch (o.kind) {
    case ObjKind::Object:
        right.text(tr("Class"), o.qualifiedName());
        [[fallthrough]];
    case ObjKind::List:
    case ObjKind::Tuple:
    case ObjKind::Dict:
    case ObjKind::Set:
        left.text(tr("Entries"), number(index.model()->rowCount(key)));
        break;
    default:
        wide.text(tr("Value"), valueText(ck.graph, id, kValueChars));
        break;
    }
    setHtml(page(title, type, wide, left, right));
}

} // namespace ckpt
