// device.cpp — device names and availability checks.
#include "gw/device.h"

#include <cstdlib>

#include "gw/cuda_backend.h"
#include "gw/error.h"

namespace gw {

std::string Device::str() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index);
}

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5) {
    char* end = nullptr;
    const long i = std::strtol(s.c_str() + 5, &end, 10);
    if (*end == '\0' && i >= 0 && i < 1024) return cuda(static_cast<int>(i));
  }
  throw UsageError("unknown device '" + s + "' (expected cpu, cuda or cuda:N)");
}

bool cuda_compiled() { return cuda::compiled(); }
int cuda_device_count() { return cuda::compiled() ? cuda::device_count() : 0; }
bool cuda_available() { return cuda_device_count() > 0; }

void check_device_available(Device d) {
  if (d.is_cpu()) return;
  GW_CHECK_AS(DeviceError, cuda_compiled(), "device ", d.str(),
              " requested, but this build has no CUDA backend (configure with the CUDA toolkit)");
  const int n = cuda_device_count();
  GW_CHECK_AS(DeviceError, n > 0, "device ", d.str(), " requested, but no CUDA GPU is visible");
  GW_CHECK_AS(DeviceError, d.index < n, "device ", d.str(), " requested, but only ", n,
              " CUDA GPU(s) are visible");
}

}  // namespace gw
