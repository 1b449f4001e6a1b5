// The call-record frame (dataplane/protocol/call_record.h): what the data
// plane's main lcore sends and sipwall-control checks before storing. A frame
// is hostile bytes to the control side: every malformed one is refused whole.
#include "dataplane/protocol/call_record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace sipwall::protocol {
namespace {

CallRecordWire invite_record(std::uint64_t hash) {
  CallRecordWire r;
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::invite);
  r.call_hash = hash;
  r.ip_version = 4;
  set_text(r.call_id, "abc@example");
  return r;
}

std::vector<std::uint8_t> frame_of(const std::vector<CallRecordWire>& recs) {
  std::vector<std::uint8_t> f(sizeof(RecordFrameHeader) + recs.size() * sizeof(CallRecordWire));
  encode_record_frame_header(f.data(), static_cast<std::uint16_t>(recs.size()));
  std::memcpy(f.data() + sizeof(RecordFrameHeader), recs.data(), recs.size() * sizeof(CallRecordWire));
  return f;
}

TEST(CallRecordFrame, RoundTrip) {
  CallRecordWire o;
  std::memset(&o, 0, sizeof o);
  o.kind = static_cast<std::uint8_t>(CallRecordKind::outcome);
  o.end = static_cast<std::uint8_t>(CallEnd::expired);
  o.call_hash = 7;
  o.final_code = 486;
  o.seen = CallRecordWire::kFinal;
  std::vector<CallRecordWire> out;
  ASSERT_EQ(decode_record_frame(frame_of({invite_record(5), o}), out), nullptr);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].call_hash, 5u);
  EXPECT_EQ(get_text(out[0].call_id), "abc@example");
  EXPECT_EQ(out[1].final_code, 486);
}

TEST(CallRecordFrame, MalformedFramesAreRefusedWhole) {
  std::vector<CallRecordWire> out;
  const std::vector<std::uint8_t> good = frame_of({invite_record(1), invite_record(2)});
  EXPECT_NE(decode_record_frame(std::span<const std::uint8_t>(good.data(), 10), out), nullptr);  // short header
  std::vector<std::uint8_t> f = good;
  f[0] ^= 1;
  EXPECT_STREQ(decode_record_frame(f, out), "bad magic");
  f = good;
  f.pop_back();
  EXPECT_STREQ(decode_record_frame(f, out), "frame length disagrees with its count");
  f = good;
  f[6] = 0;  // count 0
  f[7] = 0;
  EXPECT_STREQ(decode_record_frame(f, out), "record count outside 1..64");
  f = good;
  f[8] = 1;  // record_size
  EXPECT_STREQ(decode_record_frame(f, out), "record size differs from this build's");
  // A bad record anywhere refuses the frame, and nothing is appended.
  CallRecordWire bad = invite_record(3);
  bad.kind = 9;
  EXPECT_STREQ(decode_record_frame(frame_of({invite_record(1), bad}), out), "unknown record kind");
  bad = invite_record(0);
  EXPECT_STREQ(decode_record_frame(frame_of({bad}), out), "call_hash is 0");
  bad = invite_record(3);
  bad.action = 200;
  EXPECT_STREQ(decode_record_frame(frame_of({bad}), out), "unknown action");
  CallRecordWire o = invite_record(4);
  o.kind = static_cast<std::uint8_t>(CallRecordKind::outcome);
  o.end = 1;
  o.final_code = 99;
  EXPECT_STREQ(decode_record_frame(frame_of({o}), out), "final_code outside 100..699");
  o.final_code = 0;
  o.seen = 0x100;
  EXPECT_STREQ(decode_record_frame(frame_of({o}), out), "unknown seen bits");
  EXPECT_TRUE(out.empty());
}

TEST(CallRecordFrame, TextFieldsAreBoundedWhateverTheBytes) {
  CallRecordWire r = invite_record(1);
  std::memset(r.call_id, 'x', sizeof r.call_id);  // no NUL at all
  std::vector<CallRecordWire> out;
  ASSERT_EQ(decode_record_frame(frame_of({r}), out), nullptr);
  EXPECT_EQ(get_text(out[0].call_id).size(), sizeof r.call_id);
  // set_text cuts at the field size, never inside a UTF-8 sequence, and pads.
  CallRecordWire w;
  std::memset(&w, 0x55, sizeof w);
  set_text(w.caller, "+8613800138000\xE4\xB8\xAD\xE6\x96\x87");  // 14 + 6 bytes into 19
  EXPECT_EQ(get_text(w.caller), "+8613800138000\xE4\xB8\xAD");
  EXPECT_EQ(w.caller[19], '\0');
}

}  // namespace
}  // namespace sipwall::protocol
