// thread_group.h — ranks as threads of one process: the communicator that tests, the grader
// and lab 09 use to run data parallelism without MPI or GPUs.
//
// A ThreadGroup of n ranks hands out n Communicators (gw/communicator.h) that pass bytes
// through in-memory mailboxes, one per directed link (from → to). It counts the bytes sent on
// every link, so a test can check that a ring all-reduce sends 2(n − 1)/n of the data per
// rank, and it can model slow links with the α–β model: sending b bytes takes α + b/β.
//
// Sends are buffered (send returns at once; the bytes wait in the link's mailbox), so a
// rank may send to its neighbour before receiving from the other one without deadlock. A
// recv never hangs: it fails with gw::Error when the sizes of the matching send differ, when
// the peer's function returned without sending, when another rank threw, or after a timeout.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "gw/communicator.h"

namespace gw {

/// The cost of sending on a link: latency α plus size over bandwidth β.
struct LinkModel {
  double latency_s = 0.0;              ///< α, seconds per message
  double bandwidth_bytes_per_s = 0.0;  ///< β; 0 means infinite (no time per byte)
};

/// n ranks as threads, with a Communicator each.
class ThreadGroup {
 public:
  /// A group of `ranks` ranks (1 to 64); every link follows `link`.
  explicit ThreadGroup(int ranks, LinkModel link = {});
  ~ThreadGroup();
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  /// Number of ranks.
  int size() const;
  /// Longest time a recv waits for its message before throwing gw::Error (default 30 s).
  void set_timeout(double seconds);
  /// The communicator of rank r, for code running as that rank.
  Communicator& rank(int r);
  /// Runs fn(rank r's communicator) on one thread per rank and waits for all. When some rank
  /// throws, the group is closed so that ranks waiting on it stop too, and the first
  /// exception is rethrown here. A rank whose fn returned sends nothing more: a recv from it
  /// that finds no message throws at once.
  void run(const std::function<void(Communicator&)>& fn);

  /// Bytes sent on the link from → to since construction (or reset_counters).
  int64_t bytes_sent(int from, int to) const;
  /// Bytes rank r sent on all its links.
  int64_t bytes_sent_by(int r) const;
  /// Messages rank r sent on all its links.
  int64_t messages_sent_by(int r) const;
  /// Sets every counter to 0.
  void reset_counters();

  struct State;  ///< the mailboxes and counters (thread_group.cpp)

 private:
  std::shared_ptr<State> state_;
  std::vector<std::unique_ptr<Communicator>> comms_;
};

}  // namespace gw
