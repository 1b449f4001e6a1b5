#include "dataplane/app/record_export.h"

#include <fcntl.h>
#include <grp.h>
#include <rte_ring.h>
#include <rte_ring_peek_zc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "dataplane/app/record_pack.h"
#include "dataplane/protocol/socket_path.h"

namespace sipwall::dataplane {

bool RecordExporter::open(const std::string& path, unsigned mode, const std::string& group, std::string& error) {
  if (auto why = protocol::socket_path_problem(path)) {
    error = "records socket: " + *why;
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  // A socket left by a crashed instance would make bind() fail; a live one
  // (another data plane) is found by connecting to it first.
  const int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::close(probe);
    error = "another process is serving " + path;
    return false;
  }
  if (probe >= 0) ::close(probe);
  ::unlink(path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // listen() only after chmod/chown (below): a socket that is not listening
  // refuses every connect, so the umask's mode between bind() and chmod()
  // lets nobody in.
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "records socket " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  path_ = path;
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    error = "chmod " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      error = "records socket group '" + group + "': " + (g ? std::strerror(errno) : "no such group");
      close();
      return false;
    }
  }
  if (::listen(listen_fd_, 4) != 0) {
    error = "records socket " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  return true;
}

void RecordExporter::close() {
  drop_client();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
  }
}

void RecordExporter::drop_client() {
  if (client_fd_ < 0) return;
  ::close(client_fd_);
  client_fd_ = -1;
  unsent_ += pending_;
  pending_ = 0;
}

void RecordExporter::accept_waiting() {
  // Bounded: the backlog is 4; the last one accepted is kept.
  for (int i = 0; i < 8; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    drop_client();
    client_fd_ = fd;
    ++consumers_;
  }
}

std::uint16_t RecordExporter::fill(Dataplane& dp, const TscClock& clock) {
  const unsigned n = static_cast<unsigned>(dp.workers.size());
  std::uint16_t count = 0;
  std::uint8_t* at = frame_.get() + sizeof(protocol::RecordFrameHeader);
  // Round robin so one busy worker cannot starve the others' rings.
  for (unsigned k = 0; k < n && count < protocol::kRecordsPerFrame; ++k) {
    WorkerContext& w = *dp.workers[(next_worker_ + k) % n];
    if (w.record_ring == nullptr) continue;
    count = static_cast<std::uint16_t>(count + drain_record_ring(w.record_ring, clock,
                                                                 at + count * sizeof(protocol::CallRecordWire),
                                                                 protocol::kRecordsPerFrame - count, unreadable_));
  }
  next_worker_ = n != 0 ? (next_worker_ + 1) % n : 0;
  if (count != 0) protocol::encode_record_frame_header(frame_.get(), count);
  return count;
}

unsigned drain_record_ring(rte_ring* ring, const TscClock& clock, std::uint8_t* out, unsigned max_records,
                           std::uint64_t& unreadable) {
  rte_ring_zc_data zcd{};  // untouched when the ring is empty
  // Enough units for max_records of the longest kind: a record is never
  // cut by the ask.
  const unsigned got =
      rte_ring_dequeue_zc_burst_elem_start(ring, kRecordUnit, max_records * kMaxRecordUnits, &zcd, nullptr);
  const RingUnits units{static_cast<std::uint8_t*>(zcd.ptr1), zcd.n1, static_cast<std::uint8_t*>(zcd.ptr2), got};
  unsigned used = 0;
  const unsigned records = unpack_units(units, max_records, out, used, unreadable);
  rte_ring_dequeue_zc_elem_finish(ring, used);
  // The worker's TSC stamps into wall time.
  for (unsigned k = 0; k < records; ++k) {
    std::uint8_t* t =
        out + std::size_t{k} * sizeof(protocol::CallRecordWire) + offsetof(protocol::CallRecordWire, time_ns);
    std::uint64_t tsc;
    std::memcpy(&tsc, t, sizeof tsc);
    const std::uint64_t ns = clock.wall_ns(tsc);
    std::memcpy(t, &ns, sizeof ns);
  }
  return records;
}

bool RecordExporter::send_pending() {
  const std::size_t len =
      sizeof(protocol::RecordFrameHeader) + std::size_t{pending_} * sizeof(protocol::CallRecordWire);
  const ssize_t r = ::send(client_fd_, frame_.get(), len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (r == static_cast<ssize_t>(len)) {
    sent_ += pending_;
    ++frames_;
    pending_ = 0;
    return true;
  }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    ++would_block_;
    return false;
  }
  drop_client();  // gone (EPIPE, ECONNRESET) or a short write SEQPACKET does not make
  return false;
}

std::uint64_t RecordExporter::poll(Dataplane& dp, const TscClock& clock, unsigned max_frames) {
  if (listen_fd_ < 0) return 0;
  accept_waiting();
  if (client_fd_ < 0) return 0;
  const std::uint64_t before = sent_;
  for (unsigned f = 0; f < max_frames && client_fd_ >= 0; ++f) {
    if (pending_ == 0) pending_ = fill(dp, clock);
    if (pending_ == 0) break;
    if (!send_pending()) break;
  }
  return sent_ - before;
}

}  // namespace sipwall::dataplane
