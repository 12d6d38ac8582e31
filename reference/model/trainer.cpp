// trainer.cpp — gw::Trainer: builds the training-step graph once (forward, gradients(),
// clipping, AdamW) and runs it every step; evaluation; checkpoint save and restore.
//
// Why one graph: the executor plans memory once and replays the same schedule thousands of
// times; nothing is allocated or added to the graph per step (see gw/trainer.h for the
// executors). Resume is exact because everything a step depends on is either saved (weights,
// moments, step) or a pure function of saved values (batches of (seed, step), LR of step).
#include <cmath>

#include "gw/autodiff.h"
#include "gw/error.h"
#include "gw/ops.h"
#include "gw/trainer.h"

namespace gw {
namespace {

// The saved config: every field is present, so the preset name is only a label and is
// not re-applied (a run may have started from a preset no longer known).
TrainConfig saved_config(const Checkpoint& ckpt) {
  try {
    nlohmann::json j = ckpt.meta.at("config");
    const std::string preset = j.value("preset", "");
    j.erase("preset");
    TrainConfig c = TrainConfig::from_json(j);
    c.preset = preset;
    return c;
  } catch (const std::exception& e) {
    throw IoError(std::string("checkpoint: bad config: ") + e.what());
  }
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

double count_flops(const Executor& exec) {
  double total = 0;
  for (const Node* n : exec.schedule())
    if (n->def().flops) total += n->def().flops(*n);
  return total;
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

Trainer::Trainer(const TrainConfig& config, TextDataset data)
    : config_(config), data_(std::move(data)) {
  config_.validate();
  const int64_t b = config_.batch_size, s = config_.block_size;
  const int64_t need = s + 1;
  GW_CHECK_AS(UsageError, static_cast<int64_t>(data_.train.size()) >= need &&
                              static_cast<int64_t>(data_.val.size()) >= need,
              "block_size ", s, " is longer than the data: ", data_.source, " has ",
              data_.train.size(), " train and ", data_.val.size(),
              " val tokens, and each split needs at least block_size + 1 = ", need,
              " (use a smaller --block-size or more text)");
  const Device device = resolve_device(config_.device);

  graph_ = std::make_unique<Graph>(device);
  model_ = make_transformer(*graph_, model_shape(config_, data_.tokenizer.vocab_size()),
                            config_.seed, config_.init_std);
  x_ = graph_->input("x", {b, s}, DType::i32);
  y_ = graph_->input("y", {b, s}, DType::i32);
  loss_ = model_.loss(x_, y_);
  std::vector<Node*> weights;
  for (const ModelParameter& p : model_.params) weights.push_back(p.node);
  const std::vector<Node*> grads = gradients(loss_, weights);

  AdamWOptions o;
  o.beta1 = config_.beta1, o.beta2 = config_.beta2, o.eps = config_.adam_eps;
  o.weight_decay = config_.weight_decay, o.grad_clip = config_.grad_clip;
  o.decay_norms_embeddings = config_.decay_norms_embeddings;
  if (config_.grad_accum == 1) {
    opt_ = build_adamw(model_.params, grads, o);
    std::vector<Node*> outs = {loss_, opt_.grad_norm};
    outs.insert(outs.end(), opt_.updates.begin(), opt_.updates.end());
    step_exec_ = std::make_unique<Executor>(*graph_, outs);
    flops_per_token_ = count_flops(*step_exec_) / static_cast<double>(b * s);
  } else {
    // Accumulators are non-trainable Parameters: the micro executor computes acc + g, the
    // host copies it back into acc, and the update executor steps on acc / k.
    std::vector<Node*> outs = {loss_}, averaged;
    for (size_t k = 0; k < weights.size(); ++k) {
      Node* acc = graph_->parameter(weights[k]->name + ".grad_acc",
                                    Tensor::zeros(weights[k]->shape), false);
      accumulators_.push_back(acc);
      outs.push_back(add(acc, grads[k]));
      averaged.push_back(mul(acc, 1.0 / static_cast<double>(config_.grad_accum)));
    }
    micro_exec_ = std::make_unique<Executor>(*graph_, outs);
    opt_ = build_adamw(model_.params, averaged, o);
    std::vector<Node*> upd = {opt_.grad_norm};
    upd.insert(upd.end(), opt_.updates.begin(), opt_.updates.end());
    update_exec_ = std::make_unique<Executor>(*graph_, upd);
    flops_per_token_ = (count_flops(*micro_exec_) * config_.grad_accum + count_flops(*update_exec_)) /
                       static_cast<double>(tokens_per_step());
  }
  eval_exec_ = std::make_unique<Executor>(*graph_, std::vector<Node*>{loss_});

  schedule_.lr = config_.lr;
  schedule_.min_lr = config_.min_lr;
  schedule_.warmup_iters = config_.warmup_iters;
  schedule_.decay_iters = config_.lr_decay_iters > 0 ? config_.lr_decay_iters : config_.max_iters;
  train_sampler_ = std::make_unique<BatchSampler>(data_.train, Split::train, s, b, config_.seed);
  eval_train_ = train_sampler_->eval_batches(config_.eval_iters);
  eval_val_ = BatchSampler(data_.val, Split::val, s, b, config_.seed).eval_batches(config_.eval_iters);
}

Trainer::~Trainer() = default;

int64_t Trainer::tokens_per_step() const {
  return config_.batch_size * config_.block_size * config_.grad_accum;
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
  if (step_exec_) {
    Feeds feeds = batch_feeds(micro[0]);
    feeds[opt_.hyper] = hyper_feed();
    const std::vector<Tensor> out = step_exec_->run(feeds);
    st.loss = out[0].item();
    st.grad_norm = out[1].item();
  } else {
    double total = 0;
    for (const Batch& mb : micro) {
      const std::vector<Tensor> out = micro_exec_->run(batch_feeds(mb));
      total += out[0].item();
      for (size_t k = 0; k < accumulators_.size(); ++k)
        accumulators_[k]->value.copy_from(out[k + 1]);
    }
    st.loss = total / static_cast<double>(micro.size());
    st.grad_norm = update_exec_->run({{opt_.hyper, hyper_feed()}})[0].item();
    for (Node* acc : accumulators_) acc->value.fill(0.0);
  }
  st.step = ++step_;
  return st;
}

std::string Trainer::profile_step() {
  GW_CHECK_AS(UsageError, step_exec_ != nullptr, "profile: needs grad_accum = 1");
  const Batch b = train_sampler_->get(static_cast<uint64_t>(step_), 0);
  Feeds feeds = batch_feeds(b);
  feeds[opt_.hyper] = hyper_feed();
  std::string out = "training step (forward + backward + AdamW), " +
                    std::to_string(tokens_per_step()) + " tokens:\n";
  out += op_profile_table(profile_ops(*step_exec_, feeds));
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
  return {{x_, b.x.to(graph_->device())}, {y_, b.y.to(graph_->device())}};
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
  for (size_t k = 0; k < model_.params.size(); ++k) {
    const Node* p = model_.params[k].node;
    c.tensors.emplace_back(p->name, p->value);
    c.tensors.emplace_back(p->name + ".adam_m", opt_.m[k]->value);
    c.tensors.emplace_back(p->name + ".adam_v", opt_.v[k]->value);
  }
  return c;
}

void Trainer::save(const std::string& path) const { write_checkpoint(path, checkpoint()); }

void Trainer::restore(const Checkpoint& ckpt) {
  GW_CHECK_AS(IoError, ckpt.meta.value("format", "") == "gradwork-trainer",
              "checkpoint: not a trainer checkpoint (format '", ckpt.meta.value("format", ""), "')");
  const TrainConfig saved = saved_config(ckpt);
  auto same = [&](const char* what, int64_t theirs, int64_t ours) {
    GW_CHECK_AS(UsageError, theirs == ours, "checkpoint does not match this run: ", what, " is ",
                theirs, " in the checkpoint but ", ours, " here");
  };
  same("n_layer", saved.n_layer, config_.n_layer);
  same("n_head", saved.n_head, config_.n_head);
  same("n_embd", saved.n_embd, config_.n_embd);
  same("mlp_hidden", saved.mlp_width(), config_.mlp_width());
  same("block_size", saved.block_size, config_.block_size);
  const CharTokenizer tok = CharTokenizer::from_json(ckpt.meta.at("tokenizer"));
  GW_CHECK_AS(UsageError, tok.code_points() == data_.tokenizer.code_points(),
              "checkpoint does not match this run: its tokenizer (", tok.vocab_size(),
              " symbols) differs from the one of ", data_.source, " (",
              data_.tokenizer.vocab_size(), " symbols); train on the same data");
  auto load = [&](Node* node, const std::string& name) {
    const Tensor& t = ckpt.tensor(name);
    GW_CHECK_AS(UsageError, t.shape() == node->shape && t.dtype() == node->dtype,
                "checkpoint does not match this run: tensor '", name, "' is ", t.str(),
                ", expected ", node->str());
    node->value.copy_from(t);
  };
  for (size_t k = 0; k < model_.params.size(); ++k) {
    Node* p = model_.params[k].node;
    load(p, p->name);
    load(opt_.m[k], p->name + ".adam_m");
    load(opt_.v[k], p->name + ".adam_v");
  }
  step_ = ckpt.meta.at("step").get<int64_t>();
  const auto& best = ckpt.meta.at("best_val_loss");
  best_val_loss = best.is_number() ? best.get<double>() : std::numeric_limits<double>::infinity();
}

TrainConfig checkpoint_config(const Checkpoint& ckpt) { return saved_config(ckpt); }

Transformer load_model(Graph& graph, const Checkpoint& ckpt, CharTokenizer* tokenizer) {
  GW_CHECK_AS(IoError, ckpt.meta.value("format", "") == "gradwork-trainer",
              "checkpoint: not a trainer checkpoint");
  const TrainConfig c = saved_config(ckpt);
  const CharTokenizer tok = CharTokenizer::from_json(ckpt.meta.at("tokenizer"));
  Transformer m = make_transformer(graph, model_shape(c, tok.vocab_size()), c.seed, c.init_std);
  for (const ModelParameter& p : m.params) {
    const Tensor& t = ckpt.tensor(p.node->name);
    GW_CHECK_AS(IoError, t.shape() == p.node->shape, "checkpoint: tensor '", p.node->name,
                "' is ", t.str(), ", expected ", p.node->str());
    p.node->value.copy_from(t);
  }
  if (tokenizer) *tokenizer = tok;
  return m;
}

}  // namespace gw
