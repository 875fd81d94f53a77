#pragma once

#include "io/checkpoint.h"

#include "io/picklescan.h"

#include <QJsonObject>

namespace ckpt {

enum class SafetyClass { Safe, Unknown, Dangerous };
QString safetyClassName(SafetyClass c); // "safe", "unknown", "dangerous"

// safe: what torch's weights_only unpickler allows (rebuild functions, storages, dtypes, OrderedDict, Size,
// device...); dangerous: what can run code, touch files or the network (os/posix/nt, subprocess, eval/exec/
// getattr/__import__, runpy, importlib, shutil, socket, webbrowser, pickle/marshal loads...); unknown: the rest
// (argparse.Namespace, numpy scalars, a user's own classes): shown, never instantiated.
SafetyClass classifyGlobal(const QString& module, const QString& name);

struct SafetyGlobal {
    QString module, name;
    SafetyClass cls = SafetyClass::Safe;
    int count = 0;           // how often the file imports it
    QStringList locations;   // where in the object tree it is called or placed ("model/layer.weight (call)"), first few
    QStringList records;     // which pickles import it
    QString reason;          // why it is dangerous, when it is
};

struct SafetyReport {
    QString path;
    QString format;
    SafetyClass verdict = SafetyClass::Safe;
    std::vector<SafetyGlobal> globals; // dangerous first, then unknown, then safe
    QStringList problems;              // malformed pickles (scanning went as far as it could)
};

// One file's pickles; a folder or `*.index.json` scans every file of the checkpoint it opens as.
Expected<SafetyReport> scanFile(const QString& path);
// Every file of a multi-file checkpoint (records named "<file>:<record>"); scanFile for a single file.
Expected<SafetyReport> scanCheckpoint(const Checkpoint& ck);
// `files`: (path, name shown) of each file; one report for all.
Expected<SafetyReport> scanFiles(const QString& setPath, const std::vector<std::pair<QString, QString>>& files);
QJsonObject safetyToJson(const SafetyReport& r);

} // namespace ckpt
