// The edge daemon's life as one table of transitions (STYLE.md; Mender's state_machine.cpp):
//
//   Idle -> CheckUpdate -> Download -> Verify -> Load -> Swap -> Probation -> Report -> Idle
//
// with Failure and Rollback edges. Whatever fails before Swap leaves the serving model alone
// (Failure -> Report says why -> Idle); a model that misbehaves after the swap is rolled back.
// Any state can Stop. A transition that is not in the table is a bug and an error, not a guess.
#pragma once

#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::edge {

enum class State { kIdle, kCheckUpdate, kDownload, kVerify, kLoad, kSwap, kProbation, kReport,
                   kRollback, kFailure, kStopped };

enum class Event {
  kPollDue,         // the poll timer fired (or a sync was asked for)
  kNoUpdate,        // the server's version is the one serving
  kUpdateAvailable, // a new version's manifest verified
  kDownloaded,      // every missing block fetched and verified
  kVerified,        // the assembled file matches the manifest
  kLoaded,          // the candidate loaded and passed its warm-up checks
  kSwapped,         // the candidate is serving
  kProbationPassed, // error rate and latency held during the probation window
  kProbationFailed, // they regressed: roll back
  kRollbackCommand, // the operator asked for the previous version
  kRolledBack,      // the previous model is serving again
  kReported,        // the heartbeat carrying the outcome was sent (or queued)
  kError,           // the current step failed (network, disk, signature, load, check)
  kStop,            // SIGTERM: drain and exit
};

const char* StateName(State s);
const char* EventName(Event e);

struct Transition {
  State from;
  Event event;
  State to;
};

// The table itself (for tests and for `--help`-style dumps).
const std::vector<Transition>& Transitions();

// The state after `event` in `from`; an error for a pair the table does not have.
Result<State> Next(State from, Event event);

}  // namespace hadmc::edge
