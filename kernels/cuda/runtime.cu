// runtime.cu — the CUDA backend's runtime: device count, copies, the one stream, the caching
// device allocator, scratch memory, the device error flag and the TF32 switch.
//
// The caching allocator keeps freed blocks in free lists by size class instead of giving
// them back with cudaFree, so once a training step has run, every later step finds its
// blocks in the lists: no cudaMalloc, no cudaFree (cudaFree synchronizes the whole device).
// Size classes: multiples of 512 B up to 1 MiB, then multiples of 2 MiB. A request takes a
// block of exactly its class, so a list never hands out a block much bigger than asked. The
// byte counters (current, peak) stay in reference/runtime/allocator.cpp, which counts the
// bytes asked for whatever backend serves them, so CPU and GPU report alike.
//
// One stream carries every kernel and copy, so memory freed on the host can be handed to the
// next kernel at once: stream order guarantees the previous user has finished with it.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <map>
#include <mutex>
#include <vector>

#include "cuda_common.cuh"
#include "gw/allocator.h"
#include "gw/cuda_backend.h"

namespace gw::cuda {
namespace {

constexpr size_t kSmallLimit = 1 << 20;   // below: classes of 512 B
constexpr size_t kSmallStep = 512;
constexpr size_t kLargeStep = 2 << 20;    // above: classes of 2 MiB

size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t step = bytes <= kSmallLimit ? kSmallStep : kLargeStep;
  return (bytes + step - 1) / step * step;
}

class CachingAllocator : public DeviceAllocator {
 public:
  void* raw_allocate(size_t bytes) override {
    const size_t cls = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cache_hits += 1;
        stats_.cached_bytes -= static_cast<int64_t>(cls);
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, cls);
    if (status == cudaErrorMemoryAllocation) {  // give the cache back and try once more
      cudaGetLastError();
      empty(static_cast<cudaStream_t>(stream()));
      status = cudaMalloc(&p, cls);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw DeviceError(detail::concat("out of GPU memory allocating ", bytes, " bytes (",
                                       free_bytes >> 20, " MiB free of ", total_bytes >> 20,
                                       " MiB): ", cudaGetErrorString(status),
                                       "; try a smaller --batch-size"));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.device_mallocs += 1;
    stats_.reserved_bytes += static_cast<int64_t>(cls);
    return p;
  }

  void raw_release(void* ptr, size_t bytes) override {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    free_[cls].push_back(ptr);
    stats_.cached_bytes += static_cast<int64_t>(cls);
  }

  // cudaFree of every cached block (after the stream drained: a block may still be in use
  // by a queued kernel until then). The caller passes the stream, so that scratch(), which
  // holds the runtime's mutex, can empty the cache too.
  void empty(cudaStream_t stream) {
    cudaStreamSynchronize(stream);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [cls, list] : free_) {
      for (void* p : list) {
        cudaFree(p);
        stats_.device_frees += 1;
        stats_.reserved_bytes -= static_cast<int64_t>(cls);
        stats_.cached_bytes -= static_cast<int64_t>(cls);
      }
      list.clear();
    }
  }

  CachingStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  CachingStats stats_;
};

// Never destroyed: tensors may be released during static teardown, after the CUDA context
// has gone; the driver frees everything at exit anyway.
CachingAllocator& caching_allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

struct Runtime {
  std::mutex mutex;
  cudaStream_t stream = nullptr;
  DeviceErrorFlag* flag_host = nullptr;    // host-mapped, written by kernels
  DeviceErrorFlag* flag_device = nullptr;  // the same memory as the device sees it
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  bool tf32 = true;
};

Runtime& runtime() {
  static Runtime* r = [] {
    auto* rt = new Runtime();
    const char* env = std::getenv("GW_CUDA_TF32");
    rt->tf32 = !(env && std::string(env) == "0");
    return rt;
  }();
  return *r;
}

// The first call on a machine with a GPU creates the stream and the error flag.
void ensure_started() {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (rt.stream != nullptr) return;
  GW_CHECK_AS(DeviceError, device_count() > 0,
              "CUDA backend: no CUDA device is visible (no GPU, or no driver)");
  CUDA_CHECK(cudaStreamCreateWithFlags(&rt.stream, cudaStreamNonBlocking));
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&rt.flag_host), sizeof(DeviceErrorFlag),
                           cudaHostAllocMapped));
  *rt.flag_host = DeviceErrorFlag{0, 0, 0.0, 0};
  CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&rt.flag_device), rt.flag_host, 0));
}

}  // namespace

// ---- gw/cuda_backend.h -----------------------------------------------------------------------
bool compiled() { return true; }

namespace {
// cudaGetDeviceCount's answer, asked once: the count and, when it failed, CUDA's message.
struct DeviceQuery {
  int count = 0;
  std::string error;
};
const DeviceQuery& device_query() {
  static const DeviceQuery* q = [] {
    auto* r = new DeviceQuery();
    int n = 0;
    const cudaError_t status = cudaGetDeviceCount(&n);
    if (status != cudaSuccess) {  // no driver, no device, a driver too old: zero GPUs
      cudaGetLastError();
      r->error = detail::concat(cudaGetErrorName(status), ": ", cudaGetErrorString(status));
    } else {
      r->count = n;
    }
    return r;
  }();
  return *q;
}
}  // namespace

int device_count() { return device_query().count; }

std::string device_name(int index) {
  if (index < 0 || index >= device_count()) return "";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "";
  return prop.name;
}

std::string device_error() { return device_query().error; }

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  ensure_started();
  cudaMemcpyKind kind = cudaMemcpyDeviceToDevice;
  if (dst_device.is_cpu() && src_device.is_cpu()) kind = cudaMemcpyHostToHost;
  else if (dst_device.is_cpu()) kind = cudaMemcpyDeviceToHost;
  else if (src_device.is_cpu()) kind = cudaMemcpyHostToDevice;
  const cudaStream_t s = runtime().stream;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
  // Synchronous, as the interface promises: the host may read or reuse its side now.
  CUDA_CHECK(cudaStreamSynchronize(s));
  check_error_flag();
}

void zero(void* ptr, size_t bytes, Device) {
  if (bytes == 0) return;
  ensure_started();
  CUDA_CHECK(cudaMemsetAsync(ptr, 0, bytes, runtime().stream));
}

void install_allocator() {
  ensure_started();
  set_device_allocator(Device::Kind::cuda, &caching_allocator());
}

// ---- gw_cuda.h -------------------------------------------------------------------------------
CachingStats caching_stats() { return caching_allocator().stats(); }
void empty_cache() { caching_allocator().empty(static_cast<cudaStream_t>(stream())); }

void* stream() {
  ensure_started();
  return runtime().stream;
}

void synchronize() {
  ensure_started();
  CUDA_CHECK(cudaStreamSynchronize(runtime().stream));
  check_error_flag();
}

void set_tf32(bool on) { runtime().tf32 = on; }
bool tf32() { return runtime().tf32; }

// ---- cuda_common.cuh -------------------------------------------------------------------------
void* scratch(size_t bytes) {
  ensure_started();
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (bytes > rt.scratch_bytes) {
    const size_t grown = std::max(bytes, 2 * rt.scratch_bytes);
    if (rt.scratch) {
      CUDA_CHECK(cudaStreamSynchronize(rt.stream));  // queued kernels may still read it
      CUDA_CHECK(cudaFree(rt.scratch));
    }
    // Forget the old block before allocating: a failed cudaMalloc must not leave a dangling
    // pointer behind for the next call.
    rt.scratch = nullptr;
    rt.scratch_bytes = 0;
    cudaError_t status = cudaMalloc(&rt.scratch, grown);
    if (status == cudaErrorMemoryAllocation) {  // the cached blocks first, then exactly `bytes`
      cudaGetLastError();
      caching_allocator().empty(rt.stream);
      status = cudaMalloc(&rt.scratch, bytes);
      if (status == cudaSuccess) rt.scratch_bytes = bytes;
    } else if (status == cudaSuccess) {
      rt.scratch_bytes = grown;
    }
    if (status != cudaSuccess) {
      rt.scratch = nullptr;
      CUDA_CHECK(status);
    }
  }
  return rt.scratch;
}

DeviceErrorFlag* error_flag() {
  ensure_started();
  return runtime().flag_device;
}

void check_error_flag() {
  DeviceErrorFlag* f = runtime().flag_host;
  if (f == nullptr || f->code == kNoError) return;
  const DeviceErrorFlag e = *f;
  *f = DeviceErrorFlag{0, 0, 0.0, 0};
  switch (e.code) {
    case kEmbeddingId:
    case kEmbeddingBackwardId:
      throw ShapeError(detail::concat(e.code == kEmbeddingId ? "embedding" : "embedding_backward",
                                      " (cuda): id ", static_cast<long long>(e.value),
                                      " at position ", e.at, " is outside the vocabulary [0, ",
                                      e.bound, ")"));
    case kCrossEntropyTarget:
      throw ShapeError(detail::concat("softmax_cross_entropy (cuda): target ",
                                      static_cast<long long>(e.value), " at row ", e.at,
                                      " is outside the vocabulary [0, ", e.bound, ")"));
    case kAdamWBiasCorrection:
      throw Error(detail::concat("adamw (cuda): bias correction ",
                                 e.at == 1 ? "1-beta1^t" : "1-beta2^t", " = ", e.value,
                                 " must be positive (t starts at 1)"));
    case kQuantizeScale:
      throw Error(detail::concat("quantize (cuda): scale[", e.at, "] = ", e.value,
                                 " must be positive and finite"));
    default:
      throw DeviceError(detail::concat("CUDA kernel reported error code ", e.code));
  }
}

}  // namespace gw::cuda
