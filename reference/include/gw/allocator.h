// allocator.h — every tensor buffer comes from here, so memory claims can be measured.
//
// The allocator counts current and peak bytes per device. Tests use MemoryProbe to check
// claims such as "flash attention needs O(T) extra memory" or "the memory plan's predicted
// peak equals the measured one" (labs 07 and 08).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gw/device.h"

namespace gw {

/// Byte counters of one device. `current` and `peak` count bytes handed out to tensors.
struct MemoryStats {
  int64_t current = 0;      ///< bytes in use now
  int64_t peak = 0;         ///< most bytes in use at once since start (or reset_peak)
  int64_t allocations = 0;  ///< number of allocate() calls so far
  int64_t frees = 0;        ///< number of release() calls so far
};

/// How a backend gets raw memory (the CUDA backend installs a caching one).
class DeviceAllocator {
 public:
  /// Allocators are deleted through this interface.
  virtual ~DeviceAllocator() = default;
  /// Returns `bytes` bytes of device memory (never null; throws gw::Error when out of memory).
  virtual void* raw_allocate(size_t bytes) = 0;
  /// Gives memory back that raw_allocate returned.
  virtual void raw_release(void* ptr, size_t bytes) = 0;
};

/// Installs the raw allocator of a device kind (the CUDA backend calls this at start-up).
void set_device_allocator(Device::Kind kind, DeviceAllocator* allocator);

/// Allocates `bytes` bytes on `device` (64-byte aligned on the CPU) and counts them.
void* allocate(size_t bytes, Device device);
/// Releases memory from allocate(); `bytes` must be the size asked for.
void release(void* ptr, size_t bytes, Device device);

/// Counters of `device`.
MemoryStats memory_stats(Device device = Device::cpu());
/// Sets the peak of `device` to its current bytes.
void reset_peak(Device device = Device::cpu());

/// Measures the most extra bytes in use at once inside a scope, above the bytes in use when
/// the probe started. Probes nest; the device's global peak is kept.
///
///     gw::MemoryProbe probe;
///     run_attention(...);
///     EXPECT_LT(probe.peak_extra_bytes(), 10 * T * sizeof(float));
class MemoryProbe {
 public:
  /// Starts measuring on `device`.
  explicit MemoryProbe(Device device = Device::cpu());
  /// Stops measuring.
  ~MemoryProbe();
  MemoryProbe(const MemoryProbe&) = delete;
  MemoryProbe& operator=(const MemoryProbe&) = delete;
  /// Peak bytes in use since the probe started, minus the bytes in use at its start.
  int64_t peak_extra_bytes() const;
  /// Allocation calls since the probe started.
  int64_t allocations() const;

 private:
  Device device_;
  int64_t start_current_;
  int64_t start_allocations_;
  int slot_;
};

}  // namespace gw
