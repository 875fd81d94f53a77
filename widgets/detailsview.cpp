#include "widgets/detailsview.h"

#include "io/checkpointmerge.h"
#include "model/modeloverview.h"
#include "model/moduletreemodel.h"
#include "model/objectchildren.h"
#include "model/objecttreemodel.h"
#include "model/optimizerstate.h"
#include "model/statsresult.h"
#include "model/summary.h"
#include "model/valueslice.h"
#include "model/valuetablemodel.h"

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
    bool empty() const { return m_html.isEmpty(); }

private:
    QString m_html;
};

// Title line, full-width rows (path, error), then two columns of label / value pairs so the pane stays short.
QString pageHead(const QString& title, const QString& subtitle)
{
    QString html = QStringLiteral("<html><head><style>"
                                  "td.k { color: gray; padding-right: 14px; white-space: nowrap; }"
                                  "td { vertical-align: top; }"
                                  ".err { color: #b3261e; font-weight: bold; }"
                                  "h4 { margin-top: 10px; margin-bottom: 2px; }"
                                  "</style></head><body>");
    html += QStringLiteral("<p style=\"margin-bottom: 4px\"><b>%1</b>").arg(esc(title));
    if (!subtitle.isEmpty())
        html += QStringLiteral("&nbsp;&nbsp;<span style=\"color: gray\">%1</span>").arg(esc(subtitle));
    return html + QStringLiteral("</p>");
}

QString columns(const Table& left, const Table& right)
{
    return QStringLiteral(
        "<table cellspacing=\"0\" cellpadding=\"0\"><tr><td>%1</td><td width=\"40\"></td><td>%2</td></tr></table>")
        .arg(left.html(), right.html());
}

QString page(const QString& title, const QString& subtitle, const Table& wide, const Table& left, const Table& right)
{
    return pageHead(title, subtitle) + wide.html() + columns(left, right) + QStringLiteral("</body></html>");
}

// A page of headed sections, each two columns of label / value rows (or one, when `right` is empty).
struct Section {
    QString heading;
    Table left, right;
    QString html; // free text under the heading, already escaped
};

QString sectionsPage(const QString& title, const QString& subtitle, const Table& wide, const std::vector<Section>& sections)
{
    QString html = pageHead(title, subtitle) + wide.html();
    for (const Section& s : sections) {
        html += QStringLiteral("<h4>%1</h4>").arg(esc(s.heading));
        html += s.html;
        if (!s.left.empty() || !s.right.empty())
            html += columns(s.left, s.right);
    }
    return html + QStringLiteral("</body></html>");
}

QString stat(const std::optional<double>& v)
{
    return v ? ModuleTreeModel::number(*v) : QStringLiteral("–");
}

// The figures of one tensor, in two columns.
void statsRows(const StatsResult* r, Section& section)
{
    if (!r) {
        section.html = QStringLiteral("<p style=\"color: gray\">%1</p>").arg(esc(DetailsView::tr("computing…")));
        return;
    }
    if (!r->stats) {
        section.html = QStringLiteral("<p>%1</p>").arg(errorSpan(r->error));
        return;
    }
    const TensorStats& st = *r->stats;
    section.left.text(DetailsView::tr("Min"), stat(st.min));
    section.left.text(DetailsView::tr("Max"), stat(st.max));
    section.left.text(DetailsView::tr("Mean"), stat(st.mean));
    section.left.text(DetailsView::tr("Std"), stat(st.std));
    section.right.text(DetailsView::tr("L2 norm"), ModuleTreeModel::number(st.l2));
    section.right.text(DetailsView::tr("Abs max"), stat(st.absmax));
    const double share = st.numel ? 100.0 * double(st.zeros) / double(st.numel) : 0;
    section.right.text(DetailsView::tr("Zeros"), DetailsView::tr("%1 (%2%)").arg(number(st.zeros)).arg(share, 0, 'g', 3));
    const QString nonFinite = DetailsView::tr("%1 NaN, %2 Inf").arg(number(st.nan), number(st.inf));
    section.right.row(DetailsView::tr("Non-finite"), st.nan + st.inf ? errorSpan(nonFinite) : esc(nonFinite));
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
    if (!s.layout.isEmpty()) {
        wide.text(tr("Layout"), tr("%1, %2 files").arg(s.layout).arg(s.parts.size()));
        for (const QString& p : s.problems)
            wide.row(tr("Problem"), errorSpan(p));
    }
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
    right.text(tr("Top-level keys"), number(s.topLevelKeyCount));
    right.text(tr("Imported globals"), number(s.importedGlobals));
    if (treeTruncated)
        wide.row(tr("Tree"),
            errorSpan(tr("cut at %1 rows: the file shares objects too often to show them all")
                          .arg(number(ObjectTreeModel::kMaxNodes))));
    setHtml(page(QFileInfo(s.path).fileName(), tr("checkpoint"), wide, left, right));
}

void DetailsView::showIndex(const Checkpoint& ck, const QModelIndex& index, const StatsResult* stats)
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
        if (const QString origin = tensorOrigin(ck, ti); !origin.isEmpty())
            wide.text(tr("Held by"), origin);
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
        QString html = page(title, type, wide, left, right);
        if (stats) {
            Section section { tr("Statistics"), {}, {}, {} };
            statsRows(stats, section);
            html.chop(int(QStringLiteral("</body></html>").size()));
            html += QStringLiteral("<h4>%1</h4>").arg(esc(section.heading)) + section.html + columns(section.left, section.right)
                + QStringLiteral("</body></html>");
        }
        setHtml(html);
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

void DetailsView::showModuleNode(const Checkpoint& ck, const Semantic& sem, const QModelIndex& index, const StatsLookup& stats)
{
    if (!index.isValid()) {
        showNothing();
        return;
    }
    const QModelIndex name = index.siblingAtColumn(ModuleTreeModel::NameColumn);
    const QString fullName = name.data(ModuleTreeModel::FullNameRole).toString();
    const QString kind = index.siblingAtColumn(ModuleTreeModel::KindColumn).data().toString();
    const int ti = name.data(ModuleTreeModel::TensorIndexRole).toInt();
    const auto cell = [&](int column) { return index.siblingAtColumn(column).data().toString(); };
    Table wide;
    std::vector<Section> sections;

    if (ti < 0 || size_t(ti) >= ck.tensors.size()) {
        const int node = name.data(ModuleTreeModel::NodeRole).toInt();
        const ModuleNode& n = sem.modules.nodes[size_t(node)];
        Section size { tr("Size"), {}, {}, {} };
        size.left.text(tr("Parameters"), number(n.parameters));
        size.left.text(tr("Buffer elements"), number(n.bufferElements));
        size.left.text(tr("Bytes"), tr("%1 (%2 bytes)").arg(formatBytes(n.bytes), number(n.bytes)));
        size.right.text(tr("Tensors"), number(n.tensors));
        size.right.text(tr("Children"), number(std::int64_t(n.children.size())));
        size.right.text(tr("DType"), index.siblingAtColumn(ModuleTreeModel::DTypeColumn).data(Qt::ToolTipRole).toString());
        sections.push_back(std::move(size));
        Section st { tr("Statistics of its parameters"), {}, {}, {} };
        if (cell(ModuleTreeModel::NonFiniteColumn).isEmpty()) {
            st.html = QStringLiteral("<p style=\"color: gray\">%1</p>").arg(esc(tr("computing…")));
        } else {
            st.left.text(tr("Min"), cell(ModuleTreeModel::MinColumn));
            st.left.text(tr("Max"), cell(ModuleTreeModel::MaxColumn));
            st.left.text(tr("Mean"), cell(ModuleTreeModel::MeanColumn));
            st.right.text(tr("Std"), cell(ModuleTreeModel::StdColumn));
            st.right.text(tr("L2 norm"), cell(ModuleTreeModel::L2Column));
            const QString nonFinite = cell(ModuleTreeModel::NonFiniteColumn);
            st.right.row(tr("NaN/Inf (all tensors)"), nonFinite != QLatin1String("0") ? errorSpan(nonFinite) : esc(nonFinite));
        }
        sections.push_back(std::move(st));
        setHtml(sectionsPage(fullName, kind, wide, sections));
        return;
    }

    const TensorInfo& ten = ck.tensors[size_t(ti)];
    if (!ten.error.isEmpty())
        wide.row(tr("Error"), errorSpan(ten.error));
    for (const Finding& f : sem.findings)
        if (f.kind == FindingKind::TiedWeights && f.keys.contains(fullName)) {
            QStringList others = f.keys;
            others.removeAll(fullName);
            wide.text(tr("Tied with"), others.join(QStringLiteral(", ")));
        }
    if (const QString origin = tensorOrigin(ck, ti); !origin.isEmpty())
        wide.text(tr("Held by"), origin);
    Section desc { tr("Tensor"), {}, {}, {} };
    desc.left.text(tr("DType"), dtypeName(ten.dtype));
    desc.left.text(tr("Shape"), listText(ten.shape));
    desc.left.text(tr("Stride"),
        listText(ten.stride) + (ten.error.isEmpty() && !ten.isContiguous() ? tr("  (not contiguous)") : QString()));
    if (ten.error.isEmpty()) {
        desc.left.text(tr("Elements"), number(ten.numel()));
        desc.left.text(tr("Bytes"), tr("%1 (%2 bytes)").arg(formatBytes(ten.nbytes()), number(ten.nbytes())));
    }
    desc.right.text(tr("Storage offset"), number(ten.storageOffset));
    if (ten.storage >= 0 && size_t(ten.storage) < ck.storages.size()) {
        const StorageInfo& st = ck.storages[size_t(ten.storage)];
        desc.right.text(tr("Storage key"), st.key);
        desc.right.text(tr("Saved on"), st.location);
    }
    desc.right.text(tr("requires_grad"), yesNo(ten.requiresGrad));
    sections.push_back(std::move(desc));

    Section st { tr("Statistics"), {}, {}, {} };
    statsRows(stats ? stats(ti) : nullptr, st);
    sections.push_back(std::move(st));

    for (const ParameterState& state : optimizerStateFor(ck, sem, fullName)) {
        Section opt { tr("Optimizer state: %1").arg(state.info->kind), {}, {}, {} };
        opt.html = QStringLiteral("<p style=\"margin-top: 0; color: gray\">%1</p>")
                       .arg(esc(tr("%1, parameter group %2, state id %3")
                                    .arg(state.info->path.join(QStringLiteral(" / ")))
                                    .arg(state.param->group)
                                    .arg(state.param->id)));
        if (state.param->fields.empty())
            opt.left.text(tr("State"), tr("none yet (no optimizer step taken for it)"));
        for (const auto& [field, obj] : state.param->fields) {
            const PyObject& o = ck.graph.at(obj);
            if (o.kind != ObjKind::Tensor) {
                opt.left.text(field, valueText(ck.graph, obj, 80));
                continue;
            }
            if (ck.tensors[size_t(o.integer)].shape.empty()) { // a 0-d tensor such as Adam's step: its value
                const TensorInfo& scalar = ck.tensors[size_t(o.integer)];
                auto v = readSlice(ck, int(o.integer), SliceSpec { -1, -1, {}, false }, 0, 1, 0, 1);
                opt.left.text(field, v && v->rows == 1 ? ValueTableModel::format(v->at(0, 0), scalar.dtype) : valueText(ck.graph, obj, 80));
                continue;
            }
            const TensorInfo& ft = ck.tensors[size_t(o.integer)];
            QString value = QStringLiteral("%1 %2").arg(dtypeName(ft.dtype), listText(ft.shape));
            const StatsResult* r = stats ? stats(int(o.integer)) : nullptr;
            if (r && r->stats)
                value += tr(";  L2 %1,  mean %2,  max |x| %3")
                             .arg(ModuleTreeModel::number(r->stats->l2), stat(r->stats->mean), stat(r->stats->absmax));
            opt.left.text(field, value);
        }
        sections.push_back(std::move(opt));
        if (state.group && !state.group->hyperParameters.empty()) {
            Section hyper { tr("Hyperparameters of group %1").arg(state.param->group), {}, {}, {} };
            const auto& hp = state.group->hyperParameters;
            const size_t half = (hp.size() + 1) / 2;
            for (size_t i = 0; i < hp.size(); ++i)
                (i < half ? hyper.left : hyper.right).text(hp[i].first, valueText(ck.graph, hp[i].second, 60));
            sections.push_back(std::move(hyper));
        }
    }
    setHtml(sectionsPage(fullName, kind, wide, sections));
}

void DetailsView::showOverview(const Checkpoint& ck, const CheckpointSummary& s, const ModelOverview& o, const Semantic& sem)
{
    Table wide;
    wide.text(tr("File"), s.path);
    std::vector<Section> sections;

    Section file { tr("File"), {}, {}, {} };
    file.left.text(tr("Format"), formatName(s.format));
    file.left.text(tr("File size"), formatBytes(s.fileSize));
    QString tensors = esc(number(s.tensorCount));
    if (s.brokenTensors)
        tensors += QLatin1Char(' ') + errorSpan(tr("(%1 broken)").arg(number(s.brokenTensors)));
    file.left.row(tr("Tensors"), tensors);
    file.left.text(tr("Tensor bytes"), formatBytes(s.tensorBytes));
    if (!s.devices.isEmpty())
        file.left.text(tr("Saved from"), s.devices.join(QStringLiteral(", ")));
    QStringList dtypes;
    for (const auto& [name, d] : s.byDtype)
        dtypes << esc(tr("%1: %2 in %3").arg(name, formatBytes(d.bytes), count(d.tensors, tr("1 tensor"), tr("%1 tensors"))));
    if (!dtypes.isEmpty())
        file.right.row(tr("Bytes by dtype"), dtypes.join(QStringLiteral("<br>")));
    sections.push_back(std::move(file));
    if (!s.layout.isEmpty()) {
        // One checkpoint made of several files: each file with what it holds, and what is wrong with the set.
        Section set { tr("Files (%1)").arg(s.layout), {}, {}, {} };
        QString list;
        for (const QString& p : s.problems)
            list += errorSpan(p) + QStringLiteral("<br>");
        for (const CheckpointPart& p : s.parts)
            list += QStringLiteral("<b>%1</b> &nbsp;%2, %3<br><span style=\"margin-left:1em\">%4</span><br>")
                        .arg(esc(p.name), esc(formatBytes(p.size)), esc(count(p.tensorEnd - p.tensorBegin, tr("1 tensor"), tr("%1 tensors"))), esc(p.role));
        if (s.mergedTensors)
            list += esc(tr("Merged view: %1 tensors joined across tensor-parallel ranks").arg(number(s.mergedTensors)));
        set.html = list;
        sections.push_back(std::move(set));
    }

    if (!o.stateDict.isEmpty()) {
        Section model { tr("Model"), {}, {}, {} };
        model.left.text(tr("State dict"), o.stateDict);
        model.left.text(tr("Parameters"), number(o.parameters));
        model.left.text(tr("Buffer elements"), number(o.bufferElements));
        model.left.text(tr("Bytes"), formatBytes(o.modelBytes));
        model.left.text(tr("Tensors"), number(o.modelTensors));
        model.left.text(tr("Layers"), o.layers ? tr("%1 in %2").arg(o.layers).arg(o.repeatedBlock) : tr("no repeated block"));
        for (const QString& other : o.otherStateDicts)
            model.right.text(tr("Other state dict"), other);
        sections.push_back(std::move(model));
        Section modules { tr("Parameters per top-level module"), {}, {}, {} };
        for (size_t i = 0; i < o.topModules.size() && i < 32; ++i) {
            const ModuleSize& m = o.topModules[i];
            const double share = o.parameters ? 100.0 * double(m.parameters) / double(o.parameters) : 0;
            modules.left.text(m.name, tr("%1  (%2%)  %3").arg(number(m.parameters)).arg(share, 0, 'f', 1).arg(formatBytes(m.bytes)));
        }
        if (o.topModules.size() > 32)
            modules.left.text(tr("…"), tr("%1 more").arg(o.topModules.size() - 32));
        sections.push_back(std::move(modules));
    }

    if (!o.largest.empty()) {
        Section largest { tr("Largest tensors"), {}, {}, {} };
        QString rows;
        for (const NamedTensor& t : o.largest) {
            const TensorInfo& info = ck.tensors[size_t(t.tensor)];
            rows += QStringLiteral("<tr><td class=\"k\">%1</td><td align=\"right\">%2</td><td>&nbsp;%3</td><td>&nbsp;%4</td></tr>")
                        .arg(esc(t.name), esc(formatBytes(t.bytes)), esc(dtypeName(info.dtype)), esc(listText(info.shape)));
        }
        largest.html = QStringLiteral("<table cellspacing=\"0\" cellpadding=\"2\">%1</table>").arg(rows);
        sections.push_back(std::move(largest));
    }

    if (!o.optimizers.isEmpty()) {
        Section opt { tr("Optimizer"), {}, {}, {} };
        for (const QString& line : o.optimizers)
            opt.html += QStringLiteral("<p style=\"margin-top: 0\">%1</p>").arg(esc(line));
        sections.push_back(std::move(opt));
    }
    if (!sem.metadata.empty()) {
        Section meta { tr("Training metadata"), {}, {}, {} };
        const size_t half = (sem.metadata.size() + 1) / 2;
        for (size_t i = 0; i < sem.metadata.size(); ++i)
            (i < half ? meta.left : meta.right).text(sem.metadata[i].first, sem.metadata[i].second);
        sections.push_back(std::move(meta));
    }
    setHtml(sectionsPage(QFileInfo(s.path).fileName(), tr("checkpoint"), wide, sections));
}

} // namespace ckpt
