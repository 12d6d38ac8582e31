// test_hooks.cpp — the environment variables of test_hooks.h, read at each call so that an
// in-process test can set and clear them between runs.
#include "model/test_hooks.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <string>

namespace gw::test_hooks {

bool kill_armed(const char* point, int64_t step) {
  const char* env = std::getenv("GW_TEST_KILL_AT");
  return env && std::string(env) == std::string(point) + "@" + std::to_string(step);
}

void kill_now() {
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();  // SIGKILL cannot be caught; this only waits for it to land
}

bool nan_at(int64_t step) {
  const char* env = std::getenv("GW_TEST_NAN_STEPS");
  if (!env) return false;
  std::stringstream list(env);
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t dash = item.find('-');
    try {
      const int64_t lo = std::stoll(item.substr(0, dash));
      const int64_t hi = dash == std::string::npos ? lo : std::stoll(item.substr(dash + 1));
      if (step >= lo && step <= hi) return true;
    } catch (const std::exception&) {
      // a malformed item injects nothing
    }
  }
  return false;
}

void step_delay() {
  const char* env = std::getenv("GW_TEST_STEP_DELAY_MS");
  if (!env) return;
  const long ms = std::strtol(env, nullptr, 10);
  // The whole delay even when a signal handler runs meanwhile (nanosleep returns early then).
  timespec left{ms / 1000, (ms % 1000) * 1000000L};
  while (ms > 0 && ::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

}  // namespace gw::test_hooks
