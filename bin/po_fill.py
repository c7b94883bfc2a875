#!/usr/bin/env python3
"""Fill zh_CN msgstrs from a JSON object {msgid: translation}; prints what is still missing.

Run it after bin/i18n, under the same lock when several people edit at once:
    flock /tmp/followup-i18n.lock sh -c 'bin/i18n && .venv/bin/python bin/po_fill.py my.json && bin/i18n compile'
"""
import json
import sys

from babel.messages.pofile import read_po, write_po

PO = "followup/translations/zh_Hans_CN/LC_MESSAGES/messages.po"

table = json.load(open(sys.argv[1], encoding="utf-8")) if len(sys.argv) > 1 else {}
with open(PO, "rb") as fh:
    catalog = read_po(fh, locale="zh_Hans_CN")
for msg in catalog:
    if msg.id and isinstance(msg.id, str) and msg.id in table:
        msg.string = table[msg.id]
with open(PO, "wb") as fh:
    write_po(fh, catalog, width=0, omit_header=False)
missing = [m.id for m in catalog if m.id and not m.string]
print(f"{len(missing)} untranslated: {missing[:50]}")
