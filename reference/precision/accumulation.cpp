// accumulation.cpp — lab 06's running sum: many small values summed in f16, bf16, f32 or f64,
// and where a 16-bit sum stops growing (the experiment around it: accumulation_table.cpp).
#include <cmath>
#include <string>

#include "gw/error.h"
#include "gw/mixed_precision.h"

namespace gw {

namespace {

// x rounded to `t` (f16, bf16, f32 or f64), as a double.
double round_to(double x, DType t) {
  switch (t) {
    case DType::f16: return f16_bits_to_float(float_to_f16_bits(static_cast<float>(x)));
    case DType::bf16: return bf16_bits_to_float(float_to_bf16_bits(static_cast<float>(x)));
    case DType::f32: return static_cast<float>(x);
    case DType::f64: return x;
    default: throw DTypeError(std::string("running_sum: no ") + dtype_name(t) + " sums");
  }
}

}  // namespace

RunningSum running_sum(const std::vector<float>& values, DType input, DType accumulator) {
  GW_CHECK_AS(DTypeError, input == DType::f16 || input == DType::bf16 || input == DType::f32,
              "running_sum: inputs must be f16, bf16 or f32, not ", dtype_name(input));
  round_to(0, accumulator);  // rejects an accumulator dtype it cannot keep a sum in
  // BEGIN LAB 06: s starts at 0; for each value: x = the value rounded to `input`, s' = s + x rounded to `accumulator` (round_to; for a 16-bit or f32 accumulator add in f32, as hardware does); record the first index where x ≠ 0 and s' == s (stagnation_index, stagnation_sum); return the final sum
  RunningSum r;
  double s = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = round_to(values[i], input);
    const double added = accumulator == DType::f64 ? s + x
                                                   : static_cast<double>(static_cast<float>(s) +
                                                                         static_cast<float>(x));
    const double next = round_to(added, accumulator);
    if (x != 0 && next == s && r.stagnation_index < 0) {
      r.stagnation_index = static_cast<int64_t>(i);
      r.stagnation_sum = s;
    }
    s = next;
  }
  r.sum = s;
  return r;
  // END LAB 06
}

}  // namespace gw
