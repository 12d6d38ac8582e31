// checkpoint.h — the trainer's checkpoint file: a versioned header, JSON metadata and raw
// tensors, with a checksum, written atomically.
//
// Layout (little-endian):
//   bytes 0-7    magic "GWCKPT\0\1"
//   bytes 8-11   format version (u32, kCheckpointVersion)
//   bytes 12-15  reserved (0)
//   bytes 16-23  metadata length M (u64)
//   bytes 24-31  payload length P (u64)
//   bytes 32-39  FNV-1a 64 of the M + P bytes that follow
//   then M bytes of JSON metadata (config, tokenizer, step, tensor table) and P bytes of
//   tensor data, each tensor at the offset its table entry gives.
// The file is written to PATH.tmp and renamed onto PATH, so a crash mid-write never leaves
// a half-written checkpoint under the real name.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/tensor.h"

namespace gw {

/// Version written into new checkpoints; readers refuse other versions.
constexpr uint32_t kCheckpointVersion = 1;

/// A checkpoint's content: free-form metadata and named tensors.
struct Checkpoint {
  nlohmann::json meta;  ///< config, tokenizer, step, ... (the "tensors" key is reserved)
  std::vector<std::pair<std::string, Tensor>> tensors;  ///< CPU tensors, names unique

  /// The tensor named `name`; gw::IoError naming the file's missing entry otherwise.
  const Tensor& tensor(const std::string& name) const;
};

/// FNV-1a 64-bit hash of `bytes` bytes, continuing from `hash`.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t hash = 0xcbf29ce484222325ull);

/// Writes `ckpt` to `path` atomically (temp file then rename). gw::IoError when the file
/// cannot be written (naming the path).
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);

/// Reads and verifies a checkpoint. gw::IoError with a clear reason when the file is
/// missing, not a checkpoint (bad magic), of another version, truncated, or corrupt
/// (checksum mismatch, malformed metadata).
Checkpoint read_checkpoint(const std::string& path);

}  // namespace gw
