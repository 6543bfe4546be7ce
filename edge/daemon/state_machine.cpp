#include "hadmc/edge/state_machine.h"

namespace hadmc::edge {

namespace {
using S = State;
using E = Event;
}  // namespace

const std::vector<Transition>& Transitions() {
  // clang-format off
  static const std::vector<Transition> table = {
      {S::kIdle,        E::kPollDue,         S::kCheckUpdate},
      {S::kIdle,        E::kRollbackCommand, S::kRollback},
      {S::kCheckUpdate, E::kNoUpdate,        S::kIdle},
      {S::kCheckUpdate, E::kUpdateAvailable, S::kDownload},
      {S::kCheckUpdate, E::kError,           S::kFailure},
      {S::kDownload,    E::kDownloaded,      S::kVerify},
      {S::kDownload,    E::kError,           S::kFailure},
      {S::kVerify,      E::kVerified,        S::kLoad},
      {S::kVerify,      E::kError,           S::kFailure},
      {S::kLoad,        E::kLoaded,          S::kSwap},
      {S::kLoad,        E::kError,           S::kFailure},   // never served; the old model serves
      {S::kSwap,        E::kSwapped,         S::kProbation},
      {S::kSwap,        E::kError,           S::kFailure},
      {S::kProbation,   E::kProbationPassed, S::kReport},
      {S::kProbation,   E::kProbationFailed, S::kRollback},
      {S::kProbation,   E::kRollbackCommand, S::kRollback},
      {S::kRollback,    E::kRolledBack,      S::kReport},
      {S::kRollback,    E::kError,           S::kFailure},
      {S::kFailure,     E::kReported,        S::kIdle},      // the heartbeat says why
      {S::kReport,      E::kReported,        S::kIdle},
  };
  // clang-format on
  return table;
}

Result<State> Next(State from, Event event) {
  if (event == Event::kStop) return State::kStopped;  // from anywhere: drain and exit
  if (from == State::kStopped)
    return MakeError(Errc::kInvalidArgument, "the daemon is stopped");
  for (const Transition& t : Transitions())
    if (t.from == from && t.event == event) return t.to;
  return MakeError(Errc::kInternal, std::string("no transition from ") + StateName(from) +
                                        " on " + EventName(event));
}

const char* StateName(State s) {
  switch (s) {
    case State::kIdle: return "idle";
    case State::kCheckUpdate: return "check_update";
    case State::kDownload: return "download";
    case State::kVerify: return "verify";
    case State::kLoad: return "load";
    case State::kSwap: return "swap";
    case State::kProbation: return "probation";
    case State::kReport: return "report";
    case State::kRollback: return "rollback";
    case State::kFailure: return "failure";
    case State::kStopped: return "stopped";
  }
  return "?";
}

const char* EventName(Event e) {
  switch (e) {
    case Event::kPollDue: return "poll_due";
    case Event::kNoUpdate: return "no_update";
    case Event::kUpdateAvailable: return "update_available";
    case Event::kDownloaded: return "downloaded";
    case Event::kVerified: return "verified";
    case Event::kLoaded: return "loaded";
    case Event::kSwapped: return "swapped";
    case Event::kProbationPassed: return "probation_passed";
    case Event::kProbationFailed: return "probation_failed";
    case Event::kRollbackCommand: return "rollback_command";
    case Event::kRolledBack: return "rolled_back";
    case Event::kReported: return "reported";
    case Event::kError: return "error";
    case Event::kStop: return "stop";
  }
  return "?";
}

}  // namespace hadmc::edge
