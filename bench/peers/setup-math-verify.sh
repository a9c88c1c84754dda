#!/usr/bin/env bash
# Builds the Math-Verify 0.8.0 peer for `pnpm bench verify` from source checkouts (no PyPI needed):
#   bench/peers/setup-math-verify.sh <Math-Verify git dir or checkout> <latex2sympy2_extended git dir or checkout>
# Needs python3 with sympy and antlr4-python3-runtime 4.13.2, and java (to generate the ANTLR parser).
# Installs into ~/.cache/stratum/math-verify (override with STRATUM_MATH_VERIFY_HOME).
set -euo pipefail
mv_src=${1:?Math-Verify repository}
l2s_src=${2:?latex2sympy2_extended repository}
MV_REV=${MV_REV:-HEAD}            # Math-Verify 0.8.0 at 5d148cf
L2S_REV=${L2S_REV:-0873506}       # latex2sympy2_extended 1.10.2, the version Math-Verify 0.8.0 pins
dest=${STRATUM_MATH_VERIFY_HOME:-$HOME/.cache/stratum/math-verify}
rm -rf "$dest" && mkdir -p "$dest/mv" "$dest/l2s"
git --git-dir="$(git -C "$mv_src" rev-parse --absolute-git-dir 2>/dev/null || echo "$mv_src")" archive "$MV_REV" src | tar -x -C "$dest/mv"
git --git-dir="$(git -C "$l2s_src" rev-parse --absolute-git-dir 2>/dev/null || echo "$l2s_src")" archive "$L2S_REV" | tar -x -C "$dest/l2s"
cd "$dest/l2s/src/latex2sympy2_extended"
java -jar ../../antlr-4.13.2-complete.jar PS.g4 -o gen/antlr4_13_2 >/dev/null
touch gen/__init__.py gen/antlr4_13_2/__init__.py
PYTHONPATH="$dest/mv/src:$dest/l2s/src" python3 -c 'from math_verify import parse, verify; assert verify(parse("$1/2$"), parse("$0.5$"))'
echo "Math-Verify peer ready in $dest"
