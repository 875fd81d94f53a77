#pragma once

#include "model/semantic.h"

namespace ckpt {

enum class MatchMode {
    Text,  // substring; `*` and `?` make it an unanchored wildcard pattern, as in the object tree's filter
    Glob,  // wildcard pattern over the whole dotted name: "blocks.*.weight"
    Regex, // Perl-compatible regular expression searched in the dotted name
};

// Which nodes of a module tree a search keeps: every node whose dotted name matches, its ancestors (so it can be
// reached) and its descendants (a matching module keeps what is inside it). Case-insensitive.
struct ModuleMatch {
    QString error;              // an invalid regular expression; nothing is filtered then
    std::vector<char> visible;  // per node; empty: no filter
    std::vector<int> matches;   // the nodes that matched themselves, in node order
    bool operator==(const ModuleMatch&) const = default;
};

ModuleMatch matchModules(const ModuleTree& tree, const QString& pattern, MatchMode mode);

} // namespace ckpt
