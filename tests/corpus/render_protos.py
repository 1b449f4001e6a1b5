#!/usr/bin/env python3
"""Batch-render every PROTOS c07-sip case into wire messages, in one process.

Usage: render_protos.py SRC_PROTOS_DIR OUT_DIR

SRC_PROTOS_DIR is $SIPWALL_TESTDATA/protos (it holds cases/ and render.py). The
substitution logic is imported from that render.py (split_pdus, render, SUBS) so
the bytes are exactly what `render.py CASE OUT_DIR` writes for one case:
OUT_DIR/NNNNNNN.invite and OUT_DIR/NNNNNNN.teardown.

Used as a ctest fixture by tests/corpus (and by tests/fuzz for seeds). Rendering
all 4527 cases takes well under a second, so it simply re-renders every time.
Exits non-zero with a clear message when the corpus is missing.
"""
import importlib.util
import os
import sys

EXPECTED_CASES = 4527


def load_render_module(src_dir):
    path = os.path.join(src_dir, 'render.py')
    if not os.path.isfile(path):
        sys.exit(f'render_protos: {path} not found: set SIPWALL_TESTDATA to the '
                 f'external SIP corpora (shared/testdata) and re-run')
    # The corpus directory is read-only: never try to write __pycache__ there.
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location('protos_render', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name in ('split_pdus', 'render', 'SUBS'):
        if not hasattr(mod, name):
            sys.exit(f'render_protos: {path} has no {name}; the PROTOS render.py changed')
    return mod


def main(argv):
    if len(argv) != 3:
        sys.exit('usage: render_protos.py SRC_PROTOS_DIR OUT_DIR')
    src_dir, out_dir = argv[1], argv[2]
    mod = load_render_module(src_dir)
    cases_dir = os.path.join(src_dir, 'cases')
    if not os.path.isdir(cases_dir):
        sys.exit(f'render_protos: {cases_dir} not found')
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(n for n in os.listdir(cases_dir) if n.isdigit())
    written = 0
    for name in names:
        with open(os.path.join(cases_dir, name), 'rb') as f:
            pdus = mod.split_pdus(f.read())
        for suffix, pdu in zip(('invite', 'teardown'), pdus):
            data = mod.render(pdu, mod.SUBS)
            with open(os.path.join(out_dir, f'{name}.{suffix}'), 'wb') as f:
                f.write(data)
            written += 1
    print(f'render_protos: rendered {len(names)} cases ({written} files) into {out_dir}')
    if len(names) != EXPECTED_CASES:
        sys.exit(f'render_protos: expected {EXPECTED_CASES} cases, found {len(names)}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
