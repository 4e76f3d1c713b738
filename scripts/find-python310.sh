#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa Open Source 3.6 needs 3.10; it refuses 3.11+).
# Order: $PYTHON310, python3.10 on PATH, pyenv's 3.10.x, /usr/bin/python3.10.
set -u
is310() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for d in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do candidates+=("$d/bin/python"); done
fi
for d in $(ls -d "$HOME"/.pyenv/versions/3.10.* 2>/dev/null | sort -V -r); do candidates+=("$d/bin/python"); done
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)
for c in "${candidates[@]}"; do
  if [ -x "$c" ] && is310 "$c"; then echo "$c"; exit 0; fi
  # a pyenv shim answers only when PYENV_VERSION names an installed 3.10
  if PYENV_VERSION=3.10.13 is310 "$c"; then echo "env PYENV_VERSION=3.10.13 $c"; exit 0; fi
done
cat >&2 <<'MSG'
Signpost needs Python 3.10: Rasa Open Source 3.6 does not run on 3.11 or newer.
Install one of these, then run the command again:
  - with pyenv:   pyenv install 3.10.13
  - on Debian/Ubuntu: apt-get install python3.10 python3.10-venv   (deadsnakes PPA on Ubuntu)
  - or point to an existing one: make setup PYTHON310=/path/to/python3.10
MSG
exit 1
