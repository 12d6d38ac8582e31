// checkpoint.cpp — writing and verifying checkpoint files (layout in gw/checkpoint.h), and
// AtomicFile, the write-to-temp-then-rename discipline that every gw-train output that is
// rewritten whole (checkpoint, summary) goes through.
//
// Reading checks, in order: the path is a file that opens, the header is complete, the
// magic and version match, the lengths fit the file size (truncation), the checksum matches
// (corruption), and the metadata parses and its tensor table fits the payload. Each failure
// is one gw::IoError naming the file, so `gw-train --resume` on a bad file prints one line
// instead of crashing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gw/checkpoint.h"
#include "gw/error.h"
#include "model/test_hooks.h"

namespace gw {
namespace {

constexpr char kMagic[8] = {'G', 'W', 'C', 'K', 'P', 'T', '\0', '\1'};
constexpr size_t kHeaderBytes = 40;

void put_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get_u32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get_u64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

std::string folder_of(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// Entry `i` of the tensor table, every key checked: a bad one is named, not a JSON-library
// message.
std::pair<std::string, Tensor> table_entry(const nlohmann::json& e, size_t i, uint64_t payload_len,
                                           const std::vector<char>& payload, const std::string& path) {
  const std::string at = "tensors[" + std::to_string(i) + "]";
  auto key = [&](const char* k) -> const nlohmann::json& {
    GW_CHECK_AS(IoError, e.is_object() && e.contains(k), "checkpoint ", path, ": metadata key '",
                at, ".", k, "' is missing");
    return e[k];
  };
  auto malformed = [&](const char* k, const char* want) {
    return IoError("checkpoint " + path + ": metadata key '" + at + "." + k +
                   "' is malformed: expected " + want + ", got " + e[k].dump());
  };
  if (!key("name").is_string()) throw malformed("name", "a string");
  const std::string name = e["name"].get<std::string>();
  if (!key("dtype").is_string()) throw malformed("dtype", "a dtype name");
  DType dtype;
  try {
    dtype = parse_dtype(e["dtype"].get<std::string>());
  } catch (const Error&) {
    throw malformed("dtype", "a dtype name");
  }
  Shape shape;
  try {
    shape = key("shape").get<Shape>();
  } catch (const nlohmann::json::exception&) {
    throw malformed("shape", "a list of sizes");
  }
  for (int64_t d : shape)
    if (d < 0) throw malformed("shape", "a list of sizes");
  if (!key("offset").is_number_unsigned()) throw malformed("offset", "a byte offset");
  if (!key("bytes").is_number_unsigned()) throw malformed("bytes", "a byte count");
  const uint64_t off = e["offset"].get<uint64_t>(), bytes = e["bytes"].get<uint64_t>();
  GW_CHECK_AS(IoError, bytes == numel(shape) * dtype_size(dtype) && off <= payload_len &&
                           bytes <= payload_len - off,
              "checkpoint ", path, ": tensor '", name, "' does not fit the payload");
  Tensor t = Tensor::empty(shape, dtype);
  std::memcpy(t.raw(), payload.data() + off, bytes);
  return {name, t};
}

}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw IoError(label() + ": no tensor '" + name + "' (was it written by another model?)");
}

std::string Checkpoint::label() const { return path.empty() ? "checkpoint" : "checkpoint " + path; }

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t hash) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

AtomicFile::AtomicFile(std::string path, std::string what)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), what_(std::move(what)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create", errno);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::fail(const std::string& doing, int err) {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
    fd_ = -1;
  }
  std::string msg = what_ + ": " + doing + " " + tmp_ + ": " + std::strerror(err);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    msg += " (" + path_ + " still holds the previous one)";
  throw IoError(msg);
}

void AtomicFile::write(const void* data, size_t bytes) {
  GW_CHECK_AS(IoError, fd_ >= 0, what_, ": ", tmp_, " is already closed");
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("error while writing", n < 0 ? errno : ENOSPC);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  GW_CHECK_AS(IoError, fd_ >= 0, what_, ": ", tmp_, " is already closed");
  // fsync before the rename: otherwise a power cut can leave the new name on empty blocks.
  if (::fsync(fd_) != 0) fail("cannot sync", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw IoError(what_ + ": error while closing " + tmp_ + ": " + std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw IoError(what_ + ": cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(err));
  }
  // The rename itself lives in the folder: sync it too (best effort, not every file system can).
  const int dir = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, const std::string& text, const std::string& what) {
  AtomicFile f(path, what);
  f.write(text);
  f.commit();
}

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  nlohmann::json meta = ckpt.meta;
  nlohmann::json table = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : ckpt.tensors) {
    table.push_back({{"name", name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()},
                     {"offset", offset}, {"bytes", t.nbytes()}});
    offset += t.nbytes();
  }
  meta["tensors"] = table;
  const std::string text = meta.dump();
  uint64_t hash = fnv1a64(text.data(), text.size());
  std::vector<Tensor> host;
  for (const auto& entry : ckpt.tensors) {
    host.push_back(entry.second.to(Device::cpu()));
    hash = fnv1a64(host.back().raw(), host.back().nbytes(), hash);
  }
  char header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, 8);
  put_u32(header + 8, kCheckpointVersion);
  put_u64(header + 16, text.size());
  put_u64(header + 24, offset);
  put_u64(header + 32, hash);

  const int64_t step = meta.is_object() && meta.value("step", nlohmann::json()).is_number_integer()
                           ? meta["step"].get<int64_t>() : -1;
  AtomicFile f(path, "checkpoint");
  f.write(header, kHeaderBytes);
  f.write(text);
  for (size_t k = 0; k < host.size(); ++k) {
    if (k == host.size() / 2 && test_hooks::kill_armed("checkpoint", step)) test_hooks::kill_now();
    f.write(host[k].raw(), host[k].nbytes());
  }
  if (test_hooks::kill_armed("rename", step)) test_hooks::kill_now();
  f.commit();
}

Checkpoint read_checkpoint(const std::string& path) {
  struct stat st {};
  GW_CHECK_AS(IoError, ::stat(path.c_str(), &st) == 0, "checkpoint: cannot open ", path, ": ",
              std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    const std::string inside = (std::filesystem::path(path) / "ckpt.bin").string();
    throw IoError("checkpoint: " + path + " is a folder, not a checkpoint file" +
                  (std::filesystem::is_regular_file(inside) ? " (did you mean " + inside + "?)"
                                                            : std::string()));
  }
  GW_CHECK_AS(IoError, S_ISREG(st.st_mode), "checkpoint: ", path, " is not a regular file");
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  GW_CHECK_AS(IoError, f.good(), "checkpoint: cannot open ", path, " (check its permissions)");
  const uint64_t file_size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  GW_CHECK_AS(IoError, file_size >= kHeaderBytes, "checkpoint: ", path, " is truncated (",
              file_size, " bytes, shorter than the ", kHeaderBytes, "-byte header)");
  char header[kHeaderBytes];
  f.read(header, kHeaderBytes);
  GW_CHECK_AS(IoError, std::memcmp(header, kMagic, 8) == 0, "checkpoint: ", path,
              " is not a gradwork checkpoint (bad magic)");
  const uint32_t version = get_u32(header + 8);
  GW_CHECK_AS(IoError, version == kCheckpointVersion, "checkpoint: ", path, " has format version ",
              version, "; this build reads version ", kCheckpointVersion);
  const uint64_t meta_len = get_u64(header + 16), payload_len = get_u64(header + 24);
  const uint64_t expected = kHeaderBytes + meta_len + payload_len;
  GW_CHECK_AS(IoError, meta_len < (uint64_t{1} << 40) && payload_len < (uint64_t{1} << 40) &&
                           expected <= file_size,
              "checkpoint: ", path, " is truncated (header promises ", expected,
              " bytes, the file has ", file_size, ")");
  GW_CHECK_AS(IoError, expected == file_size, "checkpoint: ", path, " has ",
              file_size - expected, " unexpected trailing bytes (corrupt)");
  std::string text(meta_len, '\0');
  f.read(text.data(), static_cast<std::streamsize>(meta_len));
  std::vector<char> payload(payload_len);
  f.read(payload.data(), static_cast<std::streamsize>(payload_len));
  GW_CHECK_AS(IoError, f.good(), "checkpoint: read error on ", path);
  uint64_t hash = fnv1a64(text.data(), text.size());
  hash = fnv1a64(payload.data(), payload.size(), hash);
  GW_CHECK_AS(IoError, hash == get_u64(header + 32), "checkpoint: ", path,
              " is corrupt (checksum mismatch)");

  Checkpoint ckpt;
  ckpt.path = path;
  try {
    ckpt.meta = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IoError("checkpoint " + path + ": metadata is not valid JSON: " + e.what());
  }
  GW_CHECK_AS(IoError, ckpt.meta.is_object(), "checkpoint ", path,
              ": metadata is not a JSON object");
  GW_CHECK_AS(IoError, ckpt.meta.contains("tensors"), "checkpoint ", path,
              ": metadata key 'tensors' is missing");
  GW_CHECK_AS(IoError, ckpt.meta["tensors"].is_array(), "checkpoint ", path,
              ": metadata key 'tensors' is malformed: expected a list");
  size_t i = 0;
  for (const auto& e : ckpt.meta["tensors"])
    ckpt.tensors.push_back(table_entry(e, i++, payload_len, payload, path));
  ckpt.meta.erase("tensors");
  return ckpt;
}

}  // namespace gw
