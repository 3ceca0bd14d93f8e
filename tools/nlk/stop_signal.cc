#include "stop_signal.h"

#include <atomic>
#include <csignal>

namespace nlk::cli {
namespace {

// Set by the handler. A signal handler can only reach static storage, so this is the one piece
// of process-wide state; it is lock-free and only ever goes from 0 to a signal number.
std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void HandleStopSignal(int signal_number) { stop_signal.store(signal_number); }

}  // namespace

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = HandleStopSignal;
  sigemptyset(&action.sa_mask);
  // The handler runs once; the next signal takes the default action.
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool StopRequested() { return stop_signal.load() != 0; }

int StopSignal() { return stop_signal.load(); }

}  // namespace nlk::cli
