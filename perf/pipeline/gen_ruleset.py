#!/usr/bin/env python3
"""Rule sets for the whole-pipeline benchmark, generated at run time.

Writes into OUTDIR:
  one.yaml                  set (b): one rule (a single caller number)
  full.yaml                 set (c): NUMBERS exact caller numbers (reject 608),
                            PREFIXES callee prefixes (drop), REGEXES patterns
                            (half User-Agent -> drop, half display name -> tag),
                            six trunks for the source lookup
  lists/complaints.txt      the exact numbers, in the formats operators write
  lists/premium.txt         the prefixes
  hit-callers.txt           E.164 numbers drawn from complaints (the generator
                            puts them in 10% of the INVITEs)
  hit-callees.txt           full numbers inside premium prefixes
  hit-agents.txt            User-Agent strings that match a pattern
  hit-names.txt             display names that match a pattern

Numbers are China mobiles (+861[3-9]x, 11 national digits); the benchmark's
clean traffic draws random mobiles, so it hits the complaint list with
nothing: listed numbers end in an even digit, random ones in an odd digit. Prefixes are fixed-line (area code + 2-6 digits),
so random mobile callees never hit them. The trunks' sources match the
addresses in perf/pipeline/invite_mix.cpp.

Usage: gen_ruleset.py OUTDIR [--numbers N] [--prefixes N] [--regexes N] [--seed S]
"""
import argparse
import os
import random

AREAS2 = ["10", "20", "21", "22", "23", "24", "25", "27", "28", "29"]
AREAS3 = ["311", "351", "371", "411", "431", "451", "471", "511", "531", "551", "571", "591",
          "731", "755", "757", "760", "769", "871", "898", "931", "951", "991"]
AGENT_STEMS = ["voipdialer", "robocall", "autodial", "sipvicious", "friendly-scanner", "sipcli",
               "pplsip", "sundayddr", "iwar", "smap", "massdialer", "predictive-dialer"]
NAME_STEMS = ["promo", "loan offer", "insurance", "investment", "lottery", "prize desk",
              "survey", "tele sales", "credit card", "real estate", "vip offer", "refund dept"]


def number_formats(n):
    """The national mobile n (11 digits) as operators write it, by turn."""
    return [f"+86{n}", f"+86 {n[:3]} {n[3:7]} {n[7:]}", f"0{n}", f"{n[:3]}-{n[3:7]}-{n[7:]}",
            f"0086{n}", n]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--numbers", type=int, default=1_000_000)
    ap.add_argument("--prefixes", type=int, default=100_000)
    ap.add_argument("--regexes", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(os.path.join(a.outdir, "lists"), exist_ok=True)

    # Exact numbers: distinct mobiles 1[3-9]xxxxxxxxx.
    # Listed numbers end in an even digit; the benchmark's random callers
    # (invite_mix.cpp random_mobile) end in an odd one, so a "clean" INVITE
    # never hits the list by chance and every verdict can be predicted from
    # the packet's kind (the reload check counts on it).
    picks = [2 * k for k in rnd.sample(range(3_500_000_000), a.numbers)]
    with open(os.path.join(a.outdir, "lists", "complaints.txt"), "w") as f:
        f.write("# synthetic complaint feed for the pipeline benchmark\n")
        for i, k in enumerate(picks):
            n = f"1{3 + k // 1_000_000_000}{k % 1_000_000_000:09d}"
            f.write(number_formats(n)[i % 6] + "\n")
    hits = rnd.sample(picks, min(65536, len(picks)))
    with open(os.path.join(a.outdir, "hit-callers.txt"), "w") as f:
        for k in hits:
            f.write(f"+861{3 + k // 1_000_000_000}{k % 1_000_000_000:09d}\n")

    # Prefixes and patterns draw from generators of their own, so sets that
    # differ only in their list size share them: the small list is then the
    # start of the large one and every other list is the same, and one
    # traffic mix gets the same verdicts from both (perf/run compares list
    # sizes in one process).
    rnd = random.Random(a.seed * 1_000_003 + 1)

    # Prefixes: area code + 2..6 digits (national prefix length 4..9).
    prefixes = set()
    while len(prefixes) < a.prefixes:
        area = rnd.choice(AREAS2) if rnd.random() < 0.5 else rnd.choice(AREAS3)
        sub = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(2, 6)))
        if sub[0] in "01":  # subscriber numbers do not start with 0/1
            continue
        prefixes.add(area + sub)
    prefixes = sorted(prefixes)
    rnd.shuffle(prefixes)
    with open(os.path.join(a.outdir, "lists", "premium.txt"), "w") as f:
        f.write("# synthetic premium-rate callee prefixes\n")
        for i, p in enumerate(prefixes):
            f.write((f"+86 {p}" if i % 2 == 0 else f"0{p}") + "\n")
    with open(os.path.join(a.outdir, "hit-callees.txt"), "w") as f:
        for p in rnd.sample(prefixes, min(4096, len(prefixes))):
            area_len = 2 if p[:2] in AREAS2 else 3
            total = 10 if area_len == 2 else 11
            fill = "".join(rnd.choice("0123456789") for _ in range(total - len(p)))
            f.write(f"+86{p}{fill}\n")

    # Regexes: half on User-Agent, half on the caller's display name; rules of 50 each.
    rnd = random.Random(a.seed * 1_000_003 + 2)
    n_agent = a.regexes // 2
    n_name = a.regexes - n_agent
    agent_pats, name_pats, hit_agents, hit_names = [], [], [], []
    for i in range(n_agent):
        stem = AGENT_STEMS[i % len(AGENT_STEMS)]
        agent_pats.append(f"(?i){stem}[-_/ ]?v?{i}\\.[0-9]+")
        hit_agents.append(f"{stem.title()}/v{i}.{rnd.randint(0, 9)} (build {rnd.randint(100, 999)})")
    for i in range(n_name):
        stem = NAME_STEMS[i % len(NAME_STEMS)]
        name_pats.append(f"(?i)^{stem} ?(#|no\\.? ?){i}\\b")
        hit_names.append(f"{stem.title()} #{i}")
    with open(os.path.join(a.outdir, "hit-agents.txt"), "w") as f:
        f.write("\n".join(hit_agents[:: max(1, len(hit_agents) // 256)]) + "\n")
    with open(os.path.join(a.outdir, "hit-names.txt"), "w") as f:
        f.write("\n".join(hit_names[:: max(1, len(hit_names) // 256)]) + "\n")

    def yq(s):  # single-quoted YAML scalar
        return "'" + s.replace("'", "''") + "'"

    y = ['version: "bench-full-1"', "name: bench-full", "description: whole-pipeline benchmark set (perf/pipeline)",
         "dial_plan: {preset: china}",
         "trunks:",
         "  peer-a: {class: peer, sources: [192.0.2.0/24]}",
         "  peer-v6: {class: peer, sources: [\"2001:db8:a::/48\"]}",
         "  intl-gw: {class: international, sources: [198.51.100.0/24]}",
         "  cc-trunk: {class: call_center, sources: [203.0.113.0/24]}",
         "  access-vlan: {class: access, sources: [{cidr: 100.64.0.0/16, vlan: 100}]}",
         "  access-2: {class: access, sources: [100.65.0.0/16]}",
         "lists:",
         "  complaints: {file: lists/complaints.txt}",
         "  premium: {kind: prefix, file: lists/premium.txt}",
         "defaults: {action: pass, malformed: fail_open}",
         "rules:",
         "  - id: complaints",
         "    priority: 100",
         "    match: {caller: {in: complaints}}",
         "    action: {reject: {code: 608, reason: Rejected by network call screening,"
         " call_info: 'https://sipwall.example.net/608/complaints.jwt'}}",
         "  - id: premium-callee",
         "    priority: 90",
         "    match: {ruri: {in: premium}}",
         "    action: drop"]
    for field, pats, action, tag in (("user_agent", agent_pats, "drop", "ua"),
                                     ("display_name", name_pats, "{tag: {score: 60}}", "name")):
        for r in range(0, len(pats), 50):
            y.append(f"  - id: {tag}-{r // 50:02d}")
            y.append("    priority: 50")
            y.append(f"    match: {{{field}: {{regex: [{', '.join(yq(p) for p in pats[r:r + 50])}]}}}}")
            y.append(f"    action: {action}")
    with open(os.path.join(a.outdir, "full.yaml"), "w") as f:
        f.write("\n".join(y) + "\n")

    with open(os.path.join(a.outdir, "one.yaml"), "w") as f:
        f.write('version: "bench-one-1"\nname: bench-one\ndial_plan: {preset: china}\nrules:\n'
                '  - id: one-number\n    match: {caller: {equals: "+86 138 0013 8000"}}\n'
                '    action: {reject: {code: 608}}\n')
    print(f"{a.outdir}: one.yaml, full.yaml ({a.numbers} numbers, {a.prefixes} prefixes, "
          f"{n_agent}+{n_name} regexes), hit files")


if __name__ == "__main__":
    main()
