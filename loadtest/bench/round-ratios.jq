# Used by tracker-vs-opentracker.sh: jq -r -s -f round-ratios.jq OUT/*.json
# Per mode and round, Seedline's tracker CPU per announce over each other server's in
# that round, then the median of the rounds' ratios: within a round the runs are minutes
# apart, so the machine's drift weighs on both sides alike.
def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r2: if . == null then "-" else (. * 100 | round) as $c
    | "\($c / 100 | floor).\($c % 100 | tostring | if length == 1 then "0" + . else . end)x" end;
[.[] | select(.name | test("^[a-z_]+-[a-z-]+-r[0-9]+$"))
     | {impl, mode, round: (.name | capture("-r(?<r>[0-9]+)$").r | tonumber),
        cpu: .tracker_process.cpu_us_per_request}]
| group_by(.mode)[]
| . as $runs
| ($runs[0].mode) as $mode
| [$runs[] | .round] | unique
| map(. as $r | [$runs[] | select(.round == $r)] | INDEX(.impl) | map_values(.cpu)
      | {round: $r,
         # opentracker closes every connection: no keep-alive figure to compare with.
         ot: (if .seedline and .opentracker and $mode != "keep-alive" then .seedline / .opentracker else null end),
         floor: (if .seedline and .floor then .seedline / .floor else null end),
         bare: (if .seedline and .bare_floor then .seedline / .bare_floor else null end)})
| (.[] | "| \($mode) | \(.round) | \(.ot | r2) | \(.floor | r2) | \(.bare | r2) |"),
  "| \($mode) | median | \([.[].ot | select(. != null)] | median | r2) | \([.[].floor | select(. != null)] | median | r2) | \([.[].bare | select(. != null)] | median | r2) |"
