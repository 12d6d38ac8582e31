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
// The file is written to PATH.tmp, synced to disk, and renamed onto PATH, so a crash or a
// full disk mid-write never leaves a half-written checkpoint under the real name: PATH holds
// either the previous checkpoint or the new one. AtomicFile gives other outputs
// (summary.json) the same guarantee.
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
  std::string path;     ///< the file it was read from (empty when built in memory)

  /// The tensor named `name`; gw::IoError naming the file and the missing entry otherwise.
  const Tensor& tensor(const std::string& name) const;
  /// "checkpoint PATH" (or "checkpoint" when built in memory): how messages name it.
  std::string label() const;
};

/// A file written as a checkpoint is: into PATH.tmp, then fsync, rename onto PATH and fsync
/// of the folder by commit(). Until commit() the previous PATH is untouched; if the writer
/// is destroyed first (an error), the temp file is removed. Every failure is a gw::IoError
/// naming the file and the system's reason ("No space left on device").
class AtomicFile {
 public:
  /// Opens PATH.tmp for writing; `what` starts the messages ("checkpoint", "summary").
  AtomicFile(std::string path, std::string what);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Appends `bytes` bytes.
  void write(const void* data, size_t bytes);
  /// Appends a string.
  void write(const std::string& text) { write(text.data(), text.size()); }
  /// Makes the content durable and visible under PATH.
  void commit();
  /// PATH.tmp.
  const std::string& temp_path() const { return tmp_; }

 private:
  [[noreturn]] void fail(const std::string& doing, int err);
  std::string path_, tmp_, what_;
  int fd_ = -1;
};

/// Writes `text` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, const std::string& text, const std::string& what);

/// FNV-1a 64-bit hash of `bytes` bytes, continuing from `hash`.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t hash = 0xcbf29ce484222325ull);

/// Writes `ckpt` to `path` atomically (an AtomicFile). gw::IoError when the file cannot be
/// written (naming the path and the reason); `path` then still holds its previous content.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);

/// Reads and verifies a checkpoint. gw::IoError naming the file with a clear reason when it
/// is missing, a folder, not a checkpoint (bad magic), of another version, truncated, or
/// corrupt (checksum mismatch; malformed metadata, naming the key).
Checkpoint read_checkpoint(const std::string& path);

}  // namespace gw
