// passes.h — analyses and rewrites of a graph before it runs. The graph is built first and run
// later, so its cost is known in advance and a pass can change it. Lab 07's passes:
//   gw/cost_model.h         count FLOPs and bytes, by node, part of the model and phase
//   gw/memory_estimate.h    predict the peak memory of a run from the schedule's liveness
//   gw/checkpointing.h      recompute activations in the backward pass instead of keeping them
//   gw/transformer_costs.h  the lecture's formulas for the same numbers, and MFU
// Later labs add mixed-precision casts and quantization.
#pragma once

#include "gw/checkpointing.h"
#include "gw/cost_model.h"
#include "gw/memory_estimate.h"
#include "gw/transformer_costs.h"
