// allocator.cpp — counted allocation for every device, and MemoryProbe.
#include "gw/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "gw/cuda_backend.h"
#include "gw/error.h"

namespace gw {
namespace {

struct DeviceCounters {
  MemoryStats stats;
  std::vector<int64_t> probe_peaks;  // peak `current` seen by each open probe (-1: slot free)
};

struct Registry {
  std::mutex mutex;
  std::map<int, DeviceCounters> devices;  // key: -1 for cpu, GPU ordinal for cuda
  DeviceAllocator* raw[2] = {nullptr, nullptr};
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: tensors may outlive static teardown
  return *r;
}

int key(Device d) { return d.is_cpu() ? -1 : d.index; }

class CpuAllocator : public DeviceAllocator {
 public:
  void* raw_allocate(size_t bytes) override {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    GW_CHECK(p != nullptr, "out of CPU memory allocating ", bytes, " bytes");
    return p;
  }
  void raw_release(void* ptr, size_t) override { std::free(ptr); }
};

}  // namespace

void set_device_allocator(Device::Kind kind, DeviceAllocator* allocator) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().raw[kind == Device::Kind::cpu ? 0 : 1] = allocator;
}

static DeviceAllocator* raw_allocator(Device device) {
  static CpuAllocator cpu;
  if (device.is_cpu()) return registry().raw[0] ? registry().raw[0] : &cpu;
  check_device_available(device);
  if (!registry().raw[1]) cuda::install_allocator();
  GW_CHECK_AS(DeviceError, registry().raw[1] != nullptr, "no allocator for ", device.str());
  return registry().raw[1];
}

void* allocate(size_t bytes, Device device) {
  void* p = raw_allocator(device)->raw_allocate(bytes);
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceCounters& c = registry().devices[key(device)];
  c.stats.current += static_cast<int64_t>(bytes);
  c.stats.allocations += 1;
  if (c.stats.current > c.stats.peak) c.stats.peak = c.stats.current;
  for (int64_t& peak : c.probe_peaks)
    if (peak >= 0 && c.stats.current > peak) peak = c.stats.current;
  return p;
}

void release(void* ptr, size_t bytes, Device device) {
  if (ptr == nullptr) return;
  raw_allocator(device)->raw_release(ptr, bytes);
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceCounters& c = registry().devices[key(device)];
  c.stats.current -= static_cast<int64_t>(bytes);
  c.stats.frees += 1;
}

MemoryStats memory_stats(Device device) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  return registry().devices[key(device)].stats;
}

void reset_peak(Device device) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  MemoryStats& s = registry().devices[key(device)].stats;
  s.peak = s.current;
}

MemoryProbe::MemoryProbe(Device device) : device_(device) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  DeviceCounters& c = registry().devices[key(device)];
  start_current_ = c.stats.current;
  start_allocations_ = c.stats.allocations;
  slot_ = -1;
  for (size_t i = 0; i < c.probe_peaks.size(); ++i)
    if (c.probe_peaks[i] < 0) { slot_ = static_cast<int>(i); break; }
  if (slot_ < 0) {
    slot_ = static_cast<int>(c.probe_peaks.size());
    c.probe_peaks.push_back(0);
  }
  c.probe_peaks[static_cast<size_t>(slot_)] = start_current_;
}

MemoryProbe::~MemoryProbe() {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().devices[key(device_)].probe_peaks[static_cast<size_t>(slot_)] = -1;
}

int64_t MemoryProbe::peak_extra_bytes() const {
  std::lock_guard<std::mutex> lock(registry().mutex);
  return registry().devices[key(device_)].probe_peaks[static_cast<size_t>(slot_)] - start_current_;
}

int64_t MemoryProbe::allocations() const {
  std::lock_guard<std::mutex> lock(registry().mutex);
  return registry().devices[key(device_)].stats.allocations - start_allocations_;
}

}  // namespace gw
