"""Network namespaces and veth pairs for sipwall's live tests.

Two far ends, each in its own namespace, each wired by a veth pair to the
root namespace where sipwall-dataplane opens the root-side ends with
net_af_packet: the data plane is the only path between them (a bump in the
wire on one L2 segment). Everything is created with names unique to this
process and deleted in down(), also after a failure.
"""
import os
import subprocess


def sh(*args, check=True, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Topology:
    def __init__(self, tag=None):
        tag = tag or str(os.getpid() % 100000)
        self.ns_uac, self.ns_uas = f"swuac{tag}", f"swuas{tag}"
        self.dp_trunk, self.dp_core = f"swt{tag}", f"swc{tag}"      # root side, data plane ports
        self.if_uac, self.if_uas = f"swut{tag}", f"swus{tag}"       # namespace side
        self.ip_uac, self.ip_uas = "10.77.0.1", "10.77.0.2"
        self.created = []

    def up(self):
        for ns in (self.ns_uac, self.ns_uas):
            sh("ip", "netns", "add", ns)
            self.created.append(("ns", ns))
        for root_if, ns_if, ns, ip in ((self.dp_trunk, self.if_uac, self.ns_uac, self.ip_uac),
                                       (self.dp_core, self.if_uas, self.ns_uas, self.ip_uas)):
            sh("ip", "link", "add", root_if, "type", "veth", "peer", "name", ns_if)
            self.created.append(("link", root_if))
            sh("ip", "link", "set", ns_if, "netns", ns)
            sh("ip", "link", "set", root_if, "up")
            # The data plane sees and forwards whole frames: no offloads that
            # leave checksums unfinished or merge segments.
            sh("ethtool", "-K", root_if, "rx", "off", "tx", "off", "tso", "off", "gso", "off",
               "gro", "off", check=False)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "addr", "add", ip + "/24", "dev", ns_if, ns=ns)
            sh("ip", "link", "set", ns_if, "up", ns=ns)
            sh("ethtool", "-K", ns_if, "rx", "off", "tx", "off", "tso", "off", "gso", "off",
               "gro", "off", check=False, ns=ns)
            # No IPv6 chatter (router solicitations, DAD) in the captures.
            sh("sysctl", "-qw", f"net.ipv6.conf.{ns_if}.disable_ipv6=1", check=False, ns=ns)
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.dp_trunk}.disable_ipv6=1", check=False)
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.dp_core}.disable_ipv6=1", check=False)

    def down(self):
        for kind, name in reversed(self.created):
            if kind == "link":
                sh("ip", "link", "del", name, check=False)
            else:
                sh("ip", "netns", "del", name, check=False)
        self.created.clear()
