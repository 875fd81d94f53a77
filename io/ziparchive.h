#pragma once

#include "io/error.h"
#include "io/mappedfile.h"
#include "io/tensorinfo.h"

#include <cstdint>
#include <vector>

namespace ckpt {

// The entries of a zip file that lies in a memory map, its central directory (zip64 included) parsed from the map;
// each entry's data offset comes from its local header, since torch pads local headers with an extra field
// the central directory does not repeat.
// `maxEntries` stops after the first entries (where torch writes data.pkl), with the same checks on those;
// `declared`, when given, receives the number of entries the central directory declares.
Expected<std::vector<Record>> listZipEntries(
    const MappedFile& file, std::uint64_t maxEntries = UINT64_MAX, std::uint64_t* declared = nullptr);

// Inflates a deflated entry (some tools re-zip checkpoints). The output is capped at the entry's declared size.
Expected<QByteArray> inflateZipEntry(const MappedFile& file, const Record& record);
// Whether a deflated entry's declared size is reachable from its compressed size (deflate expands at most 1032:1).
bool deflatedSizePlausible(const Record& record);

bool looksLikeZip(std::span<const std::uint8_t> head);

} // namespace ckpt
