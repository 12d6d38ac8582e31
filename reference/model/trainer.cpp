// trainer.cpp — gw::Trainer: builds the training-step graph once (forward, gradients(),
// clipping, AdamW) and runs it every step; evaluation; checkpoint save and restore.
//
// Why one graph: the executor plans memory once and replays the same schedule thousands of
// times; nothing is allocated or added to the graph per step (see gw/trainer.h for the
// executors). Resume is exact because everything a step depends on is either saved (weights,
// moments, step) or a pure function of saved values (batches of (seed, step), LR of step),
// and the data file is checked to be the same bytes.
#include <algorithm>
#include <numeric>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "gw/autodiff.h"
#include "gw/checkpointing.h"
#include "gw/cost_model.h"
#include "gw/error.h"
#include "gw/ops.h"
#include "gw/passes.h"
#include "gw/quantized_model.h"
#include "gw/trainer.h"
#include "gw/training_step.h"
#include "model/test_hooks.h"
#include "parallel/gradient_sync.h"

namespace gw {
namespace {

// The metadata value at `key` ("data.bytes" steps into objects); a missing key is one
// gw::IoError naming the key and the file, not a JSON-library message.
const nlohmann::json& meta_at(const Checkpoint& ckpt, const std::string& key) {
  const nlohmann::json* j = &ckpt.meta;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    GW_CHECK_AS(IoError, j->is_object() && j->contains(part), ckpt.label(), ": metadata key '",
                key, "' is missing");
    j = &(*j)[part];
    if (dot == std::string::npos) return *j;
    start = dot + 1;
  }
}

IoError malformed(const Checkpoint& ckpt, const std::string& key, const std::string& want) {
  return IoError(ckpt.label() + ": metadata key '" + key + "' is malformed: expected " + want +
                 ", got " + meta_at(ckpt, key).dump());
}

int64_t meta_int(const Checkpoint& ckpt, const std::string& key) {
  const nlohmann::json& j = meta_at(ckpt, key);
  if (!j.is_number_integer()) throw malformed(ckpt, key, "an integer");
  return j.get<int64_t>();
}

uint64_t meta_u64(const Checkpoint& ckpt, const std::string& key) {
  const nlohmann::json& j = meta_at(ckpt, key);
  if (!j.is_number_unsigned()) throw malformed(ckpt, key, "a non-negative integer");
  return j.get<uint64_t>();
}

std::string meta_string(const Checkpoint& ckpt, const std::string& key) {
  const nlohmann::json& j = meta_at(ckpt, key);
  if (!j.is_string()) throw malformed(ckpt, key, "a string");
  return j.get<std::string>();
}

std::string hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void check_format(const Checkpoint& ckpt) {
  const std::string format = meta_string(ckpt, "format");
  GW_CHECK_AS(IoError, format == "gradwork-trainer", ckpt.label(),
              ": not a trainer checkpoint (metadata key 'format' is '", format,
              "', expected 'gradwork-trainer')");
}

CharTokenizer saved_tokenizer(const Checkpoint& ckpt) {
  try {
    return CharTokenizer::from_json(meta_at(ckpt, "tokenizer"));
  } catch (const IoError& e) {
    const std::string what = e.what();
    if (what.find(ckpt.label()) != std::string::npos) throw;  // meta_at's "missing"
    throw IoError(ckpt.label() + ": metadata key 'tokenizer' is malformed: " + what);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(ckpt.label() + ": metadata key 'tokenizer' is malformed: " + e.what());
  }
}

// The saved config: every field is present, so the preset name is only a label and is
// not re-applied (a run may have started from a preset no longer known). The fields that
// shape the model or the batches must be there: a default in their place would build
// another model, or draw other batches, without a word.
TrainConfig saved_config(const Checkpoint& ckpt) {
  nlohmann::json j = meta_at(ckpt, "config");
  if (!j.is_object()) throw malformed(ckpt, "config", "an object");
  for (const char* key : {"n_layer", "n_head", "n_embd", "mlp_hidden", "block_size", "rope_theta",
                          "norm_eps", "batch_size", "grad_accum", "seed"})
    meta_at(ckpt, std::string("config.") + key);
  std::string preset;
  if (j.contains("preset")) {
    if (!j["preset"].is_string()) throw malformed(ckpt, "config.preset", "a string");
    preset = j["preset"].get<std::string>();
    j.erase("preset");
  }
  try {
    TrainConfig c = TrainConfig::from_json(j);
    c.preset = preset;
    return c;
  } catch (const UsageError& e) {  // "config: lr = inf: must be ..." names the key
    const std::string what = e.what();
    throw IoError(ckpt.label() + ": metadata key 'config' is malformed: " +
                  (what.rfind("config: ", 0) == 0 ? what.substr(8) : what));
  }
}

bool all_finite(const Tensor& t) {
  if (t.dtype() == DType::f32) {
    const float* p = t.data<float>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i)
      if (!std::isfinite(p[i])) return false;
    return true;
  }
  if (t.dtype() == DType::i32) return true;
  for (double v : t.to_doubles())
    if (!std::isfinite(v)) return false;
  return true;
}

// The times of several profiled runs, merged by op and sorted slowest first.
std::vector<OpProfileEntry> merged(const std::vector<std::vector<OpProfileEntry>>& runs) {
  std::map<std::string, OpProfileEntry> by_op;
  for (const auto& run : runs)
    for (const OpProfileEntry& e : run) {
      OpProfileEntry& m = by_op[e.op];
      m.op = e.op;
      m.calls += e.calls;
      m.seconds += e.seconds;
      m.flops += e.flops;
    }
  std::vector<OpProfileEntry> out;
  for (auto& [op, e] : by_op) out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const OpProfileEntry& a, const OpProfileEntry& b) { return a.seconds > b.seconds; });
  return out;
}

// A scalar f32 feed on `device`.
Tensor scalar_feed(double v, Device device) {
  return Tensor::from_vector<float>({}, {static_cast<float>(v)}).to(device);
}

// cpu, cuda[:N], or auto: the first GPU when one is visible, else the CPU.
Device resolve_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  const Device device = Device::parse(name);
  if (device.is_cuda() && !cuda_available())
    throw DeviceError("--device " + name + ": no CUDA device found" +
                      (cuda_compiled() ? std::string(" (no GPU visible, or no driver)")
                                       : std::string(" (this build has no CUDA backend)")));
  check_device_available(device);
  return device;
}

// FLOPs of one run of an executor: the model's (forward, backward, optimizer), and the
// activation checkpointing's recomputation apart. An unfinished lab 07 (its FLOP rules are
// stubs in a student build) leaves them at 0: the trainer then reports no FLOP rates.
struct StepFlops {
  double model = 0, recompute = 0;
};
StepFlops count_flops(const Executor& exec) {
  try {
    const CostReport report = count_costs(exec.schedule());
    const double recompute = report.phase(Phase::recompute).flops;
    return {report.total().flops - recompute, recompute};
  } catch (const NotImplemented&) {
    return {};
  }
}

}  // namespace

ModelShape model_shape(const TrainConfig& c, int64_t vocab_size) {
  ModelShape m;
  m.n_layer = c.n_layer;
  m.n_head = c.n_head;
  m.n_embd = c.n_embd;
  m.mlp_hidden = c.mlp_width();
  m.vocab_size = vocab_size;
  m.block_size = c.block_size;
  m.rope_theta = c.rope_theta;
  m.norm_eps = c.norm_eps;
  return m;
}

Trainer::Trainer(const TrainConfig& config, TextDataset data, Communicator* comm)
    : config_(config), data_(std::move(data)) {
  config_.validate();
  if (comm != nullptr && comm->size() > 1) {
    comm_ = comm;
    rank_ = comm->rank();
    world_ = comm->size();
  }
  const int64_t b = config_.batch_size, s = config_.block_size;
  const int64_t need = s + 1;
  GW_CHECK_AS(UsageError, static_cast<int64_t>(data_.train.size()) >= need &&
                              static_cast<int64_t>(data_.val.size()) >= need,
              "block_size ", s, " is longer than the data: ", data_.source, " has ",
              data_.train.size(), " train and ", data_.val.size(),
              " val tokens, and each split needs at least block_size + 1 = ", need,
              " (use a smaller --block-size or more text)");
  const Device device = resolve_device(config_.device);

  GW_CHECK_AS(UsageError, world_ == 1 || device.is_cpu(), "data parallel training (",
              world_, " ranks) runs on the CPU here; use --device cpu");
  graph_ = std::make_unique<Graph>(device);
  model_ = make_transformer(*graph_, model_shape(config_, data_.tokenizer.vocab_size()),
                            config_.seed, config_.init_std);
  model_.use_flash = config_.attention == "flash";
  // 16-bit runs keep three q, k, v projections: lab 06's 16-bit copies are per weight, and a
  // joined [W_q | W_k | W_v] would be rounded anew every step instead.
  model_.fused_flash = model_.fused_flash && config_.precision == "fp32";
  x_ = graph_->input("x", {b, s}, DType::i32);
  y_ = graph_->input("y", {b, s}, DType::i32);
  Transformer model = model_;  // with --qat, its matmul weights are fake-quantized
  if (!config_.qat.empty())
    qat_ = std::make_unique<FakeQuantizedWeights>(
        fake_quantize_weights(model, weight_scheme_from_name(config_.qat)));
  ForwardPass forward = model.forward(x_, y_);
  std::vector<Node*> weights;
  for (const ModelParameter& p : model_.params) weights.push_back(p.node);
  ForwardPass differentiated = forward;  // fp16: its loss is the scaled one
  if (config_.precision != "fp32") {
    // Lab 06: the products run in 16 bits, the model computes with 16-bit copies of the f32
    // weights (model_.params stay the masters the optimizer updates), and gradients() then
    // differentiates the copies.
    const DType low = config_.precision == "bf16" ? DType::bf16 : DType::f16;
    forward.loss = autocast({forward.loss}, low).outputs[0];
    low_weights_ = keep_low_precision_copies({forward.loss}, weights, low);
    for (size_t k = 0; k < model.params.size(); ++k)
      model.params[k].node = low_weights_.trainable[k];
    std::vector<Node*> refresh;
    for (const WeightCopy& c : low_weights_.copies) refresh.push_back(c.refresh);
    refresh_exec_ = std::make_unique<Executor>(*graph_, refresh);
    differentiated.loss = forward.loss;
    if (config_.precision == "fp16") {  // f16 gradients underflow unless the loss is scaled
      scaler_ = std::make_unique<DynamicLossScaler>();
      loss_scale_ = graph_->input("loss_scale", {});
      inv_scale_ = graph_->input("inverse_loss_scale", {});
      differentiated.loss = mul(forward.loss, loss_scale_);
    }
  }
  loss_ = forward.loss;
  // With --checkpoint-activations the backward pass recomputes each block from its input.
  const std::vector<Node*> grads =
      model_gradients(model, differentiated, config_.checkpoint_activations);
  // The optimizer steps the f32 masters on f32 gradients: 16-bit ones are widened, and
  // unscaled in fp16 (a gradient that overflowed stays inf, and the step is skipped).
  auto for_optimizer = [&](Node* g) {
    if (g->dtype != DType::f32) g = cast(g, DType::f32);
    return inv_scale_ != nullptr ? mul(g, inv_scale_) : g;
  };

  AdamWOptions o;
  o.beta1 = config_.beta1, o.beta2 = config_.beta2, o.eps = config_.adam_eps;
  o.weight_decay = config_.weight_decay, o.grad_clip = config_.grad_clip;
  o.decay_norms_embeddings = config_.decay_norms_embeddings;
  o.norm_fed = true;  // train_step runs the norm first and feeds it to the update run
  // The executor's outputs list the gradients last layer first, so that its schedule runs
  // the backward pass block by block and frees each block's activations after its gradients
  // (gw/training_step.h). grad_slot_[k]: where weight k's gradient is among the outputs.
  std::vector<Node*> outs = {loss_}, stepped(weights.size());  // stepped: ḡ for the optimizer
  grad_slot_.assign(weights.size(), 0);
  if (config_.grad_accum == 1) {
    // The gradients stay in the grad executor's arena and are fed to the norm and update
    // executors as Inputs: no copy.
    for (size_t k = 0; k < weights.size(); ++k) {
      grad_inputs_.push_back(graph_->input(weights[k]->name + ".grad", weights[k]->shape,
                                           grads[k]->dtype));
      stepped[k] = for_optimizer(grad_inputs_[k]);
    }
  } else {
    // Accumulators are non-trainable Parameters: the micro executor computes acc + g, the
    // host copies it back into acc, and the update executor steps on acc / k.
    for (size_t k = 0; k < weights.size(); ++k) {
      accumulators_.push_back(graph_->parameter(weights[k]->name + ".grad_acc",
                                                Tensor::zeros(weights[k]->shape), false));
      stepped[k] = mul(for_optimizer(accumulators_[k]),
                       1.0 / static_cast<double>(config_.grad_accum));
    }
  }
  for (size_t k = weights.size(); k-- > 0;) {
    grad_slot_[k] = outs.size();
    outs.push_back(config_.grad_accum == 1
                       ? grads[k]
                       : add(accumulators_[k], grads[k]->dtype == DType::f32
                                                   ? grads[k]
                                                   : cast(grads[k], DType::f32)));
  }
  (config_.grad_accum == 1 ? grad_exec_ : micro_exec_) = std::make_unique<Executor>(*graph_, outs);
  opt_ = build_adamw(model_.params, stepped, o);
  norm_exec_ = std::make_unique<Executor>(*graph_, std::vector<Node*>{opt_.grad_norm});
  update_exec_ = std::make_unique<Executor>(*graph_, opt_.updates);
  const StepFlops grad_flops = count_flops(grad_exec_ ? *grad_exec_ : *micro_exec_);
  const double runs = grad_exec_ ? 1.0 : static_cast<double>(config_.grad_accum);
  const double tokens = static_cast<double>(tokens_per_step() / world_);  // this rank's tokens
  flops_per_token_ = (grad_flops.model * runs + count_flops(*norm_exec_).model +
                      count_flops(*update_exec_).model) /
                     tokens;
  recompute_flops_per_token_ = grad_flops.recompute * runs / tokens;
  eval_exec_ = std::make_unique<Executor>(*graph_, std::vector<Node*>{loss_});

  schedule_.lr = config_.lr;
  schedule_.min_lr = config_.min_lr;
  schedule_.warmup_iters = config_.warmup_iters;
  schedule_.decay_iters = config_.lr_decay_iters > 0 ? config_.lr_decay_iters : config_.max_iters;
  // Rank k takes rows [k·b, (k + 1)·b) of every global batch, for training and evaluation.
  train_sampler_ = std::make_unique<BatchSampler>(data_.train, Split::train, s, b, config_.seed);
  train_sampler_->set_first_row(rank_ * b);
  eval_train_ = train_sampler_->eval_batches(config_.eval_iters);
  BatchSampler val_sampler(data_.val, Split::val, s, b, config_.seed);
  val_sampler.set_first_row(rank_ * b);
  eval_val_ = val_sampler.eval_batches(config_.eval_iters);
  if (world_ > 1) {
    std::vector<int64_t> bytes;
    for (const ModelParameter& p : model_.params)
      bytes.push_back(numel(p.node->shape) * static_cast<int64_t>(dtype_size(p.node->dtype)));
    buckets_ = make_buckets(bytes, static_cast<int64_t>(config_.bucket_mb * 1024 * 1024));
  }
  if (!config_.trace.empty()) timeline_ = std::make_unique<Timeline>();
  if (world_ > 1 && config_.overlap && grad_exec_) {
    sync_ = std::make_unique<GradientSync>(*comm_, buckets_, grads, config_.ring_allreduce,
                                           timeline_.get());
    grad_exec_->set_observer(sync_.get());
  } else if (timeline_ && grad_exec_) {
    tracer_ = std::make_unique<ComputeTracer>(*timeline_);
    grad_exec_->set_observer(tracer_.get());
  }
}

Trainer::~Trainer() {
  if (grad_exec_) grad_exec_->set_observer(nullptr);
}

std::pair<double, double> Trainer::write_trace(const std::string& path) const {
  GW_CHECK_AS(UsageError, timeline_ != nullptr, "write_trace: the run has no --trace");
  timeline_->write(path, rank_);
  return {timeline_->comm_seconds(), timeline_->overlapped_comm_seconds()};
}

int64_t Trainer::tokens_per_step() const {
  return world_ * config_.batch_size * config_.block_size * config_.grad_accum;
}

void Trainer::average_over_ranks(const Feeds& grads, double* loss) {
  if (world_ == 1) return;
  if (!sync_) {  // with overlap, GradientSync has averaged them during backward
    std::vector<Tensor> g;  // ḡ of every parameter, in model_.params order
    for (size_t k = 0; k < model_.params.size(); ++k)
      g.push_back(grad_exec_ ? grads.at(grad_inputs_[k]) : accumulators_[k]->value);
    all_reduce_buckets(*comm_, g, buckets_, /*average=*/true, config_.ring_allreduce);
  }
  comm_->all_reduce(loss, 1, DType::f64, /*average=*/true);
}

StepStats Trainer::train_step() {
  std::vector<Batch> micro;
  for (int64_t k = 0; k < config_.grad_accum; ++k)
    micro.push_back(train_sampler_->get(static_cast<uint64_t>(step_), static_cast<uint64_t>(k)));
  return train_step(micro);
}

StepStats Trainer::train_step(const std::vector<Batch>& micro) {
  GW_CHECK_AS(UsageError, static_cast<int64_t>(micro.size()) == config_.grad_accum,
              "train_step: ", micro.size(), " micro-batches given, grad_accum is ",
              config_.grad_accum);
  StepStats st;
  st.lr = schedule_.at(step_);
  if (timeline_) timeline_->recording = step_ >= 1 && step_ <= 3;  // steps 2–4: warm
  Feeds grads = gradients_of(micro, &st.loss);
  average_over_ranks(grads, &st.loss);
  if (test_hooks::nan_at(step_ + 1)) {  // as an overflow would: NaN loss, NaN gradient
    st.loss = std::numeric_limits<double>::quiet_NaN();
    Tensor g = grad_exec_ ? grads.at(grad_inputs_[0]) : accumulators_[0]->value;
    g.fill(std::numeric_limits<double>::quiet_NaN());
  }
  if (scaler_) {
    st.loss_scale = scaler_->scale();
    grads[inv_scale_] = scalar_feed(1.0 / st.loss_scale, graph_->device());
  }
  const Tensor norm = norm_exec_->run(grads)[0];  // valid until the norm's next run
  st.grad_norm = norm.item();
  st.skipped = !std::isfinite(st.loss) || !std::isfinite(st.grad_norm);
  if (scaler_) {
    scaler_->update(!st.skipped);  // backs off and skips, or counts a clean step
    st.overflow = st.skipped && std::isfinite(st.loss);
  }
  if (!st.skipped) {
    grads[opt_.hyper] = hyper_feed();
    grads[opt_.norm_input] = norm;
    update_exec_->run(grads);
    refresh_weight_copies();
  }
  for (Node* acc : accumulators_) acc->value.fill(0.0);
  st.step = ++step_;
  return st;
}

Feeds Trainer::gradients_of(const std::vector<Batch>& micro, double* loss) {
  Feeds grads;
  if (grad_exec_) {
    if (sync_ && !last_grads_.empty()) sync_->arm(last_grads_);
    const std::vector<Tensor> out = grad_exec_->run(batch_feeds(micro[0]));
    *loss = out[0].item();
    std::vector<Tensor> g(grad_inputs_.size());  // in parameter order
    for (size_t k = 0; k < grad_inputs_.size(); ++k) g[k] = out[grad_slot_[k]];
    for (size_t k = 0; k < grad_inputs_.size(); ++k) grads[grad_inputs_[k]] = g[k];
    if (sync_) {
      sync_->finish(g);  // every bucket averaged over the ranks
      last_grads_ = g;   // the arena does not move: the next run writes here again
    }
    return grads;
  }
  double total = 0;
  for (const Batch& mb : micro) {
    const std::vector<Tensor> out = micro_exec_->run(batch_feeds(mb));
    total += out[0].item();
    for (size_t k = 0; k < accumulators_.size(); ++k)
      accumulators_[k]->value.copy_from(out[grad_slot_[k]]);
  }
  *loss = total / static_cast<double>(micro.size());
  return grads;  // the update reads the accumulators, which are Parameters
}

std::string Trainer::profile_step() {
  GW_CHECK_AS(UsageError, grad_exec_ != nullptr, "profile: needs grad_accum = 1");
  const Batch b = train_sampler_->get(static_cast<uint64_t>(step_), 0);
  std::vector<std::vector<OpProfileEntry>> runs;
  runs.push_back(profile_ops(*grad_exec_, batch_feeds(b)));
  double loss = 0;
  Feeds grads = gradients_of({b}, &loss);  // profile_ops keeps no results: run it for real
  if (scaler_) grads[inv_scale_] = scalar_feed(1.0 / scaler_->scale(), graph_->device());
  runs.push_back(profile_ops(*norm_exec_, grads));
  grads[opt_.hyper] = hyper_feed();
  grads[opt_.norm_input] = norm_exec_->run(grads)[0];
  runs.push_back(profile_ops(*update_exec_, grads));
  if (refresh_exec_) runs.push_back(profile_ops(*refresh_exec_, {}));  // the 16-bit copies
  refresh_weight_copies();
  std::string out = "training step (forward + backward + AdamW), " +
                    std::to_string(tokens_per_step()) + " tokens:\n";
  out += op_profile_table(merged(runs));
  ++step_;
  out += "eval forward:\n";
  out += op_profile_table(profile_ops(*eval_exec_, batch_feeds(b)));
  return out;
}

double Trainer::eval_split(const std::vector<Batch>& batches) {
  double total = 0;
  for (const Batch& b : batches) total += eval_exec_->run(batch_feeds(b))[0].item();
  return total / static_cast<double>(batches.size());
}

Feeds Trainer::batch_feeds(const Batch& b) const {
  Feeds feeds = qat_ ? qat_->feeds() : Feeds{};
  feeds[x_] = b.x.to(graph_->device());
  feeds[y_] = b.y.to(graph_->device());
  if (scaler_) feeds[loss_scale_] = scalar_feed(scaler_->scale(), graph_->device());
  return feeds;
}

void Trainer::refresh_weight_copies() {
  if (!refresh_exec_) return;
  const std::vector<Tensor> fresh = refresh_exec_->run({});
  for (size_t k = 0; k < fresh.size(); ++k) low_weights_.copies[k].copy->value.copy_from(fresh[k]);
}

Tensor Trainer::hyper_feed() const {
  return adamw_hyper(schedule_.at(step_), step_ + 1, config_.beta1, config_.beta2)
      .to(graph_->device());
}

EvalStats Trainer::evaluate() {
  EvalStats e;
  e.step = step_;
  e.train_loss = eval_split(eval_train_);
  e.val_loss = eval_split(eval_val_);
  if (world_ > 1) {  // each rank evaluated its rows: the mean over ranks is the global mean
    double both[2] = {e.train_loss, e.val_loss};
    comm_->all_reduce(both, 2, DType::f64, /*average=*/true);
    e.train_loss = both[0];
    e.val_loss = both[1];
  }
  if (e.val_loss < best_val_loss) best_val_loss = e.val_loss;
  return e;
}

Checkpoint Trainer::checkpoint() const {
  Checkpoint c;
  c.meta["format"] = "gradwork-trainer";
  c.meta["config"] = config_.to_json();
  c.meta["tokenizer"] = data_.tokenizer.to_json();
  c.meta["step"] = step_;
  c.meta["best_val_loss"] = std::isfinite(best_val_loss) ? nlohmann::json(best_val_loss)
                                                          : nlohmann::json(nullptr);
  // Batches are pure functions of (seed, split, step, micro): the data position is the step.
  c.meta["data_position"] = {{"seed", config_.seed}, {"next_step", step_}, {"source", data_.source}};
  // Which bytes those batches came from: a resume checks them (hex: exact in any reader).
  c.meta["data"] = {{"path", data_.source}, {"bytes", data_.bytes}, {"fnv1a64", hex64(data_.hash)}};
  if (scaler_)
    c.meta["loss_scaler"] = {{"scale", scaler_->scale()},
                             {"clean_steps", scaler_->clean_steps()},
                             {"skipped_steps", scaler_->skipped_steps()}};
  // The f32 weights (with --precision bf16/fp16, the masters: the copies are round(master)).
  for (size_t k = 0; k < model_.params.size(); ++k) {
    const Node* p = model_.params[k].node;
    c.tensors.emplace_back(p->name, p->value);
    c.tensors.emplace_back(p->name + ".adam_m", opt_.m[k]->value);
    c.tensors.emplace_back(p->name + ".adam_v", opt_.v[k]->value);
  }
  return c;
}

void Trainer::save(const std::string& path) const {
  Checkpoint c = checkpoint();
  for (auto& [name, t] : c.tensors) {
    t = t.to(Device::cpu());  // once: write_checkpoint then finds them on the host
    GW_CHECK_AS(NonFiniteError, all_finite(t), "checkpoint not written at step ", step_, ": '",
                name, "' holds NaN or infinite values; ", path, " keeps the previous checkpoint");
  }
  write_checkpoint(path, c);
}

void Trainer::restore(const Checkpoint& ckpt) {
  check_format(ckpt);
  const TrainConfig saved = saved_config(ckpt);
  auto same = [&](const char* what, int64_t theirs, int64_t ours) {
    GW_CHECK_AS(UsageError, theirs == ours, ckpt.label(), " does not match this run: ", what,
                " is ", theirs, " in the checkpoint but ", ours, " here");
  };
  same("n_layer", saved.n_layer, config_.n_layer);
  same("n_head", saved.n_head, config_.n_head);
  same("n_embd", saved.n_embd, config_.n_embd);
  same("mlp_hidden", saved.mlp_width(), config_.mlp_width());
  same("block_size", saved.block_size, config_.block_size);
  // The same file as when the checkpoint was written? (A --data naming another file is a
  // deliberate change of text; the tokenizer check below still applies to it.)
  if (ckpt.meta.contains("data") && meta_string(ckpt, "data.path") == data_.source) {
    const uint64_t bytes = meta_u64(ckpt, "data.bytes");
    const std::string hash = meta_string(ckpt, "data.fnv1a64");
    GW_CHECK_AS(IoError, bytes == data_.bytes && hash == hex64(data_.hash), "data: ",
                data_.source, " changed since ", ckpt.label(), " was written (",
                bytes == data_.bytes ? "same size, other content"
                                     : std::to_string(bytes) + " bytes then, " +
                                           std::to_string(data_.bytes) + " now",
                "); resuming needs the same text: restore the file, or give --data another "
                "file to continue on other text");
  }
  const CharTokenizer tok = saved_tokenizer(ckpt);
  GW_CHECK_AS(UsageError, tok.code_points() == data_.tokenizer.code_points(), ckpt.label(),
              " does not match this run: its tokenizer (", tok.vocab_size(),
              " symbols) differs from the one of ", data_.source, " (",
              data_.tokenizer.vocab_size(), " symbols); train on the same data");
  auto load = [&](Node* node, const std::string& name) {
    const Tensor& t = ckpt.tensor(name);
    GW_CHECK_AS(UsageError, t.shape() == node->shape && t.dtype() == node->dtype, ckpt.label(),
                " does not match this run: tensor '", name, "' is ", t.str(), ", expected ",
                node->str());
    node->value.copy_from(t);
  };
  for (size_t k = 0; k < model_.params.size(); ++k) {
    Node* p = model_.params[k].node;
    load(p, p->name);
    load(opt_.m[k], p->name + ".adam_m");
    load(opt_.v[k], p->name + ".adam_v");
  }
  refresh_weight_copies();
  if (scaler_ && ckpt.meta.contains("loss_scaler")) {
    const nlohmann::json& j = meta_at(ckpt, "loss_scaler.scale");
    if (!j.is_number()) throw malformed(ckpt, "loss_scaler.scale", "a number");
    try {
      scaler_->restore(j.get<double>(), meta_int(ckpt, "loss_scaler.clean_steps"),
                       meta_int(ckpt, "loss_scaler.skipped_steps"));
    } catch (const UsageError& e) {
      throw IoError(ckpt.label() + ": metadata key 'loss_scaler' is malformed: " + e.what());
    }
  }
  step_ = meta_int(ckpt, "step");
  GW_CHECK_AS(IoError, step_ >= 0, ckpt.label(), ": metadata key 'step' is malformed: ", step_,
              " is negative");
  const nlohmann::json& best = meta_at(ckpt, "best_val_loss");
  if (!best.is_number() && !best.is_null()) throw malformed(ckpt, "best_val_loss", "a number or null");
  best_val_loss = best.is_number() ? best.get<double>() : std::numeric_limits<double>::infinity();
}

TrainConfig checkpoint_config(const Checkpoint& ckpt) { return saved_config(ckpt); }

Transformer load_model(Graph& graph, const Checkpoint& ckpt, CharTokenizer* tokenizer) {
  if (is_quantized_checkpoint(ckpt)) {  // gw-quantize's output: the model runs on its codes
    if (tokenizer) *tokenizer = saved_tokenizer(ckpt);
    return load_quantized_model(graph, ckpt);
  }
  check_format(ckpt);
  const TrainConfig c = saved_config(ckpt);
  const CharTokenizer tok = saved_tokenizer(ckpt);
  Transformer m = make_transformer(graph, model_shape(c, tok.vocab_size()), c.seed, c.init_std);
  m.use_flash = c.attention == "flash";
  for (const ModelParameter& p : m.params) {
    const Tensor& t = ckpt.tensor(p.node->name);
    GW_CHECK_AS(IoError, t.shape() == p.node->shape && t.dtype() == p.node->dtype, ckpt.label(),
                ": tensor '", p.node->name, "' is ", t.str(), ", expected ", p.node->str());
    p.node->value.copy_from(t);
  }
  if (tokenizer) *tokenizer = tok;
  return m;
}

}  // namespace gw
