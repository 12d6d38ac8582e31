// test_hooks.h — failure injection for the trainer's own tests. A test sets an environment
// variable on a gw-train subprocess (or on itself) to crash or poison the run at an exact
// moment, which a kill -9 from outside could only hit by luck. Unset, each hook costs one
// getenv per call.
//
//   GW_TEST_KILL_AT=POINT@STEP   the process sends itself SIGKILL, as `kill -9` would:
//       step        right after the update of step STEP, before its metrics and log line
//       metrics     half-way through the metrics.jsonl write that holds step STEP's record
//       checkpoint  half-way through writing the checkpoint of step STEP (ckpt.bin.tmp)
//       rename      once that checkpoint's temp file is complete, just before the rename
//   GW_TEST_NAN_STEPS=LIST       the steps of LIST ("3", "12-40", "3,12-40") compute a NaN
//                                loss and NaN gradients, as an overflow would
//   GW_TEST_STEP_DELAY_MS=N      each step takes N ms longer, so that a test's signal lands
//                                mid-run however fast the machine is
#pragma once

#include <cstdint>

namespace gw::test_hooks {

/// True when GW_TEST_KILL_AT names `point` and `step`.
bool kill_armed(const char* point, int64_t step);
/// SIGKILL to this process; does not return.
[[noreturn]] void kill_now();
/// True when GW_TEST_NAN_STEPS lists `step` (the 1-based number of the step being taken).
bool nan_at(int64_t step);
/// Sleeps GW_TEST_STEP_DELAY_MS milliseconds (not at all when unset).
void step_delay();

}  // namespace gw::test_hooks
