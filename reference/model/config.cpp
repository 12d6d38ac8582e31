// config.cpp — TrainConfig: presets, validation, JSON in and out, and the field table that
// the trainer's flags are generated from.
//
// Every field is named once, in visit_fields(); to_json, from_json and config_fields() all
// walk that one list, so a new field cannot be settable in one place and missing in another.
#include <cmath>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "gw/error.h"
#include "gw/train_config.h"

namespace gw {
namespace {

// Calls f(key, member, help) for every field but "preset", in declaration order.
template <typename Config, typename F>
void visit_fields(Config& c, F&& f) {
  f("n_layer", c.n_layer, "decoder blocks N");
  f("n_head", c.n_head, "attention heads n");
  f("n_embd", c.n_embd, "model width h");
  f("mlp_hidden", c.mlp_hidden, "SwiGLU width i (0 = 8h/3 rounded up to a multiple of 32)");
  f("block_size", c.block_size, "context length s");
  f("rope_theta", c.rope_theta, "RoPE base");
  f("norm_eps", c.norm_eps, "RMSNorm epsilon");
  f("init_std", c.init_std, "std of the normal init of matrices and the embedding");
  f("batch_size", c.batch_size, "rows b per micro-batch");
  f("grad_accum", c.grad_accum, "micro-batches accumulated per optimizer step");
  f("checkpoint_activations", c.checkpoint_activations,
    "keep only block inputs for the backward pass and recompute the blocks there (less "
    "memory, about one more forward pass)");
  f("lr", c.lr, "peak learning rate");
  f("min_lr", c.min_lr, "final learning rate of the cosine decay");
  f("warmup_iters", c.warmup_iters, "linear warmup steps");
  f("lr_decay_iters", c.lr_decay_iters, "end of the cosine decay (0 = max_iters)");
  f("beta1", c.beta1, "AdamW beta1");
  f("beta2", c.beta2, "AdamW beta2");
  f("adam_eps", c.adam_eps, "AdamW epsilon");
  f("weight_decay", c.weight_decay, "decoupled weight decay (matrices only by default)");
  f("decay_norms_embeddings", c.decay_norms_embeddings,
    "also apply weight decay to RMSNorm weights and the embedding");
  f("grad_clip", c.grad_clip, "clip the global gradient norm to this (0 = off)");
  f("max_iters", c.max_iters, "optimizer steps of the run (the LR schedule's length)");
  f("stop_at", c.stop_at, "stop after this step and checkpoint (0 = run to max_iters)");
  f("eval_interval", c.eval_interval, "evaluate every this many steps");
  f("eval_iters", c.eval_iters, "fixed batches per split at each evaluation");
  f("log_interval", c.log_interval, "print a progress line every this many steps");
  f("checkpoint_interval", c.checkpoint_interval,
    "also checkpoint every this many steps (0 = only at the end)");
  f("seed", c.seed, "seed of the initialization and the batches");
  f("threads", c.threads, "OpenMP and OpenBLAS threads (0 = every core)");
  f("device", c.device, "cpu, cuda, cuda:N, or auto (the GPU when one is visible)");
  f("data", c.data, "training text file (default: the default corpus)");
  f("out_dir", c.out_dir, "folder for checkpoint, metrics, summary and loss plot");
  f("resume", c.resume, "checkpoint to resume from");
  f("plot", c.plot, "write loss.png with gnuplot when it is installed");
  f("save_checkpoint", c.save_checkpoint, "write out_dir/ckpt.bin");
  f("attention", c.attention,
    "flash or naive: the attention op (flash, the default: tiled, no (s, s) scores; naive: "
    "the oracle, the same values)");
  f("precision", c.precision,
    "fp32, bf16 or fp16: matmuls and attention in that precision (f32 accumulation, f32 master "
    "weights; fp16 with dynamic loss scaling)");
  f("qat", c.qat,
    "int8-channel or int4-g32: train with fake-quantized matmul weights, then write "
    "out_dir/quantized.bin (empty = off)");
  f("ranks", c.ranks,
    "data-parallel ranks, each on batch_size rows of a global batch of ranks x batch_size "
    "(under mpirun: the number of processes)");
  f("comm", c.comm, "communicator of the ranks: threads (one process) or mpi (under mpirun)");
  f("bucket_mb", c.bucket_mb, "gradient bucket size in MiB for the all-reduce");
  f("ring_allreduce", c.ring_allreduce,
    "all-reduce gradients with the ring (lab 09); false: the communicator's own");
  f("overlap", c.overlap,
    "all-reduce each gradient bucket during backward, on a communication thread (grad_accum 1)");
  f("trace", c.trace,
    "write the timeline of steps 2-4 to this file as a Chrome trace (compute and comm tracks; "
    "open in Perfetto or chrome://tracing)");
}

// The interval of each number field. The bounds keep every value meaningful and finite in
// float32 (the kernels' type): eps values stay above float32's underflow, step sizes stay
// where AdamW can still be stable. The non-finite guard of the trainer catches the rest.
struct NumberRange {
  double min, max;
  bool min_open, max_open;
};
NumberRange number_range(const std::string& key) {
  if (key == "rope_theta") return {0, 1e12, true, false};
  if (key == "norm_eps" || key == "adam_eps") return {1e-30, 1, false, false};
  if (key == "init_std") return {0, 1, true, false};
  if (key == "lr" || key == "min_lr" || key == "weight_decay") return {0, 10, false, false};
  if (key == "beta1" || key == "beta2") return {0, 1, false, true};
  if (key == "grad_clip") return {0, 1e6, false, false};
  if (key == "bucket_mb") return {0, 1e6, true, false};
  throw Error("config: no range for number field '" + key + "'");  // a new field needs one
}

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string flag_of(const std::string& key) {
  std::string f = "--" + key;
  for (char& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

template <typename T>
constexpr FieldKind kind_of() {
  if constexpr (std::is_same_v<T, bool>) return FieldKind::boolean;
  else if constexpr (std::is_same_v<T, std::string>) return FieldKind::text;
  else if constexpr (std::is_floating_point_v<T>) return FieldKind::number;
  else return FieldKind::integer;
}

const ConfigField& config_field(const std::string& key) {
  for (const ConfigField& f : config_fields())
    if (f.key == key) return f;
  throw Error("config: no field '" + key + "'");
}

// Reads j into `member`, with a message naming the key on a type mismatch or a number out
// of its range.
template <typename T>
void read_value(const nlohmann::json& j, const std::string& key, T& member) {
  const char* want = nullptr;
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) {
    ok = j.is_boolean(), want = "true or false";
  } else if constexpr (std::is_same_v<T, std::string>) {
    ok = j.is_string(), want = "a string";
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = j.is_number(), want = "a number";
    if (ok) {
      const ConfigField& field = config_field(key);
      GW_CHECK_AS(UsageError, field.allows(j.get<double>()), "config: ", key, " = ",
                  number_text(j.get<double>()), ": must be ", field.range_text());
    }
  } else if constexpr (std::is_unsigned_v<T>) {
    ok = j.is_number_unsigned(), want = "a non-negative integer";
  } else {
    ok = j.is_number_integer(), want = "an integer";
  }
  GW_CHECK_AS(UsageError, ok, "config: ", key, " must be ", want, ", got ", j.dump());
  member = j.get<T>();
}

}  // namespace

std::string ConfigField::range_text() const {
  return std::string("a finite number in ") + (min_open ? "(" : "[") + number_text(min) + ", " +
         number_text(max) + (max_open ? ")" : "]");
}

bool ConfigField::allows(double v) const {
  return std::isfinite(v) && (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
}

int64_t TrainConfig::mlp_width() const {
  if (mlp_hidden > 0) return mlp_hidden;
  const int64_t raw = (8 * n_embd + 2) / 3;  // ceil(8h/3)
  return (raw + 31) / 32 * 32;
}

void TrainConfig::validate() const {
  auto positive = [](const char* key, int64_t v) {
    GW_CHECK_AS(UsageError, v > 0, "config: ", key, " must be positive, got ", v);
  };
  auto non_negative = [](const char* key, double v) {
    GW_CHECK_AS(UsageError, v >= 0, "config: ", key, " must be >= 0, got ", v);
  };
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_embd", n_embd);
  positive("block_size", block_size);
  positive("batch_size", batch_size);
  positive("grad_accum", grad_accum);
  positive("max_iters", max_iters);
  positive("eval_interval", eval_interval);
  positive("eval_iters", eval_iters);
  positive("log_interval", log_interval);
  GW_CHECK_AS(UsageError, mlp_hidden >= 0, "config: mlp_hidden must be >= 0, got ", mlp_hidden);
  GW_CHECK_AS(UsageError, n_embd % n_head == 0, "config: n_embd ", n_embd,
              " must be a multiple of n_head ", n_head);
  GW_CHECK_AS(UsageError, (n_embd / n_head) % 2 == 0, "config: head dimension n_embd/n_head = ",
              n_embd / n_head, " must be even (RoPE rotates pairs)");
  non_negative("warmup_iters", static_cast<double>(warmup_iters));
  non_negative("lr_decay_iters", static_cast<double>(lr_decay_iters));
  non_negative("stop_at", static_cast<double>(stop_at));
  non_negative("checkpoint_interval", static_cast<double>(checkpoint_interval));
  non_negative("threads", static_cast<double>(threads));
  visit_fields(*this, [](const char* key, const auto& member, const char*) {
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(member)>>) {
      const ConfigField& field = config_field(key);
      GW_CHECK_AS(UsageError, field.allows(member), "config: ", key, " = ", number_text(member),
                  ": must be ", field.range_text());
    }
  });
  GW_CHECK_AS(UsageError, attention == "naive" || attention == "flash", "--attention ",
              attention, ": must be naive or flash");
  GW_CHECK_AS(UsageError, qat.empty() || qat == "int8-channel" || qat == "int4-g32",
              "--qat ", qat, ": must be int8-channel or int4-g32 (or empty for none)");
  GW_CHECK_AS(UsageError, precision == "fp32" || precision == "bf16" || precision == "fp16",
              "--precision ", precision, ": must be fp32, bf16 or fp16");
  GW_CHECK_AS(UsageError, precision == "fp32" || qat.empty(), "--precision ", precision,
              " and --qat ", qat, " do not combine: quantization-aware training runs in fp32");
  GW_CHECK_AS(UsageError, precision == "fp32" || ranks == 1, "--precision ", precision,
              " and --ranks ", ranks, " do not combine: data-parallel training runs in fp32");
  GW_CHECK_AS(UsageError, device == "cpu" || device == "auto" || device.rfind("cuda", 0) == 0,
              "config: device must be cpu, cuda[:N] or auto, got '", device, "'");
  GW_CHECK_AS(UsageError, !out_dir.empty(), "config: out_dir must not be empty");
  GW_CHECK_AS(UsageError, ranks >= 1 && ranks <= 64, "--ranks ", ranks, ": must be 1 to 64");
  GW_CHECK_AS(UsageError, comm == "threads" || comm == "mpi", "--comm ", comm,
              ": must be threads or mpi");
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j;
  j["preset"] = preset;
  visit_fields(*this, [&](const char* key, const auto& member, const char*) { j[key] = member; });
  return j;
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const TrainConfig& base) {
  GW_CHECK_AS(UsageError, j.is_object(), "config: expected a JSON object, got ", j.dump());
  TrainConfig c = base;
  if (j.contains("preset")) {
    GW_CHECK_AS(UsageError, j["preset"].is_string(), "config: preset must be a string");
    c = preset_config(j["preset"].get<std::string>());
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "preset") continue;
    bool known = false;
    visit_fields(c, [&](const char* key, auto& member, const char*) {
      if (it.key() != key) return;
      known = true;
      read_value(it.value(), it.key(), member);
    });
    GW_CHECK_AS(UsageError, known, "config: unknown key '", it.key(), "' (see gw-train --help)");
  }
  return c;
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) { return from_json(j, TrainConfig()); }

TrainConfig TrainConfig::from_file(const std::string& path, const TrainConfig& base) {
  std::ifstream f(path);
  GW_CHECK_AS(IoError, f.good(), "config: cannot read ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("config: " + path + " is not valid JSON: " + e.what());
  }
  try {
    return from_json(j, base);
  } catch (const UsageError& e) {  // name the file: "config c.json: lr = 1e+308: ..."
    const std::string what = e.what();
    const std::string rest = what.rfind("config: ", 0) == 0 ? what.substr(8) : what;
    throw UsageError("config " + path + ": " + rest);
  }
}

TrainConfig preset_config(const std::string& name) {
  TrainConfig c;  // the defaults are cpu-tiny
  c.preset = name;
  if (name == "cpu-tiny") return c;
  if (name == "gpu-char") {  // nanoGPT config/train_shakespeare_char.py
    c.n_layer = 6, c.n_head = 6, c.n_embd = 384, c.block_size = 256, c.batch_size = 64;
    c.max_iters = 5000, c.lr = 1e-3, c.min_lr = 1e-4, c.warmup_iters = 100;
    c.eval_interval = 250, c.eval_iters = 200, c.beta2 = 0.99, c.threads = 0;
    c.device = "auto";  // the GPU when one is visible
    return c;
  }
  if (name == "gpt2-small") {  // GPT-2 124M shapes; vocabulary from the tokenizer
    c.n_layer = 12, c.n_head = 12, c.n_embd = 768, c.block_size = 1024, c.batch_size = 8;
    c.grad_accum = 1, c.max_iters = 5000, c.lr = 6e-4, c.min_lr = 6e-5, c.warmup_iters = 700;
    c.beta2 = 0.95, c.eval_interval = 500, c.eval_iters = 20, c.threads = 0;
    c.device = "auto";
    return c;
  }
  throw UsageError("unknown preset '" + name + "' (known: cpu-tiny, gpu-char, gpt2-small)");
}

std::vector<std::string> preset_names() { return {"cpu-tiny", "gpu-char", "gpt2-small"}; }

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields = [] {
    std::vector<ConfigField> out;
    TrainConfig c;
    visit_fields(c, [&](const char* key, auto& member, const char* help) {
      using T = std::decay_t<decltype(member)>;
      ConfigField f{key, flag_of(key), kind_of<T>(), help};
      if constexpr (std::is_floating_point_v<T>) {
        const NumberRange r = number_range(key);
        f.min = r.min, f.max = r.max, f.min_open = r.min_open, f.max_open = r.max_open;
      }
      out.push_back(f);
    });
    return out;
  }();
  return fields;
}

nlohmann::json parse_field_value(const ConfigField& field, const std::string& text) {
  auto bad = [&](const char* want) {
    return UsageError(field.flag + ": expected " + want + ", got '" + text + "'");
  };
  switch (field.kind) {
    case FieldKind::text: return text;
    case FieldKind::boolean:
      if (text == "true" || text == "1" || text == "on" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "off" || text == "no") return false;
      throw bad("true or false");
    case FieldKind::integer: {
      size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(text, &used);
      } catch (const std::exception&) {
        throw bad("an integer");
      }
      if (used != text.size()) throw bad("an integer");
      if (field.key == "seed") {
        if (v < 0) throw bad("a non-negative integer");
        return static_cast<uint64_t>(v);
      }
      return static_cast<int64_t>(v);
    }
    case FieldKind::number: {
      const UsageError out_of_range(field.flag + " " + text + ": must be " + field.range_text());
      size_t used = 0;
      double v = 0;
      try {
        v = std::stod(text, &used);
      } catch (const std::out_of_range&) {  // 1e400, 1e-400: beyond a double
        throw out_of_range;
      } catch (const std::exception&) {
        throw bad("a number");
      }
      if (used != text.size()) throw bad("a number");
      if (!field.allows(v)) throw out_of_range;
      return v;
    }
  }
  throw bad("a value");
}

}  // namespace gw
