#include "model/safety.h"

#include "model/objectchildren.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QSet>

#include <algorithm>
#include <functional>

#include <map>

namespace ckpt {
namespace {

bool isAny(const QString& s, std::initializer_list<const char*> names)
{
    for (const char* n : names)
        if (s == QLatin1String(n))
            return true;
    return false;
}

bool moduleIs(const QString& module, std::initializer_list<const char*> roots)
{
    for (const char* r : roots) {
        const QLatin1String root(r);
        if (module == root || (module.startsWith(root) && module.size() > root.size() && module[root.size()] == QLatin1Char('.')))
            return true;
    }
    return false;
}

QString dangerReason(const QString& module, const QString& name)
{
    if (moduleIs(module, { "os", "posix", "nt", "subprocess", "pty", "commands", "popen2", "spawn" }))
        return QStringLiteral("runs programs or changes the system");
    if (moduleIs(module, { "runpy", "importlib", "imp", "code", "codeop", "pydoc", "timeit", "pdb", "bdb", "trace", "profile", "cProfile" }))
        return QStringLiteral("imports or runs arbitrary code");
    if (moduleIs(module, { "shutil", "tempfile", "glob", "io", "fileinput", "zipfile", "tarfile" }))
        return QStringLiteral("reads, writes or deletes files");
    if (moduleIs(module, { "socket", "ssl", "http", "httplib", "urllib", "urllib2", "requests", "ftplib", "telnetlib", "smtplib",
            "webbrowser", "xmlrpc", "asyncio", "multiprocessing", "threading", "_thread", "signal", "ctypes", "cffi", "sys" }))
        return QStringLiteral("reaches the network, other processes or the interpreter itself");
    if (moduleIs(module, { "pickle", "_pickle", "cPickle", "marshal", "dill", "shelve", "joblib", "cloudpickle", "torch.hub" }))
        return QStringLiteral("loads another pickle or code object");
    if ((module == QLatin1String("builtins") || module == QLatin1String("__builtin__"))
        && isAny(name, { "eval", "exec", "execfile", "compile", "open", "file", "getattr", "setattr", "delattr", "__import__", "input",
               "raw_input", "breakpoint", "globals", "locals", "vars", "apply", "reload", "help", "memoryview", "type" }))
        return QStringLiteral("evaluates code or reaches any attribute");
    if (module == QLatin1String("operator") && isAny(name, { "attrgetter", "methodcaller", "itemgetter" }))
        return QStringLiteral("calls arbitrary methods");
    if (module == QLatin1String("types") && isAny(name, { "FunctionType", "CodeType", "LambdaType", "MethodType" }))
        return QStringLiteral("builds functions from code objects");
    if ((module == QLatin1String("torch") && isAny(name, { "load", "save", "compile" }))
        || (module == QLatin1String("torch.storage") && name == QLatin1String("_load_from_bytes")))
        return QStringLiteral("loads another file or compiles code");
    if (module == QLatin1String("numpy") && isAny(name, { "load", "fromfile", "loadtxt", "save" }))
        return QStringLiteral("reads or writes files");
    return {};
}

bool weightsOnlyAllows(const QString& module, const QString& name)
{
    if (module == QLatin1String("torch._utils"))
        return name.startsWith(QLatin1String("_rebuild_"));
    if (module == QLatin1String("torch._tensor"))
        return name == QLatin1String("_rebuild_from_type_v2");
    if (module == QLatin1String("torch"))
        return name.endsWith(QLatin1String("Storage")) || dtypeFromTorchName(name).has_value()
            || isAny(name, { "Size", "device", "Tensor", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
                "_mkldnn", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
                "per_channel_affine_float_qparams", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2" });
    if (module == QLatin1String("torch.storage"))
        return isAny(name, { "TypedStorage", "UntypedStorage" });
    if (module == QLatin1String("torch.torch_version"))
        return name == QLatin1String("TorchVersion"); // a str subclass holding torch.__version__
    if (module == QLatin1String("torch.nn.parameter"))
        return name == QLatin1String("Parameter");
    if (module == QLatin1String("torch.serialization"))
        return name == QLatin1String("_get_layout");
    if (module == QLatin1String("collections"))
        return isAny(name, { "OrderedDict", "Counter" });
    if (module == QLatin1String("builtins") || module == QLatin1String("__builtin__"))
        return isAny(name, { "set", "frozenset", "bytearray", "complex", "slice", "dict", "list", "tuple", "int", "float", "bool", "str", "bytes" });
    if (module == QLatin1String("_codecs"))
        return name == QLatin1String("encode");
    return false;
}

} // namespace

QString safetyClassName(SafetyClass c)
{
    switch (c) {
    case SafetyClass::Safe: return QStringLiteral("safe");
    case SafetyClass::Unknown: return QStringLiteral("unknown");
    case SafetyClass::Dangerous: return QStringLiteral("dangerous");
    }
    return QStringLiteral("unknown");
}

SafetyClass classifyGlobal(const QString& module, const QString& name)
{
    if (!dangerReason(module, name).isEmpty())
        return SafetyClass::Dangerous;
    return weightsOnlyAllows(module, name) ? SafetyClass::Safe : SafetyClass::Unknown;
}

Expected<SafetyReport> scanFiles(const QString& setPath, const std::vector<std::pair<QString, QString>>& files)
{
    SafetyReport report;
    report.path = setPath;
    std::map<std::pair<QString, QString>, SafetyGlobal> byName;
    std::vector<std::pair<QString, QString>> order;
    for (const auto& [path, name] : files) {
        auto one = scanFile(path);
        if (!one) {
            report.problems << QStringLiteral("%1: %2").arg(name, one.error().message());
            continue;
        }
        if (report.format.isEmpty())
            report.format = one->format;
        for (const QString& p : one->problems)
            report.problems << QStringLiteral("%1: %2").arg(name, p);
        for (const SafetyGlobal& g : one->globals) {
            auto [it, fresh] = byName.try_emplace({ g.module, g.name }, g);
            SafetyGlobal& sg = it->second;
            if (fresh) {
                sg.locations.clear();
                sg.records.clear();
                order.push_back({ g.module, g.name });
            } else {
                sg.count += g.count;
                if (g.cls > sg.cls) { // e.g. a functools.partial that wraps os.system in this file only
                    sg.cls = g.cls;
                    sg.reason = g.reason;
                }
            }
            for (const QString& l : g.locations)
                if (sg.locations.size() < 5)
                    sg.locations << name + QLatin1Char('/') + l;
            for (const QString& r : g.records)
                sg.records << name + QLatin1Char(':') + r;
        }
    }
    if (files.empty() || report.format.isEmpty())
        return Error { ErrorKind::NotACheckpoint, setPath, {}, QStringLiteral("no file of the set could be scanned: %1").arg(report.problems.join(QStringLiteral("; "))) };
    for (const auto& key : order) {
        report.globals.push_back(byName[key]);
        report.verdict = std::max(report.verdict, byName[key].cls);
    }
    std::stable_sort(report.globals.begin(), report.globals.end(), [](const SafetyGlobal& a, const SafetyGlobal& b) { return a.cls > b.cls; });
    if (!report.problems.isEmpty() && report.verdict == SafetyClass::Safe)
        report.verdict = SafetyClass::Unknown;
    return report;
}

Expected<SafetyReport> scanCheckpoint(const Checkpoint& ck)
{
    if (ck.parts.empty())
        return scanFile(ck.path);
    std::vector<std::pair<QString, QString>> files;
    for (const auto& p : ck.parts)
        files.emplace_back(p.path, p.name);
    auto report = scanFiles(ck.path, files);
    // A file of the set that did not open was not scanned: the verdict cannot be "safe" without it.
    if (report && !ck.problems.isEmpty()) {
        report->problems += ck.problems;
        report->verdict = std::max(report->verdict, SafetyClass::Unknown);
    }
    return report;
}

Expected<SafetyReport> scanFile(const QString& file)
{
    // A folder or a shard index: every file of the checkpoint it stands for.
    if (QFileInfo(file).isDir() || file.endsWith(QLatin1String(".index.json"))) {
        auto ck = openCheckpoint(file);
        if (!ck)
            return ck.error();
        return scanCheckpoint(**ck);
    }
    auto scan = scanPickles(file);
    if (!scan)
        return scan.error();
    SafetyReport report;
    report.path = file;
    report.format = scan->format;
    std::map<std::pair<QString, QString>, SafetyGlobal> byName;
    for (const ScannedPickle& p : scan->pickles) {
        if (!p.error.isEmpty())
            report.problems << QStringLiteral("%1: %2").arg(p.record, p.error);
        for (const ImportedGlobal& g : p.target.imports) {
            SafetyGlobal& sg = byName[{ g.module, g.name }];
            sg.module = g.module;
            sg.name = g.name;
            // A later pickle's harmless use keeps what an earlier one made of the same global ("wraps ...").
            sg.cls = std::max(sg.cls, classifyGlobal(g.module, g.name));
            if (sg.reason.isEmpty())
                sg.reason = dangerReason(g.module, g.name);
            ++sg.count;
            if (!sg.records.contains(p.record))
                sg.records << p.record;
        }
        // functools.partial wrapping a dangerous callable is as dangerous as the callable.
        const ObjectGraph& graph = p.target.graph;
        for (size_t id = 0; id < graph.size(); ++id) {
            const PyObject& o = graph.at(ObjId(id));
            if (o.kind != ObjKind::Object || o.text != QLatin1String("functools") || o.name() != QLatin1String("partial") || !graph.valid(o.args))
                continue;
            for (ObjId a : graph.at(o.args).items)
                if (graph.at(a).kind == ObjKind::Global && classifyGlobal(graph.at(a).text, graph.at(a).name()) == SafetyClass::Dangerous) {
                    SafetyGlobal& sg = byName[{ o.text, o.name() }];
                    sg.cls = SafetyClass::Dangerous;
                    sg.reason = QStringLiteral("wraps %1.%2").arg(graph.at(a).text, graph.at(a).name());
                }
        }
        // Where each non-safe call or reference sits in the object tree. Nothing to place when every global is
        // safe, the common case, where the walk was most of a 60,000-tensor file's scan (170-400 ms).
        const bool anyToPlace
            = std::any_of(byName.begin(), byName.end(), [](const auto& e) { return e.second.cls != SafetyClass::Safe; });
        if (!anyToPlace || !graph.valid(p.root))
            continue;
        std::vector<ObjId> onPath;
        QStringList path;
        size_t budget = 2'000'000;
        std::function<void(ObjId)> walk = [&](ObjId id) {
            if (budget == 0 || int(onPath.size()) >= kMaxTreeDepth || std::find(onPath.begin(), onPath.end(), id) != onPath.end())
                return;
            --budget;
            const PyObject& o = graph.at(id);
            if (o.kind == ObjKind::Object || o.kind == ObjKind::Global) {
                auto it = byName.find({ o.text, o.name() });
                if (it != byName.end() && it->second.cls != SafetyClass::Safe && it->second.locations.size() < 5) {
                    const QString where = (path.isEmpty() ? QStringLiteral("<root>") : path.join(QLatin1Char('/')))
                        + (o.kind == ObjKind::Object ? QStringLiteral(" (called)") : QStringLiteral(" (referenced)"));
                    if (!it->second.locations.contains(where))
                        it->second.locations << where;
                }
            }
            onPath.push_back(id);
            for (const auto& c : objectChildren(graph, id)) {
                path.push_back(c.viaArgs ? QStringLiteral("(arg %1)").arg(c.key) : c.key);
                walk(c.id);
                path.pop_back();
            }
            // A tensor's rebuild arguments (its backward-hooks dict above all) can carry calls too.
            if (o.kind == ObjKind::Tensor && graph.valid(o.args)) {
                const auto items = graph.at(o.args).items;
                for (size_t i = 0; i < items.size(); ++i) {
                    path.push_back(QStringLiteral("(rebuild arg %1)").arg(i));
                    walk(items[i]);
                    path.pop_back();
                }
            }
            onPath.pop_back();
        };
        walk(p.root);
    }
    for (auto& [key, g] : byName) {
        report.globals.push_back(g);
        report.verdict = std::max(report.verdict, g.cls);
    }
    std::stable_sort(report.globals.begin(), report.globals.end(), [](const SafetyGlobal& a, const SafetyGlobal& b) { return a.cls > b.cls; });
    if (!report.problems.isEmpty() && report.verdict == SafetyClass::Safe)
        report.verdict = SafetyClass::Unknown; // an unreadable tail may hide anything
    return report;
}

QJsonObject safetyToJson(const SafetyReport& r)
{
    QJsonArray globals;
    for (const auto& g : r.globals) {
        QJsonObject o { { QStringLiteral("module"), g.module }, { QStringLiteral("name"), g.name },
            { QStringLiteral("class"), safetyClassName(g.cls) }, { QStringLiteral("count"), g.count },
            { QStringLiteral("locations"), QJsonArray::fromStringList(g.locations) }, { QStringLiteral("records"), QJsonArray::fromStringList(g.records) } };
        if (!g.reason.isEmpty())
            o.insert(QStringLiteral("reason"), g.reason);
        globals.append(o);
    }
    return QJsonObject { { QStringLiteral("path"), r.path }, { QStringLiteral("format"), r.format },
        { QStringLiteral("verdict"), safetyClassName(r.verdict) }, { QStringLiteral("globals"), globals },
        { QStringLiteral("problems"), QJsonArray::fromStringList(r.problems) } };
}

} // namespace ckpt
