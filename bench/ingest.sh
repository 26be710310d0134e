#!/usr/bin/env bash
# Compares Vigil's capture decoding with Suricata 7 (single-threaded, no
# rules, eve with flow/http/tls/dns) and tshark (-T fields) on the same
# capture, on this machine, and prints throughput, peak memory and ratios.
#
# Usage: bench/ingest.sh [CAPTURE]
#   Without CAPTURE, builds one of about $BENCH_MB MB (default 1000) by
#   repeating the lab capture (../shared/data/lab/dev-intrusion.pcap) with
#   shifted timestamps (editcap -t, mergecap -a).
# Needs root to install tools it lacks: tshark (Debian), suricata (Debian
# bookworm-backports, added here if missing). Writes only under $BENCH_DIR
# (default /tmp/vigil-bench). Not part of CI: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-/tmp/vigil-bench}
mkdir -p "$work"

need_apt() {
  [ "$(id -u)" = 0 ] || { echo "bench: $1 is missing and installing it needs root" >&2; exit 1; }
}
if ! command -v tshark >/dev/null || ! command -v mergecap >/dev/null; then
  need_apt tshark
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
fi
if ! command -v suricata >/dev/null; then
  need_apt suricata
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/vigil-bench-backports.sources
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports suricata >/dev/null
fi

capture=${1:-}
if [ -z "$capture" ]; then
  src=../shared/data/lab/dev-intrusion.pcap
  [ -f "$src" ] || { echo "bench: give a capture, or put ../shared beside the repository" >&2; exit 1; }
  want=$(( ${BENCH_MB:-1000} * 1000 * 1000 ))
  capture=$work/lab-x.pcap
  if [ ! -f "$capture" ] || [ "$(stat -c %s "$capture")" -lt "$want" ]; then
    size=$(stat -c %s "$src"); n=$(( (want + size - 1) / size ))
    parts=()
    for i in $(seq 0 $((n - 1))); do
      editcap -t $((i * 259200)) "$src" "$work/part-$i.pcap"   # 72 h apart
      parts+=("$work/part-$i.pcap")
    done
    mergecap -a -F pcap -w "$capture" "${parts[@]}"
    rm -f "${parts[@]}"
  fi
fi
bytes=$(stat -c %s "$capture")
echo "capture: $capture ($((bytes / 1000000)) MB)"

go build -o "$work/vigil" ./cmd/vigil

# run NAME CMD...: time one tool, print seconds, MB/s and peak RSS.
declare -A secs rss
run() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "bench: $name failed:"; tail -5 "$work/$name.err"; exit 1; }
  read -r s k <"$work/$name.time"
  secs[$name]=$s; rss[$name]=$k
  awk -v n="$name" -v s="$s" -v b="$bytes" -v k="$k" \
    'BEGIN { printf "%-22s %8.2f s %9.1f MB/s %8.0f MB peak RSS\n", n, s, b/1e6/s, k/1024 }'
}

cat >"$work/suricata.yaml" <<'YAML'
%YAML 1.1
---
default-log-dir: /tmp/vigil-bench/suricata-log
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types: [flow, http, tls, dns]
app-layer:
  protocols:
    tls: {enabled: yes}
    http: {enabled: yes}
    dns: {tcp: {enabled: yes}, udp: {enabled: yes}}
YAML
rm -rf "$work/suricata-log" "$work/vigil-out" "$work/zeek-out"; mkdir -p "$work/suricata-log"

run vigil-analyze "$work/vigil" analyze --pcap "$capture" --out "$work/vigil-out"
run vigil-convert "$work/vigil" convert --pcap "$capture" --zeek-out "$work/zeek-out"
run suricata-single suricata -c "$work/suricata.yaml" --runmode single -k none -S /dev/null -r "$capture" -l "$work/suricata-log"
run tshark-fields tshark -n -r "$capture" -T fields -e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport \
  -e udp.srcport -e udp.dstport -e dns.qry.name -e http.host -e http.request.uri -e tls.handshake.extensions_server_name

echo
awk -v v="${secs[vigil-analyze]}" -v s="${secs[suricata-single]}" -v t="${secs[tshark-fields]}" \
  'BEGIN { printf "vigil analyze is %.2fx Suricata (single) and %.1fx tshark -T fields\n", s/v, t/v }'
