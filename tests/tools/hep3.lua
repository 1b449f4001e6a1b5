-- A HEPv3 (Homer Encapsulation Protocol) dissector for tshark, for the tests
-- of sipwall's HEP export (docs/export.md): Debian 12's Wireshark 4.0 has no
-- HEP dissector of its own. Each chunk becomes a field; the captured payload
-- (chunk 0x000f) is handed to Wireshark's SIP dissector, so `-Y sip` and the
-- sip.* fields work on what the collector received:
--
--   tshark -X lua_script:tests/tools/hep3.lua -d udp.port==9060,hep3 -r got.pcap -Y sip
local hep3 = Proto("hep3", "HEPv3 (Homer Encapsulation Protocol)")

local f = {
  length = ProtoField.uint16("hep3.length", "Total length"),
  family = ProtoField.uint8("hep3.ip_family", "IP family"),
  ip_proto = ProtoField.uint8("hep3.ip_proto", "IP protocol"),
  src4 = ProtoField.ipv4("hep3.src_ip4", "Source IPv4"),
  dst4 = ProtoField.ipv4("hep3.dst_ip4", "Destination IPv4"),
  src6 = ProtoField.ipv6("hep3.src_ip6", "Source IPv6"),
  dst6 = ProtoField.ipv6("hep3.dst_ip6", "Destination IPv6"),
  sport = ProtoField.uint16("hep3.src_port", "Source port"),
  dport = ProtoField.uint16("hep3.dst_port", "Destination port"),
  tsec = ProtoField.uint32("hep3.time_sec", "Timestamp seconds"),
  tusec = ProtoField.uint32("hep3.time_usec", "Timestamp microseconds"),
  ptype = ProtoField.uint8("hep3.proto_type", "Protocol type"),
  agent = ProtoField.uint32("hep3.agent_id", "Capture agent id"),
  auth = ProtoField.string("hep3.auth_key", "Authentication key"),
  corr = ProtoField.string("hep3.correlation_id", "Correlation id"),
  payload = ProtoField.bytes("hep3.payload", "Payload"),
  unknown = ProtoField.uint16("hep3.unknown_chunk", "Unknown chunk type", base.HEX),
}
hep3.fields = { f.length, f.family, f.ip_proto, f.src4, f.dst4, f.src6, f.dst6, f.sport, f.dport, f.tsec,
                f.tusec, f.ptype, f.agent, f.auth, f.corr, f.payload, f.unknown }

local by_type = {
  [0x0001] = f.family, [0x0002] = f.ip_proto, [0x0003] = f.src4, [0x0004] = f.dst4, [0x0005] = f.src6,
  [0x0006] = f.dst6, [0x0007] = f.sport, [0x0008] = f.dport, [0x0009] = f.tsec, [0x000a] = f.tusec,
  [0x000b] = f.ptype, [0x000c] = f.agent, [0x000e] = f.auth, [0x0011] = f.corr, [0x000f] = f.payload,
}

local sip = Dissector.get("sip")

function hep3.dissector(buf, pinfo, tree)
  if buf:len() < 6 or buf(0, 4):string() ~= "HEP3" then return 0 end
  local total = buf(4, 2):uint()
  if total < 6 or total > buf:len() then return 0 end
  pinfo.cols.protocol = "HEP3"
  local t = tree:add(hep3, buf(0, total))
  t:add(f.length, buf(4, 2))
  local off, payload = 6, nil
  while off + 6 <= total do
    local ctype, clen = buf(off + 2, 2):uint(), buf(off + 4, 2):uint()
    if clen < 6 or off + clen > total then
      t:add_expert_info(PI_MALFORMED, PI_ERROR, "chunk length out of bounds")
      return total
    end
    if clen > 6 then
      local body = buf(off + 6, clen - 6)
      local field = by_type[ctype]
      if field ~= nil then t:add(field, body) else t:add(f.unknown, buf(off + 2, 2)) end
      if ctype == 0x000f then payload = body end
    end
    off = off + clen
  end
  if payload ~= nil then sip:call(payload:tvb(), pinfo, tree) end
  return total
end

DissectorTable.get("udp.port"):add_for_decode_as(hep3)
DissectorTable.get("tcp.port"):add_for_decode_as(hep3)
