// accumulation_table.cpp — the accumulation experiment of lab 06 around running_sum: the same
// values summed in each precision, each sum's error against the exact one, and the table.
// (Also what keeps reference/precision/ from being empty in a student release, where the
// lab files themselves live under labs/.)
#include <cmath>
#include <cstdio>
#include <string>

#include "gw/error.h"
#include "gw/mixed_precision.h"

namespace gw {

std::vector<AccumulationRow> accumulation_experiment(int64_t count, float value) {
  GW_CHECK_AS(UsageError, count >= 0, "accumulation_experiment: count ", count, " < 0");
  const std::vector<float> values(static_cast<size_t>(count), value);
  const double exact = static_cast<double>(count) * static_cast<double>(value);
  std::vector<AccumulationRow> rows;
  for (auto [in, acc] : {std::pair{DType::f16, DType::f16}, std::pair{DType::bf16, DType::bf16},
                         std::pair{DType::f16, DType::f32}, std::pair{DType::f32, DType::f64}}) {
    AccumulationRow row{in, acc, running_sum(values, in, acc), exact, 0, 0};
    row.abs_error = std::abs(row.result.sum - exact);
    row.rel_error = exact != 0 ? row.abs_error / std::abs(exact) : 0;
    rows.push_back(row);
  }
  return rows;
}

std::string accumulation_table(const std::vector<AccumulationRow>& rows) {
  std::string out = "inputs  sum in      final sum   exact (f64)    rel. error  stops growing at\n";
  char line[160];
  for (const AccumulationRow& r : rows) {
    const std::string stop =
        r.result.stagnation_index < 0
            ? std::string("never")
            : "step " + std::to_string(r.result.stagnation_index) + ", sum " +
                  std::to_string(r.result.stagnation_sum);
    std::snprintf(line, sizeof line, "%-7s %-7s %12.6g %14.8g %13.3e  %s\n",
                  dtype_name(r.input), dtype_name(r.accumulator), r.result.sum, r.exact,
                  r.rel_error, stop.c_str());
    out += line;
  }
  return out;
}

}  // namespace gw
