// The verdict trace log: sipwall-control drains the data plane's trace
// records and appends them as JSON lines to <dir>/trace.jsonl, rotating by
// size to trace.jsonl.1 .. .N (1 = newest rotated). `sipwallctl trace`
// searches the same files, oldest first. Line format: docs/control.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "rules/number/dial_plan.h"

namespace sipwall::control {

inline constexpr const char* kTraceFileName = "trace.jsonl";

struct TraceLogOptions {
  std::filesystem::path dir;
  std::uint64_t max_bytes = 100ull << 20;  // rotate before the file would grow past this
  unsigned keep = 10;                      // rotated files kept (0: the current file is just restarted)
};

// One data-plane trace record (docs/control-protocol.md, trace-drain) as the
// log line, without the newline. `port_names[i]` names port index i (from the
// data plane's status); an unknown index is written as "port<i>".
std::string trace_line(const nlohmann::json& record, const std::vector<std::string>& port_names);

class TraceWriter {
 public:
  explicit TraceWriter(TraceLogOptions options) : opt_(std::move(options)) {}
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Creates the directory if needed and opens trace.jsonl for appending.
  bool open(std::string& error);
  // Appends each line plus '\n', rotating first whenever the next line would
  // take the file past max_bytes (a line is never split across files).
  bool write(const std::vector<std::string>& lines, std::string& error);
  std::uint64_t lines_written() const noexcept { return lines_; }
  std::uint64_t rotations() const noexcept { return rotations_; }
  std::filesystem::path path() const { return opt_.dir / kTraceFileName; }

 private:
  bool rotate(std::string& error);
  TraceLogOptions opt_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t lines_ = 0;
  std::uint64_t rotations_ = 0;
};

// trace.jsonl.N ... trace.jsonl.1, trace.jsonl: the existing files, oldest
// first. `read_error` (if given) is set when `dir` cannot be listed (e.g.
// permission denied: the folder is for group sipwall).
std::vector<std::filesystem::path> trace_files(const std::filesystem::path& dir, std::error_code* read_error = nullptr);

struct TraceQuery {
  // caller / callee are compared with the record's (already normalised)
  // number text: the CLI normalises what the operator typed first.
  std::optional<std::string> caller, callee, call_id, rule_id;
  std::optional<std::int64_t> since_ns, until_ns;  // inclusive bounds on the record time
};

// A number as the operator typed it ("013800138000", "+86 138-0013-8000",
// "tel:+8613800138000") normalised the way the data plane wrote it into the
// record ("+8613800138000"; a short code: its digits). nullopt with *why if
// it is not a number under `plan`.
std::optional<std::string> normalise_number_query(std::string_view text, const number::DialPlan& plan,
                                                  std::string* why);

bool trace_matches(const nlohmann::json& record, const TraceQuery& q);
// Record time in ns since the epoch ("time", or "time_ns" if present); nullopt if neither parses.
std::optional<std::int64_t> trace_time_ns(const nlohmann::json& record);

struct TraceSearchStats {
  std::uint64_t files = 0;
  std::uint64_t lines = 0;
  std::uint64_t matched = 0;
  std::uint64_t bad_lines = 0;  // not JSON (e.g. a line cut by a full disk)
  // "file: reason" for each file that could not be opened (permissions).
  std::vector<std::string> unreadable;
};

// Calls `on_match(record, raw_line)` for each matching record, oldest first.
// Stops early if it returns false.
TraceSearchStats search_trace(const std::vector<std::filesystem::path>& files, const TraceQuery& q,
                              const std::function<bool(const nlohmann::json&, const std::string&)>& on_match);

}  // namespace sipwall::control
