// no_cuda.cpp — the CUDA entry points of a CPU-only build: no GPUs, clear errors.
#include "gw/cuda_backend.h"
#include "gw/error.h"
#include "gw/op_table.h"

namespace gw {
namespace cuda {

bool compiled() { return false; }
int device_count() { return 0; }
std::string device_name(int) { return ""; }

[[noreturn]] static void no_cuda(const char* what) {
  throw DeviceError(std::string(what) +
                    ": this build has no CUDA backend (reconfigure with the CUDA toolkit)");
}
void copy(void*, Device, const void*, Device, size_t) { no_cuda("copy to or from a GPU"); }
void zero(void*, size_t, Device) { no_cuda("zeroing GPU memory"); }
void install_allocator() { no_cuda("allocating GPU memory"); }
void synchronize() {}  // nothing is ever queued

}  // namespace cuda

void define_cuda_kernels(OpRegistry&) {}  // no CUDA kernels in a CPU-only build

}  // namespace gw
