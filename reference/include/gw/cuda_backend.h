// cuda_backend.h — the few entry points the core needs from the CUDA backend.
//
// kernels/cuda/runtime.cu defines them when CUDA is compiled; kernels/cuda/no_cuda.cpp
// defines them otherwise (they report zero GPUs and throw gw::DeviceError).
#pragma once

#include <cstddef>
#include <string>

#include "gw/device.h"

namespace gw::cuda {

/// True when the CUDA backend is compiled in.
bool compiled();
/// Usable GPUs (0 when none, or when the driver is missing).
int device_count();
/// The model name of GPU `index` as CUDA reports it ("NVIDIA H100 80GB HBM3"); "" when there
/// is no such GPU (and in a build without CUDA).
std::string device_name(int index);
/// Copies between host and device memory in any direction (synchronous).
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
/// Sets `bytes` bytes of device memory to zero.
void zero(void* ptr, size_t bytes, Device device);
/// Installs the caching device allocator (called once, on first CUDA allocation).
void install_allocator();
/// Waits for everything queued on the GPU; throws gw::DeviceError for a failed kernel.
/// Nothing to wait for in a build without CUDA.
void synchronize();

}  // namespace gw::cuda
