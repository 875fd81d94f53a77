#pragma once

#include "model/semantic.h"

#include <QJsonObject>

namespace ckpt {

// The semantic view as the CLI and the GUI's summary show it.
QJsonObject semanticToJson(const Checkpoint& ck, const Semantic& sem);
QString semanticToText(const Checkpoint& ck, const Semantic& sem);
QString findingKindName(FindingKind k);

} // namespace ckpt
