#include "dataplane/protocol/call_record.h"

#include "rules/model/rule_model.h"

namespace sipwall::protocol {

const char* record_problem(const CallRecordWire& r) noexcept {
  if (r.call_hash == 0) return "call_hash is 0";
  if (r.kind != static_cast<std::uint8_t>(CallRecordKind::invite) &&
      r.kind != static_cast<std::uint8_t>(CallRecordKind::outcome))
    return "unknown record kind";
  if (r.kind == static_cast<std::uint8_t>(CallRecordKind::invite)) {
    if (r.end != static_cast<std::uint8_t>(CallEnd::none)) return "an invite record with an end";
    if (r.action >= rules::kActionKindCount) return "unknown action";
    if (r.ip_version != 4 && r.ip_version != 6) return "ip_version is neither 4 nor 6";
  } else {
    if (r.end < static_cast<std::uint8_t>(CallEnd::expired) || r.end > static_cast<std::uint8_t>(CallEnd::evicted))
      return "unknown end";
    if ((r.seen & ~CallRecordWire::kSeenMask) != 0) return "unknown seen bits";
    if (r.final_code != 0 && (r.final_code < 100 || r.final_code > 699)) return "final_code outside 100..699";
  }
  return nullptr;
}

const char* decode_record_frame(std::span<const std::uint8_t> frame, std::vector<CallRecordWire>& out) {
  RecordFrameHeader h;
  if (frame.size() < sizeof h) return "frame shorter than its header";
  std::memcpy(&h, frame.data(), sizeof h);
  if (h.magic != kRecordFrameMagic) return "bad magic";
  if (h.version != kRecordFrameVersion) return "unknown frame version";
  if (h.record_size != sizeof(CallRecordWire)) return "record size differs from this build's";
  if (h.count == 0 || h.count > kRecordsPerFrame) return "record count outside 1..64";
  if (frame.size() != sizeof h + std::size_t{h.count} * sizeof(CallRecordWire))
    return "frame length disagrees with its count";
  const std::size_t first = out.size();
  out.resize(first + h.count);
  std::memcpy(out.data() + first, frame.data() + sizeof h, std::size_t{h.count} * sizeof(CallRecordWire));
  for (std::size_t i = first; i < out.size(); ++i) {
    if (const char* why = record_problem(out[i])) {
      out.resize(first);
      return why;
    }
  }
  return nullptr;
}

void encode_record_frame_header(std::uint8_t* buf, std::uint16_t count) noexcept {
  const RecordFrameHeader h{kRecordFrameMagic, kRecordFrameVersion, count, sizeof(CallRecordWire), 0};
  std::memcpy(buf, &h, sizeof h);
}

}  // namespace sipwall::protocol
