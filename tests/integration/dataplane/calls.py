"""Whole calls through the data plane, both directions, in order (stdlib only).

The trunk and the core port each read a FIFO (net_pcap rx_pcap= a named
pipe, as test_reload does). `Calls` writes one frame at a time into the
side it comes from and waits until the data plane has received it, so an
INVITE is classified (and its watch decided) before the response the core
sends to it arrives on the other port. Used by the tests of the HEP export
and of `sipwallctl capture` (docs/export.md).

A call is a list of (side, frame, what) with side "trunk" or "core" and
`what` the method or status code as tshark's sip.Method / sip.Status-Code
give it. tcp_calls() gives SIP-over-TCP calls, whose frames may carry
several messages or part of one; messages() lists what any call carries.
"""
import os
import struct
import threading
import time

import harness as h
import traffic as tr


def answered(caller, call_id):
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    ruri = f"sip:13600136000@{c};user=phone"
    return [("trunk", sp.udp_frame(p, c, 5060, 5060, tr.invite(caller, call_id=call_id, sdp=False)), "INVITE"),
            ("core", sp.udp_frame(c, p, 5060, 5060, sp.response(180, "Ringing", call_id=call_id, src=p)), "180"),
            ("core", sp.udp_frame(c, p, 5060, 5060, sp.response(200, "OK", call_id=call_id, src=p)), "200"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("ACK", ruri=ruri, call_id=call_id, src=p)), "ACK"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060,
                                   sp.request("BYE", ruri=ruri, call_id=call_id, src=p, cseq=2)), "BYE"),
            ("core", sp.udp_frame(c, p, 5060, 5060,
                                  sp.response(200, "OK", call_id=call_id, src=p, cseq=2, method="BYE")), "200")]


def big_200(call_id, src, body_bytes=3000):
    """A 200 OK to the INVITE with an SDP of about `body_bytes`: too big for one packet."""
    sdp = "v=0\r\no=- 1 1 IN IP4 10.10.0.10\r\ns=-\r\nc=IN IP4 10.10.0.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    while len(sdp) < body_bytes:
        sdp += "a=fmtp:101 0-15;x-pad=" + "p" * 40 + "\r\n"
    head = ["SIP/2.0 200 OK", f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bKbig", "From: <sip:caller@example.net>;tag=a1",
            "To: <sip:callee@example.net>;tag=b2", f"Call-ID: {call_id}", "CSeq: 1 INVITE",
            "Content-Type: application/sdp", f"Content-Length: {len(sdp)}"]
    return ("\r\n".join(head) + "\r\n\r\n" + sdp).encode()


def answered_fragmented(caller, call_id, ident=0x4242):
    """answered(), but the core's 200 OK carries a 3 KB SDP and comes in IPv4
    fragments: one message in several frames (`what` of the first fragment
    names it, the others carry none)."""
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    ruri = f"sip:13600136000@{c};user=phone"
    frags = sp.udp_fragments_v4(c, p, 5060, 5060, big_200(call_id, p), ident=ident)
    assert len(frags) >= 3
    return ([("trunk", sp.udp_frame(p, c, 5060, 5060, tr.invite(caller, call_id=call_id, sdp=False)), "INVITE"),
             ("core", sp.udp_frame(c, p, 5060, 5060, sp.response(180, "Ringing", call_id=call_id, src=p)), "180")] +
            [("core", f, [(call_id, "200")] if i == 0 else []) for i, f in enumerate(frags)] +
            [("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("ACK", ruri=ruri, call_id=call_id, src=p)), "ACK")])


def cancelled(caller, call_id):
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    ruri = f"sip:13600136000@{c};user=phone"
    return [("trunk", sp.udp_frame(p, c, 5060, 5060, tr.invite(caller, call_id=call_id, sdp=False)), "INVITE"),
            ("core", sp.udp_frame(c, p, 5060, 5060, sp.response(180, "Ringing", call_id=call_id, src=p)), "180"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("CANCEL", ruri=ruri, call_id=call_id, src=p)),
             "CANCEL"),
            ("core", sp.udp_frame(c, p, 5060, 5060,
                                  sp.response(200, "OK", call_id=call_id, src=p, method="CANCEL")), "200"),
            ("core", sp.udp_frame(c, p, 5060, 5060,
                                  sp.response(487, "Request Terminated", call_id=call_id, src=p)), "487"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("ACK", ruri=ruri, call_id=call_id, src=p)), "ACK")]


def refused_by_core(caller, call_id):
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    ruri = f"sip:13600136000@{c};user=phone"
    return [("trunk", sp.udp_frame(p, c, 5060, 5060, tr.invite(caller, call_id=call_id, sdp=False)), "INVITE"),
            ("core", sp.udp_frame(c, p, 5060, 5060, sp.response(486, "Busy Here", call_id=call_id, src=p)), "486"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("ACK", ruri=ruri, call_id=call_id, src=p)), "ACK")]


def rejected_by_sipwall(caller, call_id):
    """The INVITE of a caller the rules reject (608 from sipwall itself, not
    a packet that crossed it), then the caller's ACK to that 608."""
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    ruri = f"sip:13600136000@{c};user=phone"
    return [("trunk", sp.udp_frame(p, c, 5060, 5060, tr.invite(caller, call_id=call_id, sdp=False)), "INVITE"),
            ("trunk", sp.udp_frame(p, c, 5060, 5060, sp.request("ACK", ruri=ruri, call_id=call_id, src=p)), "ACK")]


TCP_CLIENT_PORT = 40100


def tcp_calls(watched, other, tag):
    """Three calls on one SIP-over-TCP connection, trunk 192.0.2.11:40100 ->
    core 10.10.0.10:5060 (first seen mid-flow, like a connection older than
    the data plane): `watched` makes an answered call (INVITE, 180, 200, ACK,
    BYE, 200) and a cancelled one (INVITE, 180, CANCEL, 200, 487, ACK);
    `other` one the core refuses (INVITE, 486, ACK). The answered INVITE
    spans two segments, and so do the core's 200 OK to it (its second part
    shares a segment with the next call's 180) and its 200 OK to the BYE
    (its second part alone): the core's stack cuts a message where it likes.
    Most segments carry messages of two calls, both ways. Returns
    [(side, frame, [(call_id, what), ...])]: the messages each frame
    completes (none for a message's first part)."""
    sp = h.sippcap()
    c, p, cport = h.CORE4, h.PEER4, TCP_CLIENT_PORT
    ruri = f"sip:13600136000@{c};user=phone"
    w, w2, o = (f"tcp-{tag}-w-answered@it.sipwall", f"tcp-{tag}-w-cancelled@it.sipwall",
                f"tcp-{tag}-o-busy@it.sipwall")

    def inv(caller, cid):
        return tr.invite(caller, call_id=cid, sdp=False, transport="TCP", sport=cport)

    def req(method, cid, cseq=1):
        return sp.request(method, ruri=ruri, call_id=cid, src=p, cseq=cseq, sport=cport)

    def resp(code, reason, cid, **kw):
        return sp.response(code, reason, call_id=cid, src=p, **kw)

    w_inv = inv(watched, w)
    w_ok = resp(200, "OK", w)
    w_bye_ok = resp(200, "OK", w, cseq=2, method="BYE")
    plan = [("trunk", [(w_inv[:200], None)]),
            ("trunk", [(w_inv[200:], (w, "INVITE")), (inv(other, o), (o, "INVITE"))]),
            ("core", [(resp(180, "Ringing", w), (w, "180")), (resp(486, "Busy Here", o), (o, "486"))]),
            ("trunk", [(req("ACK", o), (o, "ACK")), (inv(watched, w2), (w2, "INVITE"))]),
            ("core", [(w_ok[:90], None)]),
            ("core", [(w_ok[90:], (w, "200")), (resp(180, "Ringing", w2), (w2, "180"))]),
            ("trunk", [(req("ACK", w), (w, "ACK")), (req("CANCEL", w2), (w2, "CANCEL"))]),
            ("core", [(resp(200, "OK", w2, method="CANCEL"), (w2, "200")),
                      (resp(487, "Request Terminated", w2), (w2, "487"))]),
            ("trunk", [(req("ACK", w2), (w2, "ACK"))]),
            ("trunk", [(req("BYE", w, cseq=2), (w, "BYE"))]),
            ("core", [(w_bye_ok[:150], None)]),
            ("core", [(w_bye_ok[150:], (w, "200"))])]
    seq = {"trunk": 1000, "core": 5000}
    out = []
    for side, parts in plan:
        payload = b"".join(b for b, _ in parts)
        peer = "core" if side == "trunk" else "trunk"
        src, dst, sport, dport = (p, c, cport, 5060) if side == "trunk" else (c, p, 5060, cport)
        seg = sp.tcp(src, dst, sport, dport, payload, seq=seq[side], ack=seq[peer], flags=0x18)
        out.append((side, sp.ether(sp.ipv4(src, dst, 6, seg), sp.ETH_IPV4), [m for _, m in parts if m]))
        seq[side] += len(payload)
    return out


def tcp_rejected(caller, call_id, cport=TCP_CLIENT_PORT + 1):
    """An INVITE the rules reject, alone on a SIP-over-TCP connection: sipwall
    removes it from the stream and sends the 603/608 back itself."""
    sp = h.sippcap()
    c, p = h.CORE4, h.PEER4
    inv = tr.invite(caller, call_id=call_id, sdp=False, transport="TCP", sport=cport)
    seg = sp.tcp(p, c, cport, 5060, inv, seq=1000, ack=5000, flags=0x18)
    return [("trunk", sp.ether(sp.ipv4(p, c, 6, seg), sp.ETH_IPV4), [(call_id, "INVITE")])]


def messages(call):
    """[(call_id, side, what)] of a call of this module: a UDP call's frames,
    or the messages the frames of tcp_calls() carry."""
    out = []
    for side, fr, what in call:
        if isinstance(what, str):
            out.append((call_id_of(fr), side, what))
        else:
            out += [(cid, side, m) for cid, m in what]
    return out


class Feed(threading.Thread):
    """A pcap stream into one FIFO the data plane reads. Between the frames
    it is given it writes a filler frame (UDP to port 9, not SIP) every
    millisecond: net_pcap reads a FIFO with blocking reads, so a port whose
    stream paused would hold the worker in its RX burst."""

    FILLER_PORT = 9

    def __init__(self, path, port_index):
        super().__init__(daemon=True)
        self.path, self.port_index = path, port_index
        os.mkfifo(path)
        self.lock = threading.Lock()
        self.queue = []          # [(frame, threading.Event, [seq])]
        self.n = 0               # frames written (fillers included)
        self.closing = threading.Event()
        self.opened = threading.Event()
        self.error = None
        sp = h.sippcap()
        self.filler = sp.udp_frame(h.PEER4, h.CORE4, 40000, self.FILLER_PORT, b"filler")

    def run(self):
        try:
            end = time.monotonic() + 30
            fd = None
            while fd is None:
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    if time.monotonic() > end:
                        raise RuntimeError(f"the data plane never opened {self.path}")
                    time.sleep(0.01)
            os.set_blocking(fd, True)
            with os.fdopen(fd, "wb", buffering=0) as f:
                f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
                self.opened.set()
                while not self.closing.is_set():
                    with self.lock:
                        item = self.queue.pop(0) if self.queue else None
                    frame = item[0] if item else self.filler
                    self.n += 1
                    f.write(struct.pack("<IIII", 1764320400 + self.n // 1000000, self.n % 1000000,
                                        len(frame), len(frame)) + frame)
                    if item:
                        item[2].append(self.n)
                        item[1].set()
                    else:
                        time.sleep(0.001)
        except Exception as e:  # reported by the main thread
            self.error = e
            self.opened.set()

    def write(self, frame):
        """Queues `frame`; returns its number in this port's stream once written."""
        done, seq = threading.Event(), []
        with self.lock:
            self.queue.append((frame, done, seq))
        if not done.wait(30):
            raise RuntimeError(f"{self.path}: frame not written: {self.error}")
        return seq[0]


class Calls:
    """Writes calls frame by frame, each after the data plane received the one before."""

    def __init__(self, t, dp, trunk_feed, core_feed):
        self.t, self.dp = t, dp
        self.feeds = {"trunk": trunk_feed, "core": core_feed}

    def open(self):
        """Before Dataplane.start(): the data plane's open() of each FIFO
        waits for its writer, and pcap's for the file header."""
        for f in self.feeds.values():
            f.start()

    def wait_open(self):
        for f in self.feeds.values():
            f.opened.wait(30)
            if f.error or not f.opened.is_set():
                self.t.fatal(f"FIFO writer {f.path}: {f.error or 'never opened'}")

    def port_rx(self, index):
        return self.dp.stats()["ports"][index]["rx_packets"]

    def play(self, call):
        for side, frame, _ in call:
            feed = self.feeds[side]
            seq = feed.write(frame)
            end = time.monotonic() + 30
            while self.port_rx(feed.port_index) < seq:
                if time.monotonic() > end:
                    self.t.fatal(f"{side}: frame {seq} not received after 30 s")
                time.sleep(0.005)

    def close(self):
        for f in self.feeds.values():
            f.closing.set()
        for f in self.feeds.values():
            f.join(10)


def data_plane(t, tag, extra_yaml="", artifact=None):
    """A Dataplane whose trunk and core ports read FIFOs; returns (dp, Calls)."""
    trunk_in, core_in = Feed(t.path(tag + "-trunk.fifo"), 0), Feed(t.path(tag + "-core.fifo"), 1)
    trunk = ("trunk", f"net_pcap0,rx_pcap={trunk_in.path},tx_pcap={t.path(tag + '-trunk-out.pcap')}", "trunk")
    core = ("core", f"net_pcap1,rx_pcap={core_in.path},tx_pcap={t.path(tag + '-core-out.pcap')}", "core")
    dp = h.Dataplane(t, tag, [trunk, core], artifact=artifact, extra_yaml=extra_yaml)
    return dp, Calls(t, dp, trunk_in, core_in)


def call_id_of(frame):
    """The Call-ID of a frame built here."""
    text = frame.split(b"\r\nCall-ID: ", 1)[1]
    return text.split(b"\r\n", 1)[0].decode()
