#!/usr/bin/env bash
# Runs make targets one after the other, as `make test` does, timing each,
# and prints where the time went: one line per step with its wall-clock time
# and the CPU time of everything it ran (compilers, linkers, test binaries,
# kube-apiserver...), the total, and the slowest test packages (from go
# test's "ok <package> <seconds>s" lines). CPU time says what a step costs
# whatever else the machine is doing: on an idle 2-core machine a step
# takes at least half its CPU time. The table is printed when a step fails
# too, with the step that failed.
#
# Usage: hack/timed-steps.sh TITLE MAKE TARGET...
#   e.g. hack/timed-steps.sh "make test" make verify-generated vet go-test
set -uo pipefail

title="$1"; make="$2"; shift 2

log="$(mktemp "${TMPDIR:-/tmp}/timed-steps.XXXXXX")"
trap 'rm -f "$log"' EXIT

now() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e9 }'; }
# cpu: user+system time, in nanoseconds, of this script's finished children
# and everything they waited for (Linux /proc; 0 elsewhere). "%.0f", not
# "%d": mawk caps %d at 2^31-1, which read every step past 2.1 s as 2.1 s.
tick=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu() {
  if [ -r /proc/$$/stat ]; then
    awk -v t="$tick" '{ sub(/^.*\) /, ""); printf "%.0f", ($14 + $15) * 1e9 / t }' /proc/$$/stat
  else
    echo 0
  fi
}

names=() durations=() cpus=() failed=""
start=$(now); cpu_start=$(cpu)
for target in "$@"; do
  t0=$(now); c0=$(cpu)
  # shellcheck disable=SC2086 # MAKE may carry its own flags
  $make --no-print-directory "$target" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  names+=("$target"); durations+=("$(( $(now) - t0 ))"); cpus+=("$(( $(cpu) - c0 ))")
  if [ "$rc" -ne 0 ]; then failed="$target"; break; fi
done
total=$(( $(now) - start )); total_cpu=$(( $(cpu) - cpu_start ))

{
  echo
  echo "== $title: time per step (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown))"
  printf '  %-28s %9s %9s\n' "step" "wall" "cpu"
  for i in "${!names[@]}"; do
    name="${names[$i]}"
    # bin/controller-gen-v0.23.0 and the like: the tool's name
    case "$name" in */*) name="${name##*/}" ;; esac
    mark=""; [ "${names[$i]}" = "$failed" ] && mark="  FAILED"
    printf '  %-28s %8ss %8ss%s\n' "$name" "$(secs "${durations[$i]}")" "$(secs "${cpus[$i]}")" "$mark"
  done
  printf '  %-28s %8ss %8ss\n' "total" "$(secs "$total")" "$(secs "$total_cpu")"
  slowest="$(awk '$1 == "ok" || $1 == "FAIL" { if ($3 ~ /^[0-9.]+s$/) { s = $3; sub(/s$/, "", s); printf "%s %s\n", s, $2 } }' "$log" | sort -rn | head -5)"
  if [ -n "$slowest" ]; then
    echo "  slowest test packages (run time, without compiling):"
    printf '%s\n' "$slowest" | awk '{ printf "    %-60s %7.1fs\n", $2, $1 }'
  fi
  [ -z "$failed" ] || echo "  stopped at: $failed"
} >&2

[ -z "$failed" ]
