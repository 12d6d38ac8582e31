// ddp.cpp — bench_ddp: data-parallel training throughput (lab 09). cpu-tiny's training step
// on n thread ranks with one compute thread each, every rank on its own batch of b rows
// (cpu-tiny's b = 12),
// against one rank with one thread, in tokens/s, in the same process. Ideal scaling is n×;
// the goal for 2 ranks is ≥ 1.8× on a machine with 2 free cores. Ranks are threads of this
// process (the threads backend); the gradients are all-reduced with lab 09's ring, bucket by
// bucket, with the overlap off (dp_2_ranks) and on (dp_2_ranks_overlap): on a machine with
// one core per rank, the communication thread has no core of its own. The last two runs put
// the ranks on a simulated slow link (the threads backend's α–β model), where the overlap
// hides the all-reduce of the early buckets under backward. Repetitions interleave
// (--benchmark_repetitions=N), so a burst of load hits every variant alike.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_report.h"
#include "gw/data.h"
#include "gw/rng.h"
#include "gw/thread_group.h"
#include "gw/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

gw::TextDataset synthetic_text() {
  std::string text;
  for (uint64_t i = 0; i < 200000; ++i)
    text.push_back(static_cast<char>(' ' + gw::uniform_int(7, 0, i, 65)));
  return gw::TextDataset::from_text(text, "65-symbol synthetic text");
}

// Steps per timed round: the benchmark's iterations are rounds, so that every rank takes the
// same number of steps (they all-reduce together).
constexpr int kStepsPerRound = 10;

// A slow link (as between machines): 2 ms per message and 1 GB/s, with 0.5 MiB buckets.
const gw::LinkModel kSlowLink{0.002, 1e9};

void BM_ddp(benchmark::State& state, int ranks, bool overlap, bool slow) {
  gw::TrainConfig c = gw::preset_config("cpu-tiny");
  c.eval_iters = 1;
  c.ranks = ranks;
  c.overlap = overlap;
  if (slow) c.bucket_mb = 0.5;
  const gw::TextDataset data = synthetic_text();
  const int64_t rounds = 4;
  double seconds = 0;
  int64_t tokens = 0;
  for (auto _ : state) {
    gw::ThreadGroup group(ranks, slow ? kSlowLink : gw::LinkModel{});
    std::vector<double> elapsed(static_cast<size_t>(ranks), 0.0);
    group.run([&](gw::Communicator& comm) {
      gw::set_thread_count(1);  // one compute thread per rank
      gw::Trainer t(c, data, ranks > 1 ? &comm : nullptr);
      t.train_step();  // warm-up: arenas, and the overlap's first (armed) step
      t.train_step();
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < rounds * kStepsPerRound; ++i) t.train_step();
      elapsed[static_cast<size_t>(comm.rank())] =
          std::chrono::duration<double>(Clock::now() - t0).count();
      if (comm.rank() == 0) tokens += t.tokens_per_step() * rounds * kStepsPerRound;
    });
    double slowest = 0;
    for (double e : elapsed) slowest = std::max(slowest, e);
    seconds += slowest;
    state.SetIterationTime(slowest);
  }
  state.counters["tokens/s"] = static_cast<double>(tokens) / seconds;
  state.counters["ms/step"] = 1e3 * seconds / static_cast<double>(state.iterations() * rounds *
                                                                   kStepsPerRound);
  state.SetLabel(std::to_string(ranks) + " rank(s) x 1 thread, b " + std::to_string(c.batch_size) + " each");
}

}  // namespace

int main(int argc, char** argv) {
  const struct {
    const char* name;
    int ranks;
    bool overlap, slow;
  } runs[] = {{"dp_1_rank", 1, false, false},
              {"dp_2_ranks", 2, false, false},
              {"dp_2_ranks_overlap", 2, true, false},
              {"dp_2_ranks_slow_link", 2, false, true},
              {"dp_2_ranks_slow_link_overlap", 2, true, true}};
  for (const auto& r : runs)
    benchmark::RegisterBenchmark(r.name, BM_ddp, r.ranks, r.overlap, r.slow)
        ->UseManualTime()
        ->Iterations(3)
        ->Unit(benchmark::kSecond);
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("tokens/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  const double one = reporter.median("dp_1_rank");
  const double two = reporter.median("dp_2_ranks");
  const double two_overlap = reporter.median("dp_2_ranks_overlap");
  std::printf("\nsummary (same process):\n");
  if (one > 0 && two > 0)
    std::printf("  2 ranks x 1 thread: %.0f tokens/s against 1 rank x 1 thread: %.0f tokens/s, "
                "%.2fx (goal >= 1.8x)\n", two, one, two / one);
  if (one > 0 && two_overlap > 0)
    std::printf("  the same with the overlap thread: %.0f tokens/s, %.2fx\n", two_overlap,
                two_overlap / one);
  const double slow = reporter.median("dp_2_ranks_slow_link", "ms/step");
  const double slow_overlap = reporter.median("dp_2_ranks_slow_link_overlap", "ms/step");
  if (slow > 0 && slow_overlap > 0)
    std::printf("  2 ranks on a slow link (2 ms per message, 1 GB/s, 0.5 MiB buckets): %.1f ms "
                "per step without the overlap, %.1f ms with it (%.2fx)\n", slow, slow_overlap,
                slow / slow_overlap);
  return 0;
}
