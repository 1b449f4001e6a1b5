// sipwall-control's end of the records socket (docs/records.md): connects to
// the data plane's SOCK_SEQPACKET socket, reads whole frames without
// blocking, and checks every frame before any record goes further (hostile
// bytes: a frame that fails protocol::decode_record_frame is counted and
// dropped whole). Reconnects at most once per second while the data plane is
// away.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/protocol/call_record.h"

namespace sipwall::control {

class RecordsLink {
 public:
  explicit RecordsLink(std::string path) : path_(std::move(path)) {}
  RecordsLink(const RecordsLink&) = delete;
  RecordsLink& operator=(const RecordsLink&) = delete;
  ~RecordsLink() { close(); }

  // Connects if not connected and the last try is a second old. True if connected.
  bool ensure_connected(std::chrono::steady_clock::time_point now);
  int fd() const noexcept { return fd_; }
  bool connected() const noexcept { return fd_ >= 0; }
  void close();

  // Reads up to max_frames waiting frames; appends their records to `out`.
  // Returns the frames read (0: nothing waiting, or the peer went away).
  std::size_t read(std::vector<protocol::CallRecordWire>& out, std::size_t max_frames = 1024);

  std::uint64_t frames() const noexcept { return frames_; }
  std::uint64_t records() const noexcept { return records_; }
  std::uint64_t bad_frames() const noexcept { return bad_frames_; }
  std::uint64_t connects() const noexcept { return connects_; }
  const std::string& last_problem() const noexcept { return last_problem_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::chrono::steady_clock::time_point last_try_{};
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(protocol::kRecordFrameMax + 1);
  std::uint64_t frames_ = 0, records_ = 0, bad_frames_ = 0, connects_ = 0;
  std::string last_problem_;
};

}  // namespace sipwall::control
