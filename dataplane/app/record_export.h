// The main lcore's side of call records (docs/records.md): it drains the
// workers' record rings into frames and sends them to one consumer
// (sipwall-control) over a Unix SOCK_SEQPACKET socket it listens on.
//
// Never blocks and never slows a worker: sends are non-blocking. While no
// consumer is connected, or the consumer's socket is full, the rings are not
// drained; a worker whose ring is full drops its record and counts it
// (call_records_dropped). So every loss is counted once, at the ring, and
// packets are never held for a record. A frame is sent whole or not at all
// (SEQPACKET); the one frame in hand when a consumer goes away is counted in
// unsent(). A newer consumer replaces an older one (a restarted control
// process gets the stream at once).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/app/dataplane.h"
#include "dataplane/app/tsc_clock.h"
#include "dataplane/protocol/call_record.h"

namespace sipwall::dataplane {

// Expands at most max_records of the records waiting in one worker's ring
// (units of record_pack.h) into CallRecordWire records at `out`, their TSC
// stamps turned into wall time by `clock`, and takes them off the ring.
// Units that frame no record are skipped and added to `unreadable`.
// Returns the records written.
unsigned drain_record_ring(rte_ring* ring, const TscClock& clock, std::uint8_t* out, unsigned max_records,
                           std::uint64_t& unreadable);

class RecordExporter {
 public:
  RecordExporter() = default;
  RecordExporter(const RecordExporter&) = delete;
  RecordExporter& operator=(const RecordExporter&) = delete;
  ~RecordExporter() { close(); }

  // Listens on `path` (a stale socket file is replaced; a live one is an
  // error), with `mode` and, if not empty, `group`.
  bool open(const std::string& path, unsigned mode, const std::string& group, std::string& error);
  void close();

  // One turn of the main loop: takes a waiting consumer, then sends at most
  // max_frames frames of the workers' records, their TSC stamps turned
  // into wall time by `clock`. Returns the records sent.
  std::uint64_t poll(Dataplane& dp, const TscClock& clock, unsigned max_frames = 256);

  bool listening() const noexcept { return listen_fd_ >= 0; }
  bool connected() const noexcept { return client_fd_ >= 0; }
  std::uint64_t sent() const noexcept { return sent_; }                // records written to a consumer
  std::uint64_t frames() const noexcept { return frames_; }            // frames written
  std::uint64_t unsent() const noexcept { return unsent_; }            // records lost with a consumer that left
  std::uint64_t consumers() const noexcept { return consumers_; }      // connections accepted
  std::uint64_t would_block() const noexcept { return would_block_; }  // sends refused (consumer behind)
  // Ring units that did not frame a record (none unless a worker's ring was
  // written by something other than record_pack's packing): skipped.
  std::uint64_t unreadable() const noexcept { return unreadable_; }

 private:
  void accept_waiting();
  void drop_client();
  // Fills frame_ from the rings (round robin from next_worker_); 0 if empty.
  std::uint16_t fill(Dataplane& dp, const TscClock& clock);
  // Sends frame_ (pending_ records); false if it must wait.
  bool send_pending();

  int listen_fd_ = -1;
  int client_fd_ = -1;
  std::string path_;
  std::unique_ptr<std::uint8_t[]> frame_{new std::uint8_t[protocol::kRecordFrameMax]};
  std::uint16_t pending_ = 0;  // records in frame_ not sent yet
  unsigned next_worker_ = 0;
  std::uint64_t sent_ = 0, frames_ = 0, unsent_ = 0, consumers_ = 0, would_block_ = 0, unreadable_ = 0;
};

}  // namespace sipwall::dataplane
