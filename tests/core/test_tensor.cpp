// test_tensor.cpp — dtypes, devices, shapes, the counting allocator and Tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gw/allocator.h"
#include "gw/tensor.h"

using namespace gw;

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::f64), 8u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::i8), 1u);
  EXPECT_EQ(parse_dtype("bf16"), DType::bf16);
  EXPECT_THROW(parse_dtype("f8"), UsageError);
}

TEST(DType, F16RoundTripsEveryBitPattern) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_bits_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_f16_bits(f), h) << "pattern " << h;
  }
  EXPECT_EQ(f16_bits_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(float_to_f16_bits(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(float_to_f16_bits(65519.0f), 0x7bff);
  EXPECT_FLOAT_EQ(f16_bits_to_float(0x0001), 5.9604645e-8f);
  EXPECT_FLOAT_EQ(f16_bits_to_float(0x0400), 6.1035156e-5f);
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16_bits(1.0f), 0x3f80);
  uint32_t halfway = 0x3f808000u;  // exactly between 0x3f80 and 0x3f81: ties to even
  float x;
  std::memcpy(&x, &halfway, 4);
  EXPECT_EQ(float_to_bf16_bits(x), 0x3f80);
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(float_to_bf16_bits(NAN))));
}

TEST(Shape, Broadcasting) {
  EXPECT_EQ(broadcast_shapes({4, 1, 3}, {5, 1}, "add"), (Shape{4, 5, 3}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "add"), (Shape{2, 3}));
  try {
    broadcast_shapes({2, 3}, {4}, "mul");
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("mul: shapes (2, 3) and (4)"), std::string::npos);
  }
}

TEST(Device, ParseAndAvailability) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_THROW(Device::parse("tpu"), UsageError);
  if (!cuda_available()) {
    EXPECT_THROW(Tensor::zeros({4}, DType::f32, Device::cuda(0)), DeviceError);
  }
}

TEST(Allocator, CountsCurrentAndPeak) {
  const int64_t before = memory_stats().current;
  {
    Tensor a = Tensor::empty({1000}, DType::f32);
    EXPECT_EQ(memory_stats().current, before + 4000);
  }
  EXPECT_EQ(memory_stats().current, before);
}

TEST(Allocator, ProbeMeasuresPeakExtraBytes) {
  Tensor keep = Tensor::empty({100}, DType::f64);
  MemoryProbe probe;
  {
    Tensor a = Tensor::empty({256}, DType::f32);  // 1024
    Tensor b = Tensor::empty({256}, DType::f32);  // 2048 at once
  }
  Tensor c = Tensor::empty({128}, DType::f32);  // 512 while the probe is open
  EXPECT_EQ(probe.peak_extra_bytes(), 2048);
  EXPECT_EQ(probe.allocations(), 3);
  {
    MemoryProbe inner;
    Tensor d = Tensor::empty({1024}, DType::i8);
    EXPECT_EQ(inner.peak_extra_bytes(), 1024);
  }
  EXPECT_EQ(probe.peak_extra_bytes(), 2048);
}

TEST(Tensor, ValuesAndConversions) {
  Tensor t = Tensor::from_values({2, 2}, {1.5, -2.0, 3.25, 0.0}, DType::f32);
  EXPECT_EQ(t.str(), "Tensor(f32, (2, 2), cpu)");
  EXPECT_EQ(t.data<float>()[2], 3.25f);
  EXPECT_THROW(t.data<double>(), DTypeError);
  Tensor h = t.astype(DType::bf16);
  EXPECT_EQ(h.to_doubles(), (std::vector<double>{1.5, -2.0, 3.25, 0.0}));
  Tensor c = t.clone();
  c.fill(7);
  EXPECT_EQ(t.to_doubles()[0], 1.5);
  EXPECT_EQ(c.reshaped({4}).to_doubles()[3], 7.0);
  EXPECT_THROW(t.reshaped({3}), ShapeError);
  EXPECT_THROW(Tensor::from_values({3}, {1, 2}), ShapeError);
  EXPECT_THROW(t.item(), ShapeError);
  EXPECT_EQ(Tensor::full({}, 4.0, DType::i32).item(), 4.0);
}
