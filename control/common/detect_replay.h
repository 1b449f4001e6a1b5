// Behavioural detection in a replay (`sipwallctl rules explain` over a
// capture): one data-plane worker's detection state (WorkerDetect), the main
// lcore's Merger and its published DynamicSet, and the call events, run on
// the capture's clock as the data plane runs them on its own:
//
//  * every INVITE is classified with context() (the classifier counts it);
//  * every other message goes to call_event() (responses by CSeq method,
//    CANCEL, ACK, BYE: dataplane/detect/call_events.h);
//  * advance() merges every merge_ms of capture time (the data plane's
//    detection.merge_ms) and sweeps the call table, so penalty-box holds
//    and lifts behave as live.
//
// With one worker the estimate is exact, so a replay shows the call at which
// a detector fires. Time never goes backwards: an older timestamp (a capture
// merged out of order) counts as the newest seen.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/classify/classify.h"
#include "dataplane/detect/merger.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::control {

struct DetectReplayOptions {
  std::uint32_t capacity = 65536;  // keys per detector when the spec gives 0 (the data plane's default)
  std::uint32_t calls = 65536;     // call table
  std::uint32_t merge_ms = 50;     // the data plane's detection.merge_ms default
};

class DetectReplay {
 public:
  // Throws std::invalid_argument for specs WorkerDetect refuses.
  explicit DetectReplay(std::span<const detect::DetectorSpec> specs, const DetectReplayOptions& options = {});

  bool active() const noexcept { return worker_ != nullptr; }

  // The clock moves to now_ms (capture time): merges and sweeps when due.
  void advance(std::uint64_t now_ms);
  // For the INVITE at the current time: the context classify() takes
  // (nullptr without detectors). Valid until the next call.
  classify::DetectContext* context();
  // A non-INVITE message at the current time.
  void call_event(const sip::Message& msg);

  std::uint64_t now_ms() const noexcept { return now_ms_; }
  const detect::WorkerDetect* worker() const noexcept { return worker_.get(); }
  const detect::Merger* merger() const noexcept { return merger_.get(); }

 private:
  void merge();

  DetectReplayOptions options_;
  std::vector<detect::DetectorSpec> specs_;
  std::unique_ptr<detect::WorkerDetect> worker_;
  std::unique_ptr<detect::Merger> merger_;
  std::unique_ptr<detect::DynamicSet> published_;
  classify::DetectContext ctx_{};
  std::uint64_t now_ms_ = 0;
  std::uint64_t last_merge_ms_ = 0;
  std::uint64_t last_sweep_ms_ = 0;
  bool started_ = false;
};

}  // namespace sipwall::control
