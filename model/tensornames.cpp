#include "model/tensornames.h"

#include "model/tensorlist.h"

namespace ckpt {

TensorNames::TensorNames(CheckpointPtr ck, std::shared_ptr<const Semantic> sem)
    : m_ck(std::move(ck))
    , m_sem(std::move(sem))
{
    if (!m_ck)
        return;
    m_keys.resize(m_ck->tensors.size());
    if (!m_sem || m_sem->primary < 0)
        return;
    for (const auto& [key, tensor] : m_sem->stateDicts[size_t(m_sem->primary)].entries)
        if (size_t(tensor) < m_keys.size() && m_keys[size_t(tensor)].isEmpty())
            m_keys[size_t(tensor)] = key;
    // Optimizer state reads better by the parameter it belongs to than by its position in `state`.
    for (const OptimizerInfo& opt : m_sem->optimizers) {
        if (!opt.mapped)
            continue;
        for (const OptimizerParam& p : opt.params)
            for (const auto& [field, obj] : p.fields) {
                if (!m_ck->graph.valid(obj) || m_ck->graph.at(obj).kind != ObjKind::Tensor)
                    continue;
                const auto tensor = size_t(m_ck->graph.at(obj).integer);
                if (tensor < m_keys.size() && m_keys[tensor].isEmpty())
                    m_keys[tensor] = QStringLiteral("%1 (optimizer %2)").arg(p.parameter, field);
            }
    }
}

QString TensorNames::name(int tensor) const
{
    if (!m_ck || tensor < 0 || size_t(tensor) >= m_keys.size())
        return {};
    if (!m_keys[size_t(tensor)].isEmpty())
        return m_keys[size_t(tensor)];
    std::call_once(m_pathsOnce, [this] {
        m_paths.resize(m_ck->tensors.size());
        for (const TensorEntry& e : listTensors(*m_ck))
            if (m_paths[size_t(e.tensor)].isEmpty())
                m_paths[size_t(e.tensor)] = e.path.join(QLatin1Char('/'));
    });
    const QString& path = m_paths[size_t(tensor)];
    return path.isEmpty() ? QStringLiteral("tensor %1").arg(tensor) : path;
}

} // namespace ckpt
