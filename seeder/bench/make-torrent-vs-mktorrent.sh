#!/bin/sh
# Hashes the same file from the page cache with make-torrent and Debian's mktorrent in
# alternating runs, each followed by `openssl speed -evp sha1` on all cores (16 KiB
# blocks) for the ceiling, so every figure has a neighbour measured under the same
# conditions on a shared machine. Results for BENCHMARKS.md.
#
#   cargo build --release -p seedline-seeder --bin make-torrent
#   seeder/bench/make-torrent-vs-mktorrent.sh [FILE] [RUNS]
#
# FILE defaults to /tmp/bench4g.bin (4 GiB of random bytes, created if missing, and
# deleted afterwards only if this script created it). Both tools use 4 MiB pieces, which
# is what make-torrent picks for 4 GiB, and one thread per core.
set -eu
FILE=${1:-/tmp/bench4g.bin}
RUNS=${2:-3}
BIN=${MAKE_TORRENT:-target/release/make-torrent}
CORES=$(nproc)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -n "${CREATED:-}" ] && rm -f "$FILE"' EXIT

if [ ! -f "$FILE" ]; then
    head -c 4G /dev/urandom > "$FILE"
    CREATED=1
fi
cat "$FILE" > /dev/null # into the page cache

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $CORES cores"
echo "file: $FILE, $(stat -c %s "$FILE") bytes"
echo "$($BIN --version); $(dpkg-query -W -f '${Package} ${Version}, ' mktorrent openssl)"
for i in $(seq "$RUNS"); do
    /usr/bin/time -f "run $i make-torrent %e s wall, %U s user, %S s sys, %M KiB max RSS" \
        "$BIN" -l 4M -j "$CORES" --no-creation-date -f -o "$OUT/ours.torrent" "$FILE" \
        > /dev/null 2> "$OUT/err" || { cat "$OUT/err"; exit 1; }
    tail -1 "$OUT/err"
    /usr/bin/time -f "run $i mktorrent    %e s wall, %U s user, %S s sys, %M KiB max RSS" \
        mktorrent -t "$CORES" -l 22 -d -o "$OUT/theirs.torrent" "$FILE" \
        > /dev/null 2> "$OUT/err" || { cat "$OUT/err"; exit 1; }
    tail -1 "$OUT/err"
    rm -f "$OUT/theirs.torrent"
    rate=$(openssl speed -evp sha1 -multi "$CORES" -bytes 16384 -seconds 2 2>/dev/null | tail -1 | awk '{print $2}')
    echo "run $i openssl speed -evp sha1 -multi $CORES -bytes 16384: $rate bytes/s (x1000)"
done
