// tensor.cpp — Buffer and Tensor: allocation, copies, conversions.
#include "gw/tensor.h"

#include <cmath>
#include <cstring>

#include "gw/allocator.h"
#include "gw/cuda_backend.h"

namespace gw {

Buffer::Buffer(size_t bytes, Device device)
    : data_(allocate(bytes, device)), bytes_(bytes), device_(device) {}

Buffer::~Buffer() { release(data_, bytes_, device_); }

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  cuda::copy(dst, dst_device, src, src_device, bytes);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    GW_CHECK_AS(ShapeError, d >= 0, "tensor: negative size in shape ", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.buffer_ = std::make_shared<Buffer>(static_cast<size_t>(gw::numel(shape)) * dtype_size(dtype),
                                       device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu())
    std::memset(t.raw(), 0, t.nbytes());
  else
    cuda::zero(t.raw(), t.nbytes(), device);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  host.fill(value);
  return host.to(device);
}

namespace {
// Writes `v` converted to dtype at element i of raw CPU memory.
void store(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::f64: static_cast<double*>(base)[i] = v; break;
    case DType::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::f16: static_cast<uint16_t*>(base)[i] = float_to_f16_bits(static_cast<float>(v)); break;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = float_to_bf16_bits(static_cast<float>(v)); break;
    case DType::i8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(std::lrint(v)); break;
    case DType::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(std::llrint(v)); break;
  }
}
double load(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f16: return f16_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::bf16: return bf16_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::i8: return static_cast<const int8_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
  }
  return 0;
}
}  // namespace

Tensor Tensor::from_values(const Shape& shape, const std::vector<double>& values, DType dtype) {
  GW_CHECK_AS(ShapeError, static_cast<int64_t>(values.size()) == gw::numel(shape),
              "from_values: ", values.size(), " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype, Device::cpu());
  for (size_t i = 0; i < values.size(); ++i) store(t.raw(), dtype, static_cast<int64_t>(i), values[i]);
  return t;
}

Tensor Tensor::view(std::shared_ptr<Buffer> buffer, size_t byte_offset, const Shape& shape,
                    DType dtype) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  GW_CHECK(buffer && byte_offset + static_cast<size_t>(gw::numel(shape)) * dtype_size(dtype) <=
                         buffer->bytes(),
           "tensor view of ", shape_str(shape), " ", dtype_name(dtype), " at byte ", byte_offset,
           " overruns its buffer");
  t.buffer_ = std::move(buffer);
  t.offset_ = byte_offset;
  return t;
}

int64_t Tensor::size(int64_t axis) const {
  return shape_.at(static_cast<size_t>(normalize_axis(axis, dim(), "Tensor::size")));
}

void* Tensor::raw() const {
  GW_CHECK(buffer_ != nullptr, "use of an undefined tensor");
  return static_cast<char*>(buffer_->data()) + offset_;
}

Tensor Tensor::reshaped(const Shape& shape) const {
  GW_CHECK_AS(ShapeError, gw::numel(shape) == numel(), "reshape: ", shape_str(shape_), " to ",
              shape_str(shape), " changes the number of elements");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  copy_bytes(t.raw(), t.device(), raw(), device(), nbytes());
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  check_device_available(device);
  Tensor t = empty(shape_, dtype_, device);
  copy_bytes(t.raw(), device, raw(), this->device(), nbytes());
  return t;
}

Tensor Tensor::astype(DType dtype) const {
  Tensor host = to(Device::cpu());
  Tensor out = empty(shape_, dtype, Device::cpu());
  for (int64_t i = 0; i < numel(); ++i) store(out.raw(), dtype, i, load(host.raw(), dtype_, i));
  return out.to(device());
}

void Tensor::copy_from(const Tensor& src) {
  GW_CHECK_AS(ShapeError, src.shape_ == shape_ && src.dtype_ == dtype_, "copy_from: ",
              src.str(), " into ", str());
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes());
}

std::vector<double> Tensor::to_doubles() const {
  Tensor host = to(Device::cpu());
  std::vector<double> out(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = load(host.raw(), dtype_, i);
  return out;
}

double Tensor::item() const {
  GW_CHECK_AS(ShapeError, numel() == 1, "item: tensor of shape ", shape_str(shape_),
              " has ", numel(), " elements, not 1");
  return to_doubles()[0];
}

void Tensor::fill(double value) {
  if (device().is_cpu()) {
    for (int64_t i = 0; i < numel(); ++i) store(raw(), dtype_, i, value);
    return;
  }
  copy_from(full(shape_, value, dtype_, Device::cpu()));
}

std::string Tensor::str() const {
  return std::string("Tensor(") + dtype_name(dtype_) + ", " + shape_str(shape_) + ", " +
         device().str() + ")";
}

}  // namespace gw
