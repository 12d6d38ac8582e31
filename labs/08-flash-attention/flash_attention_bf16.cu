// Lab 08: your copy of this file. Replace each GW_TODO("lab 08: ...") line with your
// code and leave the rest as it is; the build and the grader take this file as it stands.
// Each "// TODO(lab 08)" comment marks code you write outside any function (kernels).
// flash_attention_bf16.cu — flash attention on tensor cores for bf16 q, k, v (b, s, n, d), d = 64
// or 128: FlashAttention-2's algorithm with WMMA bf16 16×16×16 fragments and f32 accumulators
// (sm_80+). flash_attention.cu dispatches here by dtype.
//
// Forward: one block per (query tile of kRows = 64 rows, head), four warps of 16 query rows
// each. The block walks key tiles of kCols = 64 (K and V staged in shared memory); per tile
// each warp computes S = Q·Kᵀ (its Q fragments stay in registers), runs the online softmax of
// its 16 rows in f32 (running max m and sum l, in log₂ units so exp is one exp2f), writes
// P in bf16 (a tensor-core operand) and rescales its f32 output rows by exp(m_old − m_new),
// then adds P·V. WMMA's accumulator layout is opaque, so the per-row rescale happens on the
// f32 output rows in shared memory: O is loaded into fragments, P·V added, O stored back.
// The packed output row is [O/l, LSE = (m + log₂ l)·ln 2], all f32: a 16-bit LSE would put
// an error of 2⁻⁸·|LSE| into every P the backward recomputes. Causal: key tiles past the
// diagonal are never loaded; the diagonal tile is masked per element.
//
// Backward: a prep kernel reads the packed output y and its adjoint ȳ = [ō, L̄SE] (f32) and
// writes ō in bf16 (an operand), LSE and D_i = ō_i·o_i − L̄SE_i (f32, from the rounded ō),
// in the rows' order, so ō has q's layout and LSE, D one value per row of it, (b, s, n): the row
// at q's element offset o is row o / d. Then one block per
// (key tile of 64, head), four warps of 16 keys; the block walks the query tiles that see
// its keys, and per tile each warp computes Sᵀ = K·Qᵀ and dPᵀ = V·ōᵀ, then
// Pᵀ = exp(c·Sᵀ − LSE) and dSᵀ = Pᵀ∘(dPᵀ − D) (f32, rounded to bf16 only as operands),
// v̄ += Pᵀ·ō and k̄ += dSᵀ·Q in f32 fragments held for the whole walk, and q̄ += dS·K over all
// four warps' dSᵀ, added with f32 atomics into an f32 buffer (the blocks of other key tiles
// add to the same rows). A last kernel scales q̄ by c and rounds it to bf16; k̄ (times c) and
// v̄ are rounded once when the walk ends.
#include <mma.h>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GW_FLASH_TENSOR_CORES 1  // bf16 WMMA exists from sm_80 on
#else
#define GW_FLASH_TENSOR_CORES 0
#endif

namespace gw::cuda {
namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;

constexpr int kWarps = 4;
[[maybe_unused]] constexpr int kThreads = 32 * kWarps;  // (unused only in the lab's stub)
constexpr int kRows = 16 * kWarps;  // the block's own rows: queries (forward), keys (backward)
constexpr int kCols = 64;           // rows of the other side per step of the walk
// The causal walks start at the diagonal tile, which needs the two tile sizes equal.
static_assert(kRows == kCols, "causal tile skipping assumes square tiles");

using Dims = kernels::AttentionShape;  // where each head's rows are (op_shapes.h)

// TODO(lab 08): the bf16 tensor-core kernels (sm_80+, WMMA 16×16×16 bf16 fragments with f32 accumulators, four warps of 16 rows per block, tiles of 64): forward_kernel<D> as the f32 kernel but with S = Q·Kᵀ and P·V on tensor cores, the online softmax in f32 (exp2 with log₂ e folded into the scale), the f32 output rows rescaled in shared memory, the packed row [O/l, LSE] written in f32; a prep kernel (ō in bf16, LSE, D = ō·o − L̄SE per row, in the rows' order); backward_kernel<D>, one block per key tile: Sᵀ = K·Qᵀ, dPᵀ = V·ōᵀ, Pᵀ, dSᵀ = Pᵀ∘(dPᵀ − D), v̄ += Pᵀ·ō and k̄ += dSᵀ·Q in fragments held for the walk, q̄ += dS·K added with f32 atomics into an f32 buffer; a kernel that scales q̄ by c into bf16. Guard the tensor-core code with GW_FLASH_TENSOR_CORES so the file compiles for older GPUs

// A bf16 tensor's device pointer (Tensor::data<T> knows the CPU's gw::bf16, not CUDA's type).
[[maybe_unused]] bf16* bf16_of(const Tensor& t) {
  GW_CHECK_AS(DTypeError, t.dtype() == DType::bf16, "flash attention (cuda, bf16): a tensor is ",
              dtype_name(t.dtype()), ", not bf16");
  return static_cast<bf16*>(t.raw());
}

// d = 64 or 128 (the kernels are templates over d: their fragments live in registers), b·n
// within a grid's y dimension, and a device with bf16 tensor cores.
void check_supported(const char* op, const KernelArgs& args, const Dims& g) {
  const Shape& q = args.inputs[0].shape();
  GW_CHECK_AS(ShapeError, g.d == 64 || g.d == 128, op, " (cuda, bf16): q ", shape_str(q),
              " has head dimension d = ", g.d, "; the bf16 tensor-core kernels take d = 64 or 128");
  GW_CHECK_AS(ShapeError, g.heads <= 65535, op, " (cuda, bf16): q ", shape_str(q), " has b·n = ",
              g.heads, " heads, at most 65535");
  int device = 0, major = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  GW_CHECK_AS(DeviceError, major >= 8, op, " (cuda, bf16): compute capability ", major,
              ".x has no bf16 tensor cores (sm_80 or later)");
}

[[maybe_unused]] dim3 grid_of(const Dims& g) {
  return dim3(static_cast<unsigned>((g.s + kRows - 1) / kRows), static_cast<unsigned>(g.heads));
}

// Kernels using more than 48 KiB of dynamic shared memory must say so first.
template <typename Kernel>
void allow_shared(Kernel kernel, size_t bytes) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(bytes)));
}

template <int D>
void forward_d(const KernelArgs& args, const Dims& g) {
  GW_TODO("lab 08: launch forward_kernel<D> on grid_of(g), kThreads threads, with its shared memory (allow_shared first when it is above 48 KiB), on stream_of(args)", args, g);
}

template <int D>
void backward_d(const KernelArgs& args, const Dims& g) {
  GW_TODO("lab 08: scratch tensors on the output's device (ō in bf16, LSE and D in f32, q̄ in f32 zeroed), then the prep kernel, backward_kernel<D> (k̄, v̄ into the output's second and third parts) and the q̄ scaling into its first part, in stream order on stream_of(args)", args, g);
}

}  // namespace

void flash_attention_bf16(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  check_supported("flash_attention", args, g);
  if (g.heads == 0) return;  // b = 0: a grid of no blocks is a launch error
  if (g.d == 64) return forward_d<64>(args, g);
  return forward_d<128>(args, g);
}

void flash_attention_backward_bf16(const KernelArgs& args) {
  const Dims g = kernels::attention_shape(args.node);
  check_supported("flash_attention_backward", args, g);
  if (g.heads == 0) return;  // b = 0: a grid of no blocks is a launch error
  if (g.d == 64) return backward_d<64>(args, g);
  return backward_d<128>(args, g);
}

}  // namespace gw::cuda
