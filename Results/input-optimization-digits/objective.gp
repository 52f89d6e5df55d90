# True objective F(u) = −CE (re-solved at each iterate) against f evaluations, one panel per
# model × image; red nested, blue joint. Run from the repository root (run.sh does).
set terminal pngcairo size 1500,1200 font ",10"
set output "Results/input-optimization-digits/objective.png"
set multiplot layout 3,3 title "ℓ∞ attack (ε = 2 of 0–16) on the digits DEQ: F = −CE(true label) vs f evaluations (red nested, blue joint JIIO; Anderson)"
set logscale x
set xrange [1:20000]
set xlabel "f evaluations"
set ylabel "F = −CE"
set key bottom left
do for [s=0:2] {
  do for [i=0:2] {
    f = sprintf("Results/input-optimization-digits/runs/implicit-seed-%d-image%d.dat", s, i)
    set title sprintf("model seed %d, test image %d", s, i)
    plot f index 0 using 1:4 with lines lw 2 lc rgb "#d62728" title "nested", \
         f index 1 using 1:4 with lines lw 2 lc rgb "#1f77b4" title "joint"
  }
}
unset multiplot
