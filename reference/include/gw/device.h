// device.h — where a tensor lives: the CPU or one CUDA GPU.
#pragma once

#include <string>

namespace gw {

/// A device: `cpu` or `cuda:N`.
struct Device {
  /// The kind of processor.
  enum class Kind { cpu, cuda };
  Kind kind = Kind::cpu;  ///< cpu or cuda
  int index = 0;  ///< GPU ordinal for cuda; always 0 for cpu

  /// The host CPU.
  static Device cpu() { return {Kind::cpu, 0}; }
  /// GPU number `index`.
  static Device cuda(int index = 0) { return {Kind::cuda, index}; }
  /// True for the CPU.
  bool is_cpu() const { return kind == Kind::cpu; }
  /// True for a GPU.
  bool is_cuda() const { return kind == Kind::cuda; }
  /// "cpu" or "cuda:N".
  std::string str() const;
  /// Parses "cpu", "cuda" or "cuda:N"; throws gw::UsageError otherwise.
  static Device parse(const std::string& s);

  /// Same kind and index.
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  /// Not operator==.
  bool operator!=(const Device& o) const { return !(*this == o); }
};

/// True when this build has CUDA and the machine has at least one usable GPU.
bool cuda_available();
/// Number of usable GPUs (0 in a CPU-only build or on a machine without one).
int cuda_device_count();
/// True when this build was compiled with the CUDA backend.
bool cuda_compiled();
/// Throws gw::DeviceError with a clear message unless `d` can be used here.
void check_device_available(Device d);

}  // namespace gw
