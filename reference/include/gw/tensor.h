// tensor.h — a contiguous, row-major n-dimensional array on one device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gw/device.h"
#include "gw/dtype.h"
#include "gw/error.h"
#include "gw/shape.h"

namespace gw {

/// A block of memory from gw::allocate, freed when the last tensor using it goes away.
class Buffer {
 public:
  /// Allocates `bytes` bytes on `device` through gw::allocate.
  Buffer(size_t bytes, Device device);
  /// Releases the memory through gw::release.
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  /// Start of the memory.
  void* data() const { return data_; }
  /// Size in bytes.
  size_t bytes() const { return bytes_; }
  /// Where the memory lives.
  Device device() const { return device_; }

 private:
  void* data_;
  size_t bytes_;
  Device device_;
};

/// Contiguous row-major tensor: a shape, a dtype, a device and a view into a Buffer.
/// Copying a Tensor copies the handle, not the data (use clone() for a deep copy).
class Tensor {
 public:
  /// An empty handle (defined() is false).
  Tensor() = default;
  /// Uninitialized tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  /// Tensor filled with zeros.
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  /// Tensor with every element equal to `value` (converted to dtype).
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  /// CPU tensor of dtype `dtype` from values given as doubles (converted element by element).
  static Tensor from_values(const Shape& shape, const std::vector<double>& values,
                            DType dtype = DType::f32);
  /// CPU tensor copying typed data; T must match a DType (float, double, int32_t, ...).
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);
  /// A view of `bytes` of an existing buffer starting at `byte_offset` (used by the memory plan).
  static Tensor view(std::shared_ptr<Buffer> buffer, size_t byte_offset, const Shape& shape,
                     DType dtype);

  /// False for a default-constructed handle.
  bool defined() const { return buffer_ != nullptr; }
  /// Sizes of the axes.
  const Shape& shape() const { return shape_; }
  /// Number of axes.
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  /// Size of one axis (negative counts from the end).
  int64_t size(int64_t axis) const;
  /// Number of elements.
  int64_t numel() const { return gw::numel(shape_); }
  /// Element type.
  DType dtype() const { return dtype_; }
  /// Device of the buffer (cpu for an undefined tensor).
  Device device() const { return buffer_ ? buffer_->device() : Device::cpu(); }
  /// Bytes of the elements.
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  /// The buffer this tensor views.
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
  /// Where the first element sits in the buffer.
  size_t byte_offset() const { return offset_; }

  /// Raw pointer to the first element (a device pointer for CUDA tensors).
  void* raw() const;
  /// Typed pointer; throws gw::DTypeError when T does not match dtype().
  template <typename T>
  T* data() const {
    GW_CHECK_AS(DTypeError, dtype_of<T>::value == dtype_, "tensor of dtype ", dtype_name(dtype_),
                " accessed as ", dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }

  /// Same data, new shape with the same numel (no copy).
  Tensor reshaped(const Shape& shape) const;
  /// Deep copy on the same device.
  Tensor clone() const;
  /// Copy onto `device` (a handle to this tensor when already there).
  Tensor to(Device device) const;
  /// Converted copy (on the CPU, through double; f16/bf16 round to nearest even).
  Tensor astype(DType dtype) const;
  /// Copies `src` (same shape and dtype, any device) into this tensor.
  void copy_from(const Tensor& src);
  /// Every element as a double, copied to the CPU.
  std::vector<double> to_doubles() const;
  /// The only element of a one-element tensor, as a double.
  double item() const;
  /// Sets every element to `value`.
  void fill(double value);
  /// "Tensor(f32, (2, 3), cpu)".
  std::string str() const;

 private:
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

template <typename T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  GW_CHECK_AS(ShapeError, static_cast<int64_t>(values.size()) == gw::numel(shape),
              "from_vector: ", values.size(), " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>::value, Device::cpu());
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

/// Copies `bytes` bytes between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace gw
