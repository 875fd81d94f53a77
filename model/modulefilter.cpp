#include "model/modulefilter.h"

#include <QRegularExpression>

namespace ckpt {

ModuleMatch matchModules(const ModuleTree& tree, const QString& pattern, MatchMode mode)
{
    ModuleMatch m;
    const QString text = pattern.trimmed();
    if (text.isEmpty() || tree.nodes.empty())
        return m;
    const bool wildcard = text.contains(QLatin1Char('*')) || text.contains(QLatin1Char('?'));
    QRegularExpression re;
    if (mode == MatchMode::Regex)
        re = QRegularExpression(text, QRegularExpression::CaseInsensitiveOption);
    else if (mode == MatchMode::Glob || wildcard)
        re = QRegularExpression(QRegularExpression::wildcardToRegularExpression(text,
                                    mode == MatchMode::Glob ? QRegularExpression::DefaultWildcardConversion
                                                            : QRegularExpression::UnanchoredWildcardConversion),
            QRegularExpression::CaseInsensitiveOption);
    const bool plain = mode == MatchMode::Text && !wildcard;
    if (!plain && !re.isValid()) {
        m.error = re.errorString();
        return m;
    }
    if (!plain)
        re.optimize();

    const size_t n = tree.nodes.size();
    m.visible.assign(n, 0);
    // The root (the state dict itself) is matched by nothing: it stands for the file, not for a key.
    for (size_t i = 1; i < n; ++i) {
        const QString& name = tree.nodes[i].fullName;
        const bool hit = plain ? name.contains(text, Qt::CaseInsensitive) : re.match(name).hasMatch();
        if (hit) {
            m.visible[i] = 1;
            m.matches.push_back(int(i));
        }
    }
    // Parents come before their children in the vector: descendants inherit downwards, ancestors upwards.
    std::vector<char> inherited(n, 0);
    for (size_t i = 1; i < n; ++i) {
        const int p = tree.nodes[i].parent;
        if (p > 0 && (m.visible[size_t(p)] & 1 || inherited[size_t(p)]))
            inherited[i] = 1;
    }
    for (size_t i = n; i-- > 1;) {
        if (m.visible[i])
            m.visible[size_t(tree.nodes[i].parent)] |= 2;
    }
    for (size_t i = 0; i < n; ++i)
        m.visible[i] = (m.visible[i] || inherited[i]) ? 1 : 0;
    return m;
}

} // namespace ckpt
