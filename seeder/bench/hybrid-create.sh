#!/usr/bin/env bash
# make-torrent creating v1, v2 and hybrid torrents of one page-cached file, against the
# machine's SHA-1 and SHA-256 limits on all cores (`openssl speed -evp sha1|sha256 -multi
# NPROC`, 16 KiB blocks) and against python3-libtorrent's create_torrent (hybrid, its
# default). A hybrid hashes every byte with both, so its limit is 1 / (1/sha1 + 1/sha256).
# Checks that libtorrent and make-torrent give the same info hashes.
#
#   bash seeder/bench/hybrid-create.sh               # 4 GiB, 4 MiB pieces, 3 rounds
#   SIZE=256M ROUNDS=1 bash seeder/bench/hybrid-create.sh
#
# Output: $OUT/runs.tsv and $OUT/summary.md.
set -euo pipefail
source "$(dirname "$0")/../../bench/lib.sh"

bench_defaults SIZE=4G PIECE=4M ROUNDS=3 MAX_SECONDS=1800 \
    OUT="$ROOT/target/bench/hybrid-create"
bench_time_limit "$MAX_SECONDS" "$@"
MAKE_TORRENT=$ROOT/target/release/make-torrent

speed() {
    # "sha1  3800208.73k": bytes per second in thousands, for 16 KiB blocks.
    openssl speed -evp "$1" -multi "$(nproc)" -bytes 16384 -seconds 3 2>/dev/null |
        awk -v a="$1" '$1 == a { sub(/k$/, "", $2); printf "%.0f\n", $2 * 1000 }'
}

# One timed run: wall seconds, user + system seconds, peak RSS in KiB.
timed() {
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >/dev/null 2>&1
    awk '{ printf "%s\t%.2f\t%s", $1, $2 + $3, $4 }' "$WORK/time"
}

main() {
    bench_libtorrent
    bench_need openssl bc
    mkdir -p "$OUT"
    bench_dir WORK
    bench_build -p seedline-seeder --bin make-torrent
    head -c "$SIZE" /dev/urandom >"$WORK/big.bin"
    sync
    cat "$WORK/big.bin" >/dev/null
    BYTES=$(stat -c %s "$WORK/big.bin")
    local sha1 sha256 hybrid_limit
    sha1=$(speed sha1)
    sha256=$(speed sha256)
    hybrid_limit=$(echo "1 / (1 / $sha1 + 1 / $sha256)" | bc -l)
    {
        bench_env_header
        echo "openssl: $(openssl version)"
        echo "libtorrent: $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)')"
        echo "workload: $BYTES bytes, one page-cached file, pieces of $PIECE, $(nproc) cores"
        printf 'limits (GB/s): sha1 %.3f, sha256 %.3f, hybrid %.3f\n' \
            "$(echo "$sha1 / 10^9" | bc -l)" "$(echo "$sha256 / 10^9" | bc -l)" \
            "$(echo "$hybrid_limit / 10^9" | bc -l)"
    } >"$OUT/env.txt"
    local piece_bytes
    piece_bytes=$(numfmt --from=iec "$PIECE")
    printf 'round\ttool\tseconds\tCPU s\tRSS KiB\tGB/s\tof the limit\n' >"$OUT/runs.tsv"
    local r kind t limit
    for r in $(seq "$ROUNDS"); do
        for kind in v1 v2 hybrid libtorrent-hybrid; do
            case $kind in
                v1) t=$(timed "$MAKE_TORRENT" "$WORK/big.bin" -l "$PIECE" -o "$WORK/o.torrent" -f); limit=$sha1 ;;
                v2) t=$(timed "$MAKE_TORRENT" "$WORK/big.bin" --v2 -l "$PIECE" -o "$WORK/o.torrent" -f); limit=$sha256 ;;
                hybrid) t=$(timed "$MAKE_TORRENT" "$WORK/big.bin" --hybrid -l "$PIECE" -o "$WORK/hybrid.torrent" -f); limit=$hybrid_limit ;;
                libtorrent-hybrid)
                    t=$(timed "$PYTHON" -c "
import libtorrent as lt, sys
fs = lt.file_storage(); lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, $piece_bytes, 0); lt.set_piece_hashes(ct, sys.argv[2])
open(sys.argv[3], 'wb').write(lt.bencode(ct.generate()))" "$WORK/big.bin" "$WORK" "$WORK/lt.torrent")
                    limit=$hybrid_limit ;;
            esac
            local secs
            secs=$(cut -f1 <<<"$t")
            printf '%s\t%s\t%s\t%.3f\t%.0f%%\n' "$r" "$kind" "$t" \
                "$(echo "$BYTES / $secs / 10^9" | bc -l)" \
                "$(echo "100 * $BYTES / $secs / $limit" | bc -l)" | tee -a "$OUT/runs.tsv"
        done
    done
    "$PYTHON" -c "
import libtorrent as lt, sys
a = lt.torrent_info(sys.argv[1]).info_hashes(); b = lt.torrent_info(sys.argv[2]).info_hashes()
sys.exit(0 if (a.v1, a.v2) == (b.v1, b.v2) else 'the info hashes differ')" "$WORK/hybrid.torrent" "$WORK/lt.torrent"
    echo "info hashes: make-torrent's hybrid equals libtorrent's" >>"$OUT/env.txt"
    {
        echo "| round | tool | seconds | CPU s | RSS KiB | GB/s | of the limit |"
        echo "|---|---|---|---|---|---|---|"
        awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$OUT/runs.tsv"
    } >"$OUT/summary.md"
    cat "$OUT/env.txt" "$OUT/summary.md"
}

main
