// checkpoint.cpp — writing and verifying checkpoint files (layout in gw/checkpoint.h).
//
// Reading checks, in order: the file opens, the header is complete, the magic and version
// match, the lengths fit the file size (truncation), the checksum matches (corruption),
// and the metadata parses and its tensor table fits the payload. Each failure is one clear
// gw::IoError, so `gw-train --resume` on a bad file prints one line instead of crashing.
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gw/checkpoint.h"
#include "gw/error.h"

namespace gw {
namespace {

constexpr char kMagic[8] = {'G', 'W', 'C', 'K', 'P', 'T', '\0', '\1'};
constexpr size_t kHeaderBytes = 40;

void put_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get_u32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get_u64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw IoError("checkpoint: no tensor '" + name + "' (was it written by another model?)");
}

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t hash) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
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

  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    GW_CHECK_AS(IoError, f.good(), "checkpoint: cannot write ", tmp,
                " (does the folder exist and is it writable?)");
    f.write(header, kHeaderBytes);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& t : host)
      f.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    f.flush();
    if (!f.good()) {
      std::remove(tmp.c_str());
      throw IoError("checkpoint: error while writing " + tmp + " (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IoError("checkpoint: cannot rename " + tmp + " to " + path);
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  GW_CHECK_AS(IoError, f.good(), "checkpoint: cannot open ", path);
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
  try {
    ckpt.meta = nlohmann::json::parse(text);
    for (const auto& e : ckpt.meta.at("tensors")) {
      const std::string name = e.at("name").get<std::string>();
      const DType dtype = parse_dtype(e.at("dtype").get<std::string>());
      const Shape shape = e.at("shape").get<Shape>();
      const uint64_t off = e.at("offset").get<uint64_t>(), bytes = e.at("bytes").get<uint64_t>();
      GW_CHECK_AS(IoError, bytes == numel(shape) * dtype_size(dtype) && off + bytes <= payload_len,
                  "checkpoint: ", path, ": tensor '", name, "' does not fit the payload");
      Tensor t = Tensor::empty(shape, dtype);
      std::memcpy(t.raw(), payload.data() + off, bytes);
      ckpt.tensors.emplace_back(name, t);
    }
  } catch (const nlohmann::json::exception& e) {
    throw IoError("checkpoint: " + path + " has malformed metadata: " + e.what());
  } catch (const UsageError& e) {
    throw IoError("checkpoint: " + path + " has malformed metadata: " + e.what());
  }
  ckpt.meta.erase("tensors");
  return ckpt;
}

}  // namespace gw
